"""Every intake source built from its naming rules, with hard names, matched to one roster, collected for real."""

from __future__ import annotations

import functools
import json
import os
import tempfile
import unicodedata
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import filled_notebook
from sqlalchemy import select

from coursekit.cli import main
from coursekit.course.roster import read_roster
from coursekit.intake.base import Options
from coursekit.intake.identity import Claim, Roster
from coursekit.intake.sources import detect, gather
from coursekit.log.collect import collect
from coursekit.log.schema import make_engine
from coursekit.log.tables import submissions

DEADLINE = datetime(2026, 9, 11, 23, 59)
ON_TIME = datetime(2026, 9, 10, 12, 30, 0)
AFTER = datetime(2026, 9, 12, 8, 15, 0)

# Student, ID (Canvas user id), SIS User ID (username), SIS Login ID (e-mail: the roster's key), Section
PEOPLE = [
    ("O'Brien-Smith, Mary Ann", "101", "mobrien", "mobrien@uni.example", "A"),
    ("Ñúñez, Zoë", "102", "znunez", "znunez@uni.example", "A"),
    ("Smith 3rd, John", "103", "jsmith3", "jsmith3@uni.example", "B"),
    ("Lee, Ann", "104", "alee1", "alee1@uni.example", "B"),
    ("Lee, Ann", "105", "alee2", "alee2@uni.example", "B"),
]


@functools.cache
def _settings():
    """Course settings whose week 1 is due at DEADLINE (written once to a folder of their own)."""
    from coursekit.course.settings import load_settings

    return load_settings(_course_toml(Path(tempfile.mkdtemp(prefix="coursekit-intake-test-"))))


def options(deadline_only: bool = False) -> Options:
    return Options(deadline_only=deadline_only, settings=_settings())


@pytest.fixture
def roster(tmp_path) -> Roster:
    path = tmp_path / "roster.csv"
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section", "Points Possible,,,,"]
    lines += [",".join(f'"{v}"' for v in row) for row in PEOPLE]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Roster.from_frame(read_roster(path))


@pytest.fixture
def notebook_bytes(reading):
    def make(who: str, week: int = 1) -> bytes:
        texts = {p.id: f"{who} writes about {p.id} with care and evidence." for p in reading.prompts_for(week)}
        return json.dumps(filled_notebook(reading, week, texts)).encode()

    return make


def write_zip(path: Path, members: dict[str, bytes], when: datetime = ON_TIME, times: dict | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, ((times or {}).get(name, when)).timetuple()[:6])
            archive.writestr(info, data, zipfile.ZIP_DEFLATED)
    return path


def landed(intake) -> dict[str, tuple]:
    """roster student -> (file name, source id, late flag of the source, submitted time)."""
    return {f.student: (f.name, f.source_id, f.late, f.submitted_at) for f in intake.files}


def stored(db: str | Path) -> dict[str, tuple]:
    """student -> (week, source, source id, the source's late flag, submitted_at), typed by the backend."""
    s = submissions.c
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            found = conn.execute(select(s.student, s.week, s.source, s.source_id, s.source_late, s.submitted_at))
            return {r[0]: tuple(r[1:]) for r in found}
    finally:
        engine.dispose()


def canvas_zip(tmp_path: Path, notebook_bytes) -> Path:
    return write_zip(
        tmp_path / "NetMedia-Week_1 submissions.zip",
        {
            "obriensmithmaryann_101_9001_week01.ipynb": notebook_bytes("Mary Ann"),
            "ñúñezzoë_LATE_102_9002_week01-1.ipynb": notebook_bytes("Zoë"),  # late resubmission
            "smith3rdjohn_103_9003_week01.ipynb": notebook_bytes("John"),
            "leeann_104_9004_week01.ipynb": notebook_bytes("Ann one"),
            "leeann_105_9005_week01.ipynb": notebook_bytes("Ann two"),
            "anon_x7Kq2_9006_week01.ipynb": notebook_bytes("anonymous"),
            "obriensmithmaryann_101_text.html": b"<p>typed into Canvas</p>",
        },
        # Canvas's own verdict wins over the zip's time (extensions, and zip times are when it was zipped)
        times={"smith3rdjohn_103_9003_week01.ipynb": AFTER},
    )


