"""Validating 40 passing submissions one at a time and two at a time, and on local Dask clusters.

Run: python benchmarks/bench_validate.py [--students N] [--cluster [--workers 1,2,4]]
Every run happens here, on this machine, in one go, so the ratios are what to compare (the goal is
1.7x or more for --jobs 2 on two free cores). With --cluster the same class also runs on a
LocalCluster of 1, 2 and 4 worker processes (one notebook at a time each), each compared with
--jobs of the same width. Each notebook is a real nbval run, so a run of 40 takes a few minutes.
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
from coursekit.validation.checks import PASS
from coursekit.validation.validate import Execute, validate

ROOT = Path(__file__).resolve().parents[1]


def timed(folder: Path, jobs: int, execute: Execute | None = None) -> float:
    start = time.perf_counter()
    reports = validate(folder, ROOT, jobs=jobs, execute=execute)
    seconds = time.perf_counter() - start
    failed = [f"{r.student}: {'; '.join(p.reason for p in r.problems)}" for r in reports if r.status != PASS]
    if failed:
        sys.exit("the benchmark class should pass, but:\n" + "\n".join(failed))
    return seconds


def on_cluster(folder: Path, workers: int) -> float:
    """The class on a fresh LocalCluster; starting it is not timed (a TA's cluster is already up)."""
    from coursekit.validation import cluster

    with cluster.connect(workers=workers) as client:
        return timed(folder, 1, lambda runs: cluster.run_on_cluster(runs, client))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--cluster", action="store_true", help="also run on LocalClusters of --workers processes")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated cluster sizes  [default: 1,2,4]")
    args = parser.parse_args()
    reading = find_reading("kreiss-finn-turner-2011", ROOT)
    rng = random.Random(1)
    sizes = [int(n) for n in args.workers.split(",")] if args.cluster else []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.students):  # passing notebooks: every reflection above its minimum
            texts = {p.id: reflection(rng, reading, p.min_words + 20) for p in reading.prompts_for(1)}
            write_notebook(Path(tmp, f"student{i:02d}", "week01.ipynb"), filled_notebook(reading, 1, texts))
        print(f"{args.students} passing week-1 submissions, {os.cpu_count()} CPU(s)", flush=True)
        jobs: dict[int, float] = {}
        for n in dict.fromkeys([2, 1, *sizes]):  # each width's pair back to back: the load changes slowly
            jobs[n] = timed(Path(tmp), n)
            print(f"  --jobs {n}: {jobs[n]:.1f} s ({jobs[n] / args.students:.1f} s per notebook)", flush=True)
            if n in sizes:
                seconds = on_cluster(Path(tmp), n)
                print(
                    f"  --cluster local --workers {n}: {seconds:.1f} s; --jobs {n} / cluster = {jobs[n] / seconds:.2f}"
                    " (above 1: the cluster is faster)",
                    flush=True,
                )
        print(f"  speed-up of --jobs 2 over --jobs 1: {jobs[1] / jobs[2]:.2f}x", flush=True)


if __name__ == "__main__":
    main()
