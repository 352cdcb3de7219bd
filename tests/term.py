"""A whole term, simulated through coursekit's real commands; shared by test_term.py and bench_term.py.

A class of students with hard names (accents, the same name twice, spaces, decomposed and odd
Unicode) in two campuses, one on Canvas and one on Moodle, works through the four weeks: each week
is released, every student fills the released notebook (texts of varied length, pasted images,
replies and likes to the classmates the released feed assigns them, answers to the replies they
received), some hand in late, resubmit, upload twice or upload a broken file; the instructor
downloads each LMS's zip twice (once before the deadline, once after), runs ``intake`` and
``collect`` on each and publishes the week's feed. At the end every reflection is scored, and
``feedback``, ``grades``, ``export --threads`` and the site are written.

What the product should make of it is computed here from what the simulation handed in, never
read back from the product: ``Term.expected_*``. ``Term.actual_*`` read the product's outputs
(its CSV files and pages), so a test compares the two. Every product step goes through ``Term.run``,
which a benchmark replaces to time it against a baseline of the same work.

Every text a student writes carries a tag, ``⟦r12-w1-consensus v2⟧`` for a reflection (student
12's, prompt ``w1-consensus``, second version) or ``⟦c41⟧`` for a reply, so an output row is
traced to what was handed in whatever ids the product gave it.
"""

from __future__ import annotations

import csv
import json
import random
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import ROOT, course_toml
from images import SVG, attach, jpeg_with_gps, png, reflection_cell

from coursekit.cli import main
from coursekit.course.reading import Reading, load_reading
from coursekit.course.settings import Settings, load_settings
from coursekit.discussion.feed import Feed, assigned_roots, find_feed, replies_to_you
from coursekit.log.demo import reflection, with_saved
from coursekit.log.frames import open_log
from coursekit.log.reviews import ReviewDraft, save_review
from coursekit.notebook import answers
from coursekit.review.filters import review_table

READING = ROOT / "readings" / "kreiss-finn-turner-2011"
TAG = re.compile(r"⟦(?:(r\d+-[\w-]+) v(\d+)|(c\d+))⟧")

# (first names, last name): accents, apostrophes and hyphens, spaces, the same name twice (Ann Lee),
# scripts other than Latin, a Turkish dotless i, an emoji; Moodle's folder names of every third
# student are decomposed (NFD), as a Mac writes them.
NAMES = [
    ("Mary Ann", "O'Brien-Smith"),
    ("Zoë", "Ñúñez"),
    ("Ann", "Lee"),
    ("Ann", "Lee"),
    ("John", "Smith 3rd"),
    ("José María", "de la Cruz"),
    ("Σωκράτης", "Παπαδόπουλος"),
    ("小明", "王"),
    ("Işıl", "Yılmaz"),
    ("Renée", "D’Arcy"),
    ("Björn", "Ångström"),
    ("Nguyễn", "Thị Minh Khai"),
    ("Siobhán", "Ní Bhriain"),
    ("Ali 🌻", "Hassan"),
    ("Åse", "Grøtte"),
    ("Jürgen", "Groß"),
]
# (student, week) -> a case every class has, whatever the seed: even students are on Canvas, odd on Moodle.
CAST = {
    (0, 2): "extension",
    (1, 3): "twice",
    (2, 3): "broken resubmission",
    (3, 2): "broken",
    (4, 1): "resubmission",
    (5, 4): "late",
}
CAMPUSES = {"canvas": "Campus A (Canvas)", "moodle": "Campus B (Moodle)"}


@dataclass(frozen=True)
class Person:
    index: int
    first: str
    last: str
    lms: str  # "canvas" or "moodle": the campus they hand in through

    @property
    def key(self) -> str:
        return f"s{self.index:03d}@uni.example"  # the roster's SIS Login ID

    @property
    def canvas_id(self) -> str:
        return str(1000 + self.index)

    @property
    def sortable(self) -> str:
        return f"{self.last}, {self.first}"

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"

    def participant(self, week: int) -> str:
        """Moodle's participant id: the assignment's own number for the student, not their user id."""
        return str(week * 10_000 + 500 + self.index * 7)