def test_canvas_zip_lands_every_file_on_its_roster_student(tmp_path, db, notebook_bytes, roster):
    source = canvas_zip(tmp_path, notebook_bytes)
    assert detect(source) == "canvas"
    intake = gather(source, roster=roster, options=options())
    got = landed(intake)
    assert got["mobrien@uni.example"] == ("obriensmithmaryann_101_9001_week01.ipynb", "101", False, ON_TIME)
    assert got["znunez@uni.example"][1:] == ("102", True, ON_TIME)  # LATE from Canvas, time from the zip entry
    assert got["jsmith3@uni.example"][1:] == ("103", False, AFTER)
    assert got["jsmith3@uni.example"][1] == "103"  # a name with digits
    assert got["alee1@uni.example"][1] == "104" and got["alee2@uni.example"][1] == "105"  # same name, by id
    assert [u.file.source_id for u in intake.unmatched] == ["anon_x7Kq2"]
    assert "anonymous grading" in intake.unmatched[0].hint
    assert any("text or link entry" in s.reason and not s.serious for s in intake.skipped)

    report = collect(gather(source, roster=roster, options=options()), db)
    assert report.count("collected") == 5 and report.count("unmatched") == 1
    rows = stored(db)
    assert rows["znunez@uni.example"][:4] == (1, "canvas", "102", True)
    assert rows["mobrien@uni.example"][:4] == (1, "canvas", "101", False)
    assert rows["mobrien@uni.example"][4] == datetime(2026, 9, 10, 12, 30)
    assert not any(s.startswith("anon") for s in rows)  # never stored under a guess


def test_canvas_unpacked_folder_and_name_only_match(tmp_path, notebook_bytes, reading):
    folder = tmp_path / "unpacked" / "NetMedia-Week_1 submissions"
    folder.mkdir(parents=True)
    (folder / "obriensmithmaryann_999_9001_week01.ipynb").write_bytes(notebook_bytes("Mary Ann"))
    (folder / "leeann_998_9004_week01.ipynb").write_bytes(notebook_bytes("Ann"))
    path = tmp_path / "r.csv"
    path.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        + "\n".join(",".join(f'"{v}"' for v in (name, "", user, login, sec)) for name, _, user, login, sec in PEOPLE)
        + "\n",
        encoding="utf-8",
    )
    roster = Roster.from_frame(read_roster(path))  # no Canvas ids: the squeezed name decides
    intake = gather(tmp_path / "unpacked", roster=roster)  # a download unpacked inside a folder of its own
    assert (intake.layout, intake.root) == ("canvas", folder)
    assert [f.student for f in intake.files] == ["mobrien@uni.example"]
    (ann,) = intake.unmatched
    assert ann.candidates == ("Lee, Ann (alee1@uni.example)", "Lee, Ann (alee2@uni.example)")


def test_without_a_roster_the_source_id_is_the_student(tmp_path, notebook_bytes):
    intake = gather(canvas_zip(tmp_path, notebook_bytes))
    assert sorted(f.student for f in intake.files) == ["101", "102", "103", "104", "105", "anon_x7Kq2"]
    assert not intake.unmatched


def worksheet(tmp_path: Path) -> Path:
    path = tmp_path / "worksheet.csv"
    rows = [
        ("Participant 5001", "Mary Ann O'Brien-Smith", "mobrien@uni.example"),
        ("Participant 5002", "Zoë Ñúñez", "znunez@uni.example"),
        ("Participant 5003", "John Smith 3rd", "jsmith3@uni.example"),
        ("Participant 5004", "Ann Lee", "alee1@uni.example"),
        ("Participant 5005", "Ann Lee", "alee2@uni.example"),
    ]
    text = "\ufeffIdentifier,Full name,Email address,Status,Grade\n"
    text += "".join(f'{i},"{n}",{e},Submitted,\n' for i, n, e in rows)
    path.write_text(text, encoding="utf-8")
    return path


