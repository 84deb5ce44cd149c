"""The node's HTTP service: ``create_app(context)`` builds the FastAPI application.

Routes live in one module per subject (``api_*``), all under ``/api/v1``; health and
metrics at the root; the web desks (``nodes.service.desks``) add their pages. Every route
calls the application services the CLI calls; this module only assembles.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from nodes.service import (
    api_alerts,
    api_brokers,
    api_certificates,
    api_components,
    api_corrections,
    api_disclosures,
    api_epcis,
    api_holders,
    api_licences,
    api_node,
    api_persons,
    api_reference,
    api_retention,
    api_session,
    api_shipments,
    api_stats,
    api_traces,
    api_verdicts,
    api_weapons,
    desks as web_desks,
    errors,
    health,
)
from nodes.service.context import ServiceContext
from nodes.service.security import MAX_BODY_BYTES, DeclaredBodyLimit, SecurityHeaders


def create_app(context: ServiceContext, *, max_body_bytes: int = MAX_BODY_BYTES, desks: bool = True) -> FastAPI:
    """The service of ``context``'s node. ``desks``: mount the web desks too (tests of the API alone leave them)."""
    app = FastAPI(
        title=f"armsledger node {context.node.identity.state}",
        version="1",
        description="The HTTP API of a national armsledger node: record, read, trace. See docs/api.md.",
        openapi_url="/openapi.json", docs_url="/docs", redoc_url=None,
        # FastAPI's OpenTelemetry spans and metrics: the node exports none (its figures are /metrics),
        # and asking OpenTelemetry whether a provider is set cost every request ~2 % of the event loop.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.context = context
    app.state.directory = context.accounts
    # FastAPI tries routers in the order included, and every route of a router that does not match
    # (no prefix short cut): the probes a load balancer sends every few seconds and the weapon
    # routes officers use most come first. /healthz was behind 90 routes (209 -> 59 µs in process).
    app.include_router(health.router)
    for module in (api_weapons, api_session, api_verdicts, api_licences, api_shipments, api_traces, api_stats,
                   api_node, api_holders, api_persons):
        app.include_router(module.router)  # each under API_PREFIX already: metrics label routes by full path
    app.include_router(api_shipments.authorizations_router)
    app.include_router(api_brokers.router)  # the broker register (FP art 15)
    app.include_router(api_alerts.router)  # alerts (hit notices received), reports by marking
    app.include_router(api_epcis.router)  # GS1 EPCIS 2.0 export and import
    app.include_router(api_certificates.router)  # deactivate, reactivate, certificate files
    app.include_router(api_reference.router)  # the national reference table
    app.include_router(api_components.router)  # assemble, replace-component, convert; a component's life
    app.include_router(api_corrections.router)  # a correction of one of the node's own records
    app.include_router(api_retention.router)  # retention report and run (docs/personal-data.md)
    app.include_router(api_disclosures.router)  # a holder's identity asked of or released to a partner
    errors.install(app)
    app.state.metrics = health.ServiceMetrics(context)
    app.state.metrics.install(app)
    # Outermost last: the headers on every answer, then the declared length, then the streamed bytes.
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=max_body_bytes)
    app.add_middleware(DeclaredBodyLimit, limit=max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if desks:
        web_desks.mount(app)
    return app