@dataclass
class Attempt:
    """One notebook a student handed in: when, what it says, and what it does in the discussion."""

    number: int  # 1, or 2 for a resubmission (a superset of the first: students edit, not start again)
    when: datetime
    texts: dict[str, str]
    images: dict[str, int]  # prompt id -> images kept (the refused ones are not counted)
    replies: list[tuple[str, str, str]]  # (reply tag, parent tag, text)
    likes: list[str]  # tags of the posts liked
    broken: str = ""  # "truncated" or "pdf": a file that cannot be read
    data: bytes = b""


@dataclass
class Work:
    """A student's week: their attempts, and how they reach the LMS."""

    person: Person
    week: int
    attempts: list[Attempt]
    extension: bool = False  # Canvas: handed in after the deadline with an extension, so not LATE
    twice: bool = False  # Moodle: uploaded the resubmission beside the first file instead of over it


@dataclass
class Download:
    """One LMS zip as the instructor downloaded it, and what the simulation put in it."""

    lms: str
    week: int
    path: Path
    members: dict[str, tuple[Work, Attempt]]
    worksheet: Path | None = None

    @property
    def broken(self) -> set[str]:
        return {name for name, (_, attempt) in self.members.items() if attempt.broken}


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=None)


def squeezed(name: str) -> str:
    """A sortable name as Canvas writes it into file names (lower case, letters and digits only)."""
    return "".join(c for c in unicodedata.normalize("NFC", name).lower() if c.isalnum())


