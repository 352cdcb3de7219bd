"""Participation analytics on hand-made frames (exact numbers), and the report over a generated class in Chromium."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys
from datetime import datetime

import classgen
import pandas as pd
import pytest
from backends import fresh_database
from browser import chromium
from click.testing import CliRunner
from conftest import ARTIFACTS, ROOT
from markupsafe import escape
from PIL import Image

from coursekit.cli import main
from coursekit.course.settings import WeekSetting, load_settings
from coursekit.log.frames import DiscussionLog, open_log
from coursekit.log.schema import open_database
from coursekit.review import analytics
from coursekit.review.report import draw_report, write_report

DEADLINES = {1: datetime(2026, 9, 11, 23, 59), 2: datetime(2026, 9, 18, 23, 59)}  # week 3 has none


def settings_with(deadlines: dict):
    """The course's settings with these weeks and deadlines."""
    settings = load_settings(ROOT / "course.toml")
    weeks = tuple(WeekSetting(w, f"week{w:02d}", d) for w, d in deadlines.items())
    return dataclasses.replace(settings, weeks=weeks)


PLOTS = ["submissions.png", "words.png", "concepts.png", "stance-1.png", "replies.png"]


def submissions_frame() -> pd.DataFrame:
    rows = [
        ("ana", 1, datetime(2026, 9, 11, 23, 59)),  # exactly at the deadline: on time
        ("ben", 1, datetime(2026, 9, 12, 0, 1)),
        ("cy", 1, datetime(2026, 9, 10, 8, 0)),
        ("ana", 2, datetime(2026, 9, 19, 9, 0)),
        ("ben", 3, datetime(2027, 1, 1)),  # no deadline: on time
        ("dee", None, datetime(2026, 9, 1)),  # week unknown: not placed
    ]
    return pd.DataFrame(rows, columns=["student", "week", "submitted_at"])


def test_submissions_per_week_splits_on_time_and_late():
    table = analytics.submissions_per_week(
        submissions_frame(), settings_with({**DEADLINES, 3: None}), weeks=[1, 2, 3, 4]
    )
    assert table.to_dict("index") == {
        1: {"on_time": 2, "late": 1, "total": 3},
        2: {"on_time": 0, "late": 1, "total": 1},
        3: {"on_time": 1, "late": 0, "total": 1},
        4: {"on_time": 0, "late": 0, "total": 0},
    }


def test_submissions_per_week_uses_the_course_settings_deadlines():
    settings = load_settings(ROOT / "course.toml")  # week 1: 2026-09-11T23:59:00Z
    frame = pd.DataFrame(
        {"student": ["a", "b"], "week": [1, 1], "submitted_at": [datetime(2026, 9, 11, 23, 0), datetime(2026, 9, 12)]}
    )
    assert analytics.submissions_per_week(frame, settings).loc[1].to_dict() == {
        "on_time": 1,
        "late": 1,
        "total": 2,
    }


def test_absent_students_per_week():
    absent = analytics.absent_students(submissions_frame(), [1, 2, 3])
    assert list(absent.itertuples(index=False, name=None)) == [
        (1, "dee"),
        (2, "ben"),
        (2, "cy"),
        (2, "dee"),
        (3, "ana"),
        (3, "cy"),
        (3, "dee"),
    ]


def test_word_counts_report_blanks_apart():
    counts = analytics.word_counts(pd.DataFrame({"word_count": [0, 10, 20, 0, 30]}))
    assert (counts.written, counts.blanks, counts.median, counts.mean) == (3, 2, 20.0, 20.0)
    assert list(counts.words) == [10, 20, 30]
    empty = analytics.word_counts(pd.DataFrame({"word_count": [0]}))
    assert (empty.written, empty.blanks) == (0, 1) and math.isnan(empty.median)


def test_concept_usage_matches_terms_before_the_parenthesis_in_any_case():
    terms = ["Co-optation (incorporation)", "Iron cage", "Ideal type", "Bureaucracy", "Beruf (vocation)"]
    texts = [
        "CO-OPTATION of volunteer labour",
        "the iron\ncage of rules; bureaucracy's files",
        "ideal types are a plural; incorporation alone is not the term",
        "Bureaucracy, bureaucracy and more bureaucracy",
        "",
    ]
    concepts = analytics.concept_usage(pd.DataFrame({"text": texts}), terms)
    assert concepts.usage.to_dict("list") == {"term": terms, "reflections": [1, 1, 0, 2, 0]}
    assert concepts.missed == ("Ideal type", "Beruf (vocation)")


