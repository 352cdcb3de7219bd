"""How ``coursekit lab`` starts JupyterLab: settings that make a notebook's first and reopened view right.

Widget state is saved into the notebook (so a reopened notebook shows its widgets, not "model not
found", before it is run again) and no news pop-up covers the content. The settings go in an
``overrides.json`` of an application settings folder of our own, which starts as a copy of the
environment's (so an administrator's overrides are kept) and is passed with
``--LabApp.app_settings_dir``; a student's own settings still win.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

LAB_OVERRIDES: dict[str, dict] = {
    "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True},
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def default_settings_folder() -> Path:
    """Where ``coursekit lab`` keeps its JupyterLab settings: COURSEKIT_LAB_SETTINGS_DIR or the user's cache."""
    if folder := os.environ.get("COURSEKIT_LAB_SETTINGS_DIR"):
        return Path(folder)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "coursekit" / "lab-settings"


def environment_settings_folder() -> Path:
    """JupyterLab's own application settings folder in this environment."""
    return Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"


def write_settings(folder: Path, base: Path | None = None) -> Path:
    """Fill ``folder`` with the environment's app settings plus ours; return the overrides file."""
    base = environment_settings_folder() if base is None else base
    folder.mkdir(parents=True, exist_ok=True)
    overrides: dict[str, dict] = {}
    if base.is_dir() and base.resolve() != folder.resolve():
        for item in base.iterdir():
            if item.name != "overrides.json" and item.is_file():
                shutil.copy2(item, folder / item.name)
        try:
            overrides = json.loads((base / "overrides.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            overrides = {}
    for plugin, values in LAB_OVERRIDES.items():
        overrides.setdefault(plugin, {}).update(values)
    path = folder / "overrides.json"
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(overrides, indent=2), encoding="utf-8")
    partial.replace(path)  # atomic: two labs starting at once never read half a file
    return path


def lab_command(notebooks: Path, extra: list[str], settings_folder: Path) -> list[str]:
    """The JupyterLab command line for the course notebooks (``--allow-root`` only when run as root)."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={notebooks.resolve()}",
        f"--LabApp.app_settings_dir={settings_folder.resolve()}",
        *extra,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI machines often run as root
    return command
