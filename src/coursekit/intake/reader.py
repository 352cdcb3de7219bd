"""Read and extract many submitted files in worker processes, handing results back in order.

Parsing is CPU work and the GIL keeps it to one core per process, so files go to a pool of
worker processes in small chunks; each worker runs ``load_submission`` and returns plain data.
Results come back in the order the files were given, and only a few chunks are ever in flight,
so memory stays flat however many files there are and the caller can store while workers parse.
Few files are read in this process: starting workers would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.util import Finalize

from coursekit.course.reading import Readings
from coursekit.intake.archive import archives_kept_open, keep_archives_open
from coursekit.intake.extract import Extracted, Problem
from coursekit.intake.load import load_submission
from coursekit.intake.submission import SubmissionFile

IN_PROCESS_BELOW = 64  # fewer files than this to read: no workers
CHUNK = 16  # files per task: enough to make the hand-over cheap, few enough to keep workers busy
IN_FLIGHT_PER_WORKER = 4  # chunks queued per worker: workers never wait, results never pile up


def default_jobs() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _failed(reason: str, hint: str) -> Extracted:
    return Extracted(problems=[Problem(reason, hint)])


_WORKER_READINGS: dict[tuple, Readings] = {}  # in each worker: readings loaded once, reused by every chunk


def read_safely(file: SubmissionFile, readings: Readings | None = None) -> Extracted:
    """One file's extract with its hash; ``load_submission`` turns every failure into the file's problem."""
    return load_submission(file, readings=readings).extracted


def _read_chunk(files: list[SubmissionFile], readings: Readings | None) -> list[Extracted]:
    if readings is not None:  # arrives pickled with each chunk: keep the first, whose cache fills up
        readings = _WORKER_READINGS.setdefault(readings.starts, readings)
    return [read_safely(file, readings) for file in files]


def _context():
    """Fork on Linux: workers start at once, without importing anything again.

    The pool is forked before the caller starts any thread (see ``read_all``); a worker touches
    nothing it inherited but this module's functions. Elsewhere fork is unsafe, so spawn.
    """
    return multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end this worker when collect ends, even by SIGKILL (Linux).

    A forked worker holds copies of the parent's descriptors, a database connection among them; an
    orphaned worker would keep a killed collect's PostgreSQL transaction (and its locks) open.
    """
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _start_worker(parent: int) -> None:
    """Worker initializer: die with collect, and keep each archive open while the worker lives.

    A worker reads many members of one zip; the finalizer closes them when the pool shuts it down.
    """
    _die_with_parent(parent)
    Finalize(None, keep_archives_open(), exitpriority=0)


def _pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(jobs, mp_context=_context(), initializer=_start_worker, initargs=(os.getpid(),))


def _alone(file: SubmissionFile, readings: Readings | None) -> Extracted:
    """Read one file in a process of its own: after a worker died, this finds the file that killed it."""
    with _pool(1) as one:
        try:
            return one.submit(read_safely, file, readings).result()
        except BrokenProcessPool:
            return _failed(
                "reading this file made the process reading it stop (out of memory, or a crash)",
                "check the file is a notebook of normal size; ask the student to resubmit",
            )


def read_all(
    files: Sequence[SubmissionFile], jobs: int | None = None, readings: Readings | None = None
) -> Generator[Extracted, None, None]:
    """``read_safely`` of each file, in the order given, with ``jobs`` worker processes.

    ``readings`` are where saved answers are re-graded against their reading (``extract``).

    The workers start here, before the first result is asked for, so a caller can start threads
    (a progress bar) after calling this without any being forked.
    """
    jobs = jobs or default_jobs()
    if jobs == 1 or len(files) < IN_PROCESS_BELOW:
        return _in_process(files, readings)
    chunks = [list(files[start : start + CHUNK]) for start in range(0, len(files), CHUNK)]
    pool = _pool(jobs)
    in_flight = deque(
        (chunk, pool.submit(_read_chunk, chunk, readings)) for chunk in chunks[: jobs * IN_FLIGHT_PER_WORKER]
    )
    return _in_order(chunks, in_flight, pool, jobs, readings)


def _in_process(files: Sequence[SubmissionFile], readings: Readings | None) -> Generator[Extracted, None, None]:
    """Each file read here, each archive opened once; closed when the caller is done (or closes this)."""
    with archives_kept_open():
        for file in files:
            yield read_safely(file, readings)


def _in_order(
    chunks: list[list[SubmissionFile]],
    in_flight: deque[tuple[list[SubmissionFile], Future[list[Extracted]]]],
    pool: ProcessPoolExecutor,
    jobs: int,
    readings: Readings | None,
) -> Generator[Extracted, None, None]:
    """Hand back each chunk's results in order, keeping a few chunks queued ahead.

    If a worker dies (a crash, the OOM killer), the pool is lost: the chunks it held are read
    again file by file, each in a process of its own, so only the file that kills its reader
    fails; then a new pool takes the rest.
    """
    waiting = chunks[len(in_flight) :]
    waiting.reverse()  # popped from the end, in order
    try:
        while in_flight:
            chunk, future = in_flight.popleft()
            try:
                yield from future.result()
            except BrokenProcessPool:
                pool.shutdown(cancel_futures=True)
                for lost in [chunk, *(c for c, _ in in_flight)]:
                    yield from (_alone(file, readings) for file in lost)
                in_flight.clear()
                pool = _pool(jobs)
            while waiting and len(in_flight) < jobs * IN_FLIGHT_PER_WORKER:
                next_chunk = waiting.pop()
                in_flight.append((next_chunk, pool.submit(_read_chunk, next_chunk, readings)))
    finally:
        pool.shutdown(cancel_futures=True)