def stance_rows(*rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"student": s, "week": w, "widget_id": wid, "state": {"value": v, "steps": 7}}
            for s, w, v, wid in [(*r, "saving-grace") if len(r) == 3 else r for r in rows]
        ]
    )


def test_stance_shift_compares_students_who_answered_both_weeks():
    stances = stance_rows(
        ("ana", 1, 2), ("ana", 4, 5), ("ben", 1, 6), ("ben", 4, 1), ("cy", 1, 3), ("dee", 4, 0), ("ana", 4, 0, "other")
    )
    shifts = analytics.stance_shift(stances, 1, 4, "saving-grace")
    assert shifts.to_dict("index") == {
        "ana": {"first": 2, "last": 5, "steps": 7, "shift": 3},
        "ben": {"first": 6, "last": 1, "steps": 7, "shift": -5},
    }
    assert analytics.mean_shift(shifts) == -1.0
    nobody = analytics.stance_shift(stance_rows(("cy", 1, 3)), 1, 4)
    assert nobody.empty and math.isnan(analytics.mean_shift(nobody))


@pytest.fixture
def posts() -> pd.DataFrame:
    rows = [
        ("r1", None, "ana", 3),
        ("r2", None, "ben", 0),
        ("r3", None, "cy", 0),
        ("x1", "r1", "ben", 1),  # ben → ana
        ("x2", "r1", "cy", 0),  # cy → ana
        ("x3", "x1", "ana", 0),  # ana answers ben's reply: ana → ben
        ("x4", "r1", "ben", 0),  # ben → ana again
        ("x5", "r1", "ana", 0),  # ana under her own post
        ("x6", "gone", "cy", 0),  # parent not in the log
    ]
    return pd.DataFrame(rows, columns=["post_id", "parent_id", "author", "like_count"])


def test_reply_edges_point_from_replier_to_parent_author(posts):
    edges = analytics.reply_edges(posts)
    assert list(edges.itertuples(index=False, name=None)) == [
        ("ben", "ana", 2),
        ("ana", "ana", 1),
        ("ana", "ben", 1),
        ("cy", "ana", 1),
    ]


def test_participation_counts_every_student(posts):
    table = analytics.participation(posts, ["dee", "ana"])
    assert table.to_dict("index") == {
        "ana": {"posts": 1, "replies_given": 2, "replies_received": 3, "likes_received": 3},
        "ben": {"posts": 1, "replies_given": 2, "replies_received": 1, "likes_received": 1},
        "cy": {"posts": 1, "replies_given": 2, "replies_received": 0, "likes_received": 0},
        "dee": {"posts": 0, "replies_given": 0, "replies_received": 0, "likes_received": 0},
    }


def test_top_share_rounds_the_top_group_up():
    assert analytics.top_share(pd.Series([10, 5, 3, 2, 0, 0])) == 0.5  # 4 repliers: the top 1
    assert analytics.top_share(pd.Series(range(1, 12))) == 21 / 66  # 11 repliers: the top 2
    assert math.isnan(analytics.top_share(pd.Series([0, 0])))
    assert [analytics.top_group(n) for n in (1, 4, 10, 11, 20, 21)] == [1, 1, 1, 2, 2, 3]


def test_gini_on_known_values():
    assert analytics.gini([3, 3, 3, 3]) == pytest.approx(0)
    assert analytics.gini([0, 0, 0, 0, 8]) == pytest.approx(4 / 5)
    assert analytics.gini([0] * 9 + [1]) == pytest.approx(9 / 10)
    assert analytics.gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert math.isnan(analytics.gini([])) and math.isnan(analytics.gini([0, 0]))


class HandMadeLog:
    """The DiscussionLog methods the report reads, over tiny frames (a hostile student name included)."""

    name = "<img src=x onerror=alert(1)> $x$"

    def submissions(self):
        return pd.DataFrame({"student": [self.name, "ben"], "week": [1, 1], "submitted_at": [datetime(2026, 9, 1)] * 2})

    def reflections(self):
        return pd.DataFrame({"text": ["Bureaucracy <b>", ""], "word_count": [2, 0]})

    def posts(self):
        return pd.DataFrame(
            [("r1", None, self.name, 1), ("x1", "r1", "ben", 0)],
            columns=["post_id", "parent_id", "author", "like_count"],
        )

    def answers(self, kind=None):
        return stance_rows((self.name, 1, 0), (self.name, 4, 6))