class Term:
    """The simulated term: the course folder, the class, and everything handed in so far."""

    def __init__(self, root: Path, students: int, seed: int = 26, db: str | Path | None = None) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.reading: Reading = load_reading(READING)
        self.people = [
            Person(i, *NAMES[i % len(NAMES)], lms="canvas" if i % 2 == 0 else "moodle") for i in range(students)
        ]
        self.db = str(db or root / "class.db")
        root.mkdir(parents=True, exist_ok=True)
        self.settings_path = course_toml(root, self.reading, self.db)
        self.settings: Settings = load_settings(self.settings_path)
        self._write_roster()
        self.work: dict[tuple[str, int], Work] = {}
        self.downloads: list[Download] = []
        self.replies = 0
        self.reviewed: list[tuple[str, str, str, dict]] = []
        # run(stage, action, baseline=None, work=1): every step goes through it; a benchmark times it
        self.run: Callable[..., Any] = lambda stage, action, baseline=None, work=1: action()

    # -- the course -------------------------------------------------------------------------------

    def _write_roster(self) -> None:
        with (self.root / "roster.csv").open("w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"])
            out.writerow(["Points Possible", "", "", "", ""])  # as Canvas's gradebook export has it
            for p in self.people:
                out.writerow([p.sortable, p.canvas_id, f"u{p.index:04d}", p.key, CAMPUSES[p.lms]])

    def cli(self, *args: str, settings: bool = True, code: int = 0) -> str:
        """One coursekit command with the course's course.toml; it must exit with ``code``."""
        more = ["--settings", str(self.settings_path)] if settings else []
        result = CliRunner().invoke(main, [*args, *more], catch_exceptions=False)
        if result.exit_code != code:
            raise AssertionError(f"coursekit {' '.join(args)} exited {result.exit_code}:\n{result.output}")
        return result.output

    def deadline(self, week: int) -> datetime:
        found = self.settings.deadline(week)
        assert found is not None
        return found.replace(tzinfo=UTC)

    # -- a week -----------------------------------------------------------------------------------

    def week(self, week: int) -> None:
        """Release, hand in, download, intake, collect and publish the feed of one week."""
        folder = self.root / "release"
        self.run(
            "release",
            lambda: self.cli(
                "release",
                "--week",
                str(week),
                "--out",
                str(folder),
                "--notebooks",
                str(ROOT / "notebooks"),
                "--feeds",
                str(self.root / "feed"),
                "--reading",
                str(READING),
                settings=False,
            ),
            baseline=lambda: _copy_tree(folder / f"week{week:02d}", self.root / "scratch"),
            work=1,
        )
        released = next((folder / f"week{week:02d}").glob("week*.ipynb"))
        feed = find_feed(week - 1, self.reading, start=released.parent) if week > 1 else None
        assert feed is None or not feed.sample, "the released week shows the sample class, not the published feed"
        template = released.read_text(encoding="utf-8")
        self.run(
            "students' notebooks (simulated)",
            lambda: self._class_hands_in(week, template, feed),
            work=lambda: sum(len(w.attempts) for (_, wk), w in self.work.items() if wk == week),
        )
        deadline = self.deadline(week)
        for when in (deadline - timedelta(hours=24), deadline + timedelta(days=2)):
            for lms in ("canvas", "moodle"):
                download = self.run("LMS zips (simulated)", lambda lms=lms, when=when: self._download(lms, week, when))
                if not download.members:
                    continue  # nothing handed in yet: the LMS has nothing to download
                self.downloads.append(download)
                options = ["--moodle-worksheet", str(download.worksheet)] if download.worksheet else []
                self.run(
                    "intake",
                    lambda d=download, o=options: self.cli(
                        "intake", str(d.path), *o, "--csv", str(d.path.with_suffix(".intake.csv"))
                    ),
                    baseline=lambda d=download: _json_loads_members(d.path),
                    work=len(download.members),
                )
                self.run(
                    "collect",
                    lambda d=download, o=options: self.cli(
                        "collect",
                        str(d.path),
                        *o,
                        "--db",
                        self.db,
                        "--report",
                        str(d.path.with_suffix(".csv")),
                        code=1 if d.broken else 0,  # exit 1: some file failed, the rest was collected
                    ),
                    baseline=lambda d=download: _json_loads_members(d.path),
                    work=len(download.members),
                )
        for work in (w for (_, wk), w in self.work.items() if wk == week):
            for attempt in work.attempts:
                attempt.data = b""  # in the zips now: 300 students' term would hold 600 MB of them
        if week < len(self.settings.weeks):
            feeds = self.root / "feed"
            self.run(
                "feed",
                lambda: self.cli("publish", "--feed", "--week", str(week), "--db", self.db, "--out", str(feeds)),
                baseline=lambda: _bare_write([feeds / f"week{week:02d}.json"], self.root / "scratch"),
                work=1,
            )

    def _class_hands_in(self, week: int, template: str, feed: Feed | None) -> None:
        ids = {_tag_of(p.message): p.id for p in feed.posts} if feed else {}  # what a student's widget saves
        for person in self.people:
            work = self._hand_in(person, week, feed)
            if work is not None:
                for attempt in work.attempts:
                    attempt.data = self._notebook(template, week, person, attempt, ids)
                self.work[person.key, week] = work

    def _hand_in(self, person: Person, week: int, feed: Feed | None) -> Work | None:
        """What one student does in a week (None: nothing handed in); CAST makes sure each case occurs."""
        rng = self.rng
        cast = CAST.get((person.index, week), "")
        if rng.random() < 0.06 and not cast:
            return None
        deadline = self.deadline(week)
        late = cast in ("extension", "late") or (rng.random() < 0.15 and not cast)
        when = deadline + (
            timedelta(minutes=rng.randint(60, 40 * 60)) if late else -timedelta(minutes=rng.randint(26 * 60, 72 * 60))
        )
        first = self._attempt(person, week, 1, _utc(when), feed)
        extension = cast == "extension" or (late and person.lms == "canvas" and rng.random() < 0.2 and not cast)
        work = Work(person, week, [first], extension=extension)
        roll = -1.0 if cast in ("resubmission", "twice", "broken resubmission") else 1.0 if cast else rng.random()
        if roll < 0.12:  # a resubmission, before or after the deadline
            later = when + timedelta(minutes=rng.randint(30, 36 * 60))
            second = self._attempt(person, week, 2, _utc(later), feed, first)
            work.attempts.append(second)
            work.twice = cast == "twice" or (person.lms == "moodle" and rng.random() < 0.5 and not cast)
            if cast == "broken resubmission" or (not work.twice and rng.random() < 0.2 and not cast):
                second.broken = "truncated"  # the fixed version broke: the first one must stay
        elif roll < 0.16 or cast == "broken":
            first.broken = rng.choice(["truncated", "pdf"])
        return work

    def _attempt(
        self, person: Person, week: int, number: int, when: datetime, feed: Feed | None, earlier: Attempt | None = None
    ) -> Attempt:
        rng = self.rng
        texts, images = {}, {}
        for prompt in self.reading.prompts_for(week):
            tag = f"⟦r{person.index}-{prompt.id} v{number}⟧"
            words = rng.choice([8, 40, 90, 150, 250, 600]) + rng.randint(0, 30)
            texts[prompt.id] = f"{tag} {reflection(rng, self.reading, words)}"
            images[prompt.id] = 0
        attempt = Attempt(number, when, texts, images, [], [])
        if earlier is not None:
            attempt.images = dict(earlier.images)
            attempt.replies = list(earlier.replies)
            attempt.likes = list(earlier.likes)
        elif rng.random() < 0.15:
            prompt = rng.choice(list(texts))
            attempt.images[prompt] = rng.choice([1, 2])
        if feed is not None:
            self._discuss(person, attempt, feed, resubmitting=earlier is not None)
        return attempt

    def _discuss(self, person: Person, attempt: Attempt, feed: Feed, resubmitting: bool) -> None:
        """Replies and likes to the posts the feed assigns, and answers to replies received."""
        rng = self.rng
        mine = assigned_roots(feed, person.key)
        targets = [] if resubmitting else rng.sample(mine, min(len(mine), rng.choice([0, 1, 2, 2, 2, 3])))
        if resubmitting and mine and rng.random() < 0.5:
            targets = [rng.choice(mine)]  # the resubmission adds a reply
        for post in targets:
            self.replies += 1
            tag = f"c{self.replies}"
            attempt.replies.append((tag, _tag_of(post.message), f"⟦{tag}⟧ {rng.choice(REPLY_TEXTS)}"))
        for post in rng.sample(mine, min(len(mine), rng.choice([0, 1, 2]))):
            if _tag_of(post.message) not in attempt.likes:
                attempt.likes.append(_tag_of(post.message))
        if not resubmitting:
            for _, answers_to_me in replies_to_you(feed, person.key):
                if rng.random() < 0.6:
                    self.replies += 1
                    tag = f"c{self.replies}"
                    reply = f"⟦{tag}⟧ Thanks, I meant that."
                    attempt.replies.append((tag, _tag_of(answers_to_me[0].message), reply))

    def _notebook(self, template: str, week: int, person: Person, attempt: Attempt, ids: dict[str, str]) -> bytes:
        """The released notebook as this student saved it: the JSON bytes they upload."""
        if attempt.broken == "pdf":
            return b"%PDF-1.4\n% a worksheet saved as PDF and renamed\n"
        notebook = json.loads(template)
        for prompt_id, text in attempt.texts.items():
            cell = reflection_cell(notebook, prompt_id)
            if attempt.images[prompt_id]:
                files = {"screenshot.png": png(), "photo.jpg": jpeg_with_gps()}
                kept = dict(list(files.items())[: attempt.images[prompt_id]])
                attach(cell, text, {**kept, "drawing.png": SVG})  # the SVG is refused, the others kept
            else:
                cell["source"] = text
        if attempt.replies or attempt.likes:
            state = {
                "feed": f"week{week - 1:02d}",
                "sample": False,
                "student": person.key,
                "likes": sorted(ids[t] for t in attempt.likes),
                "replies": [{"parent_id": ids[parent], "text": text} for _, parent, text in attempt.replies],
            }
            with_saved(notebook, {"widgets.PeerFeed": answers.record("peer", f"w{week}-peers", state)})
        data = json.dumps(notebook, indent=1, ensure_ascii=False).encode()
        return data[: len(data) // 2] if attempt.broken == "truncated" else data

    # -- the LMS downloads ------------------------------------------------------------------------

    def _download(self, lms: str, week: int, when: datetime) -> Download:
        """The zip the LMS gives at ``when``: each student's latest upload by then (both, if uploaded twice)."""
        folder = self.root / "downloads" / f"week{week:02d}-{when:%m%d}"
        folder.mkdir(parents=True, exist_ok=True)
        members: dict[str, tuple[Work, Attempt]] = {}
        for work in (w for (_, wk), w in self.work.items() if wk == week and w.person.lms == lms):
            handed = [a for a in work.attempts if a.when <= _utc(when)]
            shown = handed[-2:] if work.twice else handed[-1:]
            for attempt in shown:
                members[self._member(work, attempt)] = (work, attempt)
        if lms == "canvas":
            path = folder / f"NetMedia-Week_{week} submissions.zip"
            worksheet = None
        else:
            path = folder / f"NM101-Week {week}-{4240 + week}.zip"
            worksheet = folder / f"Grades-NM101-Week {week}-{4240 + week}.csv"
            self._worksheet(worksheet, week)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, (_, attempt) in members.items():
                archive.writestr(zipfile.ZipInfo(name, attempt.when.timetuple()[:6]), attempt.data)
        return Download(lms, week, path, members, worksheet)

    def _member(self, work: Work, attempt: Attempt) -> str:
        person, week = work.person, work.week
        if person.lms == "canvas":
            late = self.late(work, attempt)
            suffix = "" if attempt.number == 1 else f"-{attempt.number - 1}"  # Canvas renames a re-upload
            marker = "_LATE" if late else ""
            att = 90_000 + week * 1000 + person.index * 3 + attempt.number
            return f"{squeezed(person.sortable)}{marker}_{person.canvas_id}_{att}_week{week:02d}{suffix}.ipynb"
        name = "Participant" if week == 4 else person.full  # week 4 is blind-marked
        if person.index % 3 == 0:
            name = unicodedata.normalize("NFD", name)  # zipped on a Mac
        file = f"week{week:02d}.ipynb" if attempt.number == 1 or not work.twice else f"week{week:02d} (1).ipynb"
        return f"{name}_{person.participant(week)}_assignsubmission_file/{file}"

    def _worksheet(self, path: Path, week: int) -> None:
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["Identifier", "Full name", "Email address", "Status", "Grade"])
            for p in (p for p in self.people if p.lms == "moodle"):
                out.writerow([f"Participant {p.participant(week)}", p.full, p.key, "Submitted", ""])

    # -- the end of term --------------------------------------------------------------------------

    def finish(self) -> None:
        """Score every reflection, then write feedback, grades, the threads export and the site."""
        out = self.root
        self.run(
            "review (a score for each reflection)",
            self._review,
            baseline=lambda: _bare_inserts(self.reviewed, out / "scratch"),
            work=lambda: len(self.reviewed),
        )
        self.run(
            "feedback",
            lambda: self.cli("feedback", "--db", self.db, "--out", str(out / "feedback")),
            baseline=lambda: _bare_write(sorted((out / "feedback").rglob("*")), out / "scratch"),
            work=lambda: len(list((out / "feedback").glob("*.html"))),
        )
        self.run(
            "grades",
            lambda: self.cli(
                "grades", "--db", self.db, "--out", str(out / "grades.csv"), "--plain", str(out / "detail.csv")
            ),
            baseline=lambda: _bare_write([out / "grades.csv", out / "detail.csv"], out / "scratch"),
            work=len(self.people),
        )
        self.run(
            "export threads",
            lambda: self.cli("export", "--db", self.db, "--threads", "--out", str(out / "threads.csv")),
            baseline=lambda: _bare_write([out / "threads.csv"], out / "scratch"),
            work=lambda: len(self.expected_threads()),
        )
        self.run(
            "publish site",
            lambda: self.cli("publish", "--db", self.db, "--out", str(out / "site"), "--reading", str(READING)),
            baseline=lambda: _bare_write(sorted((out / "site").rglob("*")), out / "scratch"),
            work=lambda: len(list((out / "site").glob("*.html"))),
        )

    def _review(self) -> int:
        """Score every current reflection as the review desk does: the desk's table, one saved review each."""
        log = open_log(self.db)
        table = review_table(log, self.settings, self.reading)
        self.reviewed = []
        for row in table.itertuples():
            scores = rubric_scores(_tag_of(row.text))
            save_review(log.engine, ReviewDraft(row.student, row.notebook, row.prompt_id, "Prof. Ortiz", scores))
            self.reviewed.append((row.student, row.notebook, row.prompt_id, scores))
        return len(self.reviewed)

    # -- what should come out ---------------------------------------------------------------------

    def stored(self, key: str, week: int) -> Attempt | None:
        """The attempt the log should hold: the newest readable one that some download carried."""
        carried = [a for d in self.downloads if d.week == week for w, a in d.members.values() if w.person.key == key]
        readable = [a for a in carried if not a.broken]
        return max(readable, key=lambda a: a.when) if readable else None

    def expected_outcomes(self) -> dict[tuple[Path, str], str]:
        """(zip, member) -> the status its collect should report, going through the downloads in order."""
        held: dict[tuple[str, int], Attempt] = {}
        found = {}
        for download in self.downloads:
            by_student: dict[tuple[str, int], list[tuple[str, Attempt]]] = {}
            for name, (work, attempt) in download.members.items():
                by_student.setdefault((work.person.key, work.week), []).append((name, attempt))
            for who, members in by_student.items():
                readable = sorted((a.when, n, a) for n, a in members if not a.broken)
                for name, attempt in members:
                    if attempt.broken:
                        found[download.path, name] = "failed"
                    elif attempt is not readable[-1][2]:
                        found[download.path, name] = "duplicate"  # an older copy beside the newest
                    elif who not in held:
                        found[download.path, name] = "collected"
                    else:
                        found[download.path, name] = "unchanged" if held[who] is attempt else "updated"
                if readable:
                    held[who] = readable[-1][2]
        return found

    def late(self, work: Work, attempt: Attempt) -> bool:
        """After the deadline, unless Canvas was told of an extension (its LATE marker is the verdict)."""
        after = attempt.when > _utc(self.deadline(work.week))
        return after and not (work.person.lms == "canvas" and work.extension)

    def expected_late(self) -> dict[tuple[str, int], bool]:
        found = {}
        for (key, week), work in self.work.items():
            attempt = self.stored(key, week)
            if attempt is not None:
                found[key, week] = self.late(work, attempt)
        return found

    def expected_grades(self) -> dict[tuple[str, int], float | None]:
        """Per roster student and week: the Canvas cell (None: blank), from the course's rules."""
        s = self.settings
        late = self.expected_late()
        found: dict[tuple[str, int], float | None] = {}
        for person in self.people:
            for week in (w.week for w in s.weeks):
                attempt = self.stored(person.key, week)
                if attempt is None:
                    found[person.key, week] = None
                    continue
                rubric = sum(
                    sum(rubric_scores(_tag_of(text)).values()) for text in attempt.texts.values()
                )  # every reflection scored
                part = s.participation_points * min(1.0, len(attempt.replies) / s.replies_required) if week > 1 else 0
                total = (rubric + part) * (1 - s.late_penalty if late[person.key, week] else 1)
                found[person.key, week] = round(total, 2)
        return found

    def expected_threads(self) -> dict[str, tuple[str, str | None, int, int]]:
        """Tag of every post -> (author, parent tag, likes, images): reflections at their newest version."""
        found: dict[str, tuple[str, str | None, int, int]] = {}
        likers: dict[str, set[str]] = {}
        for key, week in self.work:
            attempt = self.stored(key, week)
            if attempt is None:
                continue
            for prompt_id, text in attempt.texts.items():
                found[_tag_of(text)] = (key, None, 0, attempt.images[prompt_id])
            for tag, parent, _ in attempt.replies:
                found[tag] = (key, parent, 0, 0)
            for tag in attempt.likes:
                likers.setdefault(tag, set()).add(key)
        return {tag: (a, p, len(likers.get(tag, ())), i) for tag, (a, p, _, i) in found.items()}

    def expected_versions(self) -> dict[str, int]:
        """Reflection tag -> the version of its text the log should show (the newest collected)."""
        found = {}
        for key, week in self.work:
            attempt = self.stored(key, week)
            for text in attempt.texts.values() if attempt else ():
                found[_tag_of(text)] = attempt.number if attempt else 0
        return found

    # -- what came out ----------------------------------------------------------------------------

    def actual_grades(self) -> dict[tuple[str, int], float | None]:
        rows = list(csv.DictReader((self.root / "grades.csv").open(encoding="utf-8")))
        assert rows[0]["Student"] == "Points Possible"
        return {
            (row["SIS Login ID"], w.week): float(row[w.canvas_title]) if row[w.canvas_title] else None
            for row in rows[1:]
            for w in self.settings.weeks
        }

    def actual_threads(self) -> dict[str, tuple[str, str | None, int, int]]:
        rows = list(csv.DictReader((self.root / "threads.csv").open(encoding="utf-8")))
        tags = {row["id"]: _tag_of(row["message"]) for row in rows}
        return {
            tags[row["id"]]: (
                row["author"],
                tags[row["parent_id"]] if row["parent_id"] else None,
                int(row["like_count"]),
                int(row["images"]),
            )
            for row in rows
        }

    def actual_versions(self) -> dict[str, int]:
        rows = csv.DictReader((self.root / "threads.csv").open(encoding="utf-8"))
        return {m[1]: int(m[2]) for row in rows if (m := TAG.search(row["message"])) and m[1]}


