"""List the files of a submissions source, a folder or a zip, without extracting anything.

Every file comes back either as an ``Entry`` (a name as people read it, and how to read its bytes)
or as a ``LayoutProblem`` saying why it was not read and what to do. Nothing is ever written to
disk: zip members are read in place, a zip inside the source (a student who zipped their
notebook) is opened in memory, one level deep. Hostile archives are refused entry by entry:
paths that leave the archive, symbolic links, encrypted members, and members over the size
limits below (stated in the README), so one bad upload never stops the others. A run that reads
many members (``reader``) keeps each archive open, with its index, for as long as it reads.
"""

from __future__ import annotations

import io
import os
import stat
import unicodedata
import zipfile
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from coursekit.course.problems import CoursekitError
from coursekit.intake.submission import IntakeError, LayoutProblem, modified_at, readable

MAX_ENTRY_BYTES = 100 * 1024**2  # one member, uncompressed: a notebook full of plots stays far below
MAX_TOTAL_BYTES = 16 * 1024**3  # all members read from one source, uncompressed: 20,000 notebooks of 430 KB fit twice
MAX_RATIO = 200  # uncompressed / compressed size of a member over RATIO_FLOOR (notebook JSON: ~5-20)
RATIO_FLOOR = 1024**2
MAX_ENTRIES = 100_000
KEEP_OPEN = 8  # archives a process keeps open at once (file descriptors): a source zip, a few students' zips
NESTED = "//"  # joins an outer member and a member of the zip inside it: "week1.zip//week01.ipynb"

NOISE_FOLDERS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}
NOTEBOOK = ".ipynb"
ZIP = ".zip"
REZIP = "ask the student to upload the .ipynb file itself (not zipped), or zip it again with an ordinary tool"


class ArchiveError(CoursekitError, OSError):
    """A member that cannot be read (corrupt, encrypted, over a limit); an OSError like any unreadable file."""


@dataclass(frozen=True)
class Entry:
    """One file of the source. ``name`` is its path inside the source, '/'-separated, NFC Unicode."""

    name: str
    path: Path  # the file on disk, or the archive that holds it
    member: str  # archive member name(s) joined by NESTED; "" for a file on disk
    inner: str  # the member as people read it, relative to ``path``; "" for a file on disk
    size: int
    stamp: str  # modification time in ns for files, CRC-32 for archive members
    modified: datetime  # naive UTC (zip times carry no zone: taken as UTC)

    @property
    def parts(self) -> tuple[str, ...]:
        return PurePosixPath(self.name).parts

    def problem(self, reason: str, hint: str, serious: bool = True) -> LayoutProblem:
        return LayoutProblem(self.path, reason, hint, entry=self.inner, serious=serious)

    @property
    def is_notebook(self) -> bool:
        return self.name.lower().endswith(NOTEBOOK)


def member_text(info: zipfile.ZipInfo) -> str:
    """A member's name as its author typed it.

    Without the UTF-8 flag, zipfile decodes names as CP437 (right for old Windows tools); many
    tools write UTF-8 without setting the flag, which CP437 turns into mojibake ("ZoÃ«").
    """
    name = readable(info.filename) if not info.flag_bits & 0x800 else info.filename
    return unicodedata.normalize("NFC", name.replace("\\", "/"))


def _unsafe(name: str) -> bool:
    """A name that would land outside the folder it was unpacked in: absolute, a drive, or with '..'."""
    parts = name.split("/")
    return (
        name.startswith("/")
        or (len(name) > 1 and name[1] == ":")
        or ".." in parts
        or "" in parts[:-1]  # "a//b": an empty component, and our NESTED marker
    )


