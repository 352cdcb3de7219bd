"""The package as a user installs it: the built wheel, alone, in a fresh virtual environment.

No requirements.txt and no system site packages: only what pyproject.toml declares. pip installs the
wheel's dependencies from the indexes it is configured with (its cache makes a rerun quicker).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import READING_DIR, ROOT, filled_notebook, student_answers, write_notebook

from coursekit.cli import main

# Every test here uses the fresh install, built once for the module: pip builds the wheel and installs
# it with its dependencies into a new virtual environment (minutes, more on a loaded machine).
pytestmark = pytest.mark.slow

# Imports every coursekit module but the pytest plugin, then checks that none of it imported pytest or
# nbval, or patched nbval: the plugin is loaded into validation runs only (pytest -p).
IMPORT_ALL = """
import importlib, pkgutil, sys, coursekit
# The pytest plugin runs inside validation runs; Alembic's env script runs inside a migration only.
for module in pkgutil.walk_packages(coursekit.__path__, "coursekit."):
    if module.name not in ("coursekit.validation.plugin", "coursekit.log.migrations.env"):
        importlib.import_module(module.name)
assert "pytest" not in sys.modules and "nbval" not in sys.modules, "imported at import time"
from nbval.kernel import RunningKernel
assert not getattr(RunningKernel.await_reply, "coursekit", False), "nbval patched outside a run"
import coursekit.validation.plugin  # its own imports resolve too
print("imported", len(sys.modules))
"""

# Every page template ships in the wheel: each compiles from the installed package, and a site page renders.
RENDER_PAGES = """
import sys, pandas as pd
from pathlib import Path
from coursekit.discussion.pages import environment
from coursekit.discussion.site import Site, publish_site
for package in ("coursekit.discussion", "coursekit.review"):
    names = environment(package).list_templates()
    for name in names:
        environment(package).get_template(name)
    print(package, *sorted(names))
post = dict(post_id="r-1", parent_id=None, author="ann", thread_week=1, prompt_id="p", like_count=0)
posts = pd.DataFrame([dict(post, message="*hi*", created_at="2026-09-01")])
index, week = publish_site(Site("Class", {"p": "Why?"}, {1: "One"}), posts, Path(sys.argv[1]))
print(week.read_text())
"""


def run(*command, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run with bytecode caching on: the wheel is installed without .pyc files, so the first run writes them."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ folder of a fresh virtual environment holding the wheel built from this checkout."""
    work = tmp_path_factory.mktemp("install")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", ROOT, timeout=600)
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("coursekit-*.whl"))
    venv.create(work / "venv", with_pip=False)  # this environment's pip installs into it (pip --python)
    python = work / "venv" / "bin" / "python"
    done = run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile", wheel, timeout=1200)
    assert done.returncode == 0, done.stderr
    return python.parent


def test_every_module_imports_with_the_declared_dependencies_and_nbval_is_left_alone(installed):
    imported = run(installed / "python", "-c", IMPORT_ALL)
    assert imported.returncode == 0, imported.stderr


def test_pages_render_from_the_templates_in_the_wheel(installed, tmp_path):
    rendered = run(installed / "python", "-c", RENDER_PAGES, tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    shipped = {line.split()[0]: set(line.split()[1:]) for line in rendered.stdout.splitlines()[:2]}
    site = {"base.html", "site.html", "index.html", "week.html", "site.css", "search.js"}
    assert site <= shipped["coursekit.discussion"]
    assert {"feedback.html", "report.html", "figure.html", "plots.html", "report.css"} <= shipped["coursekit.review"]
    page = (tmp_path / "week01.html").read_text()
    assert "<em>hi</em>" in page and "script-src 'sha256-" in page and "01 Sep 2026, 00:00 UTC" in page


def test_every_command_has_help_in_a_fresh_install(installed):
    top = run(installed / "coursekit", "--help")
    assert top.returncode == 0, top.stderr
    for command in main.commands:
        assert command in top.stdout
        helped = run(installed / "coursekit", command, "--help")
        assert helped.returncode == 0 and "Usage: coursekit" in helped.stdout, (command, helped.stderr)


# Its validate is a subprocess, which sandboxes by default: conftest's guard cannot see it, hence by hand.
@pytest.mark.sandbox
def test_validate_runs_a_notebook_in_a_fresh_install(installed, tmp_path, reading):
    course = tmp_path / "course"
    (course / "readings").mkdir(parents=True)
    subprocess.run(["cp", "-r", str(READING_DIR), str(course / "readings")], check=True)
    answers = {pid: " ".join([text] * 8) for pid, text in student_answers(reading, 1, "ann").items()}
    write_notebook(course / "subs" / "ann" / "week01.ipynb", filled_notebook(reading, 1, answers))
    result = run(installed / "coursekit", "validate", "subs", "--timeout", "90", cwd=course, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 notebook(s): 1 passed, 0 failed" in result.stdout


def test_lab_names_the_extra_it_needs(installed, tmp_path):
    result = run(installed / "coursekit", "lab", "--no-browser", cwd=tmp_path)
    assert result.returncode == 2
    assert "coursekit lab needs jupyterlab" in result.stderr and "pip install 'coursekit[lab]'" in result.stderr
