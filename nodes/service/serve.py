"""Running the HTTP service on uvicorn, over TLS when given a certificate and its key.

Uvicorn handles SIGINT/SIGTERM itself: it stops taking requests, finishes those in hand,
then returns. For mutual TLS between nodes and agencies, put a proxy in front
(deploy/README.md).
"""

from __future__ import annotations

from pathlib import Path

import uvicorn
from fastapi import FastAPI

from nodes.errors import ConfigurationError


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


def serve(app: FastAPI, *, host: str, port: int, tls: tuple[Path, Path] | None = None) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM (from the main thread)."""
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", server_header=False, proxy_headers=False,
        access_log=False, log_level="info", timeout_graceful_shutdown=10,
        ssl_certfile=str(tls[0]) if tls else None, ssl_keyfile=str(tls[1]) if tls else None,
    )
    uvicorn.Server(config).run()
