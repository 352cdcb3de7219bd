"""Incremental, parallel, batched collect: what is skipped, what is re-read, and what one failure undoes."""

from __future__ import annotations

import json
import os
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from backends import fresh_database, rows
from conftest import filled_notebook, write_notebook
from sqlalchemy import text

from coursekit.course.roster import read_roster
from coursekit.intake import load as loading
from coursekit.intake import reader
from coursekit.intake.extract import extract
from coursekit.intake.identity import Roster
from coursekit.intake.sources import gather
from coursekit.intake.submission import SubmissionFile
from coursekit.log.collect import collect, collect_files
from coursekit.log.schema import open_database


def statuses(report) -> dict[str, str]:
    return {f"{r.student}/{r.path.name}": r.status for r in report.results}


def same_size_garbage(path: Path) -> None:
    """Overwrite a file with junk of the same size and put its modification time back."""
    stat = path.stat()
    path.write_bytes(b"x" * stat.st_size)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """The names of the files collect reads (in this process: small runs use no workers)."""
    seen: list[str] = []
    real = loading.read_file_bytes

    def spy(file):
        seen.append(f"{file.student}/{file.name}")
        return real(file)

    monkeypatch.setattr(loading, "read_file_bytes", spy)
    return seen


def test_rerun_opens_no_unchanged_file(make_class, db, opened):
    root = make_class(4)
    assert collect(gather(root), db).count("collected") == 4
    assert len(opened) == 4
    opened.clear()
    again = collect(gather(root), db)
    assert again.count("unchanged") == 4 and opened == []
    # Proof it was not opened: the same size and time with junk inside still counts as unchanged...
    same_size_garbage(root / "student01" / "week01.ipynb")
    assert statuses(collect(gather(root), db))["student01/week01.ipynb"] == "unchanged"
    # ...until --full reads everything again.
    full = collect(gather(root), db, full=True)
    assert statuses(full)["student01/week01.ipynb"] == "failed" and len(opened) == 4


def test_new_time_same_bytes_is_unchanged_and_remembered(make_class, db, opened):
    root = make_class(3)
    collect(gather(root), db)
    path = root / "student02" / "week01.ipynb"
    os.utime(path, (1_900_000_000, 1_900_000_000))  # touched, e.g. copied again from the LMS
    opened.clear()
    report = collect(gather(root), db)
    assert statuses(report)["student02/week01.ipynb"] == "unchanged" and opened == ["student02/week01.ipynb"]
    assert rows(db, "select stamp from collected_files where origin like '%student02%'") == [
        (str(1_900_000_000 * 10**9),)
    ]
    opened.clear()
    collect(gather(root), db)
    assert opened == []  # the new time was remembered


def test_changed_file_of_the_same_size_is_read_and_updated(make_class, db, reading):
    root = make_class(2)
    collect(gather(root), db)
    path = root / "student00" / "week01.ipynb"
    before = path.read_text()
    prompt = reading.prompts_for(1)[0].id
    notebook = json.loads(before)
    for cell in notebook["cells"]:
        if cell["metadata"].get("coursekit", {}).get("role") == "reflection":
            old = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = old.replace("student00", "studentXX")  # same length, different text
            break
    write_notebook(path, notebook, mtime=1_800_000_000)
    assert path.stat().st_size == len(before.encode())
    report = collect(gather(root), db)
    assert statuses(report) == {"student00/week01.ipynb": "updated", "student01/week01.ipynb": "unchanged"}
    texts = rows(db, f"select text from reflections where student='student00' and prompt_id='{prompt}'")
    assert "studentXX" in texts[0][0]


def test_a_file_of_another_size_with_the_same_time_is_read_again(make_class, db, reading, opened):
    """A copy tool that keeps modification times: the size alone tells the file changed."""
    root = make_class(2)
    collect(gather(root), db)
    path = root / "student00" / "week01.ipynb"
    before = path.stat()
    prompt = reading.prompts_for(1)[0].id
    write_notebook(path, filled_notebook(reading, 1, {prompt: "a longer answer, resubmitted " * 20}))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size != before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    opened.clear()
    report = collect(gather(root), db)
    assert statuses(report) == {"student00/week01.ipynb": "updated", "student01/week01.ipynb": "unchanged"}
    assert opened == ["student00/week01.ipynb"]
    texts = rows(db, f"select text from reflections where student='student00' and prompt_id='{prompt}'")
    assert texts[0][0].startswith("a longer answer, resubmitted")


