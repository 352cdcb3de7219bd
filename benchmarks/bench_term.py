"""A whole term, 300 students x 4 weeks, stage by stage: time against a baseline of the same work, and memory.

Run: python benchmarks/bench_term.py [--students N] [--keep DIR]

The term is ``tests/term.py``'s simulation (the one ``tests/integration/test_term.py`` runs on 12 students):
release -> students fill the released notebook (varied lengths, images, replies and likes, late,
resubmitted and broken files) -> a Canvas and a Moodle zip with hard names, each downloaded before
and after the deadline -> intake -> collect -> the week's feed -> ... -> a score for every
reflection -> feedback -> grades (the Canvas import file) -> export --threads -> the site. Every
product step runs through its real command (click's CliRunner, in this process), so a stage's time
excludes Python's start-up and imports. Each stage's baseline is the same work done the simplest
way, measured right after it in this run:

- release: copy the released folder's files into a zip;
- intake, collect: read every member of the same zip and ``json.loads`` it;
- feed, feedback, grades, export, site: write the bytes the command wrote again, unrendered;
- review: the same rows inserted into a bare SQLite table, one commit each (the desk saves each score).

Memory: the peak resident set of this process during the stage (its high-water mark is reset before
each stage through ``/proc/self/clear_refs``), and the largest peak any child process reached
(collect's workers), watched through /proc while the stage runs. The outcome is checked as the test
checks it (every grade, thread, like and version) before the table is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]

from bench_collect import _peak_kb  # noqa: E402
from term import Term  # noqa: E402


@dataclass
class Stage:
    """What one kind of step cost over the whole term."""

    name: str
    runs: int = 0
    items: int = 0
    seconds: float = 0.0
    baseline: float | None = None
    peak_mb: float = 0.0
    above_mb: float = 0.0  # the peak above this process's size when the stage began
    child_mb: float = 0.0


def _reset_peak() -> bool:
    """Reset this process's peak resident memory to its current size (Linux 4.0+); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_kb() -> int:
    status = Path("/proc/self/status").read_text()
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


class _ChildWatch:
    """The largest peak resident memory any descendant of this process reaches while the watch runs.

    The watching is done by ``memwatch.py``, a process of its own, not by a thread: collect forks
    its workers, which must not happen while another thread runs.
    """

    def __init__(self) -> None:
        command = [sys.executable, str(ROOT / "benchmarks" / "memwatch.py"), str(os.getpid())]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.process.stdout.readline()  # "watching"

    def stop(self) -> int:
        out, _ = self.process.communicate("")
        return int(out.split()[-1])


WITH_WORKERS = {"collect"}  # the stages that start processes (collect's readers), watched for their memory


class Meter:
    """``Term.run`` for a benchmark: times each step and its baseline, and measures its memory."""

    def __init__(self) -> None:
        self.stages: dict[str, Stage] = {}
        self.resets = _reset_peak()

    def __call__(self, name: str, action: Callable, baseline: Callable | None = None, work=1):
        stage = self.stages.setdefault(name, Stage(name))
        _reset_peak()
        before = _rss_kb()
        watcher = _ChildWatch() if name in WITH_WORKERS else None
        start = time.perf_counter()
        result = action()
        stage.seconds += time.perf_counter() - start
        child_kb = watcher.stop() if watcher else 0
        peak = _peak_kb(os.getpid())
        stage.peak_mb = max(stage.peak_mb, peak / 1024)
        stage.above_mb = max(stage.above_mb, (peak - before) / 1024)
        stage.child_mb = max(stage.child_mb, child_kb / 1024)
        if baseline is not None:
            start = time.perf_counter()
            baseline()
            stage.baseline = (stage.baseline or 0.0) + time.perf_counter() - start
        stage.runs += 1
        stage.items += work() if callable(work) else work
        return result


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.1f} ms"


def table(stages: list[Stage]) -> str:
    """The stages as a Markdown table, the product's stages with their ratio to the baseline."""
    lines = [
        "| stage | runs | items | time | baseline | ratio | peak RSS (above the stage's start) | largest child |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in stages:
        base = _seconds(s.baseline) if s.baseline else "—"
        ratio = f"{s.seconds / s.baseline:,.1f}x" if s.baseline else "—"
        child = f"{s.child_mb:.0f} MB" if s.child_mb else "—"
        peak = f"{s.peak_mb:.0f} MB (+{s.above_mb:.0f})"
        lines.append(
            f"| {s.name} | {s.runs} | {s.items:,} | {_seconds(s.seconds)} | {base} | {ratio} | {peak} | {child} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seed", type=int, default=26)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-term-"))
    meter = Meter()
    try:
        started = time.perf_counter()
        term = Term(root / "course", args.students, seed=args.seed)
        term.run = meter
        for week in (w.week for w in term.settings.weeks):
            term.week(week)
            print(f"week {week} done, {time.perf_counter() - started:.0f} s", flush=True)
        term.finish()
        wall = time.perf_counter() - started
        problems = [
            what
            for what, (got, wanted) in {
                "grades": (term.actual_grades(), term.expected_grades()),
                "threads": (term.actual_threads(), term.expected_threads()),
                "versions": (term.actual_versions(), term.expected_versions()),
            }.items()
            if got != wanted
        ]
        if problems:
            sys.exit(f"the term's outcome is wrong ({', '.join(problems)}): no figures for a wrong run")
        files = sum(len(d.members) for d in term.downloads)
        zips = sum(d.path.stat().st_size for d in term.downloads) / 1e6
        print(
            f"\n{args.students} students x {len(term.settings.weeks)} weeks: {len(term.downloads)} zips "
            f"({files:,} notebook files, {zips:.0f} MB), {len(term.expected_threads()):,} posts and replies; "
            f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} at the end; {wall:.0f} s in all"
        )
        if not meter.resets:
            print("(peak RSS could not be reset per stage here: each figure is the peak so far)")
        print(table(list(meter.stages.values())))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
