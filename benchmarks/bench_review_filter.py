"""The review notebook's filter over a log of 50,000 reflections: time per filter change.

Fills a real SQLite log, opens the real ReviewDesk widget on it and changes its filters as an
instructor would (week, prompt, status, a text search, clearing). The baseline, measured in the
same run, is one bare pandas boolean mask over the same table: the least any filter can cost.
Goal: under 100 ms per change.  Run: python benchmarks/bench_review_filter.py [--reflections N]

Issue 26 (loaded shared machine, one run each): before (main 39912af) opening 8.74 s, worst change
152.8 ms, bare mask 16.2 ms (worst 9.5x the mask); after (desk-speed) opening 3.15 s, worst 24.8 ms,
bare mask 7.5 ms (3.3x). ``bench_desk.py`` measures a fuller class, in rounds, with a read yardstick.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from coursekit.course.reading import find_reading
from coursekit.course.settings import load_settings
from coursekit.log.frames import open_log
from coursekit.log.schema import open_database
from coursekit.log.tables import reflections, submissions
from coursekit.review.desk import ReviewDesk

ROOT = Path(__file__).resolve().parents[1]
WORDS = "rules accountability wikipedia volunteers weber charisma bureaucracy commons platform editors".split()


def fill(db: Path, reading, wanted: int) -> int:
    engine = open_database(db)
    rng = random.Random(3)
    subs, refls = [], []
    student = 0
    while len(refls) < wanted:
        for week in reading.weeks:
            sub_id = len(subs) + 1
            when = datetime(2026, 9, 10) + timedelta(weeks=week.number - 1, hours=rng.randint(0, 60))
            subs.append(
                dict(
                    id=sub_id,
                    student=f"s{student:05d}",
                    notebook=f"week{week.number:02d}",
                    week=week.number,
                    path="-",
                    file_hash="-",
                    submitted_at=when,
                    collected_at=when,
                )
            )
            for prompt in reading.prompts_for(week.number):
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 150)))
                refls.append(
                    dict(
                        submission_id=sub_id,
                        student=f"s{student:05d}",
                        notebook=f"week{week.number:02d}",
                        week=week.number,
                        prompt_id=prompt.id,
                        post_id=f"r-{len(refls):010d}",
                        text=text,
                        word_count=len(text.split()),
                        content_hash="-",
                        version=1,
                        submitted_at=when,
                        collected_at=when,
                    )
                )
        student += 1
    with engine.begin() as conn:
        conn.execute(insert(submissions), subs)
        conn.execute(insert(reflections), refls[:wanted])
    return wanted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reflections", type=int, default=50_000)
    args = parser.parse_args()
    reading = find_reading("kreiss-finn-turner-2011", ROOT)
    settings = load_settings(ROOT / "course.toml")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp, "big.db")
        fill(db, reading, args.reflections)
        start = time.perf_counter()
        desk = ReviewDesk(open_log(db), settings, reading, "bench")
        opened = time.perf_counter() - start
        getattr(desk, "wait_until_indexed", lambda: None)()  # Search's index is made in the background

        changes = [
            (desk.week, 2),
            (desk.prompt, "w2-authority"),
            (desk.status, "unreviewed"),
            (desk.search, "charisma"),
            (desk.search, "weber rules"),
            (desk.late, "late"),
            (desk.late, "any"),
            (desk.search, ""),
            (desk.prompt, "any"),
            (desk.status, "any"),
            (desk.week, "any"),
            (desk.student, "s0012"),
            (desk.student, ""),
        ]
        timings = []
        for control, value in changes:
            start = time.perf_counter()
            control.value = value
            timings.append(time.perf_counter() - start)
            print(f"    {control.description} = {value!r}: {timings[-1] * 1000:.1f} ms, {len(desk.matches)} match")

        table = desk.table
        baseline = []
        for _ in range(len(changes)):
            start = time.perf_counter()
            _ = table[table["week"] == 2]
            baseline.append(time.perf_counter() - start)
    per_change, floor = statistics.median(timings), statistics.median(baseline)
    print(f"{len(table)} reflections; opening the desk (load, join, index): {opened:.2f} s")
    print(f"  filter change through the widget: median {per_change * 1000:.1f} ms, worst {max(timings) * 1000:.1f} ms")
    print(f"  baseline, one bare pandas mask:    median {floor * 1000:.2f} ms")
    verdict = "met" if max(timings) < 0.1 else "NOT met"
    print(f"  ratio widget / baseline: {per_change / floor:.0f}x; goal under 100 ms per change: {verdict}")


if __name__ == "__main__":
    main()
