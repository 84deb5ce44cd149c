"""``armsledger person add|show``: private holders by reference, and subject access.

``add`` stores an identity in the node's identity vault and prints its holder reference (the existing
one when the vault holds the same person already); ``show REF`` prints the identity and every record of
this node, own and received, that mentions the reference, and is recorded in the read audit (action
``person``). Both need ARMSLEDGER_PASSPHRASE, which unlocks the vault's key. docs/personal-data.md.
"""

from __future__ import annotations

import argparse
from typing import Any

from domain.person import check_person_reference, check_subject_access
from domain.time import format_time
from nodes.cli.audit import OPERATOR, add_purpose_option, record_read
from nodes.cli.invocation import Commands, Invocation, add_command, add_json_option
from nodes.persons.access import subject_access
from nodes.persons.holders import PersonGiven, reference_for
from nodes.persons.vault import IdentityVault


def add_commands(subparsers: Commands) -> None:
    person = subparsers.add_parser("person", help="private holders: identities by reference, subject access")
    actions = person.add_subparsers(dest="action", required=True, metavar="ACTION")
    parser = add_command(actions, "add", add_person,
                         "store a private holder's identity; prints the holder reference to record with")
    add_identity_options(parser, required=True)
    add_json_option(parser)
    parser = add_command(actions, "show", show_person,
                         "subject access: a holder's identity and every record here that mentions it (audited)")
    parser.add_argument("person", metavar="REF", help="the holder reference (person:...)")
    add_purpose_option(parser)
    add_json_option(parser)


def add_identity_options(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    """``--name --born --address --id-document``: a private person's identity (kept in the vault only)."""
    group = parser.add_argument_group("private person (kept in the identity vault; the record names a reference)")
    group.add_argument("--name", required=required, default="", help="the person's full name")
    group.add_argument("--born", dest="date_of_birth", required=required, default="", metavar="YYYY-MM-DD",
                       help="date of birth")
    group.add_argument("--address", default="", help="address")
    group.add_argument("--id-document", default="", metavar="TEXT", help="identity document (kind and number)")


def person_given(args: argparse.Namespace) -> PersonGiven:
    """The identity options of ``add_identity_options`` as typed."""
    return PersonGiven(name=args.name, date_of_birth=args.date_of_birth, address=args.address,
                       id_document=args.id_document)


def add_person(run: Invocation) -> int:
    identity = person_given(run.args).identity()  # refused before anything is opened
    with run.open_node(unlock=False) as node, IdentityVault.open(node.settings) as vault:
        ref, new = reference_for(vault, identity)
    run.emit({"person": ref, "new": new}, ref if new else f"{ref} (this person was registered already)")
    return 0


def show_person(run: Invocation) -> int:
    ref = check_person_reference(run.args.person)
    check_subject_access(OPERATOR.role)
    with run.open_node(unlock=False) as node, IdentityVault.open(node.settings) as vault:
        vault.is_erased(ref)  # UnknownPerson before the read is recorded: a refused read shows nothing
        record_read(run, node, "person", ref)
        found = subject_access(node, vault, ref)
    run.emit(found, _text(found))
    return 0


def _text(found: dict[str, Any]) -> str:
    identity = found["identity"]
    lines = [found["person"]]
    if identity is None:
        lines.append("  identity erased (its key was destroyed); the records below keep the reference only")
    else:
        lines += [f"  {label:<14}{identity[key] or '-'}" for label, key in (
            ("name", "name"), ("born", "date_of_birth"), ("address", "address"), ("id document", "id_document"))]
    records = found["records"]
    lines.append(f"records mentioning it: {len(records)}")
    lines += [f"  {format_time(r['occurred_on'])[:10]}  {r['type']:<24} {r['stream']} v{r['version']}  "
              f"{'own' if r['own'] else 'from ' + r['node']}  ({', '.join(r['fields'])})  {r['hash'][:16]}"
              for r in records]
    return "\n".join(lines)
