"""Bubblewrap around a notebook run: a read-only file system apart from the run's own folder, and no network."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def sandbox_problem(bwrap: str = "bwrap") -> str:
    """Why bubblewrap cannot sandbox here, or "" when ``bwrap --ro-bind / / true`` works."""
    found = shutil.which(bwrap)
    if not found:
        return f"--sandbox needs bubblewrap, but {bwrap!r} is not on PATH; install it (apt-get install bubblewrap)"
    try:
        done = subprocess.run([found, "--ro-bind", "/", "/", "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"--sandbox: {found} does not run ({exc}); nothing was run"
    if done.returncode != 0:
        why = done.stderr.strip() or f"exit code {done.returncode}"
        return (
            f"--sandbox: {found} cannot create a sandbox here ({why}); allow unprivileged user namespaces "
            "or run where they are allowed. Nothing was run"
        )
    return ""


def sandbox_command(folder: Path, command: list[str]) -> list[str]:
    """``command`` inside bubblewrap: everything read-only but ``folder``, and no network.

    No private tmpfs on /tmp: the course, its virtual environment or the folder itself may live
    under /tmp (CI clones do), and a tmpfs would hide them. Temporary files go to ``folder`` (TMPDIR).
    """
    return [
        shutil.which("bwrap") or "bwrap",
        "--ro-bind", "/", "/",
        "--dev", "/dev",
        "--proc", "/proc",
        "--bind", str(folder), str(folder),
        "--unshare-net",
        "--unshare-pid",  # when the run is killed, nothing it started survives
        "--die-with-parent",
        "--chdir", str(folder),
        "--",
        *command,
    ]  # fmt: skip
