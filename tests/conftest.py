"""Shared fixtures: the real reading, and generated student submissions built from it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from coursekit.build import week_notebook
from coursekit.cells import cell_marker
from coursekit.reading import Reading, load_reading

ROOT = Path(__file__).resolve().parents[1]
READING_DIR = ROOT / "readings" / "kreiss-finn-turner-2011"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def reading() -> Reading:
    return load_reading(READING_DIR)


def filled_notebook(reading: Reading, week: int, answers: dict[str, str]) -> dict:
    """A week's notebook as a student would submit it, with ``answers`` typed into reflections."""
    notebook = json.loads(json.dumps(week_notebook(reading, week)))
    for cell in notebook["cells"]:
        marker = cell_marker(cell)
        if marker and marker["role"] == "reflection" and marker["prompt_id"] in answers:
            cell["source"] = answers[marker["prompt_id"]]
    return notebook


def with_saved(notebook: dict, records: dict[str, dict]) -> dict:
    """Put answer records into the outputs of widget cells (matched by source text), as JupyterLab saves them."""
    from coursekit import answers

    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for needle, rec in records.items():
            if needle in source:
                cell["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": answers.bundle(rec)}]
    return notebook


def write_notebook(path: Path, notebook: dict, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def student_answers(reading: Reading, week: int, student: str) -> dict[str, str]:
    return {
        p.id: f"{student} thinks about {p.id}: bureaucracy protects rights while peer production "
        f"spreads work across many hands, and both need accountability."
        for p in reading.prompts_for(week)
    }


@pytest.fixture
def make_class(reading, tmp_path):
    """Build ``n`` week-1 submissions under tmp_path/submissions; return the folder."""

    def build(n: int, week: int = 1) -> Path:
        root = tmp_path / "submissions"
        name = f"week{week:02d}.ipynb"
        for i in range(n):
            student = f"student{i:02d}"
            notebook = filled_notebook(reading, week, student_answers(reading, week, student))
            write_notebook(root / student / name, notebook, mtime=1_700_000_000 + i)
        return root

    return build
