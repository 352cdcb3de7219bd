"""Finding the course folder's files from wherever a command or a notebook runs.

Notebooks run with their own folder as the working directory, and instructors run commands from
the course folder or below it, so readings, ``course.toml`` and the published feed are all found
the same way: in the starting folder or the nearest folder above it that has them.
"""

from __future__ import annotations

from pathlib import Path


def find_upwards(relative: str | Path, *starts: str | Path | None, folder: bool = False) -> Path | None:
    """The first ``<folder>/relative`` (a file, or a folder when ``folder``) in each start or above it.

    Starts are tried in order; ``None`` (or no start at all) means the working directory.
    """
    for start in starts or (None,):
        here = Path(start or Path.cwd()).resolve()
        for parent in (here, *here.parents):
            candidate = parent / relative
            if candidate.is_dir() if folder else candidate.is_file():
                return candidate
    return None


def searched(*starts: str | Path | None) -> str:
    """The starts as a person reads them in an error: "/course/subs or /home/ta (or any folder above)"."""
    names = [str(Path(start or Path.cwd()).resolve()) for start in starts or (None,)]
    return f"{' or '.join(dict.fromkeys(names))} (or any folder above)"