def test_moodle_folders_mode_with_worksheet_and_blind_marking(tmp_path, notebook_bytes, roster):
    nfd = unicodedata.normalize("NFD", "Zoë Ñúñez")  # macOS writes decomposed names
    source = write_zip(
        tmp_path / "NM101-Week 1-4242.zip",
        {
            "Mary Ann O'Brien-Smith_5001_assignsubmission_file/week01.ipynb": notebook_bytes("Mary Ann"),
            f"{nfd}_5002_assignsubmission_file/week01.ipynb": notebook_bytes("Zoë"),
            "Participant_5003_assignsubmission_file/week01.ipynb": notebook_bytes("John"),  # blind marking
            "Ann Lee_5004_assignsubmission_file/week01.ipynb": notebook_bytes("Ann one"),
            "Ann Lee_5005_assignsubmission_file/week01.ipynb": notebook_bytes("Ann two"),
            "Ann Lee_5005_assignsubmission_onlinetext/onlinetext.html": b"<p>hello</p>",
        },
        times={"Participant_5003_assignsubmission_file/week01.ipynb": AFTER},
    )
    assert detect(source) == "moodle"
    intake = gather(source, roster=roster, options=Options(moodle_worksheet=worksheet(tmp_path)))
    got = landed(intake)
    assert set(got) == {p[3] for p in PEOPLE}
    assert got["alee2@uni.example"][1] == "5005" and got["jsmith3@uni.example"][1:] == ("5003", None, AFTER)
    assert not intake.unmatched
    assert any("onlinetext" in s.reason for s in intake.skipped)


def test_moodle_flat_mode_by_name_reports_the_ambiguous_pair(tmp_path, notebook_bytes, roster):
    folder = tmp_path / "moodle"
    folder.mkdir()
    for name, pid in (("Mary Ann O'Brien-Smith", 5001), ("Zoë Ñúñez", 5002), ("Ann Lee", 5004), ("Ann Lee", 5005)):
        (folder / f"{name}_{pid}_assignsubmission_file_week01.ipynb").write_bytes(notebook_bytes(name))
    (folder / "Participant_5003_assignsubmission_file_week01.ipynb").write_bytes(notebook_bytes("blind"))
    intake = gather(folder, roster=roster, options=options())
    assert intake.layout == "moodle"
    assert sorted(f.student for f in intake.files) == ["mobrien@uni.example", "znunez@uni.example"]
    reasons = {u.file.source_id: u for u in intake.unmatched}
    assert set(reasons) == {"5003", "5004", "5005"}
    assert "fits 2 roster students" in reasons["5004"].reason and len(reasons["5004"].candidates) == 2
    assert "cannot tell them apart" in reasons["5004"].hint
    assert "--moodle-worksheet" in reasons["5003"].hint


# A roster whose logins are not e-mail addresses; Ann Lee twice, one of them with her e-mail in an Email column
SHORT_LOGINS = [
    ("Lee, Ann", "104", "s104", "alee1", "B", "Ann.Lee@Uni.Example"),
    ("Lee, Ann", "105", "s105", "alee2", "B", ""),
    ("Smith 3rd, John", "103", "s103", "jsmith3", "B", ""),
]


def short_login_roster(path: Path, rows=SHORT_LOGINS) -> Path:
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section,Email"]
    path.write_text("\n".join(lines + [",".join(f'"{v}"' for v in row) for row in rows]) + "\n", encoding="utf-8")
    return path


def same_name_moodle(tmp_path: Path, notebook_bytes, emails: tuple[str, str]) -> tuple[Path, Path]:
    """A Moodle download with two students named Ann Lee, and its worksheet giving their e-mails."""
    source = write_zip(
        tmp_path / "NM101-Week 1-4242.zip",
        {
            "Ann Lee_5004_assignsubmission_file/week01.ipynb": notebook_bytes("Ann one"),
            "Ann Lee_5005_assignsubmission_file/week01.ipynb": notebook_bytes("Ann two"),
        },
    )
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text(
        "Identifier,Full name,Email address,Status\n"
        + "".join(f"Participant {p},Ann Lee,{e},Submitted\n" for p, e in zip((5004, 5005), emails, strict=True))
    )
    return source, sheet


