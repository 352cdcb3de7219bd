"""Hostile and broken archives: each entry reported by name with what to do, the rest collected, nothing written."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from backends import rows
from click.testing import CliRunner
from conftest import filled_notebook

from coursekit.cli import main
from coursekit.intake import archive, reader
from coursekit.intake.sources import gather
from coursekit.log.collect import collect


@pytest.fixture
def nb(reading):
    def make(who: str) -> bytes:
        texts = {p.id: f"{who} writes with care and evidence." for p in reading.prompts_for(1)}
        return json.dumps(filled_notebook(reading, 1, texts)).encode()

    return make


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as inner:
        for name, data in members.items():
            inner.writestr(name, data)
    return buffer.getvalue()


def hostile_zip(path: Path, nb) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("good_101_1_week01.ipynb", nb("good"))
        out.writestr("../../evil_102_2_week01.ipynb", nb("evil"))
        out.writestr("/etc/abs_103_3_week01.ipynb", nb("abs"))
        link = zipfile.ZipInfo("link_104_4_week01.ipynb")
        link.external_attr = 0o120777 << 16
        out.writestr(link, "/etc/passwd")
        out.writestr("bomb_105_5_week01.ipynb", b"{" + b" " * (3 * 1024**2) + b"}")  # ~3000:1
        out.writestr("locked_106_6_week01.ipynb", b"\x00" * 64)  # marked encrypted below
        out.writestr("zipped_107_7_week01.zip", zipped({"week01.ipynb": nb("zipped")}))
        out.writestr("deep_108_8_week01.zip", zipped({"inner.zip": zipped({"week01.ipynb": nb("deep")})}))
        out.writestr("broken_109_9_week01.zip", b"PK\x03\x04 this is not really a zip")
        out.writestr("__MACOSX/._good_101_1_week01.ipynb", b"\x00\x05\x16\x07")
        out.writestr("._good_101_1_week01.ipynb", b"\x00\x05\x16\x07")
        out.writestr("essay_110_10_essay.pdf", b"%PDF-1.4")
        out.writestr("crc_111_11_week01.ipynb", nb("crc"))
        out.writestr("PLACEHOLDERCP_112_12_week01.ipynb", nb("cp437"))
        out.writestr("PLACEHOLDERUTF8_113_13_week01.ipynb", nb("utf8 without flag"))
    data = bytearray(path.read_bytes())
    # Windows tools write CP437 names without the UTF-8 flag; others write UTF-8 without it.
    cp437 = "ñúñezzoë".encode("cp437").ljust(len("PLACEHOLDERCP"), b"x")
    utf8 = "zoë".encode().ljust(len("PLACEHOLDERUTF8"), b"x")
    data = data.replace(b"PLACEHOLDERCP", cp437).replace(b"PLACEHOLDERUTF8", utf8)
    _set_encrypted(data, b"locked_106_6_week01.ipynb")
    # damage the stored data of one member so its CRC no longer matches
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as check:
        info = check.getinfo("crc_111_11_week01.ipynb")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 10
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _set_encrypted(data: bytearray, name: bytes) -> None:
    """Set the 'encrypted' bit in a member's local and central headers (zipfile cannot write it)."""
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at != -1:
            name_at = at + (30 if offset == 6 else 46)
            if data[name_at : name_at + len(name)] == name:
                data[at + offset] |= 0x1
            at = data.find(signature, at + 4)


def by_name(problems) -> dict[str, str]:
    return {p.entry or p.path.name: p.reason for p in problems}


def test_each_hostile_entry_is_reported_by_name_and_the_rest_is_read(tmp_path, nb):
    source = hostile_zip(tmp_path / "class.zip", nb)
    intake = gather(source, "canvas")
    reasons = by_name(intake.skipped)
    assert "leaves the archive" in reasons["../../evil_102_2_week01.ipynb"]
    assert "leaves the archive" in reasons["/etc/abs_103_3_week01.ipynb"]
    assert "symbolic link" in reasons["link_104_4_week01.ipynb"]
    assert "zip bomb" in reasons["bomb_105_5_week01.ipynb"]
    assert "encrypted" in reasons["locked_106_6_week01.ipynb"]
    assert "only one level" in reasons["deep_108_8_week01.zip/inner.zip"]
    assert "cannot be opened" in reasons["broken_109_9_week01.zip"]
    assert "macOS" in reasons["__MACOSX/._good_101_1_week01.ipynb"] and "macOS" in reasons["._good_101_1_week01.ipynb"]
    assert "not a notebook" in reasons["essay_110_10_essay.pdf"]
    serious = {p.entry for p in intake.skipped if p.serious}
    assert "essay_110_10_essay.pdf" not in serious and "._good_101_1_week01.ipynb" not in serious
    for problem in intake.skipped:
        assert problem.hint  # every report says what to do

    names = {f.source_id: f.name for f in intake.files}
    assert names["107"] == "week01.ipynb"  # the notebook inside the student's zip, read in place
    assert names["112"] == "ñúñezzoëxxxxx_112_12_week01.ipynb"  # CP437 name decoded
    assert names["113"].startswith("zoë")  # UTF-8 name without the flag
    assert set(names) == {"101", "107", "111", "112", "113"}


