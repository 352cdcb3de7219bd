"""The way out: put a week's notebook, with the feed it reads and the reading it loads, where students get it.

A released week is a folder that works on its own: ``weekNN-slug.ipynb``, ``feed/weekMM.json`` (the
previous week's published peer feed, when there is one) and ``readings/<reading>/``. The notebook
looks for ``feed/`` and ``readings/`` from its own folder upwards, so a student who opens it sees
the published feed without any step of their own. The same folder goes into a zip for the LMS, into
an nbgrader exchange's ``outbound/``, or is reached through an nbgitpuller link.
"""

from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from coursekit.course.problems import CoursekitError
from coursekit.course.reading import Reading
from coursekit.discussion.feed import feed_path
from coursekit.notebook.build import notebook_name


class ReleaseError(CoursekitError, ValueError):
    """A week that cannot be released as asked, with what to do."""


@dataclass(frozen=True)
class Release:
    week: int
    notebook: Path  # the built notebook, with outputs (notebooks/weekNN-slug.ipynb)
    feed: Path | None  # the previous week's published feed, if published
    reading: Reading

    @property
    def assignment(self) -> str:
        return f"week{self.week:02d}"


def plan_release(reading: Reading, week: int, notebooks: Path, feeds: Path) -> Release:
    """What week ``week`` ships: its built notebook and, from week 2, the previous week's feed."""
    match = next((w for w in reading.weeks if w.number == week), None)
    if match is None:
        raise ReleaseError(f"the reading has no week {week}; weeks: {', '.join(str(w.number) for w in reading.weeks)}")
    notebook = notebooks / f"{notebook_name(week, match.slug)}.ipynb"
    if not notebook.is_file():
        raise ReleaseError(f"{notebook}: not built; run 'coursekit build {reading.path} --out {notebooks}'")
    feed = feed_path(feeds, week - 1) if week > 1 else None
    return Release(week, notebook, feed if feed is not None and feed.is_file() else None, reading)


def write_folder(release: Release, out: Path) -> Path:
    """``out/weekNN/``: the notebook, ``feed/`` and ``readings/<reading>/``, replacing an earlier release."""
    folder = out / release.assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copy2(release.notebook, folder / release.notebook.name)
    if release.feed is not None:
        (folder / "feed").mkdir()
        shutil.copy2(release.feed, folder / "feed" / release.feed.name)
    shutil.copytree(release.reading.path, folder / "readings" / release.reading.path.name)
    return folder


def write_zip(folder: Path) -> Path:
    """``weekNN.zip`` beside the folder, to upload as the LMS assignment's file (unzips into ``weekNN/``)."""
    target = folder.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent).as_posix())
    return target


def write_outbound(folder: Path, exchange: Path, course_id: str) -> Path:
    """Copy the release to ``{exchange}/{course}/outbound/weekNN/``, where ``nbgrader fetch_assignment`` finds it."""
    if not exchange.is_dir():
        raise ReleaseError(f"{exchange}: no such nbgrader exchange folder (nbgrader's Exchange.root)")
    target = exchange / course_id / "outbound" / folder.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(folder, target)
    return target


def nbgitpuller_link(hub: str, repository: str, branch: str, path: str) -> str:
    """The link that clones (or updates) ``repository`` into a student's home and opens ``path`` in JupyterLab.

    nbgitpuller clones into a folder named after the repository, so the path to open starts with it.
    """
    folder = repository.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    query = urlencode({"repo": repository, "branch": branch, "urlpath": f"lab/tree/{folder}/{path}"}, quote_via=quote)
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"
