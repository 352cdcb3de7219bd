"""axe-core over what students and instructors open in a browser: the site, feedback pages, the report.

No serious or critical violation is allowed. The notebook widgets are checked inside JupyterLab in
test_lab_browser.py.
"""

from __future__ import annotations

import pandas as pd
import pytest
from browser import chromium, serious_violations
from classgen import make_class
from click.testing import CliRunner
from conftest import course_toml

from coursekit.cli import main
from coursekit.log.frames import open_log
from coursekit.log.store import ReviewDraft, save_review


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
