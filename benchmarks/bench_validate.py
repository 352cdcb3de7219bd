"""Validating 40 passing submissions one at a time and two at a time: both times and the speed-up.

Run: python benchmarks/bench_validate.py [--students N]
Both runs happen here, on this machine, so the ratio is what to compare (the goal is 1.7x or more on
two free cores). Each notebook is a real nbval run, so a run of 40 takes a few minutes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from coursekit.course.reading import find_reading
from coursekit.log.demo import filled_notebook, reflection, write_notebook
from coursekit.validation.runner import PASS, validate

ROOT = Path(__file__).resolve().parents[1]


def timed(folder: Path, jobs: int) -> float:
    start = time.perf_counter()
    reports = validate(folder, ROOT, jobs=jobs)
    seconds = time.perf_counter() - start
    failed = [f"{r.student}: {'; '.join(p.reason for p in r.problems)}" for r in reports if r.status != PASS]
    if failed:
        sys.exit("the benchmark class should pass, but:\n" + "\n".join(failed))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=40)
    args = parser.parse_args()
    reading = find_reading("kreiss-finn-turner-2011", ROOT)
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.students):  # passing notebooks: every reflection above its minimum
            texts = {p.id: reflection(rng, reading, p.min_words + 20) for p in reading.prompts_for(1)}
            write_notebook(Path(tmp, f"student{i:02d}", "week01.ipynb"), filled_notebook(reading, 1, texts))
        one = timed(Path(tmp), 1)
        two = timed(Path(tmp), 2)
    print(f"{args.students} passing week-1 submissions, {os.cpu_count()} CPU(s)")
    print(f"  --jobs 1: {one:.1f} s ({one / args.students:.1f} s per notebook)")
    print(f"  --jobs 2: {two:.1f} s")
    print(f"  speed-up: {one / two:.2f}x")


if __name__ == "__main__":
    main()
