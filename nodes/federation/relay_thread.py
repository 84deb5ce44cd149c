"""``node run``'s relay on a thread of its own: a record committed to the log leaves at once, not at a timer's look.

The thread waits on the log's watch (``nodes.federation.log_watch``: PostgreSQL's NOTIFY, SQLite's writes seen by
inotify; a commit by any process), on a bell that ``ring`` sounds (ingest has cosignatures or witness answers to
send; ``stop``), and on its timers. It relays when the log grew, and at least every ``RELAY_EVERY_S`` (checkpoints,
partners added); it looks at the log every ``LOOK_EVERY_S`` when nothing watches it. Passes start at least
``PASS_GAP_S`` apart, so that a node recording without pause relays in batches (a checkpoint each), not a pass per
commit. It publishes through a transport of its own (a Kafka client serves one thread at a time). A pass that
fails because the broker or the database is away (``TransportError``, ``StorageError``) is logged and tried again
after a pause (doubling up to ``RETRY_PAUSES_S[1]``): ingest goes on meanwhile, and what was not sent stays pending
in the log. Any other failure (the sealer refusing a log changed under it, a record that does not read back: a
damaged store) ends the thread and is kept in ``failure``; ``run`` raises it, so that ``node run`` ends saying
what is wrong (exit 1 for a verification failure), as it did when the relay ran on its thread.
"""

from __future__ import annotations

import logging
import os
import selectors
import threading
import time
from typing import TYPE_CHECKING

from nodes.errors import StorageError, TransportError

if TYPE_CHECKING:
    from nodes.federation.log_watch import LogWatch
    from nodes.federation.sync import Federation, SyncReport

log = logging.getLogger(__name__)

#: The relay passes at least this often, new records or not (checkpoints, partners added).
RELAY_EVERY_S = 5.0
#: With no watch of the log, the relay looks at it this often (as ``node run`` did when idle).
LOOK_EVERY_S = 0.5
#: Passes start at least this far apart: a commit right after a pass waits at most this long.
PASS_GAP_S = 0.05
#: Looks at the log after writes seen (``LogWatch.follow_ups``) are at least this far apart: writing without pause
#: makes a look every 2 ms at most (~20 us of CPU each).
LOOK_GAP_S = 0.002
#: After a failed pass, the relay waits this long before it tries again, doubling up to the last.
RETRY_PAUSES_S = (0.5, 30.0)


