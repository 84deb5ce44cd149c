"""Ed25519 verification for ingest, on a few worker processes when a batch is large.

``cryptography`` has no batch verification and holds the GIL, so a large batch's
signatures go to ``nodes.workers.start_pool`` processes while ingest checks the
inclusion proofs. A pool that cannot start or breaks is given up: verification
goes on in this process, slower, and ingest never stops for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ledger.acceptance import verify_signatures
from nodes.workers import start_pool

log = logging.getLogger(__name__)

#: Batches with more signatures than this are verified by a pool of processes.
POOL_THRESHOLD = 200
POOL_SIZE = 2

Task = tuple[bytes, bytes, bytes]  # raw public key, signature, message


class SignaturePool:
    """Verifies (key, signature, message) tasks here or on ``size`` processes. Close when done."""

    def __init__(self, size: int = POOL_SIZE):
        self.size = size
        self._pool: ProcessPoolExecutor | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def verify_later(self, tasks: list[Task]) -> Callable[[], list[bool]]:
        """Start verifying each task; the results, in order, come from calling what this returns."""
        if len(tasks) < POOL_THRESHOLD or self.size < 2:
            results = verify_signatures(tasks)
            return lambda: results
        try:
            pool = self._started()
            step = -(-len(tasks) // self.size)
            futures = [pool.submit(verify_signatures, tasks[i:i + step]) for i in range(0, len(tasks), step)]
        except (BrokenProcessPool, OSError, RuntimeError) as e:
            return self._without_pool(tasks, e)

        def collected() -> list[bool]:
            try:
                return [ok for future in futures for ok in future.result()]
            except (BrokenProcessPool, OSError, RuntimeError) as e:
                return self._without_pool(tasks, e)()

        return collected

    def warm_up(self) -> None:
        """Start the processes now, in the background (they take ~1 s to import)."""
        if self.size >= 2:
            try:
                pool = self._started()
                for _ in range(self.size):
                    pool.submit(verify_signatures, [])
            except (BrokenProcessPool, OSError, RuntimeError) as e:
                self._without_pool([], e)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = start_pool(self.size)
        return self._pool

    def _without_pool(self, tasks: list[Task], error: BaseException) -> Callable[[], list[bool]]:
        log.warning("ingest: signature verification processes unavailable (%s); verifying here", error)
        self.close()
        self.size = 1
        results = verify_signatures(tasks)
        return lambda: results
