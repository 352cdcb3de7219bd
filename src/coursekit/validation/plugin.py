"""The pytest plugin loaded into each validation run (``-p coursekit.validation.plugin``), and only there.

It limits the memory of the run's processes, cuts huge failure messages and makes nbval notice a
dead kernel at once. Nothing else imports it, so pytest is needed only inside the runs.
"""

from __future__ import annotations

import time
from queue import Empty

import pytest

from coursekit.validation.runner import MEMORY_OPTION, STARTING, shorten

MESSAGE_LIMIT = 4_000  # characters of one failing cell's message kept by the plugin


class KernelDied(RuntimeError):
    """nbval waits for a dead kernel's reply until the cell timeout; this says what happened instead."""


def pytest_addoption(parser) -> None:
    parser.addoption(MEMORY_OPTION, type=int, default=0, help="MiB of address space per process of the run")


def limit_memory(mib: int) -> None:
    """Cap this process's address space, soft and hard; the kernel that nbval starts inherits the cap.

    Set here, in the run's own process, rather than by a ``preexec_fn`` in ``validate``, which is
    not safe in a program with threads.
    """
    if mib <= 0:
        return
    try:
        import resource
    except ImportError:  # not on Windows
        return
    limit = mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def pytest_configure(config) -> None:
    """Limit memory, and make nbval's wait for a cell's reply check every second that the kernel is still alive."""
    limit_memory(config.getoption(MEMORY_OPTION, 0))
    try:
        from nbval.kernel import RunningKernel
    except ImportError:
        return
    original = RunningKernel.await_reply
    if getattr(original, "coursekit", False):
        return

    def await_reply(self, msg_id, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            try:
                return original(self, msg_id, timeout=step)
            except Empty:
                if not self.is_alive():
                    raise KernelDied(
                        "the kernel died (the notebook called os._exit or exit, crashed, or ran out of memory)"
                    ) from None
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    setattr(await_reply, "coursekit", True)  # noqa: B010 - a mark on a function object, read back above
    RunningKernel.await_reply = await_reply


def pytest_runtest_logstart(nodeid: str, location) -> None:
    """Say which cell starts, so that a run stopped at the deadline can name the cell it was stuck in."""
    print(f"\n{STARTING}{nodeid}", flush=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report) -> None:
    """Cut a huge failure message (a cell can raise 100 MB of text) before pytest prints or saves it."""
    if report.failed and report.longrepr is not None:
        text = str(report.longrepr)
        if len(text) > MESSAGE_LIMIT:
            report.longrepr = shorten(text, MESSAGE_LIMIT)
