"""What the validate tests share: the sandbox's availability, submissions with extra code, the report's lines.

A helper module rather than test_validate.py itself, because test modules do not import each other
(pytest imports them with ``--import-mode=importlib``).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import filled_notebook, student_answers

from coursekit.cli import main
from coursekit.validation import sandbox

BWRAP_PROBLEM = sandbox.sandbox_problem()
_can_sandbox = pytest.mark.skipif(bool(BWRAP_PROBLEM), reason=f"bubblewrap cannot sandbox here: {BWRAP_PROBLEM}")


def needs_bwrap(test):
    """A test that runs notebooks in bubblewrap: marked ``sandbox``, and skipped where it cannot sandbox."""
    return pytest.mark.sandbox(_can_sandbox(test))


def long_answers(reading, week: int, student: str) -> dict[str, str]:
    """Reflections long enough for every prompt: conftest's ~20-word answers, eight times over."""
    return {pid: " ".join([text] * 8) for pid, text in student_answers(reading, week, student).items()}


def submission(reading, *code: str, week: int = 1, answers: dict | None = None) -> dict:
    """A week's notebook as submitted, with extra code cells right after the one that loads the reading."""
    notebook = filled_notebook(reading, week, long_answers(reading, week, "s") if answers is None else answers)
    first_code = next(i for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code")
    for offset, source in enumerate(code, 1):
        cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
        notebook["cells"].insert(first_code + offset, cell)
    return notebook


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def lines_of(output: str, student: str) -> list[str]:
    """The report lines of one student: their status line and the reasons below it."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if f" {student}  " in line)
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("      ")), len(lines))
    return lines[start:end]
