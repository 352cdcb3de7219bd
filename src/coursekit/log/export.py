"""Write the log for other tools: CSV for spreadsheets, Markdown for reading.

Reflections are untrusted text. In CSV a cell that a spreadsheet would evaluate (one starting
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with an apostrophe, as
OWASP recommends; in Markdown, HTML is escaped so a viewer shows it instead of running it.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import IO

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """A spreadsheet-safe version of one cell value."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and header) no spreadsheet will evaluate."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_cell)
    safe.columns = [neutralise_cell(str(c)) for c in safe.columns]
    return safe


THREAD_COLUMNS = {
    "post_id": "id",
    "parent_id": "parent_id",
    "author": "author",
    "message": "message",
    "created_at": "created_at",
    "like_count": "like_count",
    "image_count": "images",
    "kind": "kind",
    "thread_week": "week",
    "prompt_id": "prompt_id",
}


def thread_table(posts: pd.DataFrame) -> pd.DataFrame:
    """The discussion as the flat table discussion exports use: one row per post or reply."""
    return posts[list(THREAD_COLUMNS)].rename(columns=THREAD_COLUMNS)


def write_csv(frame: pd.DataFrame, out: str | Path | IO[str]) -> None:
    safe_for_spreadsheet(frame).to_csv(out, index=False)


def _quote(text: str) -> str:
    escaped = html.escape(text, quote=False) or "*(blank)*"
    return "\n".join("> " + line if line else ">" for line in escaped.splitlines())


def to_markdown(frame: pd.DataFrame, title: str = "Class discussion log") -> str:
    """The reflections grouped by week and prompt, each under its author's name."""
    lines = [f"# {title}", ""]
    if frame.empty:
        return "\n".join(lines + ["*No reflections collected yet.*", ""])
    for (week, prompt_id), group in frame.groupby(["week", "prompt_id"], sort=True, dropna=False):
        label = f"Week {int(week)}" if pd.notna(week) else "No week"
        lines += [f"## {label}: prompt `{html.escape(str(prompt_id))}`", ""]
        for row in group.itertuples():
            pictures = getattr(row, "image_count", 0)
            shown = f", {pictures} image{'s' if pictures != 1 else ''} (see the site)" if pictures else ""
            lines += [
                f"### {html.escape(str(row.student))} ({row.word_count} words, version {row.version}{shown})",
                "",
                _quote(row.text),
                "",
            ]
    return "\n".join(lines)