def _noise(parts: tuple[str, ...] | list[str]) -> str:
    """Why a path is operating-system clutter rather than a student's file ("" when it is not)."""
    if any(p == "__MACOSX" for p in parts) or parts[-1].startswith("._"):
        return "macOS metadata (__MACOSX/ or ._ file), not the student's work"
    if any(p in NOISE_FOLDERS for p in parts):
        return "an editor's backup folder (.ipynb_checkpoints), not the submission"
    if parts[-1] in (".DS_Store", "Thumbs.db", "desktop.ini"):
        return "a file the operating system made, not the student's work"
    return ""


@dataclass
class _Budget:
    """What one source may still unpack: the zip-bomb limit over all its members."""

    left: int = field(default_factory=lambda: MAX_TOTAL_BYTES)  # read when made: tests lower the limits
    entries: int = field(default_factory=lambda: MAX_ENTRIES)


def _limit_problem(info: zipfile.ZipInfo, budget: _Budget) -> str:
    if info.file_size > MAX_ENTRY_BYTES:
        return f"unpacks to {info.file_size:,} bytes, over the {MAX_ENTRY_BYTES // 1024**2} MiB limit per file"
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        return (
            f"compressed {info.file_size // max(info.compress_size, 1)}:1, over the {MAX_RATIO}:1 limit (a zip bomb?)"
        )
    if info.file_size > budget.left:
        return f"the archive unpacks to more than {MAX_TOTAL_BYTES // 1024**3} GiB in all; this member was not read"
    if budget.entries <= 0:
        return f"the archive has more than {MAX_ENTRIES:,} files; the rest were not read"
    return ""


def read_member(path: Path, member: str) -> bytes:
    """The bytes of an archive member (``outer//inner`` for a zip in a zip), never more than the limit.

    Inside ``archives_kept_open`` the archive (and the last zip a student uploaded inside it) stays
    open between calls; otherwise it is opened for this member alone.
    """
    outer, _, inner = member.partition(NESTED)
    try:
        if (kept := _kept()) is not None:
            archive = kept.nested(path, outer) if inner else kept.archive(path)
            return _read_bounded(archive, inner or outer)
        with zipfile.ZipFile(path) as archive:
            data = _read_bounded(archive, outer)
            if not inner:
                return data
            with zipfile.ZipFile(io.BytesIO(data)) as nested:
                return _read_bounded(nested, inner)
    except ArchiveError:
        raise
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, RuntimeError, NotImplementedError) as exc:
        raise ArchiveError(f"{member}: damaged or unreadable member ({exc})") from exc