def test_moodle_same_names_are_told_apart_by_the_worksheets_email(tmp_path, db, notebook_bytes, monkeypatch):
    """One e-mail is the roster's Email (in another case), the other's login part is the roster's login."""
    monkeypatch.chdir(tmp_path)
    source, sheet = same_name_moodle(tmp_path, notebook_bytes, ("ann.lee@uni.example", "ALee2@student.uni.example"))
    roster = short_login_roster(tmp_path / "roster.csv")
    given = ["--roster", str(roster), "--moodle-worksheet", str(sheet), "--settings", str(_course_toml(tmp_path))]
    result = CliRunner().invoke(main, ["intake", str(source), *given])
    assert result.exit_code == 0, result.output
    assert "matched by" in result.output  # the column; its values are in intake.csv
    import pandas as pd

    table = pd.read_csv(tmp_path / "intake.csv", dtype=str, keep_default_na=False)
    assert set(table["status"]) == {"ok"}
    by = dict(zip(table["source_id"], zip(table["student"], table["matched_by"], strict=True), strict=True))
    assert by == {"5004": ("alee1", "e-mail (Email)"), "5005": ("alee2", "e-mail login (SIS Login ID)")}

    report = tmp_path / "report.csv"
    result = CliRunner().invoke(main, ["collect", str(source), *given, "--db", str(db), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert {r[:3] for r in stored(db).values()} == {(1, "moodle", "5004"), (1, "moodle", "5005")}
    rows = pd.read_csv(report, dtype=str, keep_default_na=False)
    assert sorted(zip(rows["status"], rows["student"], rows["matched_by"], strict=True)) == [
        ("collected", "alee1", "e-mail (Email)"),
        ("collected", "alee2", "e-mail login (SIS Login ID)"),
    ]


def test_moodle_same_names_whose_emails_the_roster_lacks_are_not_asked_for_the_worksheet(tmp_path, notebook_bytes):
    source, sheet = same_name_moodle(tmp_path, notebook_bytes, ("ann.lee@uni.example", "annlee@uni.example"))
    rows = [(*row[:5], "") for row in SHORT_LOGINS]  # no e-mails on the roster, logins alee1 / alee2
    roster = Roster.from_frame(read_roster(short_login_roster(tmp_path / "roster.csv", rows)))
    intake = gather(source, roster=roster, options=Options(moodle_worksheet=sheet))
    assert not intake.files
    for unmatched in intake.unmatched:
        assert len(unmatched.candidates) == 2 and "fits 2 roster students" in unmatched.reason
        assert "worksheet" not in unmatched.hint  # it was given
        assert "e-mail ann" in unmatched.hint and "Email column" in unmatched.hint


def nbgrader_submission(inbound: Path, student: str, when: datetime, data: bytes, tag: str) -> None:
    stamp = f"{when:%Y-%m-%d %H:%M:%S}.000000 UTC"
    folder = inbound / f"{student}+week01+{stamp}+{tag}"
    folder.mkdir(parents=True)
    (folder / "week01.ipynb").write_bytes(data)
    (folder / "timestamp.txt").write_text(stamp)


def test_nbgrader_exchange_keeps_the_newest_or_the_newest_before_the_deadline(tmp_path, db, notebook_bytes, roster):
    exchange = tmp_path / "exchange" / "netmedia"
    nbgrader_submission(exchange / "inbound", "mobrien", ON_TIME, notebook_bytes("first"), "a1")
    nbgrader_submission(exchange / "inbound", "mobrien", AFTER, notebook_bytes("second"), "b2")
    nbgrader_submission(exchange / "inbound", "znunez", ON_TIME, notebook_bytes("Zoë"), "c3")
    nbgrader_submission(exchange / "inbound", "ghost", ON_TIME, notebook_bytes("ghost"), "d4")
    assert detect(exchange) == "nbgrader-exchange"
    newest = gather(exchange, roster=roster, options=options())
    assert landed(newest)["mobrien@uni.example"][3] == AFTER  # the time in timestamp.txt
    assert landed(newest)["znunez@uni.example"][1] == "znunez"
    assert [u.file.source_id for u in newest.unmatched] == ["ghost"]
    assert any("earlier nbgrader submission" in s.reason for s in newest.skipped)
    before = gather(exchange, roster=roster, options=options(deadline_only=True))
    assert landed(before)["mobrien@uni.example"][3] == ON_TIME

    collect(gather(exchange, roster=roster, options=options()), db)
    assert stored(db)["mobrien@uni.example"][1:3] == ("nbgrader-exchange", "mobrien")


def test_nbgrader_submitted_folder(tmp_path, notebook_bytes, roster):
    course = tmp_path / "course"
    for student, when in (("jsmith3", ON_TIME), ("alee2", AFTER)):
        folder = course / "submitted" / student / "week01"
        folder.mkdir(parents=True)
        (folder / "week01.ipynb").write_bytes(notebook_bytes(student))
        (folder / "timestamp.txt").write_text(f"{when:%Y-%m-%d %H:%M:%S}.000000 UTC")
    assert detect(course) == "nbgrader-submitted"
    got = landed(gather(course, roster=roster))
    assert got == {
        "jsmith3@uni.example": ("week01.ipynb", "jsmith3", None, ON_TIME),
        "alee2@uni.example": ("week01.ipynb", "alee2", None, AFTER),
    }


def test_jupyterhub_homes_skip_empty_homes_and_refuse_symlinks(tmp_path, notebook_bytes, roster):
    home = tmp_path / "home"
    for name, who in (("jupyter-mobrien", "Mary Ann"), ("znunez", "Zoë")):
        path = home / name / "course" / "week01.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(notebook_bytes(who))
    (home / "jupyter-alee1" / "course").mkdir(parents=True)  # nothing submitted
    # a hub whose usernames are e-mail addresses: the spawner escapes "@" and "." in the home's name
    escaped = home / "jupyter-jsmith3-40uni-2eexample" / "course" / "week01.ipynb"
    escaped.parent.mkdir(parents=True)
    escaped.write_bytes(notebook_bytes("John"))
    (home / "jupyter-alee2" / "course").mkdir(parents=True)
    (home / "jupyter-alee2" / "course" / "week01.ipynb").symlink_to(
        home / "jupyter-mobrien" / "course" / "week01.ipynb"
    )
    intake = gather(home, "homes", roster, Options(pattern="course/week*.ipynb"))
    assert sorted(landed(intake)) == ["jsmith3@uni.example", "mobrien@uni.example", "znunez@uni.example"]
    assert any("symbolic link" in p.reason and p.serious for p in intake.skipped)
    assert any("no file matches" in p.reason and not p.serious for p in intake.skipped)


def test_collect_cli_with_homes_and_a_course_roster(tmp_path, db, notebook_bytes, monkeypatch):
    home = tmp_path / "home"
    path = home / "jupyter-jsmith3" / "course" / "week01.ipynb"
    path.parent.mkdir(parents=True)
    path.write_bytes(notebook_bytes("John"))
    os.utime(path, (AFTER.timestamp(), AFTER.timestamp()))
    (tmp_path / "roster.csv").write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        + "".join(f'"{a}",{b},{c},{d},{e}\n' for a, b, c, d, e in PEOPLE)
    )
    result = CliRunner().invoke(
        main,
        [
            "collect",
            "--homes",
            str(home),
            "--pattern",
            "course/week*.ipynb",
            "--roster",
            str(tmp_path / "roster.csv"),
            "--db",
            str(db),
            "--report",  # not the working folder's collect-report.csv (a PostgreSQL log's default)
            str(tmp_path / "report.csv"),
            "--settings",
            str(_course_toml(tmp_path)),
        ],
    )
    assert result.exit_code == 0, result.output
    week, source, source_id, late, submitted = stored(db)["jsmith3@uni.example"]
    assert (week, source, source_id, late) == (1, "homes", "jsmith3", None)  # homes say nothing: the deadline decides
    assert submitted.replace(microsecond=0) == AFTER  # the file's time, not the collect time


def _course_toml(tmp_path: Path) -> Path:
    readings = Path(__file__).resolve().parents[2] / "readings" / "kreiss-finn-turner-2011"
    path = tmp_path / "course.toml"
    path.write_text(
        f'[course]\nname = "t"\nreading = "{readings}"\n[rubric]\n[[rubric.criteria]]\nid = "a"\npoints = 1\n'
        f'[[weeks]]\nweek = 1\nnotebook = "week01-the-promise"\ndeadline = 2026-09-11T23:59:00Z\n',
        encoding="utf-8",
    )
    return path


def intake_args(tmp_path: Path, source: Path) -> list[str]:
    """``coursekit intake`` of ``source`` run in ``tmp_path`` (the working folder) with a roster of PEOPLE there."""
    (tmp_path / "roster.csv").write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        + "".join(f'"{a}",{b},{c},{d},{e}\n' for a, b, c, d, e in PEOPLE)
    )
    return ["intake", str(source), "--roster", "roster.csv", "--settings", str(_course_toml(tmp_path))]


