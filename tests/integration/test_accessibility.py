"""axe-core over what students and instructors open in a browser: the site, feedback pages, the report.

No serious or critical violation is allowed. The students' notebook widgets are checked inside
JupyterLab in test_lab_browser.py; the instructor's review notebook (the desk and its plots) here.
"""

from __future__ import annotations

import pandas as pd
import pytest
from browser import chromium, course_copy, jupyterlab, open_notebook, run_all, serious_violations
from classgen import make_class
from click.testing import CliRunner
from conftest import ARTIFACTS, ROOT, course_toml

from coursekit.cli import main
from coursekit.log.frames import open_log
from coursekit.log.reviews import ReviewDraft, save_review

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, reading):
    """A small class collected for real, one reflection reviewed, and every page written by the CLI."""
    folder = tmp_path_factory.mktemp("a11y")
    db = make_class(reading, folder, students=5)
    course_toml(folder, reading, db)
    log = open_log(db)
    row = log.reflections().iloc[0]
    save_review(log.engine, ReviewDraft(row.student, row.notebook, row.prompt_id, "prof", {"voice": 2}, "*Good*"))
    settings = ["--settings", str(folder / "course.toml")]
    for args in (
        ["publish", "--out", str(folder / "site"), "--reading", str(reading.path)],
        ["feedback", "--out", str(folder / "feedback")],
        ["report", "--out", str(folder / "report")],
    ):
        result = CliRunner().invoke(main, [*args, *settings], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    feedback = pd.read_csv(folder / "feedback" / "index.csv").file.iloc[0]
    return [
        folder / "site" / "index.html",
        *sorted((folder / "site").glob("week*.html"))[:1],
        folder / "feedback" / feedback,
        folder / "report" / "index.html",
    ]


@pytest.mark.timeout(180)
def test_site_feedback_and_report_have_no_serious_accessibility_violations(outputs):
    assert len(outputs) == 4 and all(p.is_file() for p in outputs), outputs
    with chromium() as browser:
        page = browser.new_page(bypass_csp=True)  # the pages' CSP would refuse axe's injected script
        for path in outputs:
            page.goto(path.as_uri())
            assert serious_violations(page) == [], path.name


@pytest.mark.slow  # a JupyterLab session
@pytest.mark.timeout(480)
def test_review_desk_in_jupyterlab_has_no_serious_violations_of_ours(tmp_path, reading):
    """The review notebook run in JupyterLab: the desk and its five plots, each with alt text from the data."""
    course = course_copy(ROOT, tmp_path / "course", ["instructor/review.ipynb"])
    course_toml(course, reading, tmp_path / "no-log-yet.db")  # no log yet: the desk's demo course
    with jupyterlab(course / "notebooks", tmp_path) as base, chromium() as browser:
        page = open_notebook(browser, base, "instructor/review.ipynb", timeout=120_000)
        note = page.locator(".jp-OutputArea-output", has_text="Full report with tables:")
        built = note.inner_text()  # the committed output, from when the notebook was built
        run_all(page)
        page.wait_for_function(
            "old => document.body.innerText.includes('Full report with tables:') && "
            "!document.body.innerText.includes(old)",
            arg=built,
        )
        page.locator(".coursekit-review").wait_for()
        page.wait_for_function("() => document.querySelectorAll('.jp-OutputArea-output img').length >= 5")
        plots = page.locator(".jp-OutputArea-output img")
        alts = plots.evaluate_all("images => images.map(i => i.alt)")
        assert len(alts) == 5, alts
        assert alts[0].startswith("Stacked bar chart of notebooks submitted per week") and "week 1: " in alts[0]
        assert [alt.split(" ", 1)[0] for alt in alts] == ["Stacked", "Histogram", "Bar", "Slopegraph", "Network"]
        assert plots.evaluate_all("images => images.every(i => i.complete && i.naturalWidth > 200)")
        violations = serious_violations(page, {"include": [[".jp-OutputArea-output"]]})
        assert violations == [], violations
        page.locator(".coursekit-review").screenshot(path=str(ARTIFACTS / "jupyterlab-review-desk.png"))