def test_report_escapes_names_and_draws_dollars_as_text(tmp_path, reading):
    index = write_report(HandMadeLog(), load_settings(ROOT / "course.toml"), reading, tmp_path / "report")
    page = index.read_text()
    assert "&lt;img src=x onerror=alert(1)&gt; $x$" in page
    assert "<img src=x" not in page
    assert page.count("<img ") == len(PLOTS)
    for name in PLOTS:
        Image.open(tmp_path / "report" / name).verify()


def test_report_plots_come_with_alt_text_for_the_review_notebook(tmp_path, reading):
    """JupyterLab gives an image output no alt text: the notebook shows the plots as HTML with the page's alt."""
    report = draw_report(HandMadeLog(), load_settings(ROOT / "course.toml"), reading, tmp_path / "report")
    assert [p.path.name for p in report.plots] == PLOTS
    page = report.page.read_text()
    bundle = report._repr_mimebundle_()
    for plot in report.plots:
        alt = escape(plot.alt)  # as the pages escape it (Jinja2 autoescaping)
        assert f"src='{plot.path.name}' alt='{alt}'" in page
        assert f"alt='{alt}'" in bundle["text/html"] and plot.alt in bundle["text/plain"]
    assert bundle["text/html"].count("<img src='data:image/png;base64,") == len(report.plots)
    assert report.plots[0].alt.startswith("Stacked bar chart of notebooks submitted per week") and "week 1: " in (
        report.plots[0].alt
    )
    assert str(report.page) in bundle["text/plain"]


def test_report_of_an_empty_log_says_so(tmp_path, reading, db):
    log = DiscussionLog(open_database(db))
    page = write_report(log, load_settings(ROOT / "course.toml"), reading, tmp_path / "report").read_text()
    assert page.count("<img ") == len(PLOTS)
    assert "most active 10% of repliers (nobody has replied yet)</th><td>n/a</td>" in page
    assert "(0 students; + is towards Tool of destruction)</th><td>n/a</td>" in page
    assert "Submitted nothing in week 4</th><td>0</td>" in page


@pytest.fixture(scope="module")
def generated(reading, tmp_path_factory, backend):
    """The 40-student class, collected for real, and its report: built once for this module and backend."""
    root = tmp_path_factory.mktemp("class")
    with fresh_database(backend, root) as url:
        db = classgen.make_class(reading, root, students=40, db=url)
        settings = dataclasses.replace(load_settings(ROOT / "course.toml"), database=str(db))
        yield db, write_report(open_log(settings.database), settings, reading, root / "report")


def test_report_plots_are_real_pngs(generated):
    _, index = generated
    for name in PLOTS:
        path = index.parent / name
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), name
        with Image.open(path) as image:
            image.verify()
            assert image.format == "PNG" and min(image.size) > 200


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_report_opens_in_chromium_with_every_image(generated):
    _, index = generated
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        violations = []
        page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto(index.as_uri())
        page.wait_for_load_state("load")
        assert page.evaluate("document.images.length") == len(PLOTS)
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert page.evaluate("Array.from(document.images).every(i => i.alt.length > 40)")
        figures = page.locator("table.figures")
        assert figures.count() == 1
        for label in ("most active 10%", "Gini coefficient", "Mean stance shift", "Submitted nothing in week 4"):
            assert figures.locator("th", has_text=label).count() == 1, label
        assert violations == [], violations
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)


def test_report_command_writes_the_page(generated, tmp_path):
    db, _ = generated
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main, ["report", "--settings", str(ROOT / "course.toml"), "--db", str(db), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert str(out / "index.html") in result.output
    assert all((out / name).is_file() for name in PLOTS)


def test_the_report_leaves_matplotlib_as_the_instructors_kernel_set_it(tmp_path):
    """No matplotlib.use at import and no pyplot figures left behind: the kernel's own plots keep working."""
    script = f"""
import matplotlib
matplotlib.use("svg")  # the instructor's own choice, as %matplotlib would make it
from matplotlib import pyplot as plt
import pandas as pd
from coursekit.review import analytics, report
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
counts = analytics.word_counts(pd.DataFrame({{"word_count": [0, 12, 40, 41]}}))
report._plot_words(counts, __import__("pathlib").Path({str(tmp_path / "words.png")!r}))
assert matplotlib.get_backend() == "svg" and plt.get_fignums() == [], (matplotlib.get_backend(), plt.get_fignums())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "words.png").format == "PNG"