def test_intake_dry_run_prints_the_table_writes_csv_and_stores_nothing(tmp_path, notebook_bytes, monkeypatch):
    source = canvas_zip(tmp_path, notebook_bytes)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, intake_args(tmp_path, source))
    assert result.exit_code == 0, result.output
    assert "unmatched" in result.output and "anonymous grading" in result.output and "late" in result.output
    import pandas as pd

    table = pd.read_csv(tmp_path / "intake.csv", dtype=str, keep_default_na=False)
    row = table[table["student"] == "znunez@uni.example"].iloc[0]
    assert (row["week"], row["late"], row["source_id"], row["status"]) == ("1", "True", "102", "ok")  # before it, LATE
    assert table[table["student"] == "mobrien@uni.example"].iloc[0]["late"] == "False"
    assert table[table["student"] == "jsmith3@uni.example"].iloc[0]["late"] == "False"  # after the deadline, not LATE
    assert set(table["status"]) == {"ok", "unmatched", "skipped"}
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.sandbox  # validate sandboxes by default
def test_validate_reads_a_canvas_zip_with_the_roster(tmp_path, reading, roster, monkeypatch):
    """validate takes the same sources: a short reflection fails, an unmatched file is reported, nothing runs twice."""
    long = {
        p.id: " ".join(["peer production needs rules and people with time to give"] * 12)
        for p in reading.prompts_for(1)
    }
    short = {p.id: "too short" for p in reading.prompts_for(1)}
    source = write_zip(
        tmp_path / "c.zip",
        {
            "smith3rdjohn_103_9003_week01.ipynb": json.dumps(filled_notebook(reading, 1, long)).encode(),
            "leeann_104_9004_week01.ipynb": json.dumps(filled_notebook(reading, 1, short)).encode(),
            "someoneelse_999_9_week01.ipynb": b"{}",
        },
    )
    roster_csv = tmp_path / "roster.csv"
    roster_csv.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        + "".join(f'"{a}",{b},{c},{d},{e}\n' for a, b, c, d, e in PEOPLE)
    )
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "validation"
    result = CliRunner().invoke(
        main,
        [
            "validate",
            str(source),
            "--roster",
            str(roster_csv),
            "--course",
            str(root),
            "--out",
            str(out),
            "--settings",
            str(_course_toml(tmp_path)),
            "--timeout",
            "120",
        ],
    )
    assert result.exit_code == 1, result.output
    rows = {r["student"]: r for r in __import__("csv").DictReader((out / "report.csv").open(encoding="utf-8"))}
    assert rows["jsmith3@uni.example"]["status"] == "pass"
    assert rows["alee1@uni.example"]["status"] == "fail" and "words" in rows["alee1@uni.example"]["reasons"]
    assert "matches no roster student" in rows["999"]["reasons"]
    assert rows["jsmith3@uni.example"]["file"] == "smith3rdjohn_103_9003_week01.ipynb"


