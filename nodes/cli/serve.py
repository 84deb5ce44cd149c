"""``armsledger serve``: the node's HTTP service (API under /api/v1, web desks, /docs, /metrics).

Needs ARMSLEDGER_PASSPHRASE (the service signs officers' records with the authority
keys). ``node run --serve`` runs it together with relay and ingest (``nodes.cli.federation``).
"""

from __future__ import annotations

import argparse

from nodes.cli.invocation import Commands, Invocation, add_command, number_option
from nodes.settings import Settings


def add_commands(subparsers: Commands) -> None:
    parser = add_command(subparsers, "serve", serve_command,
                         "run the node's HTTP service: API, web desks, /docs, /healthz, /metrics")
    add_serve_options(parser)


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=number_option(1, 65535), default=8080, help="port (default 8080)")
    parser.add_argument("--tls-cert", metavar="FILE", help="TLS certificate (PEM); with --tls-key")
    parser.add_argument("--tls-key", metavar="FILE", help="TLS private key (PEM); with --tls-cert")


def serve_command(run: Invocation) -> int:
    serve_node(run, run.settings)
    return 0


def serve_node(run: Invocation, settings: Settings) -> None:
    """Serve the node of ``settings`` until SIGINT or SIGTERM."""
    from nodes.service.app import create_app
    from nodes.service.context import open_service
    from nodes.service.serve import check_tls, serve

    a = run.args
    tls = check_tls(a.tls_cert, a.tls_key)
    with open_service(settings) as context:
        run.warn_of_old_key_files(settings.home)
        scheme = "https" if tls else "http"
        run.warn(f"node {context.node.identity.state}: serving on {scheme}://{a.host}:{a.port}/ "
                 f"(API {scheme}://{a.host}:{a.port}/docs); SIGTERM or Ctrl-C stops")
        serve(create_app(context), host=a.host, port=a.port, tls=tls)
