"""Intake sources sit behind one shape (``base.Source``) in one ordered registry (``sources.SOURCES``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from conftest import filled_notebook, student_answers, write_notebook

from coursekit.cli import main
from coursekit.intake import sources
from coursekit.intake.archive import source_entries
from coursekit.intake.base import Finding, Found, Options, not_notebook, record
from coursekit.intake.submission import LayoutProblem


class Uploads:
    """A made-up source: a course's own upload form, ``UPLOADS`` beside ``<student>__<notebook>.ipynb`` files."""

    name = "uploads"

    def detect(self, root: Path, names: Sequence[str]) -> bool:
        return root.is_dir() and "UPLOADS" in names

    def find(self, root: Path, options: Options) -> Finding:
        found: list[Found] = []
        problems: list[LayoutProblem] = []
        for entry in source_entries(root):
            if isinstance(entry, LayoutProblem):
                problems.append(entry)
            elif entry.name == "UPLOADS":
                continue
            elif entry.is_notebook and "__" in entry.name:
                found.append(Found(record(entry, self.name, entry.name.split("__")[0])))
            else:
                problems.append(not_notebook(entry))
        return found, problems


def test_the_command_line_offers_every_registered_source_by_name_the_catch_all_last():
    layout = next(p for p in main.commands["collect"].params if p.name == "layout")
    assert tuple(layout.type.choices) == sources.LAYOUTS == tuple(s.name for s in sources.SOURCES)
    assert sources.LAYOUTS[-1] == "folder"  # it reads any folder, so it is tried last
    assert len(set(sources.LAYOUTS)) == len(sources.LAYOUTS) == 6


def test_a_new_source_is_one_class_and_one_registry_line(reading, tmp_path, monkeypatch):
    """Detection tries the registry in order, and ``layout=`` looks a source up in it by name."""
    monkeypatch.setattr(sources, "SOURCES", (Uploads(), *sources.SOURCES))
    root = tmp_path / "form"
    notebook = filled_notebook(reading, 1, student_answers(reading, 1, "ann"))
    for student in ("ann", "bob"):
        write_notebook(root / f"{student}__week01.ipynb", notebook)
    (root / "UPLOADS").write_text("exported by the course's upload form\n")
    (root / "notes.txt").write_text("not a notebook")

    assert sources.detect(root) == "uploads"
    for intake in (sources.gather(root), sources.gather(root, "uploads")):
        assert intake.layout == "uploads"
        assert sorted((f.student, f.source, f.name) for f in intake.files) == [
            ("ann", "uploads", "ann__week01.ipynb"),
            ("bob", "uploads", "bob__week01.ipynb"),
        ]
        assert [p.path.name for p in intake.skipped] == ["notes.txt"]

    (root / "UPLOADS").unlink()  # without its marker the folder is read as any folder: the next source that fits
    assert sources.detect(root) == "folder"
    (tmp_path / "form" / "ann").mkdir()
    (tmp_path / "form" / "ann" / "week01.ipynb").write_text(json.dumps(notebook))
    assert [f.source for f in sources.gather(root, "folder").files] == ["folder"]
