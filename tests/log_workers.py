"""Processes the log tests start beside `coursekit collect`: a reviewer, a reader, and a process killed on cue.

    python tests/log_workers.py review DB REVIEWER ROUNDS GOFILE OUT.json STUDENT [patient]
    python tests/log_workers.py read DB PROMPTS STOPFILE OUT.json

A reviewer saves a review of STUDENT's first reflections, ROUNDS times over, each time based on
the latest review it saw (as the desk does), and records what ``save_review`` reported as a
conflict. Both reviewers name the same STUDENT, collected before they start: "the first
reflections in the log" would differ between them when a collect running meanwhile stores a
student who sorts first. Reviewers say they are ready (a file ``ready-REVIEWER`` beside GOFILE), start together
when GOFILE appears and work on the same few reflections, so they often have the same one open at
once. A patient reviewer, every fifth round, keeps the reflection open until a colleague has
saved a review of it, so some saves surely meet a colleague's. A reader exports the current
reflections until STOPFILE appears and records any moment it saw a half-stored notebook or fewer
rows than before.

``killed_at`` runs a command in a process forked from the test (which has every module loaded, so
a round costs a fraction of a second) and SIGKILLs it at a chosen moment: before its n-th SQL
statement, before or just after its n-th commit, or after the n-th page a SQLite backup copies.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import random
import signal
import sqlite3
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool

from coursekit.log import schema
from coursekit.log.frames import open_log
from coursekit.log.reviews import ReviewDraft, latest_review, save_review

KEYS = 1  # the reflection both reviewers work on: each save may meet the other's


def _colleague_saved(log, key: tuple, seen_id: int | None, reviewer: str) -> bool:
    with log.engine.connect() as conn:
        latest = latest_review(conn, *key)
    return latest is not None and latest.reviewer != reviewer and latest.id != seen_id


def review(db: str, reviewer: str, rounds: int, go: Path, out: Path, student: str, patient: bool = False) -> None:
    log = open_log(db)
    theirs = log.reflections().query("student == @student")[["student", "notebook", "prompt_id"]]
    keys = list(theirs.itertuples(index=False, name=None))[:KEYS]
    assert len(keys) == KEYS, f"{student} has no reflections in the log"
    saved = []
    go.with_name(f"ready-{reviewer}").touch()
    while not go.exists():
        time.sleep(0.005)
    pick = random.Random(reviewer)
    for n in range(rounds):
        for student, notebook, prompt_id in pick.sample(keys, len(keys)):  # both at work on the same few
            with log.engine.connect() as conn:
                seen = latest_review(conn, student, notebook, prompt_id)
            time.sleep(pick.uniform(0.03, 0.12))  # the reviewer reads, then scores
            based_on = seen.id if seen else None
            if patient and n % 5 == 0:
                until = time.monotonic() + 5
                while not _colleague_saved(log, (student, notebook, prompt_id), based_on, reviewer):
                    if time.monotonic() > until:
                        break
                    time.sleep(0.01)
            scores, comment = {"voice": n}, f"{reviewer} {n}"
            draft = ReviewDraft(student, notebook, prompt_id, reviewer, scores, comment, False, based_on)
            mine, conflict = save_review(log.engine, draft)
            saved.append(
                {"id": mine.id, "based_on": based_on, "conflict": conflict.id if conflict else None, "at": time.time()}
            )
    out.write_text(json.dumps(saved))


def read(db: str, prompts: int, stop: Path, out: Path) -> None:
    log = open_log(db)
    reads, problems, last = 0, [], 0
    while not stop.exists():
        frame = log.reflections()
        sizes = frame.groupby(["student", "notebook"]).size()
        if len(sizes) and set(sizes) != {prompts}:
            problems.append(f"half-stored notebook seen: {sizes[sizes != prompts].to_dict()}")
        if len(frame) < last:
            problems.append(f"rows went from {last} to {len(frame)}")
        last = len(frame)
        reads += 1
    out.write_text(json.dumps({"reads": reads, "problems": problems, "rows": last}))


POINTS = ("statement", "commit", "after commit", "backup page")


def _die(*_) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def killed_at(point: str, n: int, work: Callable[[], object], seen) -> None:
    """Run ``work`` in this (forked) process, SIGKILLed at the ``n``-th ``point`` (one of ``POINTS``).

    ``seen`` (a ``multiprocessing.Value``) counts the SQL statements run before the kill, so a
    first round killed at its commit tells the test how many statements there are to kill before.
    """
    assert point in POINTS, point
    statements, committed = itertools.count(1), []

    def statement(*_) -> None:
        seen.value = next(statements)
        if point == "statement" and seen.value == n:
            _die()

    def commit(*_) -> None:  # called before the transaction commits
        if point == "commit" and len(committed) + 1 == n:
            _die()
        committed.append(n)

    def checkin(*_) -> None:  # a connection handed back to the pool: its transaction has ended
        if point == "after commit" and len(committed) == n:
            _die()

    class Dying(sqlite3.Connection):
        """A connection whose backups copy a page at a time, and die after the ``n``-th."""

        def backup(self, target, **_):
            pages = itertools.count(1)
            super().backup(target, pages=1, progress=lambda *_: next(pages) == n and _die())

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)
    event.listen(Pool, "checkin", checkin)
    if point == "backup page":
        schema.sqlite3 = types.SimpleNamespace(connect=functools.partial(sqlite3.connect, factory=Dying))
    work()


if __name__ == "__main__":
    action, db, *rest = sys.argv[1:]
    if action == "review":
        review(db, rest[0], int(rest[1]), Path(rest[2]), Path(rest[3]), rest[4], rest[5:] == ["patient"])
    else:
        read(db, int(rest[0]), Path(rest[1]), Path(rest[2]))