def test_an_old_log_gains_the_source_columns(tmp_path, notebook_bytes):
    """A log made by the first schema, upgraded (revision 0003 adds the columns): old rows say nothing."""
    import shutil

    from coursekit.log.frames import open_log
    from coursekit.log.schema import upgrade

    db = tmp_path / "old.db"
    shutil.copy(Path(__file__).resolve().parents[1] / "data" / "log-schema1.db", db)
    upgrade(db)
    frame = open_log(db).submissions()
    assert len(frame) and frame["source_late"].isna().all() and frame["source"].isna().all()
    source = write_zip(tmp_path / "c.zip", {"leeann_104_9004_week01.ipynb": notebook_bytes("Ann")})
    assert collect(gather(source), db).count("collected") == 1
    assert stored(db)["104"][1:4] == ("canvas", "104", False)


def test_grades_report_and_review_desk_call_late_what_the_source_called_late(tmp_path, db, notebook_bytes, roster):
    """Canvas's LATE (before the deadline by the zip's clock) and its absence (after it) decide everywhere."""
    from coursekit.course.settings import load_settings
    from coursekit.log.frames import open_log
    from coursekit.review.analytics import submissions_per_week
    from coursekit.review.filters import review_table
    from coursekit.review.grades import week_scores

    collect(gather(canvas_zip(tmp_path, notebook_bytes), roster=roster, options=options()), db)
    settings = load_settings(_course_toml(tmp_path))
    log = open_log(db)
    scores = week_scores(log.submissions(), log.reviews(), log.posts(), settings, {1: 2})
    late = dict(zip(scores["student"], scores["late"], strict=True))
    assert late["znunez@uni.example"] and not late["jsmith3@uni.example"] and not late["mobrien@uni.example"]
    assert submissions_per_week(log.submissions(), settings).loc[1, "late"] == 1
    desk = review_table(log, settings, None).groupby("student")["late"].first()
    assert desk["znunez@uni.example"] and not desk["jsmith3@uni.example"]


