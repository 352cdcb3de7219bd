"""A small class driven end to end through ``coursekit.api.Course``, as a script would, without the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, course_toml, filled_notebook, student_answers, write_notebook

from coursekit.api import Course, NoCourse, NoLog, Refused
from coursekit.api.options import (
    CollectOptions,
    EraseOptions,
    ExportOptions,
    FeedOptions,
    GradesOptions,
    ReleaseOptions,
    SiteOptions,
    SourceOptions,
    ValidateOptions,
)
from coursekit.course.problems import CoursekitError
from coursekit.log import moderation
from coursekit.log.reviews import ReviewDraft, save_review
from coursekit.review.desk import ReviewDesk

STUDENTS = 4


def course_folder_on(tmp_path: Path, reading, make_class, database: str | Path) -> Path:
    """A course folder: course.toml on ``database``, a roster (one student never submitted), built notebooks."""
    folder = tmp_path / "course"
    shutil.copytree(ROOT / "notebooks", folder / "notebooks", ignore=shutil.ignore_patterns("instructor"))
    course_toml(folder, reading, database)
    rows = [
        {"Student": f"Student {i}", "ID": str(1000 + i), "SIS User ID": f"U{i}", "SIS Login ID": f"student{i:02d}"}
        for i in range(STUDENTS + 1)
    ]
    pd.DataFrame([{**row, "Section": "A"} for row in rows]).to_csv(folder / "roster.csv", index=False)
    make_class(STUDENTS)
    return folder


@pytest.fixture
def course_folder(tmp_path, reading, make_class, db):
    return course_folder_on(tmp_path, reading, make_class, db)


def test_a_term_through_the_course_object(course_folder, reading, tmp_path):
    said: list[str] = []
    course = Course.open(course_folder / "course.toml", notify=said.append)
    assert course.settings is not None and course.settings.path == course_folder / "course.toml"
    source = SourceOptions(tmp_path / "submissions")
    prompts = len(reading.prompts_for(1))

    table = course.intake(source, tmp_path / "intake.csv")
    assert list(table["status"]) == ["ok"] * STUDENTS and (tmp_path / "intake.csv").is_file()
    assert any("folder layout, matched to" in line and "roster.csv" in line for line in said)

    collected = course.collect(course.gather(source), CollectOptions(report=tmp_path / "collect.csv"))
    assert collected.report.count("collected") == STUDENTS and not collected.report.failed
    assert collected.written == tmp_path / "collect.csv" and collected.written.is_file()
    again = course.collect(course.gather(source), CollectOptions(report=tmp_path / "again.csv"))
    assert again.report.changed == 0  # the second run finds nothing new

    exported = course.export(ExportOptions())
    assert len(exported.frame) == STUDENTS * prompts and exported.text is None
    markdown = course.export(ExportOptions(format="markdown", out=tmp_path / "log.md"))
    assert markdown.text and reading.prompt_titles()[reading.prompts_for(1)[0].id] in markdown.text
    assert (tmp_path / "log.md").read_text(encoding="utf-8") == markdown.text

    feed = course.publish_feed(FeedOptions(1, out=course_folder / "feed"))
    assert feed.path.is_file() and feed.reflections == STUDENTS * prompts and feed.students == STUDENTS + 1
    site = course.publish_site(SiteOptions(out=tmp_path / "site"))
    assert site.posts == STUDENTS * prompts and all(page.is_file() for page in site.pages) and not site.gone

    with pytest.raises(Refused, match="not scored yet") as refused:
        course.grades(GradesOptions(out=tmp_path / "grades.csv"))
    assert refused.value.exit_code == 1 and not (tmp_path / "grades.csv").exists()
    partial = course.grades(GradesOptions(out=tmp_path / "grades.csv", allow_unreviewed=True))
    assert partial.waiting == STUDENTS * prompts and [(w.week, w.unscored) for w in partial.left] == [(1, STUDENTS)]
    assert partial.students == STUDENTS + 1 and not partial.not_on_roster

    desk = course.desk(reviewer="prof")
    assert isinstance(desk, ReviewDesk) and len(desk.table) == STUDENTS * prompts and "demo" not in desk.label
    for row in course.log.reflections().itertuples():
        draft = ReviewDraft(row.student, row.notebook, row.prompt_id, "prof", {"understanding": 4, "voice": 3}, "Ok")
        save_review(course.log.engine, draft)
    written = course.grades(GradesOptions(out=tmp_path / "grades.csv", plain=tmp_path / "plain.csv"))
    assert written.waiting == 0 and not written.left and (tmp_path / "plain.csv").is_file()
    assert len(pd.read_csv(tmp_path / "grades.csv")) == STUDENTS + 2  # "Points Possible", then every roster student
    assert course.feedback(tmp_path / "feedback").is_file()
    assert course.report(tmp_path / "report").name == "index.html"

    post = course.log.reflections().iloc[0]["post_id"]
    assert course.moderate(moderation.hide, post, actor=course.actor("prof"), reason="spam") == "hidden"
    again_site = course.publish_site(SiteOptions(out=tmp_path / "site"))
    assert again_site.gone == [(str(tmp_path / "site"), 1)] and again_site.posts == STUDENTS * prompts - 1

    assert list(course.audit()["action"]) == ["hide"]
    checked = course.check_log()
    assert checked.problems == [] and checked.schema
    assert course.upgrade_log()[:2] == (checked.schema, checked.schema)  # already current: nothing to do

    assert course.expired(10_000) == []
    plan = course.erase(("student00",), "prof", "asked", apply=False)
    assert plan.students == ("student00",) and plan.total > 0 and not plan.applied

    released = course.release(
        ReleaseOptions(2, out=tmp_path / "release", notebooks=course_folder / "notebooks", feeds=course_folder / "feed")
    )
    assert released.zip.is_file() and released.plan.feed == course_folder / "feed" / "week01.json"
    assert (released.folder / "feed" / "week01.json").is_file() and released.link is None


@pytest.mark.slow
def test_validate_through_the_course_object(reading, make_class, tmp_path):
    """Two notebooks checked and run (not sandboxed here: the sandbox has its own tests), reports written."""
    course_folder = course_folder_on(tmp_path, reading, make_class, tmp_path / "class.db")
    shutil.copytree(ROOT / "readings", course_folder / "readings")
    long = {pid: " ".join([text] * 8) for pid, text in student_answers(reading, 1, "student00").items()}
    write_notebook(tmp_path / "two" / "student00" / "week01.ipynb", filled_notebook(reading, 1, long))
    shutil.copytree(tmp_path / "submissions" / "student01", tmp_path / "two" / "student01")  # too short
    said: list[str] = []
    course = Course.open(course_folder / "course.toml", notify=said.append)
    seen = []
    options = ValidateOptions(week=1, course=course_folder, out=tmp_path / "validation", sandbox=False)
    validated = course.validate(SourceOptions(tmp_path / "two"), options, lambda r, done, total: seen.append(done))
    assert {r.student: r.status for r in validated.reports} == {"student00": "pass", "student01": "fail"}
    assert sorted(seen)[-1] == 2 and validated.failed == 1 and validated.skipped == 0
    assert validated.junit.is_file() and "student01" in validated.csv.read_text(encoding="utf-8")
    assert any(line.startswith("warning: --no-sandbox") for line in said)


def test_a_course_says_what_is_missing_with_errors_the_cli_prints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nowhere = Course.open(start=tmp_path)
    assert nowhere.settings is None and nowhere.database == "class.db"
    with pytest.raises(NoCourse, match="no course.toml"):
        nowhere.grades(GradesOptions())
    with pytest.raises(NoLog):
        Course.open(db=str(tmp_path / "none.db")).open_log()
    assert not (tmp_path / "none.db").exists()  # no new, empty log
    with pytest.raises(Refused, match="give the submissions"):
        nowhere.gather(SourceOptions())
    with pytest.raises(CoursekitError, match="--score-partial-weeks goes with --allow-unreviewed") as wrong:
        GradesOptions(score_partial_weeks=True)
    assert wrong.value.exit_code == 2
    with pytest.raises(CoursekitError, match="not both"):
        ValidateOptions(scheduler="tcp://x:8786", cluster="local")
    with pytest.raises(CoursekitError, match="--threads is a CSV of its own"):
        ExportOptions(threads=True, format="markdown")
    with pytest.raises(CoursekitError, match="give --student ID"):
        EraseOptions()


def test_every_error_meant_for_a_person_is_a_coursekit_error_keeping_its_base():
    from coursekit.course.problems import UnknownItem
    from coursekit.course.reading import ReadingError
    from coursekit.course.roster import RosterError
    from coursekit.course.settings import SettingsError
    from coursekit.discussion.feed import FeedError
    from coursekit.discussion.images import ImageRefused
    from coursekit.intake.archive import ArchiveError
    from coursekit.intake.submission import IntakeError
    from coursekit.log.moderation import ModerationError
    from coursekit.log.schema import LogError
    from coursekit.log.tables import TooLong
    from coursekit.notebook.regrade import Untrusted
    from coursekit.notebook.release import ReleaseError

    kept = {
        ReadingError: ValueError,
        SettingsError: ValueError,
        RosterError: ValueError,
        IntakeError: ValueError,
        ArchiveError: OSError,
        FeedError: ValueError,
        ImageRefused: ValueError,
        ReleaseError: ValueError,
        Untrusted: ValueError,
        ModerationError: ValueError,
        TooLong: ValueError,
        UnknownItem: LookupError,
        LogError: Exception,
    }
    for error, base in kept.items():
        assert issubclass(error, CoursekitError) and issubclass(error, base), error
    assert UnknownItem("week", 9, "course.toml").exit_code == 2
    assert str(ArchiveError("a.zip: corrupt")) == "a.zip: corrupt"  # an OSError with one argument, as before


def test_the_command_line_catches_every_coursekit_error_once(monkeypatch):
    """A CoursekitError from any command ends as 'error: ...' with its exit code, nothing else printed."""
    from click.testing import CliRunner

    from coursekit.cli import main

    def refuse(self, out):
        raise Refused("the report cannot be written: a test says so", exit_code=3)

    monkeypatch.setattr(Course, "report", refuse)
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 3 and result.output == "error: the report cannot be written: a test says so\n"


def test_the_course_finds_course_toml_the_one_way(tmp_path, reading, monkeypatch):
    """--settings, else course.toml in the folder or above; db overrides the settings' database."""
    course_toml(tmp_path, reading, "term.db")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    found = Course.open()
    assert found.settings is not None and found.settings.path == tmp_path / "course.toml"
    assert found.database == str(tmp_path / "term.db")
    assert Course.open(db="other.db").database == "other.db"
    assert Course.open(tmp_path / "course.toml").reading == reading
    assert Path(Course.open(start=tmp_path / "deep").required_settings().path) == tmp_path / "course.toml"
