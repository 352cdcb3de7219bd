"""Bubblewrap around a notebook run: only what running a notebook needs is visible, nothing else of the machine.

Inside, the notebook sees the Python installation and the system libraries read-only, its own copy
(with an empty home and its temporary files) writable, and an empty ``/tmp``. Not the TA's home,
other courses, ``/etc/shadow``, ``/run`` or ``/tmp`` sockets: they are simply not there. It has no
network (only a loopback of its own) and its own process, IPC and host-name namespaces, so it can
neither see nor signal the TA's processes; it dies with the run.

It runs as an unprivileged user (``SANDBOX_UID``) of a user namespace of its own with every
capability dropped, even when the TA is root (``sudo coursekit validate --homes``, a Docker
container): it cannot remount the read-only binds writable, mount, chown, raise its own limits or
open a user namespace of its own. Its ``/proc`` is fresh (its own processes only), and the files in
it that list the machine's disks read as empty.

The Python paths are found from the running interpreter (``sys.prefix``, ``sys.base_prefix``,
the interpreter's real path, the site-packages and the folders their ``.pth`` files add, such as an
editable install's source), and bound exactly: a course or virtual environment under ``/tmp`` (CI
clones) works, and nothing beside them shows.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from pathlib import Path

# System folders a Python kernel, its libraries (numpy, matplotlib) and fonts need, read-only.
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Pieces of /etc: the dynamic linker's cache, time zone, fonts, MIME types; no passwd, shadow, hosts or keys.
ETC = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/fonts",
    "/etc/mime.types",
    "/etc/alternatives",
)


# The notebook's user and group inside the sandbox ("nobody"); mapped to the TA's own ids outside, so the
# run's copy (the TA's files) stays writable, but with no capability, inside or out.
SANDBOX_UID = SANDBOX_GID = 65534
# Files of /proc that are not per namespace and name the machine's disks and swap; each reads as empty.
MASKED_PROC = ("/proc/partitions", "/proc/diskstats", "/proc/swaps", "/proc/cmdline")


def _pth_folders(site_dir: Path) -> list[str]:
    """Folders that ``.pth`` files in a site-packages folder add to sys.path (an editable install's source)."""
    found = []
    for pth in sorted(site_dir.glob("*.pth")):
        try:
            lines = pth.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            line = line.strip()
            if line and not line.startswith(("#", "import ", "import\t")):
                folder = (site_dir / line).resolve()
                if folder.is_dir():
                    found.append(str(folder))
    return found


def python_paths() -> list[str]:
    """Every folder the running Python needs, real paths, none inside another."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    paths.append(str(Path(os.path.realpath(sys.executable)).parent.parent))
    paths += [p for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := sysconfig.get_paths().get(key))]
    sites = [*site.getsitepackages()]
    for folder in sites:
        paths += _pth_folders(Path(folder))
    paths += sites
    package = Path(__file__).resolve().parents[2]  # the folder holding coursekit (site-packages or src/)
    paths.append(str(package))
    return _outermost(os.path.realpath(p) for p in paths if p and os.path.isdir(p))


def _outermost(paths: Iterable[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return sorted(kept)


def _system_binds() -> list[str]:
    args: list[str] = []
    for path in (*SYSTEM, *ETC):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]  # /lib -> usr/lib on merged-/usr systems
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


# Places of this machine --allow-path never shows, nor anything inside one or any folder holding one:
# the kernel's and the devices' files, and the sockets of /run (a Docker or database socket connects
# through a read-only bind too).
NEVER_SHOWN = ("/proc", "/sys", "/dev", "/run", "/var/run")
# Temporary folders: one inside may be shown, but not the folder itself nor one holding it, nor a run's
# copy in it (where the other students' notebooks are run).
TEMPORARY = ("/tmp", "/var/tmp")


def allow_problem(path: Path, keep: Iterable[Path] = ()) -> str:
    """Why ``--allow-path path`` may not be shown to the notebooks, or "" when it may.

    Judged on the real path (a symbolic link or ``..`` resolved), which is what is bound: not ``/``,
    nor in, at or above one of ``NEVER_SHOWN`` or ``keep`` (the submissions, the reports), nor at or
    above a temporary folder, nor in a run's copy.
    """
    real = os.path.realpath(path)

    def refused(what: str) -> str:
        return f"--allow-path {path}: its real path {real} {what}; allow only the course's data"

    if real == "/":
        return refused("is the whole machine")
    for place in (*NEVER_SHOWN, *(str(k) for k in keep)):
        near = os.path.realpath(place)
        if os.path.commonpath([real, near]) in (real, near):
            return refused(f"is, holds or lies in {near}, which the sandbox never shows")
    for place in (*TEMPORARY, tempfile.gettempdir()):
        near = os.path.realpath(place)
        if os.path.commonpath([real, near]) == real:
            return refused(f"holds {near}, where the other notebooks are run")
        inside = os.path.relpath(real, near).split(os.sep)[0]
        if os.path.commonpath([real, near]) == near and inside.startswith("coursekit-validate-"):
            return refused("lies in another notebook's run")
    return ""


@functools.cache
def _bwrap_options(bwrap: str) -> frozenset[str]:
    """The options this bubblewrap knows, from its ``--help`` (``--disable-userns`` is new in 0.8)."""
    try:
        done = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    return frozenset(re.findall(r"^\s+(--[a-z-]+)", done.stdout + done.stderr, re.MULTILINE))


def _masks() -> list[str]:
    """``/dev/null`` over each of ``MASKED_PROC`` that this kernel has (a missing one cannot be bound over)."""
    return [arg for path in MASKED_PROC if os.path.exists(path) for arg in ("--dev-bind", "/dev/null", path)]


def sandbox_command(folder: Path, command: list[str], allowed: Iterable[Path] = ()) -> list[str]:
    """``command`` inside bubblewrap, seeing only the system, Python and ``folder`` (the one writable place).

    ``allowed`` are further paths of the machine shown read-only (``validate --allow-path``).
    """
    bwrap = shutil.which("bwrap") or "bwrap"
    python = [arg for path in python_paths() for arg in ("--ro-bind", path, path)]
    extra = [arg for path in allowed for arg in ("--ro-bind", os.path.realpath(path), os.path.abspath(path))]
    no_userns = ["--disable-userns"] if "--disable-userns" in _bwrap_options(bwrap) else []
    return [
        bwrap,
        "--unshare-all",  # network, IPC, PID, UTS, cgroup
        "--unshare-user",  # required, not "where allowed": without it root keeps its capabilities
        "--uid", str(SANDBOX_UID),
        "--gid", str(SANDBOX_GID),
        "--cap-drop", "ALL",
        *no_userns,  # no user namespace of its own inside, where it would hold every capability again
        "--die-with-parent",
        "--new-session",  # no TIOCSTI into the TA's terminal
        "--hostname", "sandbox",
        "--dev", "/dev",
        "--proc", "/proc",
        *_masks(),
        "--tmpfs", "/tmp",
        "--tmpfs", "/var/tmp",
        "--dir", "/run",
        *_system_binds(),
        *python,
        *extra,
        "--bind", str(folder), str(folder),
        "--chdir", str(folder),
        "--",
        *command,
    ]  # fmt: skip


def sandbox_problem(bwrap: str = "bwrap") -> str:
    """Why bubblewrap cannot sandbox a Python run here, or "" when it can (checked by running one)."""
    found = shutil.which(bwrap)
    if not found:
        return f"--sandbox needs bubblewrap, but {bwrap!r} is not on PATH; install it (apt-get install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="coursekit-sandbox-check-") as folder:
        command = sandbox_command(Path(folder).resolve(), [sys.executable, "-c", "import json"])
        command[0] = found
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30, env=minimal_environment())
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"--sandbox: {found} does not run ({exc}); nothing was run"
    if done.returncode != 0:
        why = done.stderr.strip()[-500:] or f"exit code {done.returncode}"
        return (
            f"--sandbox: {found} cannot create a sandbox here ({why}); allow unprivileged user namespaces "
            "or run where they are allowed. Nothing was run"
        )
    return ""


def minimal_environment(home: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment a notebook run gets: none of the TA's variables (tokens, keys), only what Python needs."""
    home = home or Path(tempfile.gettempdir())
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        # Address space is what the memory limit counts: one BLAS thread and few malloc arenas keep it honest.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    }
    env.update(extra)
    return env
