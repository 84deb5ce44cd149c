"""The command line's shape: each command is handled in the module named by its group."""

from __future__ import annotations

import argparse

import pytest

from nodes.cli.main import build_parser
from nodes.cli.store import without_password


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Every runnable command path (``("record", "receipt")``) -> module of its handler."""
    found = {}
    for action in parser._actions:  # argparse offers no public accessor
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                handler = sub.get_default("handler")
                if handler is not None:
                    found[(*path, name)] = handler.__module__
                found.update(commands(sub, (*path, name)))
    return found


GROUPS = {
    "nodes.cli.store": {("init",), ("import-csv",), ("verify",), ("rebuild",)},
    "nodes.cli.record": {("record", e) for e in ("manufacture", "import", "export", "transfer", "seize", "receipt",
                                                 "mark", "report-lost", "report-stolen", "recover", "confiscate",
                                                 "destroy")},
    "nodes.cli.licence": {("licence", a) for a in ("issue", "revoke", "list", "show")} | {("weapons",)},
    "nodes.cli.query": {("history",), ("search",)},
    "nodes.cli.stats": {("stats",)},
    "nodes.cli.customs": {("shipments",), ("authorizations",)},
    "nodes.cli.epcis": {("epcis", "export"), ("epcis", "import")},
    "nodes.cli.trace": {("trace", a) for a in ("request", "list", "show", "acknowledge", "respond", "delay",
                                               "restrict", "refuse", "untraceable", "close")} | {("diversion",)},
    "nodes.cli.trust": {("key", a) for a in ("export", "rotate", "revoke")}
    | {("trust", a) for a in ("add", "list", "remove")},
    "nodes.cli.federation": {("broker", "run"), ("sync",), ("node", "run"), ("quarantine",)},
    "nodes.cli.demo": {("demo",)},
    "nodes.cli.audit": {("audit", "reads")},
    "nodes.cli.certificates": {("record", "deactivate"), ("record", "reactivate")}
    | {("certificate", a) for a in ("export", "verify", "print")},
    "nodes.cli.users": {("user", a) for a in ("add", "list", "disable", "enable", "password", "role")}
    | {("token", a) for a in ("create", "list", "revoke")},
    "nodes.cli.serve": {("serve",)},
    "nodes.cli.alerts": {("alerts",)},
    "nodes.cli.brokers": {("broker", a) for a in ("register", "renew", "suspend", "revoke", "activity", "list",
                                                  "show")},
    "nodes.cli.reference": {("reference", a) for a in ("import", "search", "show")},
    "nodes.cli.persons": {("person", a) for a in ("add", "show")},
    "nodes.cli.retention": {("retention", a) for a in ("report", "run")},
    "nodes.cli.disclosure": {("disclosure", a) for a in ("request", "release", "refuse", "list", "show")},
    "nodes.cli.components": {("record", "assemble"), ("record", "replace-component"), ("record", "convert"),
                             ("record", "destroy-component"), ("component", "show")},
    "nodes.cli.corrections": {("record", "correct")},
    "nodes.cli.evidence": {("proof", "inclusion"), ("proof", "consistency"), ("evidence", "export"),
                           ("evidence", "verify")},
    "nodes.cli.witness": {("witness", "status")},
    "nodes.cli.alarms": {("alarm", "list"), ("alarm", "settle")},
    "nodes.cli.checkpoints": {("checkpoint", "show")},
}


def test_every_command_is_handled_by_the_module_of_its_group():
    found = commands(build_parser())
    assert found == {path: module for module, paths in GROUPS.items() for path in paths}


@pytest.mark.parametrize("url, shown", [
    ("postgresql://armsledger:s3cret@db.example:5432/ledger", "postgresql://armsledger:***@db.example:5432/ledger"),
    ("postgresql://armsledger@db.example/ledger", "postgresql://armsledger@db.example/ledger"),
    ("postgresql:///ledger", "postgresql:///ledger"),
])
def test_init_prints_a_database_url_without_its_password(url, shown):
    assert without_password(url) == shown
