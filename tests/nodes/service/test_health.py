"""``/healthz``, ``/readyz`` and ``/metrics``: liveness, readiness (database, broker) and figures."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from nodes.federation.relay import records_position
from nodes.service.app import create_app

from service_story import manufacture, service_of


def test_healthz_and_readyz_answer_without_credentials(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}


def test_readyz_is_503_when_the_broker_does_not_answer(node):
    settings = dataclasses.replace(node.settings, kafka="127.0.0.1:1")  # nothing listens on port 1
    context = dataclasses.replace(service_of(node), settings=settings)
    with TestClient(create_app(context, desks=False)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["broker"].startswith("failed")


def test_metrics_count_requests_latency_records_and_the_quarantine(client):
    manufacture(client, "MET-1")
    manufacture(client, "MET-2")
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'armsledger_http_requests_total{method="POST",route="/api/v1/weapons/manufacture",status="201"} 2.0' in text
    assert 'armsledger_http_request_seconds_count{method="GET",route="/healthz"} 1.0' in text
    assert "armsledger_records_written_total 2.0" in text
    assert "armsledger_quarantine_size 0.0" in text
    assert "armsledger_ingest_lag_records 0.0" in text


def test_metrics_count_the_group_committers_batches_and_its_batches_run_again(backend_client):
    client, context = backend_client
    assert "armsledger_group_commit_batches_total 0.0" in client.get("/metrics").text
    manufacture(client, "MET-GC-1")
    manufacture(client, "MET-GC-2")
    text = client.get("/metrics").text
    assert f"armsledger_group_commit_batches_total {context.committer.stats.batches:.1f}" in text
    assert context.committer.stats.batches in (1, 2)  # one transaction each, or both in one
    assert "armsledger_group_commit_conflicts_total 0.0" in text
    assert "armsledger_group_commit_runs_again_total 0.0" in text


def test_metrics_give_per_partner_the_log_positions_the_relay_has_not_passed(backend_client):
    client, context = backend_client
    assert "armsledger_relay_lag_records{" not in client.get("/metrics").text  # no partner sent to yet
    for serial in ("MET-RL-1", "MET-RL-2", "MET-RL-3"):
        manufacture(client, serial)
    newest = context.node.registry.recorder.max_notification_id()
    assert newest >= 3
    # NL's inbox topic was re-created once: the relay's position under its older identity stays behind.
    context.node.inbox.advance_all({records_position("NL", "topic-old"): 1, records_position("NL", "topic-new"):
                                    newest - 2, records_position("FR", None): newest})
    text = client.get("/metrics").text
    assert 'armsledger_relay_lag_records{partner="NL"} 2.0' in text
    assert 'armsledger_relay_lag_records{partner="FR"} 0.0' in text
