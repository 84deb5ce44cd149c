"""Browser tests' plumbing: Debian's chromium driven by Playwright, and the app served by uvicorn.

No browser is ever downloaded: Playwright launches ``/usr/bin/chromium`` (``make test``
installs Debian's package when it is absent). A test that needs the browser skips when
chromium is absent, unless ``ARMSLEDGER_REQUIRE_BROWSER=1`` (set by ``make test``), under
which a missing browser fails the test.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

CHROMIUM = Path(os.environ.get("ARMSLEDGER_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = "ARMSLEDGER_REQUIRE_BROWSER"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_or_skip() -> Path:
    """The chromium binary; skips the test without it (fails under ``ARMSLEDGER_REQUIRE_BROWSER=1``)."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"{CHROMIUM} is absent: install Debian's chromium package (make test does)"
    if os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright ``Browser`` on Debian's chromium, closed afterwards."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served by a real uvicorn on a free local port, in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="desk-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the desk server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        jobs = getattr(app.state, "desk_jobs", None)  # a desk job ends before its node is closed
        assert jobs is None or jobs.wait(120)