def test_after_a_roster_fix_an_unchanged_file_is_stored_for_its_new_student(make_class, db, tmp_path, opened):
    """The file did not change, the student it belongs to did: it is read again and stored under them."""
    root = make_class(1)

    def roster(ann_id: str, bob_id: str) -> Roster:
        path = tmp_path / "roster.csv"
        path.write_text(
            "Student,ID,SIS User ID,SIS Login ID,Section\n"
            f'"Lee, Ann",1,{ann_id},ann@uni.example,A\n"Kim, Bob",2,{bob_id},bob@uni.example,A\n'
        )
        return Roster.from_frame(read_roster(path))

    first = collect(gather(root, roster=roster("student00", "bkim")), db)  # a typo put Bob's folder on Ann
    assert [(r.student, r.status) for r in first.results] == [("ann@uni.example", "collected")]
    opened.clear()
    fixed = collect(gather(root, roster=roster("alee", "student00")), db)
    assert [(r.student, r.status) for r in fixed.results] == [("bob@uni.example", "collected")]
    assert opened == ["bob@uni.example/week01.ipynb"]
    assert ("bob@uni.example",) in rows(db, "select student from submissions")


def test_newer_copy_after_a_first_collect_wins_and_the_old_one_is_a_duplicate(make_class, db, reading):
    root = make_class(2)
    collect(gather(root), db)
    prompt = reading.prompts_for(1)[0].id
    newer = filled_notebook(reading, 1, {prompt: "the final version"})
    write_notebook(root / "student01" / "week01-1.ipynb", newer, mtime=1_900_000_000)
    report = collect(gather(root), db)  # week01.ipynb is skipped unopened, yet recognised as the older copy
    assert statuses(report) == {
        "student00/week01.ipynb": "unchanged",
        "student01/week01-1.ipynb": "updated",
        "student01/week01.ipynb": "duplicate",
    }
    assert rows(db, f"select text from reflections where student='student01' and prompt_id='{prompt}'") == [
        ("the final version",)
    ]
    assert statuses(collect(gather(root), db))["student01/week01.ipynb"] == "duplicate"


REFUSE_STUDENT02 = {  # a trigger that fails one student's reflections, in each backend's dialect
    "sqlite": [
        "CREATE TRIGGER no_student02 BEFORE INSERT ON reflections WHEN NEW.student = 'student02' "
        "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION no_student02() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.student = 'student02' THEN RAISE EXCEPTION 'disk says no'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER no_student02 BEFORE INSERT ON reflections FOR EACH ROW EXECUTE FUNCTION no_student02()",
    ],
}


def test_one_files_database_error_rolls_back_that_file_only(make_class, backend, db, reading):
    """A real database error halfway through one file (its submission row is already written):
    its savepoint is rolled back, the files before and after it in the same transaction stay."""
    root = make_class(5)
    engine = open_database(db)
    with engine.begin() as conn:
        for statement in REFUSE_STUDENT02[backend]:
            conn.execute(text(statement))
    report = collect(gather(root), engine)
    failed = report.failed
    assert [r.student for r in failed] == ["student02"] and "database error" in failed[0].detail
    assert "disk says no" in failed[0].detail
    assert report.count("collected") == 4
    assert rows(db, "select distinct student from reflections order by student") == [
        (f"student0{i}",) for i in (0, 1, 3, 4)
    ]
    assert rows(db, "select count(*) from submissions where student='student02'") == [(0,)]
    assert rows(db, "select count(*) from collected_files where student='student02'") == [(0,)]
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER no_student02" + (" ON reflections" if backend == "postgresql" else "")))
    # not remembered, so retried
    assert statuses(collect(gather(root), engine))["student02/week01.ipynb"] == "collected"


def test_parallel_workers_give_the_same_log_as_one_process(make_class, backend, db, tmp_path, monkeypatch):
    root = make_class(12)
    (root / "student05" / "week01.ipynb").write_bytes(b"{ broken")
    monkeypatch.setattr(reader, "IN_PROCESS_BELOW", 1)  # use workers even for a dozen files
    monkeypatch.setattr(reader, "CHUNK", 2)
    query = "select student, prompt_id, text from reflections order by student, prompt_id"
    with fresh_database(backend, tmp_path) as other:
        one = collect(gather(root), other, jobs=1)
        one_rows = rows(other, query)
    two = collect(gather(root), db, jobs=2)
    assert [(r.path, r.status, r.detail) for r in one.results] == [(r.path, r.status, r.detail) for r in two.results]
    assert two.count("failed") == 1 and two.count("collected") == 11
    assert one_rows == rows(db, query)


