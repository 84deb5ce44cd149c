"""Settling a node in the background: once for however many writes were stored since the last
settle, so that writers never wait for the checkpoint and the projections."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nodes.bootstrap import Node

log = logging.getLogger(__name__)

#: The shortest time between two settles while writes keep coming: each settle signs a
#: checkpoint and writes the views, so under load many batches share one.
PAUSE_S = 0.1


class BackgroundSettler:
    """A thread that runs ``node.settle()`` after ``wanted()``, coalescing the calls made meanwhile
    and at most once every ``pause_s`` seconds.

    A failed settle is logged and counted in ``failures``: the records are stored all the same,
    and the next settle catches up.
    """

    def __init__(self, node: Node, name: str = "settler", *, pause_s: float = PAUSE_S) -> None:
        self.node = node
        self.pause_s = pause_s
        self.failures = 0
        self._wanted = threading.Event()
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def wanted(self) -> None:
        """Ask for a settle (returns at once)."""
        self._wanted.set()

    def stop(self, timeout: float) -> bool:
        """Settle a last time, then stop; False if the thread is still settling after ``timeout`` s."""
        self._stopping.set()
        self._wanted.set()
        if self.thread.ident is not None:
            self.thread.join(timeout)
        return not self.thread.is_alive()

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                self.node.settle()
            except Exception as e:
                self.failures += 1
                log.warning("settling the node failed (the next settle catches up): %s", e)
            if self._stopping.is_set() and not self._wanted.is_set():
                return
            self._stopping.wait(self.pause_s)  # a stop does not wait out the pause
