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
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor


def start_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes (requires ``workers >= 1``) that end with their parent.

    Raises ``ValueError`` for ``workers < 1``; ``OSError`` if processes cannot be started.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=end_with_parent)


def end_with_parent() -> None:
    """Make this process end when its parent process does (the initializer of every worker)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()
