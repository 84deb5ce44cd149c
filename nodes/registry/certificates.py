"""Deactivation certificates and reactivation at a node (FP art 9, EU 2018/337; docs/deactivation.md).

``export_certificate`` writes the certificate file of a weapon deactivated here (its signed record with
the authority certificate and node key, ``nodes.registry.certificate_file``), ``render_certificate`` the
printable HTML page of a verified file, ``verify_trusted_here`` checks a file against the key a node
trusts for its state, and
``reactivate`` records a reactivation under a reactivation licence. The CLI and the API call these.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from domain.errors import InvalidState
from domain.event_types import AUTHORITY_CERTIFIED, DEACTIVATED
from domain.licence import LicenceKind
from ledger.envelope import Envelope
from ledger.errors import VerificationError
from ledger.keys import key_id
from nodes.federation.trust import TrustStore
from nodes.registry.application import Registry, retried_on_conflict
from nodes.registry.certificate_file import (
    CHECKS,
    CertificateReport,
    certificate_bytes,
    claimed_key_id,
    claimed_state,
    verify_certificate,
)
from nodes.registry.identity import authorities_stream
from nodes.registry.own_records import verified_history

if TYPE_CHECKING:
    from nodes.bootstrap import Node
    from nodes.registry.identity import NodeIdentity

_TEMPLATES = Path(__file__).parent / "templates"


def export_certificate(node: Node, weapon_id: UUID) -> bytes:
    """The certificate file of ``weapon_id``'s deactivation here, which must still hold.

    ``UnknownWeapon`` (field ``weapon``) with no record of it here; ``InvalidState`` (field ``weapon``) when it
    was never deactivated here or was reactivated since; ``VerificationError`` when a record it rests on does
    not verify (a damaged store: ``armsledger verify`` locates it).
    """
    weapon, checked = verified_history(node.registry, node.identity, weapon_id)
    broken = next((c for c in checked if c.problem is not None), None)
    if broken is not None or weapon is None:
        raise VerificationError(f"weapon {weapon_id}: version {broken.version if broken else 1} of its records does "
                                f"not verify ({broken.problem if broken else 'unreadable'}); run 'armsledger verify'")
    records = [c.envelope for c in checked if c.envelope is not None]
    deactivations = [r for r in records if r.type == DEACTIVATED]
    if not deactivations:
        raise InvalidState(f"weapon {weapon_id} has no deactivation on record here", field="weapon")
    if not weapon.deactivation_certificate:
        raise InvalidState(f"weapon {weapon_id} was reactivated after its deactivation (certificate "
                           f"{deactivations[-1].body.get('certificate')}): the certificate no longer holds",
                           field="weapon")
    record = deactivations[-1]
    authority_certificate = _authority_certificate(node.registry, node.identity, record)
    # The node key that certified the authority: an earlier one when the node key changed since (key rotate --node).
    node_key = next((k for k in node.identity.node_keys if key_id(k) == authority_certificate.authority),
                    node.identity.node_public_key)
    document = certificate_bytes(record, authority_certificate, node_key)
    _check_own(document, node_key)
    return document


def _authority_certificate(registry: Registry, identity: NodeIdentity, record: Envelope) -> Envelope:
    for envelope in registry.envelopes(authorities_stream(identity.state)):
        if envelope.type == AUTHORITY_CERTIFIED and envelope.body.get("key_id") == record.authority:
            return envelope
    raise VerificationError(f"no {AUTHORITY_CERTIFIED} record of key {record.authority}, which signed deactivation "
                            f"{record.hash.hex()}, is in the register of authorities; run 'armsledger verify'")


def _check_own(document: bytes, node_key: bytes) -> None:
    """A certificate is never handed out unless it verifies as a reader will verify it."""
    report = verify_certificate(document, trusted_key=node_key)
    failed = next((c for c in report.checks if not c.passed), None)
    if failed is not None:
        raise VerificationError(f"the certificate built from the stored records fails its {failed.name} check "
                                f"({failed.detail}); run 'armsledger verify'")


def trusted_node_key(home: Path, state: str, claimed_key_id: str = "") -> tuple[bytes | None, str]:
    """The node key ``home`` trusts for ``state`` (its own, or a trusted partner's), and where it came from;
    (None, "") when it trusts none. Reads node.json and the trust store only: no database.
    ``claimed_key_id``: the node key the file names; for this node's own state, one of its earlier node
    keys (``previous_node_keys``, before a ``key rotate --node``) is trusted when named."""
    from nodes.registry.identity import NODE_FILE, load_identity

    if (Path(home) / NODE_FILE).exists():
        own = load_identity(Path(home), None)
        if own.state == state:
            earlier = [k for k in own.earlier_node_keys if key_id(k) == claimed_key_id]
            if earlier:
                return earlier[0], f"this node's own earlier node key (before a key rotate --node), {home}"
            return own.node_public_key, f"this node's own key, {home}"
    partner = TrustStore(Path(home)).get(state) if state.isalpha() and len(state) == 2 else None
    if partner is not None:
        return partner.node_public_key, f"trusted partner {state}, {home}"
    return None, ""


def verify_trusted_here(data: bytes, home: Path) -> CertificateReport:
    """``verify_certificate`` of the file ``data`` against the key ``home`` trusts for the state it names."""
    trusted, source = trusted_node_key(home, claimed_state(data), claimed_key_id(data))
    return verify_certificate(data, trusted_key=trusted, trusted_from=source)


def render_certificate(report: CertificateReport) -> str:
    """The printable HTML certificate of a file whose checks up to its content passed.

    ``InvalidState`` (field ``file``) otherwise: a changed or broken file is never printed as a certificate.
    """
    broken = next((c for c in report.checks if not c.passed and c.name != "trusted key"), None)
    if broken is not None:
        raise InvalidState(f"the certificate fails its {broken.name} check ({broken.detail}): it is not printed",
                           field="file")
    from jinja2 import Environment, FileSystemLoader, select_autoescape  # here: only printing needs it

    environment = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"]))
    return environment.get_template("deactivation_certificate.html").render(
        c=report.fields, fingerprint=report.fingerprint, checks=CHECKS)


@retried_on_conflict
def reactivate(registry: Registry, *, by: str = "licensing", weapon_id: UUID | str, licence: str, reason: str,
               occurred_on: int | None = None) -> None:
    """Record the reactivation of a deactivated weapon under this state's reactivation licence ``licence``.

    ``LicenceRefused`` (field ``licence``) when no such licence was issued here or it does not allow it;
    otherwise as ``Weapon.reactivate``.
    """
    weapon = registry.weapon(weapon_id)
    weapon.check_reactivatable()  # before the licence: the weapon's state is the first thing wrong
    found = registry.licence(licence, LicenceKind.REACTIVATION_LICENCE, field="licence")
    weapon.reactivate(authority=registry.authority(by), licence=found, reason=reason,
                      occurred_on=int(time.time()) if occurred_on is None else occurred_on)
    registry.save(weapon)
