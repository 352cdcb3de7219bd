"""``coursekit validate --scheduler/--cluster``: the notebooks run on Dask workers, the reports stay here.

Each notebook's bytes and the packed readings travel to a worker, which runs the same step a local
run does (``validate.run_one``: a temporary copy, the deadline, the memory limit, the sandbox); the
``RunResult`` travels back, and reports are written as each one arrives. A worker that dies while
running a notebook loses that run: it is run once more, elsewhere, then reported failed.

Dask itself reruns a task whose worker died until ``distributed.scheduler.allowed-failures`` workers
died with it, then raises ``KilledWorker``. Our own cluster sets that to 0 and retries here, so that
"retried once" holds; a scheduler someone else started counts its own deaths, and each KilledWorker
from it counts ``allowed_failures + 1`` deaths (reported as such).

Dask is imported only here, and this module only when a cluster run is asked for.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import logging
import uuid
from collections.abc import Generator, Iterator
from typing import Any

from coursekit.validation.runner import PackedFolder, RunResult, pack_folder
from coursekit.validation.sandbox import sandbox_problem
from coursekit.validation.validate import NotebookRun, Outcome, WorkerDied, run_one

# The scheduler settings a cluster run needs (see ``connect``); a scheduler started elsewhere should use them too.
SCHEDULER_ENVIRONMENT = (
    "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=0 DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION=1.0"
)

RETRIES = 1  # reruns of a notebook whose worker died
STARTED = "coursekit-validate-started"  # the scheduler's event topic: a notebook began on a worker
REQUEUES = 3  # times a notebook only queued on a dying worker is resubmitted before its deaths count anyway
NEEDED_ON_WORKERS = ("coursekit", "pytest", "nbval", "ipykernel")


def retry_after_death(deaths: int, retries: int = RETRIES) -> bool:
    """Whether a notebook whose workers died ``deaths`` times in all runs again: at most ``retries`` reruns."""
    return deaths <= retries


def run_on_worker(run: NotebookRun, readings: PackedFolder) -> RunResult:
    """``run_one`` on a Dask worker, first telling the scheduler it started (a death then counts against it)."""
    from distributed import get_worker

    worker = get_worker()
    worker.log_event(STARTED, {"key": worker.get_current_task()})
    return run_one(run, readings)


def started(client: Any, key: str) -> bool:
    """Whether the task ``key`` began running on a worker (its ``run_on_worker`` said so)."""
    return any(isinstance(event, dict) and event.get("key") == key for _, event in client.get_events(STARTED))


def worker_problem(sandbox: bool) -> str:
    """Why this worker cannot run validate's notebooks ("" when it can); run on every worker first."""
    missing = [m for m in NEEDED_ON_WORKERS if importlib.util.find_spec(m) is None]
    if missing:
        return f"{', '.join(missing)} not installed in the worker's Python environment"
    return sandbox_problem() if sandbox else ""


@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A Dask client of the scheduler at ``scheduler``, or of a local cluster of ``workers`` processes.

    The local cluster runs one notebook at a time per worker (a notebook's kernel keeps a core busy)
    and lets no worker death be retried by Dask itself (see the module's docstring).
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    # No task waits in a worker's own queue: a worker that dies counts against every task assigned to it,
    # so a notebook queued behind a killer would be "killed" without having run.
    settings = {"distributed.scheduler.allowed-failures": 0, "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(settings), LocalCluster(
        n_workers=workers or 1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster, Client(cluster) as client:  # fmt: skip
        yield client


def check_workers(client: Any, sandbox: bool) -> str:
    """What keeps the cluster from running the notebooks as asked ("" when nothing does).

    No workers, or a worker lacking coursekit's tools or a working bubblewrap: said before anything runs.
    """
    found = client.run(worker_problem, sandbox)
    if not found:
        return f"the Dask scheduler at {client.scheduler.address} has no workers; start some with dask worker"
    broken = [f"{address}: {problem}" for address, problem in sorted(found.items()) if problem]
    if broken:
        return "some Dask workers cannot run the notebooks: " + "; ".join(broken)
    return ""


def scheduler_retries(client: Any) -> int:
    """How many dead workers the scheduler itself lets a task outlive (its ``allowed-failures``)."""
    return int(client.run_on_scheduler(_allowed_failures))


def _allowed_failures(dask_scheduler: Any) -> int:
    return dask_scheduler.allowed_failures


def run_on_cluster(
    runs: list[NotebookRun], client: Any, retries: int = RETRIES, window: int | None = None
) -> Generator[tuple[int, Outcome], None, None]:
    """Run the notebooks on the client's workers; yield (index, outcome) as each finishes, in any order.

    At most ``window`` notebooks (default: two per worker thread) are with the scheduler at a time, so
    20,000 submissions never sit in its memory at once. Each task carries its notebook and the packed
    readings (not scattered once: data held only by workers is lost when they die). A notebook whose
    worker died is submitted again until its workers died ``retries + 1`` times, then yields
    ``WorkerDied``. Closing the generator cancels what has not finished.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    packed = {folder: pack_folder(folder) for folder in {r.readings for r in runs}}
    batch = uuid.uuid4().hex[:8]
    window = window or max(2, 2 * sum(client.nthreads().values()))
    waiting = iter(range(len(runs)))
    attempts: dict[Any, tuple[int, int]] = {}  # future -> (index, attempt)
    deaths = dict.fromkeys(range(len(runs)), 0)
    requeued = dict.fromkeys(range(len(runs)), 0)
    workers: dict[int, list[str]] = {index: [] for index in range(len(runs))}
    pending = as_completed()

    def submit(index: int, attempt: int) -> None:
        run = runs[index]
        key = f"coursekit-validate-{batch}-{index}-{attempt}"
        future = client.submit(run_on_worker, run, packed[run.readings], key=key, pure=False, retries=0)
        attempts[future] = (index, attempt)
        pending.add(future)

    for index in itertools.islice(waiting, window):
        submit(index, 0)
    try:
        for future in pending:
            index, attempt = attempts.pop(future)
            try:
                outcome: Outcome = future.result()
            except KilledWorker as killed:
                if not started(client, future.key) and requeued[index] < REQUEUES:
                    requeued[index] += 1  # it only waited on a worker that died: it has not run yet
                    submit(index, attempt + 1)
                    continue
                deaths[index] += killed.allowed_failures + 1
                workers[index].append(killed.last_worker.address)
                if retry_after_death(deaths[index], retries):
                    submit(index, attempt + 1)
                    continue
                outcome = WorkerDied(deaths[index], tuple(workers[index]))
            except Exception as exc:  # noqa: BLE001 - the notebook's own surprise, or the scheduler cancelled it
                outcome = exc
            future.release()
            for following in itertools.islice(waiting, 1):
                submit(following, 0)
            yield index, outcome
    finally:
        client.cancel(list(attempts))  # Ctrl-C: what has not started never will; a running notebook finishes
