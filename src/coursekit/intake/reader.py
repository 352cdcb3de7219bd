"""Read and extract many submitted files in worker processes, handing results back in order.

Parsing is CPU work and the GIL keeps it to one core per process, so files go to a pool of
worker processes in small chunks; each worker runs ``read_and_extract`` and returns plain data.
Results come back in the order the files were given, and only a few chunks are ever in flight,
so memory stays flat however many files there are and the caller can store while workers parse.
Few files are read in this process: starting workers would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Generator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from coursekit.intake.extract import Extracted, Problem, read_and_extract
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


def read_safely(file: SubmissionFile) -> Extracted:
    """``read_and_extract``, with a last net under it: a bug on one file fails that file, not the run."""
    try:
        return read_and_extract(file)
    except Exception as exc:  # noqa: BLE001 - one file must never stop the others
        return _failed(
            f"coursekit could not read this file ({exc.__class__.__name__}: {exc})",
            "please report it with the file attached; the other files were collected",
        )


def _read_chunk(files: list[SubmissionFile]) -> list[Extracted]:
    return [read_safely(file) for file in files]


def _context():
    # forkserver: workers start from a clean process, never from a fork of one that holds threads
    # (a progress bar) or an open database connection.
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["coursekit.intake.reader"])
        return context
    return multiprocessing.get_context("spawn")


def _alone(file: SubmissionFile) -> Extracted:
    """Read one file in a process of its own: after a worker died, this finds the file that killed it."""
    with ProcessPoolExecutor(1, mp_context=_context()) as one:
        try:
            return one.submit(read_safely, file).result()
        except BrokenProcessPool:
            return _failed(
                "reading this file made the process reading it stop (out of memory, or a crash)",
                "check the file is a notebook of normal size; ask the student to resubmit",
            )


def read_all(files: Sequence[SubmissionFile], jobs: int | None = None) -> Generator[Extracted, None, None]:
    """``read_safely`` of each file, in the order given, with ``jobs`` worker processes."""
    jobs = jobs or default_jobs()
    if jobs == 1 or len(files) < IN_PROCESS_BELOW:
        yield from (read_safely(file) for file in files)
        return
    chunks = (list(files[start : start + CHUNK]) for start in range(0, len(files), CHUNK))
    pool = ProcessPoolExecutor(jobs, mp_context=_context())
    in_flight: deque[tuple[list[SubmissionFile], Future[list[Extracted]]]] = deque()
    try:
        for chunk in chunks:
            in_flight.append((chunk, pool.submit(_read_chunk, chunk)))
            while len(in_flight) >= jobs * IN_FLIGHT_PER_WORKER:
                pool = yield from _hand_back(in_flight, pool, jobs)
        while in_flight:
            pool = yield from _hand_back(in_flight, pool, jobs)
    finally:
        pool.shutdown(cancel_futures=True)


def _hand_back(in_flight: deque, pool: ProcessPoolExecutor, jobs: int):
    """Yield the oldest chunk's results; if a worker died, read that chunk file by file and go on."""
    chunk, future = in_flight.popleft()
    try:
        yield from future.result()
        return pool
    except BrokenProcessPool:
        pass
    pool.shutdown(cancel_futures=True)
    yield from (_alone(file) for file in chunk)
    pool = ProcessPoolExecutor(jobs, mp_context=_context())
    for index, (waiting, _) in enumerate(in_flight):  # the dead pool's other chunks, again
        in_flight[index] = (waiting, pool.submit(_read_chunk, waiting))
    return pool
