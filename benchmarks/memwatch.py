"""Watch a process's descendants for their peak memory: ``python benchmarks/memwatch.py PID``.

Prints "watching", polls every 0.1 s until its standard input closes, then prints the largest peak
resident memory (VmHWM, kB) any descendant of PID reached. A process of its own, so the watched
process needs no thread (collect forks its workers, which must not happen while a thread runs).
"""

from __future__ import annotations

import os
import sys
import threading

from bench_collect import _descendants, _peak_kb


def main() -> None:
    pid, peak, closed = int(sys.argv[1]), 0, threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), closed.set()), daemon=True).start()
    print("watching", flush=True)
    while not closed.wait(0.1):
        peak = max([peak, *(_peak_kb(p) for p in _descendants(pid) if p != os.getpid())])
    print(peak, flush=True)


if __name__ == "__main__":
    main()
