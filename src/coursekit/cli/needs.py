"""What a command needs installed beyond the package, checked before it starts (its tools run in other processes)."""

from __future__ import annotations

import sys

from coursekit.cli.output import fail

# What a command runs in another process (so no import here would notice it missing), and how to get it.
NEEDS = {
    "lab": (("jupyterlab",), "pip install 'coursekit[lab]'"),
    "validate": (("pytest", "nbval", "ipykernel"), "pip install --force-reinstall coursekit"),
    "validate --scheduler/--cluster": (("dask", "distributed"), "pip install 'coursekit[cluster]'"),
}


def require(command: str) -> None:
    """Stop with what to install when a command's tools are missing from this Python environment."""
    import importlib.util

    modules, install = NEEDS[command]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        fail(f"coursekit {command} needs {', '.join(missing)}, not installed in {sys.prefix}: {install}")
