"""The command line's shape: each command is handled in the module named by its group."""

from __future__ import annotations

import argparse

import pytest

from nodes.cli.main import COMMAND_GROUPS, build_parser, run
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
    "nodes.cli.trust": {("key", a) for a in ("export", "rotate", "revoke", "reseal")}
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


def parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict[
        tuple[str, ...], argparse.ArgumentParser]:
    """Every command path, runnable or a group (``("record",)``, ``("record", "receipt")``) -> its parser."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[(*path, name)] = sub
                found.update(parsers(sub, (*path, name)))
    return found


def test_the_command_groups_name_the_commands_they_add_in_the_order_of_the_help():
    every = build_parser()
    names = [name for path in parsers(every) if len(path) == 1 for name in path]

    assert names == [name for group, _ in COMMAND_GROUPS for name in group]
    for group, _ in COMMAND_GROUPS:
        assert [path[0] for path in parsers(build_parser(group[0])) if len(path) == 1] == list(group)
    assert parsers(build_parser("")) == {}


def test_a_parser_built_for_one_command_has_its_groups_commands_as_the_whole_parser_has_them():
    whole = parsers(build_parser())
    for group, _ in COMMAND_GROUPS:
        alone = parsers(build_parser(group[0]))

        assert alone.keys() == {path for path in whole if path[0] in group}
        for path, sub in alone.items():
            assert sub.format_help() == whole[path].format_help(), path
            handler, expected = sub.get_default("handler"), whole[path].get_default("handler")
            assert getattr(handler, "__qualname__", None) == getattr(expected, "__qualname__", None), path


@pytest.mark.parametrize("argv", [["--help"], ["--home", "x", "bogus"], ["--h", "x"],
                                  ["--db=x", "trust", "add", "--help"], ["--version"], ["--version", "init", "--nope"],
                                  ["trust", "--version"]])
def test_help_and_usage_errors_read_as_with_every_command_built(argv, capsys, monkeypatch):
    monkeypatch.setattr("nodes.cli.main._chosen_command", lambda argv: None)
    whole = run(argv), capsys.readouterr()
    monkeypatch.undo()

    assert run(argv) == whole[0] and capsys.readouterr() == whole[1]


@pytest.mark.parametrize("url, shown", [
    ("postgresql://armsledger:s3cret@db.example:5432/ledger", "postgresql://armsledger:***@db.example:5432/ledger"),
    ("postgresql://armsledger@db.example/ledger", "postgresql://armsledger@db.example/ledger"),
    ("postgresql:///ledger", "postgresql:///ledger"),
])
def test_init_prints_a_database_url_without_its_password(url, shown):
    assert without_password(url) == shown
