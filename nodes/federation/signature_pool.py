"""Ed25519 verification for ingest (and the other checks of a message's bytes, with it), on a few
worker processes when a batch is large.

``cryptography`` has no batch verification and holds the GIL, so a large batch's
signatures go to ``nodes.workers.start_pool`` processes while ingest checks the
inclusion proofs. A pool that cannot start or breaks is given up: verification
goes on in this process, slower, and ingest never stops for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ledger.acceptance import verify_signatures
from nodes.workers import start_pool

log = logging.getLogger(__name__)

#: Batches with more signatures than this are verified by a pool of processes.
POOL_THRESHOLD = 200
POOL_SIZE = 2

Task = tuple[bytes, bytes, bytes]  # raw public key, signature, message
_R = TypeVar("_R")


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
        return self.map_later(verify_signatures, tasks)

    def map_later(self, function: Callable[..., list[_R]], items: Sequence[Any], *args: Any) -> Callable[[], list[_R]]:
        """Start ``function(part, *args)`` on parts of ``items``; calling what this returns gives the results
        of all parts, in order. ``function`` is pure and never raises (it may run on a process or here):
        one result per item. A list of fewer than ``POOL_THRESHOLD`` items is done here and now."""
        if not self.sends(len(items)):
            results = function(items, *args)
            return lambda: results
        try:
            pool = self._started()
            step = -(-len(items) // self.size)
            futures = [pool.submit(function, items[i:i + step], *args) for i in range(0, len(items), step)]
        except (BrokenProcessPool, OSError, RuntimeError) as e:
            return self._without_pool(function, items, args, e)

        def collected() -> list[_R]:
            try:
                return [result for future in futures for result in future.result()]
            except (BrokenProcessPool, OSError, RuntimeError) as e:
                return self._without_pool(function, items, args, e)()

        return collected

    def sends(self, count: int) -> bool:
        """Whether ``map_later`` of ``count`` items starts them on the processes (else it does them here and now)."""
        return count >= POOL_THRESHOLD and self.size >= 2

    def process_ids(self) -> list[int]:
        """The ids of the verifying processes running now (none before the first large batch or warm-up)."""
        processes = getattr(self._pool, "_processes", None) or {}  # ProcessPoolExecutor keeps them by id
        return sorted(processes)

    def warm_up(self) -> None:
        """Start the processes now, in the background (they take ~1 s to import)."""
        if self.size >= 2:
            try:
                pool = self._started()
                for _ in range(self.size):
                    pool.submit(verify_signatures, [])
            except (BrokenProcessPool, OSError, RuntimeError) as e:
                self._without_pool(verify_signatures, [], (), e)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = start_pool(self.size)
        return self._pool

    def _without_pool(self, function: Callable[..., list[_R]], items: Sequence[Any], args: tuple[Any, ...],
                      error: BaseException) -> Callable[[], list[_R]]:
        log.warning("ingest: signature verification processes unavailable (%s); verifying here", error)
        self.close()
        self.size = 1
        results = function(items, *args)
        return lambda: results
