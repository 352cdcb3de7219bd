"""Canvas grades and feedback pages for a generated class of 40 students over 4 weeks."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime

import pandas as pd
import pytest
from backends import fresh_database
from classgen import make_class, roster_rows
from click.testing import CliRunner
from conftest import ROOT, course_toml

from coursekit.cli import main
from coursekit.course.settings import load_settings
from coursekit.log.frames import open_log
from coursekit.log.reviews import ReviewDraft, save_review

HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def term(tmp_path_factory, reading, backend):
    folder = tmp_path_factory.mktemp("term")
    with fresh_database(backend, folder) as url:
        yield _term(folder, reading, url)


def _term(folder, reading, url):
    db = make_class(reading, folder, students=40, db=url)
    rows = roster_rows(40)
    rows[3]["Student"] = '=HYPERLINK("http://evil.example","x")'  # a hostile display name
    rows[5]["Section"] = "@SUM(A1:A9)"
    pd.DataFrame(rows).to_csv(folder / "roster.csv", index=False)
    log = open_log(db)
    for n, row in enumerate(log.reflections().itertuples()):
        if n % 3:  # score two thirds of the reflections
            draft = ReviewDraft(
                row.student, row.notebook, row.prompt_id, "prof", {"understanding": 3, "voice": 2}, "Fine work."
            )
            save_review(log.engine, draft)
    settings = dataclasses.replace(load_settings(ROOT / "course.toml"), database=str(db))
    course_toml(folder, reading, db)
    return folder, settings


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_canvas_csv_header_rows_and_no_formulas(term, reading):
    folder, settings = term
    out = folder / "grades.csv"
    run(
        "grades",
        "--settings",
        str(folder / "course.toml"),
        "--roster",
        str(folder / "roster.csv"),
        "--out",
        str(out),
        "--plain",
        str(folder / "plain.csv"),
        "--allow-unreviewed",
        "--score-partial-weeks",  # two thirds scored: every week is partial, blank without this
    )
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == HEADER + [f"Week {w} reflections" for w in (1, 2, 3, 4)]
    assert frame.iloc[0, 0] == "Points Possible"
    possible = [10.0 * len(reading.prompts_for(w)) + (2 if w > 1 else 0) for w in (1, 2, 3, 4)]  # + participation
    assert frame.iloc[0, 5:].astype(float).tolist() == possible
    frame = frame.iloc[1:].reset_index(drop=True)
    assert len(frame) == 42 and frame["SIS Login ID"].is_unique
    for value in frame.values.ravel():
        assert not value.startswith(DANGEROUS), value
    assert frame.loc[3, "Student"].startswith("'=HYPERLINK") and frame.loc[5, "Section"] == "'@SUM(A1:A9)"
    never = frame[frame["SIS Login ID"].isin(["s040", "s041"])]
    assert (never.iloc[:, 5:] == "").all().all()  # no submission: blank, not zero
    scored = pd.to_numeric(frame["Week 1 reflections"], errors="coerce").dropna()
    assert len(scored) > 20 and scored.max() <= 2 * settings.rubric_points  # weeks with nothing scored are blank
    plain = pd.read_csv(folder / "plain.csv")
    assert {"rubric", "participation", "late", "total", "possible", "partial", "scored_prompts"} <= set(plain.columns)


def test_grade_arithmetic_on_hand_made_numbers():
    """Totals worked out by hand from course.toml: 2 points for 2 replies, 10% off late work, week 2 due 18 Sep."""
    from coursekit.review.grades import week_scores

    settings = load_settings(ROOT / "course.toml")
    submissions = pd.DataFrame(
        [
            ("ann", "week01", 1, datetime(2026, 9, 10)),  # on time
            ("ann", "week02", 2, datetime(2026, 9, 19, 8)),  # after the 18 Sep 23:59 deadline
            ("bob", "week02", 2, datetime(2026, 9, 18, 23, 59)),  # at the deadline: on time
            ("cy", "week09", 9, datetime(2026, 9, 1)),  # a week the settings do not know: no grade
        ],
        columns=["student", "notebook", "week", "submitted_at"],
    )
    reviews = pd.DataFrame(
        [
            ("ann", "week01", {"understanding": 4, "evidence": 3}),
            ("ann", "week02", {"understanding": 3, "evidence": 2, "voice": 1}),
            ("ann", "week02", {"understanding": 4}),
            ("bob", "week02", {"voice": 2, "evidence": 3}),
        ],
        columns=["student", "notebook", "scores"],
    )
    posts = pd.DataFrame(
        [("reply", "ann", 1), ("reply", "ann", 1), ("reply", "ann", 2)] + [("reply", "bob", 2)] * 3,
        columns=["kind", "author", "week"],
    )
    scores = week_scores(submissions, reviews, posts, settings, {1: 2, 2: 2}).set_index(["student", "week"])
    assert scores["total"].to_dict() == {("ann", 1): 7.0, ("ann", 2): 9.9, ("bob", 2): 7.0}
    # ann, week 2: rubric 6 + 4 = 10, one reply of two = 1 point, late: (10 + 1) * 0.9 = 9.9
    assert scores.loc[("ann", 2)][["rubric", "participation", "late"]].tolist() == [10.0, 1.0, True]
    # week 1 has no feed to reply to: ann's two replies earn nothing; bob's 3 replies cap at 2 points
    assert scores.loc[("ann", 1), "participation"] == 0 and scores.loc[("bob", 2), "participation"] == 2.0


def test_missing_zero_setting(term):
    folder, _ = term
    toml = folder / "zero.toml"
    toml.write_text((folder / "course.toml").read_text().replace('missing = "blank"', 'missing = "zero"'))
    out = folder / "zero.csv"
    run(
        "grades",
        "--settings",
        str(toml),
        "--roster",
        str(folder / "roster.csv"),
        "--out",
        str(out),
        "--allow-unreviewed",
    )
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert (frame[frame["SIS Login ID"] == "s041"].iloc[:, 5:].astype(float) == 0).all().all()


def test_feedback_pages_named_by_secret_and_stable_across_edits(term):
    folder, settings = term
    out = folder / "feedback"
    run("feedback", "--settings", str(folder / "course.toml"), "--out", str(out))
    index = pd.read_csv(out / "index.csv")
    assert len(index) == 40 and index.file.is_unique
    assert all(re.fullmatch(r"feedback-[0-9a-f]{12}\.html", f) for f in index.file)
    assert not any(student in name for student, name in zip(index.student, index.file, strict=True))
    first = index.iloc[0]
    page = (out / first.file).read_text()
    assert "Fine work." in page and "Understands the reading" in page

    log = open_log(settings.database)
    row = log.reflections().query(f"student == '{first.student}'").iloc[0]
    save_review(
        log.engine, ReviewDraft(row.student, row.notebook, row.prompt_id, "prof", {"understanding": 4}, "<b>Edited</b>")
    )
    run("feedback", "--settings", str(folder / "course.toml"), "--out", str(out))
    again = pd.read_csv(out / "index.csv")
    assert list(again.file) == list(index.file)  # an edit does not rename anyone's page
    page = (out / first.file).read_text()
    assert "<b>Edited</b>" not in page and "Edited" in page


def test_bad_settings_name_file_key_and_reason(tmp_path):
    bad = tmp_path / "course.toml"
    bad.write_text(
        '[course]\nname = "x"\nreading = "nowhere"\nnames = "nicknames"\n[rubric]\ncriteria = []\n'
        "[[weeks]]\nweek = 1\nnotebook = 3\n"
    )
    result = CliRunner().invoke(main, ["grades", "--settings", str(bad), "--roster", "r.csv"])
    assert result.exit_code == 2
    for expected in (
        "course.toml: course.reading:",
        "course.toml: course.names: must be one of pseudonym, real",
        "course.toml: weeks[0].notebook: expected str, found int",
        "course.toml: rubric.criteria: needs at least one criterion",
    ):
        assert expected in result.output, result.output


def test_unscored_weeks_are_blank_and_counted(tmp_path, reading, db):
    """Nothing scored: grades refuses (with the count) unless --allow-unreviewed; cells blank; feedback honest."""
    make_class(reading, tmp_path, students=3, db=db)
    pd.DataFrame(roster_rows(3, never_submitted=0)).to_csv(tmp_path / "roster.csv", index=False)
    course_toml(tmp_path, reading, db)
    log = open_log(db)
    total = len(log.reflections())
    args = ["grades", "--settings", str(tmp_path / "course.toml"), "--out", str(tmp_path / "g.csv")]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 1 and f"{total} reflection(s) are not scored yet" in refused.output
    assert "--allow-unreviewed" in refused.output and not (tmp_path / "g.csv").exists()

    first = log.reflections().query("week == 1").iloc[0]
    for row in log.reflections().query(f"week == 1 and student == '{first.student}'").itertuples():
        save_review(log.engine, ReviewDraft(row.student, row.notebook, row.prompt_id, "prof", {"voice": 3}))
    output = run(*args, "--allow-unreviewed")
    assert "not scored yet" in output
    frame = pd.read_csv(tmp_path / "g.csv", dtype=str, keep_default_na=False).iloc[1:]
    grades = frame.set_index("SIS Login ID").iloc[:, 4:]
    assert float(grades.loc[first.student, "Week 1 reflections"]) > 0  # the one scored week
    others = grades.drop(columns="Week 1 reflections").values.ravel().tolist()
    assert others and set(others) == {""}  # submitted but not scored: blank, never 0.0

    run("feedback", "--settings", str(tmp_path / "course.toml"), "--out", str(tmp_path / "fb"))
    index = pd.read_csv(tmp_path / "fb" / "index.csv").set_index("student")
    page = (tmp_path / "fb" / index.loc[first.student, "file"]).read_text()
    assert "Week total: not scored yet (0 of" in page and "Week total: 0" not in page
    prompts = len(reading.prompts_for(1))
    assert f"Week total: {3 * prompts} of {10 * prompts} ({prompts} of {prompts} reflections scored)" in page
    assert f"rubric {3 * prompts}, participation 0" in page  # week 1: 3 points per prompt


def test_partly_scored_week_is_blank_in_canvas_and_partial_on_feedback(tmp_path, reading, db):
    """2 of 3 scored: feedback says "of 30 so far (partial ...)", Canvas is blank, the output says whose."""
    make_class(reading, tmp_path, students=3, db=db)
    pd.DataFrame(roster_rows(3, never_submitted=0)).to_csv(tmp_path / "roster.csv", index=False)
    toml = course_toml(tmp_path, reading, db)
    toml.write_text(toml.read_text() + '\n[staff]\nprof = "Prof. Ada Lovelace"\n')
    log = open_log(db)
    week1 = log.reflections().query("week == 1")
    partly, fully = sorted(week1["student"].unique())[:2]
    prompts = len(reading.prompts_for(1))
    for student, count in ((partly, prompts - 1), (fully, prompts)):
        for row in week1[week1["student"] == student].head(count).itertuples():
            save_review(log.engine, ReviewDraft(row.student, row.notebook, row.prompt_id, "prof", {"voice": 3}))
    other = week1[week1["student"] == partly].iloc[-1]  # a flag alone is no score: still partial
    save_review(log.engine, ReviewDraft(partly, other.notebook, other.prompt_id, "prof", {}, "look again", True))

    out = tmp_path / "g.csv"
    args = ["grades", "--settings", str(tmp_path / "course.toml"), "--out", str(out), "--allow-unreviewed"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype=str, keep_default_na=False).iloc[1:].set_index("SIS Login ID")
    assert frame.loc[partly, "Week 1 reflections"] == ""  # 9 of 30 would read as final
    assert float(frame.loc[fully, "Week 1 reflections"]) == 3 * prompts
    assert (
        f"week 1: 1 partly scored, blank (--score-partial-weeks writes them): {partly} ({prompts - 1} of {prompts})"
        in result.output
    )

    asked = CliRunner().invoke(main, [*args, "--score-partial-weeks"])
    assert asked.exit_code == 0 and "written with the points so far" in asked.output, asked.output
    frame = pd.read_csv(out, dtype=str, keep_default_na=False).iloc[1:].set_index("SIS Login ID")
    assert float(frame.loc[partly, "Week 1 reflections"]) == 3 * (prompts - 1)
    alone = CliRunner().invoke(main, [*args[:-1], "--score-partial-weeks"])
    assert alone.exit_code == 2 and "goes with --allow-unreviewed" in alone.output

    run("feedback", "--settings", str(tmp_path / "course.toml"), "--out", str(tmp_path / "fb"))
    index = pd.read_csv(tmp_path / "fb" / "index.csv").set_index("student")
    page = (tmp_path / "fb" / index.loc[partly, "file"]).read_text()
    possible = 10 * prompts
    assert (
        f"Week total: {3 * (prompts - 1)} of {possible} so far (partial: {prompts - 1} of {prompts} reflections scored)"
        in page
    )
    page = (tmp_path / "fb" / index.loc[fully, "file"]).read_text()
    assert f"Week total: {3 * prompts} of {possible} ({prompts} of {prompts} reflections scored)" in page
    # Each reflection under the notebook's title, in the notebook's order (w1-advocates sorts first by id).
    headings = [page.index(f"<h3>Reflection {n}</h3>") for n in range(1, prompts + 1)]
    assert headings == sorted(headings) and "Prompt <code>" not in page
    assert page.count("Reviewed by Prof. Ada Lovelace, ") == prompts  # [staff] names the login "prof"

    row = week1[week1["student"] == fully].iloc[0]
    save_review(log.engine, ReviewDraft(fully, row.notebook, row.prompt_id, "root", {"voice": 1}))
    run("feedback", "--settings", str(tmp_path / "course.toml"), "--out", str(tmp_path / "fb"))
    page = (tmp_path / "fb" / index.loc[fully, "file"]).read_text()
    assert page.count("Reviewed by Prof. Ada Lovelace, ") == prompts - 1 and "Reviewed by root" not in page


def test_week_summary_says_maximum_and_partial():
    from coursekit.review.grades import week_summary

    row = dict(total=8.0, possible=30.0, scored_prompts=2, prompts=3)
    assert week_summary(pd.Series(row | {"partial": True})) == "8 of 30 so far (partial: 2 of 3 reflections scored)"
    assert week_summary(pd.Series(row | {"partial": False})) == "8 of 30 (2 of 3 reflections scored)"
    unscored = pd.Series(row | {"total": None, "partial": False})
    assert week_summary(unscored) == "not scored yet (0 of 3 reflections scored, out of 30)"
