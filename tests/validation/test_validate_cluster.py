"""validate on Dask: the same reports as a local run, streamed, and a notebook whose worker dies is rerun once."""

from __future__ import annotations

import csv
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from conftest import ROOT, write_notebook
from validate_runs import needs_bwrap, submission

from coursekit.cli import main
from coursekit.validation import cluster
from coursekit.validation import validate as validation_run

pytest.importorskip("distributed")

FAILS = "raise ValueError('not yet')"
# Run on a Dask worker (unsandboxed), a cell kills the worker process: the kernel's parent is pytest, whose
# parent is the worker. Each attempt is counted in a file; ONCE kills only on the first attempt.
KILL = """import os, signal
from pathlib import Path
from types import SimpleNamespace
attempts = Path({attempts!r})
attempts.write_text(attempts.read_text() + "x" if attempts.exists() else "x")
worker = int(Path(f"/proc/{{os.getppid()}}/stat").read_text().rsplit(")", 1)[1].split()[1])
assert b"spawn_main" in Path(f"/proc/{{worker}}/cmdline").read_bytes(), "not run by a Dask worker"
if {always!r} or len(attempts.read_text()) == 1:
    os.kill(worker, signal.SIGKILL)
"""


def test_a_notebook_reruns_only_while_its_workers_died_at_most_once():
    assert [cluster.retry_after_death(d) for d in (1, 2, 4)] == [True, False, False]
    assert str(validation_run.WorkerDied(2, ("tcp://a:1", "tcp://b:2"))) == (
        "the worker running it died twice (tcp://a:1, tcp://b:2)"
    )


def test_a_cluster_run_without_dask_says_what_to_install(tmp_path, monkeypatch):
    real = __import__("importlib.util").util.find_spec
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "distributed" else real(name, *a))
    result = CliRunner().invoke(main, ["validate", str(tmp_path), "--cluster", "local"])
    assert result.exit_code == 2
    assert "needs distributed" in result.output and "pip install 'coursekit[cluster]'" in result.output


def comparable(out: Path) -> tuple[list[dict], list[dict]]:
    """The CSV rows and JUnit test cases, without what differs from run to run (times, temporary folders)."""
    rows = list(csv.DictReader((out / "report.csv").open()))
    cases = []
    for case in ET.parse(out / "report.xml").iter("testcase"):
        failure = case.find("failure")
        text = re.sub(r"in [0-9.]+s|coursekit-validate-\w+", "", failure.text or "") if failure is not None else None
        cases.append({**{k: v for k, v in case.attrib.items() if k != "time"}, "failure": text})
    return rows, cases


@pytest.mark.slow  # a LocalCluster
@needs_bwrap
def test_a_local_cluster_gives_the_reports_of_a_local_run(reading, tmp_path):
    """Three sandboxed notebooks, one failing (few: each takes 5-20 s): --cluster local writes what --jobs writes."""
    for name in ("ana", "ben"):
        write_notebook(tmp_path / "class" / name / "week01.ipynb", submission(reading))
    write_notebook(tmp_path / "class" / "cy" / "week01.ipynb", submission(reading, FAILS))
    runner = CliRunner()
    common = ["validate", str(tmp_path / "class"), "--course", str(ROOT), "--sandbox"]
    here = runner.invoke(main, [*common, "--jobs", "2", "--out", str(tmp_path / "here")])
    there = runner.invoke(main, [*common, "--cluster", "local", "--workers", "2", "--out", str(tmp_path / "there")])
    assert here.exit_code == there.exit_code == 1, there.output
    assert "on 2 Dask worker(s)" in there.output and "in a sandbox" in there.output
    assert re.findall(r"\[\d/3\] \w+/week01.ipynb: \w+", there.output)  # the same progress lines
    rows, cases = comparable(tmp_path / "there")
    assert (rows, cases) == comparable(tmp_path / "here")
    assert [(r["student"], r["status"]) for r in rows] == [("ana", "pass"), ("ben", "pass"), ("cy", "fail")]
    assert "ValueError: not yet" in rows[2]["reasons"]


@pytest.mark.slow  # a LocalCluster
def test_a_worker_killed_mid_run_reruns_the_notebook_once_then_reports_it(reading, tmp_path):
    """Unsandboxed (a sandboxed cell cannot reach its worker): one notebook kills every worker running it,
    one kills only the first; both are rerun once, the other notebooks finish, and results stream in."""
    folder = tmp_path / "class"
    always, once = tmp_path / "always-attempts", tmp_path / "once-attempts"
    write_notebook(folder / "ana" / "week01.ipynb", submission(reading, KILL.format(attempts=str(always), always=True)))
    write_notebook(folder / "ben" / "week01.ipynb", submission(reading, KILL.format(attempts=str(once), always=False)))
    write_notebook(folder / "cy" / "week01.ipynb", submission(reading))
    seen, finished = [], []
    with cluster.connect(workers=2) as client:
        found = validation_run.validate(
            folder,
            ROOT,
            progress=lambda report, done, total: seen.append((report.student, done, total, time.monotonic())),
            finished=lambda so_far: finished.append([r.student for r in so_far]),
            execute=lambda runs: cluster.run_on_cluster(runs, client),
        )
    status = {r.student: r for r in found}
    assert {s: r.status for s, r in status.items()} == {"ana": "fail", "ben": "pass", "cy": "pass"}
    assert always.read_text() == "xx" and once.read_text() == "xx"  # each rerun exactly once
    [problem] = status["ana"].problems
    assert re.fullmatch(
        r"could not run the notebook: the worker running it died twice \(tcp://\S+, tcp://\S+\)", problem.reason
    )
    # Streamed: a report per notebook as each finished (seconds apart), not all at the end.
    assert sorted(s for s, *_ in seen) == ["ana", "ben", "cy"] and [(d, t) for _, d, t, _ in seen] == [
        (1, 3),
        (2, 3),
        (3, 3),
    ]
    assert seen[-1][3] - seen[0][3] > 1.0, seen
    assert [len(f) for f in finished] == [0, 1, 2, 3] and finished[-1] == ["ana", "ben", "cy"]


def test_only_a_notebook_that_started_on_the_dead_worker_counts_the_death():
    events = SimpleNamespace(get_events=lambda topic: [(1.0, {"key": "k-0-0"})] if topic == cluster.STARTED else [])
    assert cluster.started(events, "k-0-0") and not cluster.started(events, "k-2-0")


def test_workers_are_only_for_a_local_cluster(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path), "--workers", "2"])
    assert result.exit_code == 2 and "--workers is for --cluster local" in result.output
    both = CliRunner().invoke(main, ["validate", str(tmp_path), "--cluster", "local", "--scheduler", "tcp://x:1"])
    assert both.exit_code == 2 and "not both" in both.output
