"""Long work started from a desk (verifying the store, a CSV import) run in a worker thread.

A page starts a job by name and returns at once; later pages (htmx polls them) show its
state. One job of a name runs at a time: starting it again while it runs is refused
(``JobRunning``), so two imports or two verifications never overlap. The jobs of an app
live in ``app.state.desk_jobs`` (set by ``mount``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from domain.errors import DomainError

RUNNING, DONE, FAILED = "running", "done", "failed"


class JobRunning(DomainError):
    """A job of this name is still running (answered 409)."""


@dataclass
class Job:
    name: str
    started_at: float
    state: str = RUNNING
    result: Any = None
    error: str = ""
    progress: dict[str, Any] = field(default_factory=dict)   # what the work reports as it goes
    finished_at: float | None = None


class Jobs:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._threads: list[threading.Thread] = []

    def start(self, name: str, work: Callable[[Job], Any], *, field_name: str = "") -> Job:
        """Run ``work(job)`` in a new thread; ``JobRunning`` (naming ``field_name``) if one runs already."""
        with self._lock:
            self._check_idle(name, field_name)
            job = self._jobs[name] = Job(name, time.time())
        thread = threading.Thread(target=self._run, args=(job, work), name=f"desk-{name}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return job

    def wait(self, timeout: float) -> bool:
        """Wait for the running jobs to end (before the node they write to is closed); False if one still runs."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def check_idle(self, name: str, field_name: str = "") -> None:
        """``JobRunning`` (naming ``field_name``) if a job of this name runs."""
        with self._lock:
            self._check_idle(name, field_name)

    def _check_idle(self, name: str, field_name: str) -> None:
        current = self._jobs.get(name)
        if current is not None and current.state == RUNNING:
            raise JobRunning("one is already running: wait for it to finish", field=field_name or None)

    def get(self, name: str) -> Job | None:
        with self._lock:
            return self._jobs.get(name)

    @staticmethod
    def _run(job: Job, work: Callable[[Job], Any]) -> None:
        try:
            job.result = work(job)
            job.state = DONE
        except Exception as exc:  # noqa: BLE001 - the job's page shows why it failed; the thread must not die silently
            job.error = str(exc.args[0]) if exc.args else type(exc).__name__
            job.state = FAILED
        finally:
            job.finished_at = time.time()


def jobs_of(request: Request) -> Jobs:
    jobs: Jobs = request.app.state.desk_jobs
    return jobs
