"""Write the log for other tools: CSV for spreadsheets, Markdown for reading.

Reflections are untrusted text. ``write_csv`` is the one CSV writer of coursekit (exports, grades,
feedback index, validation report): a cell that a spreadsheet would evaluate (one starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is prefixed with an apostrophe, as OWASP
recommends, and every cell holding a carriage return or line feed is quoted (RFC 4180 line ends),
so no line of the file can begin with a formula. In Markdown, HTML is escaped so a viewer shows it
instead of running it.
"""

from __future__ import annotations

import csv
import html
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

import pandas as pd

from coursekit.course.reading import in_prompt_order

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
        values = safe[column]
        if (
            values.dtype == object
            or pd.api.types.is_string_dtype(values)
            or isinstance(values.dtype, pd.CategoricalDtype)
        ):
            safe[column] = values.astype(object).map(neutralise_cell)
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
    """The discussion as the flat table discussion exports use: one row per post or reply.

    ``posts`` is ``DiscussionLog.posts(hidden=True)``: the instructor's export keeps what moderation
    hides, with ``hidden`` True for it and for every reply under it (what students no longer see),
    so no reply points at a parent the file leaves out.
    """
    from coursekit.log.moderation import with_replies

    parents = dict(zip(posts["post_id"], posts["parent_id"].where(posts["parent_id"].notna(), None), strict=True))
    hidden = with_replies(set(posts.loc[posts["hidden"], "post_id"]), parents)
    table = posts[list(THREAD_COLUMNS)].rename(columns=THREAD_COLUMNS)
    return table.assign(hidden=posts["post_id"].isin(hidden))


def write_csv(frame: pd.DataFrame, out: str | Path | IO[str]) -> None:
    """Write ``frame`` spreadsheet-safe to a path (replaced atomically: a reader never sees half) or a stream.

    CR LF line ends make the csv module quote every cell holding either character, so an embedded
    line break cannot start a new, unprefixed line. Text that is not valid UTF-8 (lone surrogates
    from a file name) is written backslash-escaped instead of failing the file.
    """
    safe = safe_for_spreadsheet(frame)
    if not isinstance(out, (str, Path)):
        safe.to_csv(out, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        return
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False,
        encoding="utf-8", errors="backslashreplace", newline="",
    )  # fmt: skip
    try:
        with handle:
            safe.to_csv(handle, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def write_rows(header: Sequence[str], rows: Iterable[Sequence[object]], out: str | Path | IO[str]) -> None:
    """Rows of plain values as a spreadsheet-safe CSV, through ``write_csv``."""
    write_csv(pd.DataFrame([list(r) for r in rows], columns=list(header), dtype=object), out)


def _quote(text: str) -> str:
    escaped = html.escape(text, quote=False) or "*(blank)*"
    return "\n".join("> " + line if line else ">" for line in escaped.splitlines())


def to_markdown(
    frame: pd.DataFrame, title: str = "Class discussion log", prompt_titles: Mapping[str, str] | None = None
) -> str:
    """The reflections grouped by week and prompt, each under its author's name.

    With ``prompt_titles`` (``Reading.prompt_titles()``) each prompt is headed and ordered as the
    notebook heads and orders it; a prompt it does not name keeps its id.
    """
    lines = [f"# {title}", ""]
    if frame.empty:
        return "\n".join(lines + ["*No reflections collected yet.*", ""])
    titles = prompt_titles or {}
    ordered = in_prompt_order(frame, titles)
    for (week, prompt_id), group in ordered.groupby(["week", "prompt_id"], sort=False, dropna=False):
        label = f"Week {int(week)}" if pd.notna(week) else "No week"
        name = html.escape(titles[prompt_id]) if prompt_id in titles else f"prompt `{html.escape(str(prompt_id))}`"
        lines += [f"## {label}: {name}", ""]
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
