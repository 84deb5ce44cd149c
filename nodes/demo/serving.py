"""The demo's nodes kept running after the story: their web desks and API, and federation between them.

``listen`` binds the ports (before the story, so that a busy one is refused at once);
``serve_desks(net, sockets)`` gives every node of a ``DemoNetwork`` demo accounts (one per
role a newcomer clicks through, each with a generated password), serves each node's HTTP
service (``nodes.service``) with uvicorn in a thread of its own, and keeps a sync loop going
so that what one desk records reaches the other nodes (a trace sent from FR's tracing desk
is acknowledged and answered by BE's node by itself). Leaving the context stops the servers,
then the sync loop, then closes the services.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import uvicorn

from domain.errors import InvalidField
from domain.roles import Role
from nodes.demo.story import DemoNetwork
from nodes.errors import NodeError
from nodes.service.app import create_app
from nodes.service.context import ServiceContext, open_service
from nodes.service.serve import JOB_WAIT_S, uvicorn_config

log = logging.getLogger(__name__)

#: The accounts each demo node gets; the user name is the role's name.
DEMO_ROLES = (Role.LICENSING, Role.CUSTOMS, Role.TRACING, Role.AUDITOR, Role.ADMIN)
#: Pause between two rounds of sync passes: a trace sent from a desk is answered within a few of them.
SYNC_EVERY_S = 1.0
STARTUP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class DemoAccount:
    """A demo officer of one node; the password is generated for that node and printed only once."""

    name: str
    role: Role
    password: str


@dataclass(frozen=True)
class ServedNode:
    """Where a node's desks and API answer (``url``/docs: the API), and who may sign in there."""

    state: str
    url: str
    accounts: tuple[DemoAccount, ...]


def listen(count: int, *, host: str = "127.0.0.1", port_base: int | None = None) -> list[socket.socket]:
    """``count`` sockets bound on ``host``: ports ``port_base`` to ``port_base + count - 1``, or free ones.

    Bound before the story runs, so that a port in use is refused at once: ``InvalidField``
    (field ``port-base``), with no socket left open.
    """
    sockets: list[socket.socket] = []
    try:
        for i in range(count):
            sockets.append(_bind(host, 0 if port_base is None else port_base + i))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


@contextmanager
def serve_desks(net: DemoNetwork, sockets: list[socket.socket], *,
                sync_every_s: float = SYNC_EVERY_S) -> Iterator[tuple[ServedNode, ...]]:
    """Serve every node of the started ``net`` on ``sockets`` (one per state, from ``listen``) until the
    context is left; yields where, with the demo accounts. The sockets are closed on leaving."""
    with ExitStack() as running:  # left in reverse: servers, sync loop, services, sockets
        for sock in sockets:
            running.callback(sock.close)
        contexts = [running.enter_context(open_service(net[state].settings)) for state in net.states]
        served = tuple(_with_accounts(context, _url(sock)) for context, sock in zip(contexts, sockets))
        stop_sync = threading.Event()
        syncing = threading.Thread(target=_sync_loop, args=(net, stop_sync, sync_every_s),
                                   name="demo-sync", daemon=True)
        syncing.start()
        running.callback(syncing.join)
        running.callback(stop_sync.set)
        for context, sock in zip(contexts, sockets):
            running.enter_context(_serving(context, sock))
        yield served


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise InvalidField(f"cannot listen on {host}:{port}: {e.strerror}; choose another --port-base",
                           field="port-base") from e
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}/"


def _with_accounts(context: ServiceContext, url: str) -> ServedNode:
    accounts = []
    for role in DEMO_ROLES:
        _, password = context.accounts.add_user(role.value, role)
        accounts.append(DemoAccount(role.value, role, str(password)))
    return ServedNode(context.node.identity.state, url, tuple(accounts))


@contextmanager
def _serving(context: ServiceContext, sock: socket.socket) -> Iterator[None]:
    """``context``'s service on ``sock`` in a thread of its own (signals stay with the main thread)."""
    app = create_app(context)
    config = uvicorn_config(app, log_level="warning", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"desks-{context.node.identity.state}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise NodeError(f"the service of {context.node.identity.state} did not start")
            time.sleep(0.05)
        yield
    finally:
        server.should_exit = True
        thread.join()
        # A desk job (an import, a verification) ends before the service is closed under it.
        if not app.state.desk_jobs.wait(JOB_WAIT_S):
            log.warning("a desk job of %s was still running when the demo stopped", context.node.identity.state)


def _sync_loop(net: DemoNetwork, stop: threading.Event, every_s: float) -> None:
    """Rounds of sync passes on every node until ``stop``; a failed round is logged and tried again."""
    while not stop.wait(every_s):
        try:
            net.settle()
        except (NodeError, RuntimeError) as e:
            log.warning("demo sync: %s; trying again", e)