class _KeptOpen:
    """The archives one process reads members from, each opened once and its index kept.

    Reopening a zip rereads its whole central directory, so reading every member of an N-member
    zip that way costs N²; a zip a student uploaded inside it would be unpacked once per member.
    Only the last nested zip is kept (its members are read one after another): at most
    ``MAX_ENTRY_BYTES`` held in memory. The per-member limits still apply to every read.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.archives: OrderedDict[Path, zipfile.ZipFile] = OrderedDict()  # least recently read first
        self.last_nested: tuple[tuple[Path, str], zipfile.ZipFile] | None = None

    def archive(self, path: Path) -> zipfile.ZipFile:
        """The open archive at ``path``; past KEEP_OPEN (a folder of students' zips), the least recent is closed."""
        if path in self.archives:
            self.archives.move_to_end(path)
            return self.archives[path]
        while len(self.archives) >= KEEP_OPEN:
            self.archives.popitem(last=False)[1].close()
        opened = self.archives[path] = zipfile.ZipFile(path)
        return opened

    def nested(self, path: Path, outer: str) -> zipfile.ZipFile:
        if self.last_nested is None or self.last_nested[0] != (path, outer):
            data = _read_bounded(self.archive(path), outer)
            self._close_nested()
            self.last_nested = ((path, outer), zipfile.ZipFile(io.BytesIO(data)))
        return self.last_nested[1]

    def _close_nested(self) -> None:
        if self.last_nested is not None:
            self.last_nested[1].close()
            self.last_nested = None

    def close(self) -> None:
        self._close_nested()
        for archive in self.archives.values():
            archive.close()
        self.archives.clear()


_KEPT: _KeptOpen | None = None


def _kept() -> _KeptOpen | None:
    """This process's open archives; a forked worker never uses the ones it inherited (shared offsets)."""
    global _KEPT
    if _KEPT is not None and _KEPT.pid != os.getpid():
        _KEPT = _KeptOpen()
    return _KEPT


def keep_archives_open() -> Callable[[], None]:
    """Keep archives open for ``read_member`` from now on; returns what closes them (a worker's lifetime)."""
    global _KEPT
    kept = _kept()
    if kept is not None:
        return lambda: None  # an outer caller keeps them open and closes them
    _KEPT = kept = _KeptOpen()

    def close() -> None:
        global _KEPT
        kept.close()
        if _KEPT is kept:
            _KEPT = None

    return close


@contextmanager
def archives_kept_open() -> Iterator[None]:
    """Within this block ``read_member`` opens each archive once; all are closed when it ends."""
    close = keep_archives_open()
    try:
        yield
    finally:
        close()


def _read_bounded(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{name}: encrypted; {REZIP}")
    with archive.open(info) as stream:
        data = stream.read(MAX_ENTRY_BYTES + 1)
    if len(data) > MAX_ENTRY_BYTES:  # the header may lie about the size; the stream cannot
        raise ArchiveError(f"{name}: unpacks to more than {MAX_ENTRY_BYTES // 1024**2} MiB; not read")
    return data


def _zip_time(info: zipfile.ZipInfo) -> datetime:
    try:
        return datetime(*info.date_time)
    except ValueError:  # a zero or impossible date in a hand-made archive
        return datetime(1980, 1, 1)


def _zip_entries(
    archive: zipfile.ZipFile,
    path: Path,
    prefix: str,
    member_prefix: str,
    nested: bool,
    budget: _Budget,
    entry_prefix: str = "",
) -> Iterator[Entry | LayoutProblem]:
    """The members of one open archive; a zip member of a top-level archive is opened too, once.

    ``prefix`` goes before names as people read them, ``member_prefix`` before names to read them by,
    and ``entry_prefix`` before names in problems, which are relative to ``path``.
    """
    for info in archive.infolist():
        name = member_text(info)
        shown = prefix + name
        if info.is_dir():
            continue

        def problem(reason: str, hint: str, serious: bool = True, entry: str = entry_prefix + name) -> LayoutProblem:
            return LayoutProblem(path, reason, hint, entry=entry, serious=serious)

        if _unsafe(name):
            yield problem(
                "the path leaves the archive (absolute, a drive letter, '..' or an empty folder name); not read",
                "a hand-made or hostile archive: " + REZIP,
            )
            continue
        parts = name.split("/")
        if stat.S_ISLNK(info.external_attr >> 16):
            yield problem("a symbolic link, not a file; not read", REZIP)
            continue
        if noise := _noise(parts):
            yield problem(noise, "nothing to do: ignored", serious=False)
            continue
        if info.flag_bits & 0x1:
            yield problem("encrypted (password-protected); not read", REZIP)
            continue
        if too_big := _limit_problem(info, budget):
            yield problem(too_big, "open the archive by hand to see what it holds; " + REZIP)
            continue
        budget.left -= info.file_size
        budget.entries -= 1
        member = member_prefix + info.filename
        if name.lower().endswith(ZIP):
            if nested:
                yield problem("a zip inside a zip inside the source: only one level is opened", REZIP)
                continue
            yield from _nested_zip(archive, info, path, shown, member, budget)
            continue
        yield Entry(shown, path, member, entry_prefix + name, info.file_size, f"{info.CRC:08x}", _zip_time(info))


def _nested_zip(
    archive: zipfile.ZipFile | None, info: zipfile.ZipInfo | None, path: Path, shown: str, member: str, budget: _Budget
) -> Iterator[Entry | LayoutProblem]:
    """The members of a zip the student uploaded: a member of the source archive, or a file on disk."""
    try:
        if archive is not None and info is not None:
            data = _read_bounded(archive, info.filename)
            inner = zipfile.ZipFile(io.BytesIO(data))
            member_prefix, entry_prefix = member + NESTED, shown + "/"
        else:
            inner = zipfile.ZipFile(path)
            member_prefix, entry_prefix = "", ""
        with inner:
            yield from _zip_entries(inner, path, shown + "/", member_prefix, True, budget, entry_prefix)
    except (ArchiveError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as exc:
        yield LayoutProblem(
            path,
            f"a zip the student uploaded that cannot be opened ({exc})",
            "ask the student to upload the .ipynb file itself",
            entry=shown if archive is not None else "",
        )


def zip_entries(path: Path) -> list[Entry | LayoutProblem]:
    """Every member of the archive at ``path``; a source that is not a readable zip raises IntakeError."""
    try:
        with zipfile.ZipFile(path) as archive:
            return list(_zip_entries(archive, path, "", "", False, _Budget()))
    except zipfile.BadZipFile as exc:
        raise IntakeError(
            f"{path}: not a readable zip ({exc}); download it again (an interrupted download is the usual cause)"
        ) from exc
    except OSError as exc:
        raise IntakeError(f"{path}: cannot read it ({exc.strerror or exc}); check the file's permissions") from exc


def file_entry(file: Path, name: str) -> Entry:
    info = file.stat()
    return Entry(name, file, "", "", info.st_size, str(info.st_mtime_ns), modified_at(info.st_mtime_ns))


def folder_entries(root: Path) -> list[Entry | LayoutProblem]:
    """Every file under the folder ``root`` (symbolic links are reported, never followed)."""
    found: list[Entry | LayoutProblem] = []
    budget = _Budget()
    for folder, dirs, files in os.walk(root, followlinks=False, onerror=lambda exc: found.append(_walk_error(exc))):
        here = Path(folder)
        dirs.sort()
        for name in sorted([*files, *[d for d in dirs if (here / d).is_symlink()]]):
            file = here / name
            shown = unicodedata.normalize("NFC", file.relative_to(root).as_posix())
            parts = shown.split("/")
            if noise := _noise(parts):
                found.append(LayoutProblem(file, noise, "nothing to do: ignored", serious=False))
                continue
            try:
                mode = file.lstat().st_mode
            except OSError as exc:
                found.append(_walk_error(exc))
                continue
            if stat.S_ISLNK(mode):
                found.append(LayoutProblem(file, "a symbolic link; not followed", "copy the real file here instead"))
            elif not stat.S_ISREG(mode):
                found.append(LayoutProblem(file, "not a regular file (a device, pipe or socket)", "remove it"))
            elif name.lower().endswith(ZIP):
                found.extend(_nested_zip(None, None, file, shown, "", budget))
            else:
                found.append(file_entry(file, shown))
        for name in [d for d in dirs if _noise([d]) or d.startswith(".")]:
            why = _noise([name]) or "a hidden folder, not a submission"
            found.append(LayoutProblem(here / name, why, "nothing to do: ignored", serious=False))
        dirs[:] = [d for d in dirs if not (here / d).is_symlink() and not _noise([d]) and not d.startswith(".")]
    return found


def _walk_error(exc: OSError) -> LayoutProblem:
    where = Path(exc.filename or "?")
    return LayoutProblem(where, f"cannot read it ({exc.strerror or exc})", "check the folder's permissions")


def source_entries(source: Path) -> list[Entry | LayoutProblem]:
    """The files of a source given as a folder or a zip file."""
    if not source.exists():
        raise IntakeError(f"{source}: no such file or folder; give the downloaded zip or the folder")
    return folder_entries(source) if source.is_dir() else zip_entries(source)
