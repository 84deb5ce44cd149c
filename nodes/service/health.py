"""Is the service alive, can it serve, and how is it doing: ``/healthz``, ``/readyz``, ``/metrics``.

``/healthz`` answers as long as the process serves requests; ``/readyz`` only when the
node's database answers and, if federation is on (``ARMSLEDGER_KAFKA``), the broker does;
``/metrics`` is the Prometheus text format: requests and their latency per route, records
written through the service, the received records not yet reacted to (ingest lag), the
quarantine size and, per partner the relay has sent to, the log positions it has not passed yet
(relay lag: it grows while ``armsledger node run`` is stopped or its relay keeps failing).
Each app has its own metrics registry, so several apps can share a process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nodes.errors import NodeError
from nodes.service.context import ServiceContext

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="the process serves requests")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="the database and (if federation is on) the broker answer",
            responses={503: {"description": "a dependency does not answer"}})
def readyz(request: Request) -> JSONResponse:
    context: ServiceContext = request.app.state.context
    checks = {"database": _check(lambda: context.node.registry.recorder.max_notification_id())}
    if context.settings.kafka:
        checks["broker"] = _check(lambda: _broker_topics(context))
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _check(probe: Callable[[], Any]) -> str:
    try:
        probe()
    except (NodeError, OSError) as e:
        return f"failed: {e}"
    return "ok"


def _broker_topics(context: ServiceContext) -> None:
    from nodes.federation.kafka_transport import KafkaTransport

    with KafkaTransport(context.settings.kafka, context.settings.topic_prefix, timeout_s=3.0,
                        security=context.settings.kafka_security) as transport:
        transport.list_topics()


class ServiceMetrics:
    """The app's Prometheus registry: request counts and latency, plus the node's figures read at scrape."""

    def __init__(self, context: ServiceContext) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("armsledger_http_requests", "HTTP requests answered",
                                ("method", "route", "status"), registry=self.registry)
        self.latency = Histogram("armsledger_http_request_seconds", "time to answer an HTTP request",
                                 ("method", "route"), registry=self.registry,
                                 buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
        self.registry.register(_NodeFigures(context))

    def install(self, app: FastAPI) -> None:
        # A plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs each request in a task
        # group with memory streams, which cost the event loop about as much as the route itself.
        app.add_middleware(_Measured, metrics=self)

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        path = getattr(scope.get("route"), "path", "unmatched")
        self.latency.labels(scope["method"], path).observe(seconds)
        self.requests.labels(scope["method"], path, str(status)).inc()


class _Measured:
    """Counts and times every HTTP request by method, route and status (500 if the route raised)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            self.metrics.observe(scope, status, time.perf_counter() - started)


class _NodeFigures(Collector):
    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        yield CounterMetricFamily("armsledger_records_written", "signed records written through the service",
                                  value=self.context.records_stored())
        committer = self.context.committer
        if committer is not None:
            stats = committer.stats
            for name, what, value in (
                    ("batches", "transactions the group committer stored", stats.batches),
                    ("conflicts", "batches run again after another writer stored in one of their streams first",
                     stats.conflicts),
                    ("runs_again", "batches run while the one before was stored, run again on fresh state",
                     stats.runs_again)):
                yield CounterMetricFamily(f"armsledger_group_commit_{name}", what, value=value)
        try:
            from nodes.federation.relay import RELAY_POSITIONS, reached_by_partner
            from nodes.federation.sync import REACTIONS_POSITION
            from nodes.registry.storage import translated_errors

            inbox = self.context.node.inbox
            lag = inbox.max_notification_id() - inbox.position(REACTIONS_POSITION)
            quarantined = len(inbox.quarantined())
            reached = reached_by_partner(inbox.positions(RELAY_POSITIONS))
            with translated_errors("reading the log's size"):
                newest = self.context.node.registry.recorder.max_notification_id() or 0
        except NodeError:
            return  # the database does not answer: /readyz says so; no figure is better than a wrong one
        yield GaugeMetricFamily("armsledger_ingest_lag_records",
                                "partner records received but not yet acted upon", value=max(0, lag))
        yield GaugeMetricFamily("armsledger_quarantine_size", "partner messages in quarantine", value=quarantined)
        relay_lag = GaugeMetricFamily(
            "armsledger_relay_lag_records", "positions of this node's log the relay (armsledger node run) has not "
            "passed yet for a partner, whether or not they are shared with it", labels=["partner"])
        for state, position in sorted(reached.items()):
            relay_lag.add_metric([state], max(0, newest - position))
        yield relay_lag
