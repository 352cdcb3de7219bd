"""How a validate run runs: in the sandbox or not (said when it matters), here or on Dask workers."""

from __future__ import annotations

import contextlib
import functools
import os

from coursekit.api.options import ValidateOptions
from coursekit.api.results import Notify, Refused


def sandboxed(options: ValidateOptions, notify: Notify) -> bool:
    """Whether the run is sandboxed: as asked, else when bubblewrap works here (with a warning when not)."""
    from coursekit.validation import sandbox as sandboxing

    if not options.course.is_dir():
        raise Refused(f"{options.course}: no such folder; give the course folder that holds readings/ with --course")
    why = sandboxing.sandbox_problem() if options.sandbox is not False else ""
    if options.sandbox and why:
        raise Refused(why)
    sandbox = options.sandbox
    if sandbox is None:
        sandbox = not why
        if why:
            notify(f"warning: cannot sandbox ({why}); student code runs with your permissions")
    elif not sandbox:
        notify("warning: --no-sandbox: student code runs with your permissions and sees your files")
    if options.allowed and not sandbox:
        notify("note: --allow-path has no effect without the sandbox: the notebooks see everything")
    return sandbox


def on_cluster(stack: contextlib.ExitStack, options: ValidateOptions, sandbox: bool, how: str, notify: Notify):
    """Connect to the Dask cluster for the length of ``stack``, check its workers, and say how it runs."""
    from coursekit.validation import cluster as dask_cluster

    client = stack.enter_context(dask_cluster.connect(options.scheduler, options.workers or os.cpu_count() or 1))
    problem = dask_cluster.check_workers(client, sandbox)
    if problem:
        raise Refused(problem + ("; install bubblewrap there, or pass --no-sandbox" if sandbox else ""))
    count = len(client.scheduler_info(n_workers=-1)["workers"])
    notify(f"running notebooks {how}, on {count} Dask worker(s) of {client.scheduler.address}")
    retried = dask_cluster.scheduler_retries(client)
    if retried:
        notify(
            f"note: this scheduler itself reruns a notebook until {retried + 1} workers died running it "
            f"(its distributed.scheduler.allowed-failures); start it with {dask_cluster.SCHEDULER_ENVIRONMENT} "
            "to rerun it once only"
        )
    return functools.partial(dask_cluster.run_on_cluster, client=client)
