"""Extracting reflections from notebook bytes: good notebooks, and every kind of broken one."""

from __future__ import annotations

import json

import pytest
from conftest import filled_notebook, student_answers

from coursekit.intake.extract import extract
from coursekit.notebook.cells import PLACEHOLDER, cell_marker, prompt_checksum, reflection_cell, word_count


def as_bytes(notebook: dict) -> bytes:
    return json.dumps(notebook).encode()


def test_reflections_are_read_with_words_and_hash(reading):
    prompts = reading.prompts_for(1)
    notebook = filled_notebook(reading, 1, {prompts[0].id: "Rules *protect* people.\n\nIt's true."})
    result = extract(as_bytes(notebook), "week01")
    assert result.ok, result.problems
    assert result.week == 1 and result.notebook == "week01-the-promise"
    by_id = {r.prompt_id: r for r in result.reflections}
    assert by_id[prompts[0].id].text == "Rules *protect* people.\n\nIt's true."
    assert by_id[prompts[0].id].word_count == 5
    assert by_id[prompts[1].id].text == "" and by_id[prompts[1].id].word_count == 0  # placeholder = blank


def test_word_count_counts_words_not_punctuation():
    assert word_count("Weber's iron-cage, *again* -- 42 times!") == 5
    assert word_count(PLACEHOLDER.strip("*")) == 7
    assert word_count("") == 0


def test_split_reflection_cells_are_joined(reading):
    prompt = reading.prompts_for(1)[0]
    notebook = filled_notebook(reading, 1, {prompt.id: "First half."})
    index = next(
        i
        for i, c in enumerate(notebook["cells"])
        if (cell_marker(c) or {}).get("prompt_id") == prompt.id and cell_marker(c)["role"] == "reflection"
    )
    extra = reflection_cell(prompt.id)
    extra["source"] = "Second half."
    notebook["cells"].insert(index + 1, extra)
    result = extract(as_bytes(notebook))
    assert {r.prompt_id: r.text for r in result.reflections}[prompt.id] == "First half.\n\nSecond half."


def test_source_as_list_of_lines(reading):
    prompt = reading.prompts_for(1)[0]
    notebook = filled_notebook(reading, 1, {})
    for cell in notebook["cells"]:
        if (cell_marker(cell) or {}).get("role") == "reflection" and cell_marker(cell)["prompt_id"] == prompt.id:
            cell["source"] = ["line one\n", "line two"]
    result = extract(as_bytes(notebook))
    assert {r.prompt_id: r.text for r in result.reflections}[prompt.id] == "line one\nline two"


def _drop(notebook: dict, role: str, index: int = 0) -> dict:
    cells = [c for c in notebook["cells"] if (cell_marker(c) or {}).get("role") == role]
    notebook["cells"].remove(cells[index])
    return notebook


def _duplicate_prompt(notebook: dict) -> dict:
    cell = next(c for c in notebook["cells"] if (cell_marker(c) or {}).get("role") == "prompt")
    notebook["cells"].append(json.loads(json.dumps(cell)))
    return notebook


def _no_coursekit(notebook: dict) -> dict:
    notebook["cells"] = [c for c in notebook["cells"] if cell_marker(c) is None]
    return notebook


def _code_reflection(notebook: dict) -> dict:
    cell = next(c for c in notebook["cells"] if (cell_marker(c) or {}).get("role") == "reflection")
    cell.update(cell_type="code", outputs=[], execution_count=None)
    return notebook


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda nb: b"", "empty"),
        (lambda nb: b"   \n", "empty"),
        (lambda nb: as_bytes(nb)[:500], "not valid JSON"),
        (lambda nb: b"\xff\xfe\x00garbage", "not UTF-8"),
        (lambda nb: b'{"hello": "world"}', "not a Jupyter notebook"),
        (lambda nb: b"[1, 2, 3]", "not a Jupyter notebook"),
        (lambda nb: as_bytes({**nb, "nbformat": 3}), "format 3"),
        (lambda nb: as_bytes(_no_coursekit(nb)), "no coursekit"),
        (lambda nb: as_bytes(_drop(nb, "prompt")), "prompt cell for w1-"),
        (lambda nb: as_bytes(_drop(nb, "reflection", 1)), "reflection cell for w1-"),
        (lambda nb: as_bytes(_duplicate_prompt(nb)), "appears 2 times"),
        (lambda nb: as_bytes(_code_reflection(nb)), "changed from markdown"),
        (lambda nb: as_bytes({**nb, "cells": [*nb["cells"], "not a cell"]}), "not a cell"),
    ],
)
def test_broken_notebooks_are_problems_not_exceptions(reading, damage, reason):
    notebook = filled_notebook(reading, 1, {p.id: "text" for p in reading.prompts_for(1)})
    result = extract(damage(notebook), "week01")
    assert not result.ok
    assert result.reflections == []
    assert reason in result.problems[0].reason
    assert result.problems[0].hint


def test_prompt_checksum_changes_when_prompt_is_edited(reading):
    notebook = filled_notebook(reading, 1, {})
    prompt = next(c for c in notebook["cells"] if (cell_marker(c) or {}).get("role") == "prompt")
    before = prompt_checksum(prompt)
    prompt["source"] += " (edited)"
    assert prompt_checksum(prompt) != before


def test_prompt_cells_are_locked_and_tagged(reading):
    notebook = filled_notebook(reading, 1, {})
    roles = [(cell_marker(c)["role"], c["metadata"]) for c in notebook["cells"] if cell_marker(c)]
    assert [r for r, _ in roles] == ["prompt", "reflection"] * len(reading.prompts_for(1))
    for role, metadata in roles:
        assert metadata["tags"] == [f"coursekit-{role}"]
        assert metadata["coursekit"]["schema_version"] == 1
        locked = role == "prompt"
        assert metadata.get("editable", True) is not locked
        assert metadata.get("deletable", True) is not locked


def test_text_typed_under_the_placeholder_is_kept_without_it(reading):
    prompt = reading.prompts_for(1)[0]
    notebook = filled_notebook(reading, 1, {prompt.id: f"{PLACEHOLDER}\n\nMy own words here."})
    text = {r.prompt_id: r for r in extract(as_bytes(notebook)).reflections}[prompt.id]
    assert text.text == "My own words here." and text.word_count == 4
    rendered = filled_notebook(reading, 1, {prompt.id: f"My words.\n{PLACEHOLDER.strip('*')}"})
    assert {r.prompt_id: r.text for r in extract(as_bytes(rendered)).reflections}[prompt.id] == "My words."


def test_generated_cells_and_blank_new_cells_are_not_stray_text(reading):
    notebook = filled_notebook(reading, 4, student_answers(reading, 4, "ann"))
    assert extract(as_bytes(notebook)).warnings == []
    at = next(i for i, c in enumerate(notebook["cells"]) if (cell_marker(c) or {}).get("role") == "reflection")
    notebook["cells"].insert(at + 1, {"cell_type": "code", "metadata": {}, "source": "", "outputs": []})
    assert extract(as_bytes(notebook)).warnings == []
    notebook["cells"][at + 1]["source"] = "typed here by mistake"
    assert len(extract(as_bytes(notebook)).warnings) == 1