class RelayThread:
    """Relays ``federation``'s log on a thread of its own, woken by ``watch`` (which it closes at ``stop``).

    What each pass published is added to ``report``, which only this thread writes until ``stop`` returned.
    """

    def __init__(self, federation: Federation, watch: LogWatch, report: SyncReport):
        self.federation = federation
        self.watch = watch
        self.report = report
        self._bell_out, self._bell_in = os.pipe()
        os.set_blocking(self._bell_out, False)
        os.set_blocking(self._bell_in, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._bell_out, selectors.EVENT_READ)
        self._watched: int | None = None  # the watch's descriptor at the last wait (None: it had none)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="relay")
        self._relayed_size: int | None = None  # the log's size at the start of the last pass that succeeded
        self._relayed_at = float("-inf")  # when that pass ended
        self._passed_at = float("-inf")  # when the last pass started
        self._looked_at = float("-inf")
        self._follow_ups: list[float] = []  # when to look again after a write seen (monotonic times)
        self._paused_until = float("-inf")
        self._pause = RETRY_PAUSES_S[0]
        #: What ended the thread, other than ``stop``: a failure a pause does not mend (``run`` raises it).
        self.failure: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def ring(self) -> None:
        """Have the thread send what ingest handed it (cosignatures, witness answers) without waiting. Thread-safe."""
        try:
            os.write(self._bell_in, b"\0")
        except BlockingIOError:
            pass  # rung already, not heard yet

    def stop(self) -> None:
        """End the thread (after the pass in hand) and close what it used."""
        self._stopping.set()
        self.ring()
        if self._thread.is_alive():
            self._thread.join()
        self._selector.close()
        os.close(self._bell_out)
        os.close(self._bell_in)
        self.watch.close()

    # --- the thread ------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                now = time.monotonic()
                look_at = self._next_look(now)
                rung, written = self._wait(look_at - now)
                if self._stopping.is_set():
                    break
                now = time.monotonic()
                if written:
                    self._follow_ups = [now + delay for delay in self.watch.follow_ups]
                    look_at = self._next_look(now)
                if now >= self._paused_until and (rung or now >= look_at):
                    self._look(now, send_carried=rung)
            except Exception:  # anything but a failed pass (handled in ``_look``): keep relaying all the same
                log.exception("node run: the relay's thread failed; it goes on in %.1f s", RETRY_PAUSES_S[1])
                self._stopping.wait(RETRY_PAUSES_S[1])

    def _next_look(self, now: float) -> float:
        """When the thread looks at the log next (monotonic)."""
        every = LOOK_EVERY_S if self._watched is None else self.watch.look_every_s
        due = [self._relayed_at + RELAY_EVERY_S]
        if every is not None:
            due.append(self._looked_at + every)
        if self._follow_ups:
            due.append(min(self._follow_ups))
        if self._relayed_size is None:  # no pass yet, or the last one failed: one as soon as the pause allows
            due.append(now)
        return max(min(due), self._paused_until, self._looked_at + LOOK_GAP_S)

    def _wait(self, timeout_s: float) -> tuple[bool, bool]:
        """Wait up to ``timeout_s`` for the bell or the watch: (rung, the log may have grown)."""
        # The watch's descriptor is registered for this wait only: a PostgreSQL watch that connected again may
        # have one of the same number, which the selector would no longer be waiting on.
        self._watched = self.watch.fileno()
        if self._watched is not None:
            self._selector.register(self._watched, selectors.EVENT_READ)
        rung = written = False
        try:
            ready = self._selector.select(max(0.0, timeout_s))
        finally:
            if self._watched is not None:
                self._selector.unregister(self._watched)
        for key, _ in ready:
            if key.fd == self._bell_out:
                rung = True
                while True:
                    try:
                        if not os.read(self._bell_out, 512):
                            break
                    except BlockingIOError:
                        break
            elif self.watch.drain():
                written = True
        return rung, written

    def _look(self, now: float, *, send_carried: bool) -> None:
        """Relay if the log grew (or ``RELAY_EVERY_S`` passed), not sooner than ``PASS_GAP_S`` after the last pass
        started; else, if ``send_carried``, send what ingest handed over."""
        fed = self.federation
        self._looked_at = now
        self._follow_ups = [at for at in self._follow_ups if at > now]
        try:
            size = fed.log_size()
            due = size != self._relayed_size or now - self._relayed_at >= RELAY_EVERY_S
            if due and now < self._passed_at + PASS_GAP_S:
                self._follow_ups.append(self._passed_at + PASS_GAP_S)
                due = False
            if due:
                self._passed_at = now
                self.report.passes += 1
                self.report.add_relay(fed.relay_pass())
                self._relayed_size, self._relayed_at = size, time.monotonic()
                self._follow_ups = []  # what woke it is relayed (a write during the pass wakes it again)
            elif send_carried:
                fed.send_carried()
            self._pause = RETRY_PAUSES_S[0]
        except TransportError as e:
            log.warning("node run: relay: %s; trying again in %.1f s", e, self._pause)
            self._failed()
        except StorageError as e:
            log.error("node run: relay pass failed (%s: %s); trying again in %.1f s, ingest goes on",
                      type(e).__name__, e, self._pause)
            self._failed()
        except Exception as e:  # noqa: BLE001 - kept for ``run``, which raises it on its own thread
            self.failure = e
            self._stopping.set()

    def _failed(self) -> None:
        self._relayed_size = None  # relay again once the pause is over
        self._paused_until = time.monotonic() + self._pause
        self._pause = min(self._pause * 2, RETRY_PAUSES_S[1])
