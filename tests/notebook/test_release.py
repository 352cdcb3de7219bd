"""coursekit release: the week's folder, zip, nbgrader outbound/ and nbgitpuller link, feed included."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from click.testing import CliRunner

from coursekit.cli import main
from coursekit.notebook.release import nbgitpuller_link

ROOT = Path(__file__).resolve().parents[2]


def test_release_week_two_ships_the_published_feed(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "readings", tmp_path / "readings")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("instructor"))
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "week01.json").write_text('{"week": 1}', encoding="utf-8")
    (tmp_path / "exchange").mkdir()
    monkeypatch.chdir(tmp_path)
    args = ["release", "--week", "2", "--nbgrader-exchange", "exchange", "--course-id", "nm101"]
    args += ["--git-url", "https://git.example/uni/netmedia.git", "--hub", "https://hub.example"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    folder = tmp_path / "release" / "week02"
    assert (folder / "week02-webers-reminders.ipynb").is_file()
    assert (folder / "feed" / "week01.json").read_text() == '{"week": 1}'
    assert (folder / "readings" / "kreiss-finn-turner-2011" / "reading.yaml").is_file()
    with zipfile.ZipFile(tmp_path / "release" / "week02.zip") as archive:
        assert {"week02/week02-webers-reminders.ipynb", "week02/feed/week01.json"} <= set(archive.namelist())
    assert (tmp_path / "exchange" / "nm101" / "outbound" / "week02" / "feed" / "week01.json").is_file()
    link = result.output[result.output.index("https://hub.example") :].split()[0]
    query = parse_qs(urlsplit(link).query)
    assert query["urlpath"] == ["lab/tree/netmedia/notebooks/week02-webers-reminders.ipynb"]
    assert query["branch"] == ["main"] and query["repo"] == ["https://git.example/uni/netmedia.git"]


def test_a_released_notebook_finds_the_published_feed_from_its_own_folder(tmp_path, make_class, reading, monkeypatch):
    """Collect week 1, publish its feed, release week 2: the feed the released notebook loads is the class's."""
    from coursekit.discussion.feed import find_feed

    course = tmp_path / "course"
    shutil.copytree(ROOT / "readings", course / "readings")
    shutil.copytree(ROOT / "notebooks", course / "notebooks", ignore=shutil.ignore_patterns("instructor"))
    submissions = make_class(4)
    monkeypatch.chdir(course)
    runner = CliRunner()
    assert runner.invoke(main, ["collect", str(submissions), "--db", "class.db"]).exit_code == 0
    assert runner.invoke(main, ["publish", "--feed", "--week", "1", "--db", "class.db", "--out", "feed"]).exit_code == 0
    assert runner.invoke(main, ["release", "--week", "2", "--out", str(tmp_path / "out")]).exit_code == 0
    with zipfile.ZipFile(tmp_path / "out" / "week02.zip") as archive:
        archive.extractall(tmp_path / "student")  # what a student does with the LMS file
    feed = find_feed(1, reading, start=tmp_path / "student" / "week02")
    assert not feed.sample and len(feed.posts) == 4 * len(reading.prompts_for(1))


def test_release_without_a_feed_says_so_and_unknown_weeks_fail(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "readings", tmp_path / "readings")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("instructor"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["release", "--week", "3"])
    assert result.exit_code == 0 and "sample class" in result.output
    assert not (tmp_path / "release" / "week03" / "feed").exists()
    assert CliRunner().invoke(main, ["release", "--week", "9"]).exit_code == 2


def test_nbgitpuller_link_opens_the_notebook_in_the_cloned_folder():
    link = nbgitpuller_link("https://hub.example/", "https://github.com/a/b", "fall", "notebooks/w.ipynb")
    assert link.startswith("https://hub.example/hub/user-redirect/git-pull?")
    assert parse_qs(urlsplit(link).query)["urlpath"] == ["lab/tree/b/notebooks/w.ipynb"]