def roster_of(tmp_path: Path, people: list[tuple[str, str, str, str, str]]) -> Roster:
    path = tmp_path / "roster-of.csv"
    lines = ["Student,ID,SIS User ID,SIS Login ID,Section", *(",".join(f'"{v}"' for v in row) for row in people)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Roster.from_frame(read_roster(path))


def test_a_single_close_name_is_offered_never_taken(tmp_path):
    """'Ann Lea' looks like the one Ann Lee on the roster: she is named as a candidate, nothing lands on her."""
    roster = roster_of(tmp_path, [p for p in PEOPLE if p[2] != "alee2"])
    for claim in (Claim(names=("Ann Lea",)), Claim(squeezed="leaann"), Claim(ids=("999",), names=("Lea, Ann",))):
        match = roster.match(claim)
        assert match.student is None, claim
        assert match.candidates == ("Lee, Ann (alee1@uni.example)",) and "matches no roster student" in match.reason
    folder = tmp_path / "moodle"
    folder.mkdir()
    (folder / "Ann Lea_5004_assignsubmission_file_week01.ipynb").write_bytes(b"{}")
    intake = gather(folder, roster=roster, options=options())
    assert not intake.files and [u.candidates for u in intake.unmatched] == [("Lee, Ann (alee1@uni.example)",)]


def test_a_canvas_user_id_is_looked_up_in_the_canvas_id_column_only(tmp_path, notebook_bytes):
    """Canvas's number is the roster's ID; a student whose SIS User ID happens to be that number is someone else."""
    roster = roster_of(
        tmp_path,
        [
            ("Lee, Ann", "201", "104", "alee1@uni.example", "A"),  # SIS User ID 104: a number, like Canvas ids
            ("Kim, Bo", "104", "bkim", "bkim@uni.example", "A"),
            ("Ng, Cy", "202", "105", "cng@uni.example", "A"),
        ],
    )
    folder = tmp_path / "canvas"
    folder.mkdir()
    (folder / "kimbo_104_9001_week01.ipynb").write_bytes(notebook_bytes("Bo"))
    (folder / "zedzed_105_9002_week01.ipynb").write_bytes(notebook_bytes("Zed"))  # nobody's Canvas id
    intake = gather(folder, "canvas", roster=roster, options=options())
    assert [(f.student, f.source_id) for f in intake.files] == [("bkim@uni.example", "104")]
    (zed,) = intake.unmatched
    assert zed.file.source_id == "105" and "id 105" in zed.reason and "matches no roster student" in zed.reason


def test_intake_table_is_readable_at_80_columns(tmp_path, notebook_bytes, monkeypatch):
    """At 80 columns a Canvas file name takes at most two lines (it took four); wide terminals get every column."""
    import io

    from rich.console import Console

    source = canvas_zip(tmp_path, notebook_bytes)
    monkeypatch.chdir(tmp_path)
    args = intake_args(tmp_path, source)
    for columns in ("80", "160"):
        monkeypatch.setenv("COLUMNS", columns)
        screen = io.StringIO()
        monkeypatch.setattr("coursekit.cli.output.console", Console(file=screen, highlight=False))  # reads COLUMNS
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        lines = screen.getvalue().splitlines()
        table = lines[: next(n for n, line in enumerate(lines) if line.startswith(("unmatched", "skipped")))]
        assert all(len(line) <= int(columns) for line in table)
        names = [n for n in zipfile.ZipFile(source).namelist() if n.endswith(".ipynb") and not n.startswith("anon")]
        rows = [line for line in table[1:] if line.strip()]
        assert len(rows) <= 2 * len(names), "\n".join(table)  # each name over two lines at most
        if columns == "160":
            wide = ["file", "student", "matched", "by", "notebook", "week", "submitted", "late", "source", "id"]
            assert table[0].split() == wide
            assert len(rows) == len(names) and all(any(line.startswith(n) for line in rows) for n in names)
        else:
            assert table[0].split() == ["file", "student", "week", "submitted", "late"]
            assert "matched by, notebook and source id: in intake.csv" in result.output
