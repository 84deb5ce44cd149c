"""The one way a node starts worker processes (Ed25519 signing and verification).

``cryptography`` has no batch verification and holds the GIL while it signs or
verifies, so bulk work (``verify``, ingest of a backlog, CSV import) runs on
worker processes. All of them are started here, the same way:

- spawned, never forked: the caller may run Kafka client or database pool
  threads holding locks that a forked child would wait on for ever. Spawn
  imports the main module again, so a script that starts a pool must guard its
  entry point (``if __name__ == "__main__"``), and what the main module imports
  each worker imports too: the ``armsledger`` console script imports only
  ``nodes.cli`` (its entry point), not the command line. Not a fork server
  either: it outlives a killed parent, and so would the workers it forked;
- each worker ends when its parent process dies, even by SIGKILL: a thread in
  the worker watches its parent id. (Linux's ``PR_SET_PDEATHSIG`` would fire when
  the parent *thread* that started the worker ends, which may be a short-lived one.)
- a worker that the pool lets go skips the interpreter's teardown: it holds only
  computations, no file or connection to close, and tearing its modules down cost
  about 35 ms of CPU per worker, a sixth of a verify pool's start and end
  (docs/benchmarks.md, Verify).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor


def start_pool(workers: int, *, now: bool = False) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes (requires ``workers >= 1``) that end with their parent.

    ``now``: every worker is started at once, while the caller prepares the first work (a pool otherwise
    starts them one per submit, as the work comes: a worker's start is about 0.1 s of CPU).
    Raises ``ValueError`` for ``workers < 1``; ``OSError`` if processes cannot be started.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=end_with_parent)
    if now:
        for _ in range(workers):  # each submit while no worker is idle starts one more
            pool.submit(os.getpid)
    return pool


def end_with_parent() -> None:
    """Make this process end when its parent process does, and at its end skip the teardown (the initializer
    of every worker)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
    # Registered last, so run first at exit: after the pool's own clean-up (multiprocessing's, run before the
    # interpreter exits), before the teardown of every module. The pool reads no worker's exit status.
    atexit.register(_exit_now)


def _exit_now() -> None:
    """End this worker at once, its output flushed: nothing in a worker needs the interpreter's teardown."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(0)