def test_a_worker_that_dies_fails_its_file_only(make_class, monkeypatch):
    root = make_class(6)
    files = [
        SubmissionFile(f"student0{i}", root / f"student0{i}" / "week01.ipynb", datetime(2026, 9, 1)) for i in range(6)
    ]
    files.insert(3, SubmissionFile("mallory", root / "student00" / "week01.ipynb", datetime(2026, 9, 1)))
    real = loading.read_file_bytes

    def crash_on_mallory(file: SubmissionFile) -> bytes:
        """Reading Mallory's file kills the process reading it (as a parser crash or the OOM killer would)."""
        if file.student == "mallory":
            os._exit(3)
        return real(file)

    monkeypatch.setattr(loading, "read_file_bytes", crash_on_mallory)  # workers are forked after this
    monkeypatch.setattr(reader, "IN_PROCESS_BELOW", 1)
    monkeypatch.setattr(reader, "CHUNK", 2)
    results = list(reader.read_all(files, jobs=2))
    assert [r.ok for r in results] == [True, True, True, False, True, True, True]
    assert "made the process reading it stop" in results[3].problems[0].reason


def test_zip_members_are_skipped_by_crc_and_size(make_class, db, tmp_path, reading, opened):
    """An archive source hands on members with their CRC as the stamp: unchanged members are not read."""
    root = make_class(3)
    archive = tmp_path / "download.zip"

    def pack(texts: dict[str, str] | None = None) -> list[SubmissionFile]:
        with zipfile.ZipFile(archive, "w") as out:
            for student in ("student00", "student01", "student02"):
                data = (root / student / "week01.ipynb").read_bytes()
                if texts and student in texts:
                    data = json.dumps(filled_notebook(reading, 1, {reading.prompts_for(1)[0].id: texts[student]}))
                out.writestr(f"{student}/week01.ipynb", data)
        with zipfile.ZipFile(archive) as packed:
            return [
                SubmissionFile(
                    info.filename.split("/")[0],
                    archive,
                    datetime(*info.date_time),
                    entry=info.filename,
                    size=info.file_size,
                    stamp=str(info.CRC),
                    source="zip",
                )
                for info in packed.infolist()
            ]

    engine = open_database(db)
    assert collect_files(pack(), engine).count("collected") == 3
    opened.clear()
    again = collect_files(pack({"student01": "rewritten in the archive"}), engine)
    assert {r.student: r.status for r in again.results} == {
        "student00": "unchanged",
        "student01": "updated",
        "student02": "unchanged",
    }
    assert opened == ["student01/week01.ipynb"]
    assert again.results[1].origin == f"{archive}:student01/week01.ipynb"


BROKEN = [
    b"{",
    b'{"cells": [}',
    b'{"cells": [], "nbformat": 4,}',
    b'{"cells": [], "nbformat": 4}\n\n  trailing',
    b'\xef\xbb\xbf{"cells": [1, 2 3]}',  # a BOM, then broken
    b'{"a": "\\ud800 \\x"}',
]


@pytest.mark.parametrize("data", BROKEN)
def test_broken_json_reads_as_the_json_module_says(data):
    """orjson parses, but the messages instructors see are still the json module's (line, column, what)."""
    try:
        json.loads(data.decode("utf-8-sig"))
    except json.JSONDecodeError as exc:
        expected = f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    assert [p.reason for p in extract(data).problems] == [expected]


def test_what_json_accepts_and_orjson_refuses_is_still_read(reading):
    """A BOM, NaN or a huge integer in a notebook: orjson says no, the json module reads it, so do we."""
    notebook = filled_notebook(reading, 1, {reading.prompts_for(1)[0].id: "kept"})
    notebook["metadata"]["odd"] = [float("nan"), 10**30]
    data = "\ufeff".encode() + json.dumps(notebook).encode()
    result = extract(data, "week01")
    assert result.ok, result.problems
    assert [r.text for r in result.reflections if r.text == "kept"] == ["kept"]


def test_a_failed_commit_fails_every_file_of_its_batch_and_nothing_is_remembered(make_class, db, monkeypatch):
    from coursekit.log import batch

    root = make_class(3)
    real_commit = batch.Batch.commit

    def broken_commit(self):
        raise OSError("disk full")

    monkeypatch.setattr(batch.Batch, "commit", broken_commit)
    report = collect(gather(root), db)
    assert report.count("failed") == 3 and all("disk full" in r.detail for r in report.results)
    assert rows(db, "select count(*) from submissions") == [(0,)]
    monkeypatch.setattr(batch.Batch, "commit", real_commit)
    assert collect(gather(root), db).count("collected") == 3  # nothing was remembered, so all are read again
