"""Running the HTTP service on uvicorn, over TLS when given a certificate and its key.

Uvicorn handles SIGINT/SIGTERM itself: it stops taking requests, finishes those in hand,
then returns, and the process ends with exit code 0. For mutual TLS between nodes and agencies, put a proxy in front
(deploy/README.md).
"""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from nodes.errors import ConfigurationError

log = logging.getLogger(__name__)

#: How long a thread may hold the GIL while another waits for it (Python's default is 5 ms).
SWITCH_INTERVAL_S = 0.0005
#: Net new objects the cyclic garbage collector tracks between two collections of its youngest
#: generation (Python's default is 700).
GC_YOUNG_THRESHOLD = 50_000
#: How long a stopped service waits for a desk job (an import, a verification) to end.
JOB_WAIT_S = 300.0


def check_tls(cert: str | None, key: str | None) -> tuple[Path, Path] | None:
    """The certificate and key files, both or neither; ``ConfigurationError`` naming the missing one."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ConfigurationError("--tls-cert and --tls-key go together: give both or neither")
    paths = Path(cert), Path(key)
    for option, path in zip(("--tls-cert", "--tls-key"), paths):
        if not path.is_file():
            raise ConfigurationError(f"{option} {path}: no such file")
    return paths


def uvicorn_config(app: FastAPI, **options: Any) -> uvicorn.Config:
    """Uvicorn's configuration for the service: no lifespan (the caller opens and closes the service),
    no server header, no proxy headers trusted, no access log; ``options`` add the rest."""
    return uvicorn.Config(app, lifespan="off", server_header=False, proxy_headers=False, access_log=False,
                          **options)


def serve(app: FastAPI, *, host: str, port: int, tls: tuple[Path, Path] | None = None) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM (from the main thread)."""
    config = uvicorn_config(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=10,
                            ssl_certfile=str(tls[0]) if tls else None, ssl_keyfile=str(tls[1]) if tls else None)
    _quiet_after_stop()
    # The event loop shares the interpreter with the group committer's threads. Each time it waits
    # on a socket it must win the GIL back; by default a busy thread keeps it for up to 5 ms,
    # which every request would pay several times over.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    collect_less()
    uvicorn.Server(config).run()
    # A desk job (an import, a verification) may still be writing: let it end before the caller
    # closes the node under it.
    jobs = getattr(app.state, "desk_jobs", None)
    if jobs is not None and not jobs.wait(JOB_WAIT_S):
        log.warning("a desk job was still running %s s after the service stopped", JOB_WAIT_S)


def collect_less() -> None:
    """Keep the cyclic garbage collector to what a long-running service needs (process-wide).

    What the start made (modules, routes, request models, the node) lives as long as the process:
    frozen, no collection walks it again. A request's objects are freed by their reference counts;
    with the default threshold the collector still ran every 700 new objects, some 1,000 times per
    6,000 transfers, and its older generations walked every cache the writer keeps: about a tenth
    of the service's CPU. Cycles (an error with its traceback) are still collected, less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _quiet_after_stop() -> None:
    # Uvicorn raises the signal it stopped on again once it is done; with the default handlers
    # SIGTERM would then kill the process (exit -15) and SIGINT raise KeyboardInterrupt. A
    # handler someone installed before (``node run --serve``) is left to hear it.
    if threading.current_thread() is not threading.main_thread():
        return
    for stop in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(stop) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(stop, lambda *_: None)