def test_collect_reports_them_stores_the_rest_and_writes_nothing_else(tmp_path, nb, monkeypatch, backend, db):
    source = hostile_zip(tmp_path / "class.zip", nb)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    target = "log.db" if backend == "sqlite" else db  # a SQLite log here, so what it writes lands here too
    before = {p for p in tmp_path.rglob("*")}
    result = CliRunner().invoke(main, ["collect", str(source), "--layout", "canvas", "--db", target])
    assert result.exit_code == 1  # some students' files were not read
    assert "crc_111_11_week01.ipynb" in result.output and "cannot read" in result.output
    assert "../../evil_102_2_week01.ipynb" in result.output
    assert {r[0] for r in rows(target, "SELECT student FROM submissions")} == {"101", "107", "112", "113"}
    after = {p for p in tmp_path.rglob("*")}
    written = (
        {"log.db", "log.db-wal", "log.db-shm", "log-collect.csv"} if backend == "sqlite" else {"collect-report.csv"}
    )
    assert {p.relative_to(work).as_posix() for p in after - before} <= written  # the log and its report


def test_a_corrupt_source_zip_is_a_clear_error(tmp_path):
    source = tmp_path / "download.zip"
    source.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    result = CliRunner().invoke(main, ["collect", str(source), "--layout", "canvas", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2 and "download it again" in result.output
    assert not (tmp_path / "x.db").exists()


def test_a_member_larger_than_its_header_says_is_stopped_at_the_limit(tmp_path, nb, monkeypatch):
    monkeypatch.setattr(archive, "MAX_ENTRY_BYTES", 10_000)
    source = tmp_path / "c.zip"
    with zipfile.ZipFile(source, "w", zipfile.ZIP_STORED) as out:
        out.writestr("big_101_1_week01.ipynb", nb("big"))  # ~20 KB, over the patched limit
        out.writestr("ok_102_2_week01.ipynb", b"{}")
    reasons = by_name(gather(source, "canvas").skipped)
    assert "over the" in reasons["big_101_1_week01.ipynb"]
    # reading a member directly is refused too (and never reads more than the limit + 1 byte)
    with pytest.raises(OSError, match="more than"):
        archive.read_member(source, "big_101_1_week01.ipynb")


def test_folder_source_with_a_students_zip_and_a_symlink(tmp_path, nb, db):
    folder = tmp_path / "canvas"
    folder.mkdir()
    (folder / "good_101_1_week01.zip").write_bytes(zipped({"week01.ipynb": nb("z")}))
    (folder / "link_102_2_week01.ipynb").symlink_to("/etc/hostname")
    (folder / "__MACOSX").mkdir()
    intake = gather(folder, "canvas")
    assert [(f.source_id, f.entry) for f in intake.files] == [("101", "week01.ipynb")]
    reasons = {p.path.name: p.reason for p in intake.skipped}
    assert "symbolic link" in reasons["link_102_2_week01.ipynb"] and "macOS" in reasons["__MACOSX"]
    assert collect(gather(folder, layout="canvas"), db).count("collected") == 1


def test_the_total_budget_is_spent_member_by_member_in_a_zip_and_across_a_folders_zips(tmp_path, monkeypatch):
    """Each member read takes its size from one budget per source: past it, the rest is refused by name."""
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 50_000)
    notebook = b"{" + b" " * 19_998 + b"}"  # 20,000 bytes each: two fit, the third does not
    source = tmp_path / "class.zip"
    source.write_bytes(zipped({f"s{i}_10{i}_{i}_week01.ipynb": notebook for i in range(3)}))
    listed = archive.source_entries(source)
    assert [e.name for e in listed if isinstance(e, archive.Entry)] == [
        "s0_100_0_week01.ipynb",
        "s1_101_1_week01.ipynb",
    ]
    assert {p.entry: p.reason for p in listed if isinstance(p, archive.LayoutProblem)} == {
        "s2_102_2_week01.ipynb": "the archive unpacks to more than 0 GiB in all; this member was not read"
    }
    folder = tmp_path / "canvas"  # a download unpacked, each student's upload a zip: one budget for all
    folder.mkdir()
    for i in range(3):
        (folder / f"s{i}_10{i}_{i}_week01.zip").write_bytes(zipped({"week01.ipynb": notebook}))
    skipped = gather(folder, "canvas").skipped
    assert [(p.path.name, p.entry) for p in skipped] == [("s2_102_2_week01.zip", "week01.ipynb")]
    assert "in all" in skipped[0].reason


@dataclass
class Opens:
    log: Path  # a line per zipfile.ZipFile made, here or in a forked worker: its pid and what it opened
    made: list[zipfile.ZipFile]  # those made in this process
    most_open: int = 0  # the most files on disk open at once here

    def per_process(self) -> Counter:
        return Counter(tuple(line.split()) for line in self.log.read_text().splitlines())


@pytest.fixture
def opens(monkeypatch, tmp_path) -> Opens:
    """Every zipfile.ZipFile made from now on, in this process and in the workers it forks."""
    seen = Opens(tmp_path / "opens.txt", [])
    seen.log.touch()

    class Counted(zipfile.ZipFile):
        def __init__(self, file, mode="r", *args, **kwargs):
            if mode == "r":  # opened to read (the test writing its zips is not counted)
                with seen.log.open("a") as out:
                    out.write(f"{os.getpid()} {'memory' if isinstance(file, io.BytesIO) else Path(file).name}\n")
                seen.made.append(self)
            super().__init__(file, mode, *args, **kwargs)
            on_disk = sum(1 for z in seen.made if z.fp is not None and z.filename is not None)
            seen.most_open = max(seen.most_open, on_disk)

    monkeypatch.setattr(zipfile, "ZipFile", Counted)
    return seen


@pytest.mark.parametrize("jobs", [1, 2])
def test_collect_opens_each_archive_once_per_process_and_closes_it(tmp_path, nb, opens, monkeypatch, jobs):
    """Reopening a zip rereads its whole index: once per member made collecting N members cost N²."""
    monkeypatch.setattr(reader, "IN_PROCESS_BELOW", 4)
    members = {f"s{i:02d}_{100 + i}_{i}_week01.ipynb": nb(f"s{i}") for i in range(40)}
    members["z_200_1_week01.zip"] = zipped({f"part{i}/week0{i}.ipynb": nb(f"part{i}") for i in range(1, 4)})
    source = tmp_path / "class.zip"
    source.write_bytes(zipped(members))
    report = collect(gather(source), tmp_path / "log.db", jobs=jobs)
    assert report.count("collected") == 41 and report.count("duplicate") == 2  # z's three notebooks: week 1 thrice
    readers = {pid for (pid, _) in opens.per_process()} - {str(os.getpid())}
    assert len(readers) == (0 if jobs == 1 else jobs)
    for (pid, what), count in opens.per_process().items():
        if pid != str(os.getpid()):  # a worker: the source once, the student's zip once
            assert count == 1, (pid, what, count)
    here = {what: count for (pid, what), count in opens.per_process().items() if pid == str(os.getpid())}
    assert here == ({"class.zip": 3, "memory": 2} if jobs == 1 else {"class.zip": 2, "memory": 1})  # detect, list, read
    assert archive._KEPT is None and all(z.fp is None for z in opens.made)  # closed at the end (here)


def test_the_per_member_limit_holds_while_archives_are_kept_open(tmp_path, nb, monkeypatch):
    monkeypatch.setattr(archive, "MAX_ENTRY_BYTES", 10_000)
    source = tmp_path / "c.zip"
    source.write_bytes(zipped({"big.ipynb": nb("big"), "inner.zip": zipped({"big.ipynb": nb("big")})}))
    with archive.archives_kept_open():
        with pytest.raises(OSError, match="more than"):
            archive.read_member(source, "big.ipynb")
        with pytest.raises(OSError, match="more than"):
            archive.read_member(source, "inner.zip//big.ipynb")
    assert archive._KEPT is None


def test_the_total_budget_takes_a_class_of_20000_notebooks_with_their_outputs(tmp_path):
    """20,000 course notebooks of 450 KB (saved outputs and widget state) unpack to 9 GB: all are listed."""
    source = tmp_path / "big-class.zip"
    with zipfile.ZipFile(source, "w") as out:
        for i in range(20_000):
            out.writestr(f"s{i}_{1000 + i}_{i}_week01.ipynb", b"{}")
        for info in out.filelist:  # the central directory, which the listing reads, says 450 KB each
            info.file_size = 450_000
    listed = archive.source_entries(source)
    assert [p.reason for p in listed if isinstance(p, archive.LayoutProblem)] == []
    assert len(listed) == 20_000


def test_a_folder_of_students_zips_keeps_only_a_few_open(tmp_path, nb, opens, monkeypatch):
    """Each student's zip is read once, and no more than KEEP_OPEN stay open (a class of 10,000 would run out)."""
    monkeypatch.setattr(archive, "KEEP_OPEN", 2)
    folder = tmp_path / "canvas"
    folder.mkdir()
    for i in range(5):
        members = {"week01.ipynb": nb(f"s{i}"), "notes/week02.ipynb": nb(f"s{i} again")}
        (folder / f"s{i}_{100 + i}_{i}_week01.zip").write_bytes(zipped(members))
    report = collect(gather(folder, layout="canvas"), tmp_path / "log.db", jobs=1)
    assert report.count("collected") == 5 and report.count("duplicate") == 5
    assert opens.most_open == 2  # listing opens and closes each; reading keeps two at most
    assert all(z.fp is None for z in opens.made)