REPLY_TEXTS = [
    "Good point about **rules**: who writes them, though?",
    "I read Weber differently: the office protects the clerk too.",
    "Wikipedia's administrators are a bureaucracy, aren't they?",
    "Nice example. Did you see the talk page on this?",
    "I'm not sure volunteers have the time you assume — students do, workers don't.",
]


def _tag_of(text: str) -> str:
    """The post a text belongs to, by its simulation tag: ``r12-w1-consensus`` (any version) or ``c41``."""
    match = TAG.search(text)
    assert match, f"no simulation tag in {text[:80]!r}"
    return match[1] or match[3]


def rubric_scores(tag: str) -> dict[str, int]:
    """The scores the reviewer gives a reflection: a fixed function of its tag, so tests can add them up."""
    h = zlib.crc32(tag.encode())
    return {"understanding": h % 5, "evidence": (h >> 4) % 4, "voice": (h >> 8) % 4}


# -- baselines: the same work done the simplest way ---------------------------------------------


def _json_loads_members(path: Path) -> int:
    """Read every member of a zip and parse it with json.loads (what intake and collect must at least do)."""
    parsed = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            try:
                json.loads(archive.read(info))
                parsed += 1
            except ValueError:
                pass
    return parsed


def _bare_write(paths: list[Path], scratch: Path) -> int:
    """Write the same bytes again, unrendered: the floor of any command that writes pages or files."""
    contents = [p.read_bytes() for p in paths if p.is_file()]
    scratch.mkdir(parents=True, exist_ok=True)
    for n, data in enumerate(contents):
        (scratch / f"{n}.out").write_bytes(data)
    return len(contents)


def _copy_tree(folder: Path, scratch: Path) -> int:
    """Copy a released folder's files and zip them: what ``release`` does, without checks."""
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    scratch.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(scratch / "release.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.writestr(path.name, path.read_bytes())
    return len(files)


def _bare_inserts(rows: list[tuple[str, str, str, dict]], scratch: Path) -> int:
    """The same reviews as rows of a bare SQLite table, one commit each (the desk saves each at once)."""
    import sqlite3

    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / "reviews.db"
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("pragma journal_mode=wal")
    conn.execute("create table r (student text, notebook text, prompt text, scores text)")
    for student, notebook, prompt, scores in rows:
        conn.execute("insert into r values (?, ?, ?, ?)", (student, notebook, prompt, json.dumps(scores)))
        conn.commit()
    conn.close()
    return len(rows)
