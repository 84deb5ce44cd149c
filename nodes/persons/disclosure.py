"""Disclosure of a holder's identity between states: request, release or refusal, and reading what was released.

The requester (``request``) names a reference it received from the owning state and a weapon whose
records name it; it keeps a fresh X25519 private key, wrapped under its KEK, and signs the public key
into the request. The owning state's registry ``release``s (the identity sealed to that key, with a
salted commitment signed beside it) or ``refuse``s. The requester ``read_released``: it opens the box
with its key, checks the commitment, and never shows an identity the owner has since erased: the owner's
signed erasure, on arrival, makes it destroy its key (``forget_erased``). Callers check roles and record
reads in the read audit first.
docs/personal-data.md, "Disclosure to a partner".
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import msgpack
from eventsourcing.application import AggregateNotFoundError

from domain import event_types as types
from domain.disclosure import DisclosureAnswer, DisclosureRequest, identity_commitment, new_salt
from domain.erasure import erasure_id
from domain.errors import InvalidField, InvalidState
from domain.person import Identity, PersonErased, UnknownPerson, check_person_reference
from domain.signed_aggregate import canonical_uuid
from ledger.envelope import Envelope
from ledger.errors import VerificationError
from ledger.sealed_box import new_box_key, open_box, public_key_of, seal
from nodes.federation.crossborder import partner_states
from nodes.persons.mentions import received_envelopes
from nodes.persons.vault import IdentityVault
from nodes.ports import Node

REQUESTING_AUTHORITY = "police"   # police (and tracing officers, who sign as police) ask
ANSWERING_AUTHORITY = "registry"  # the registry keeps the identity vault and answers

_ANSWERS = (types.DISCLOSURE_RELEASED, types.DISCLOSURE_REFUSED)
_NEEDLE = b"DisclosureRequest.Requested"


@dataclass(frozen=True)
class Disclosure:
    """One disclosure as this node sees it: ``direction`` ``out`` (we asked) or ``in`` (we were asked), the
    request's envelope, and the answer's when there is one."""

    direction: str
    request: Envelope
    answer: Envelope | None

    @property
    def request_id(self) -> uuid.UUID:
        return uuid.UUID(self.request.stream)

    @property
    def status(self) -> str:
        if self.answer is None:
            return "requested"
        return "released" if self.answer.type == types.DISCLOSURE_RELEASED else "refused"

    def as_dict(self) -> dict[str, Any]:
        body = self.request.body
        return {"request": self.request.stream, "direction": self.direction, "status": self.status,
                "requesting_state": body.get("requesting_state"), "addressee": body.get("addressee"),
                "person": body.get("person"), "weapon": body.get("weapon_id"), "purpose": body.get("purpose"),
                "legal_basis": body.get("legal_basis"), "requested_at": self.request.recorded_at,
                "answered_at": self.answer.recorded_at if self.answer else None,
                "reason": self.answer.body.get("reason") if self.answer else None}


# --- the requester ------------------------------------------------------------------------------


def request(node: Node, vault: IdentityVault, *, person: str, weapon: str, purpose: str, legal_basis: str,
            occurred_on: int | None = None, by: str = REQUESTING_AUTHORITY) -> uuid.UUID:
    """Ask the state whose records name ``person`` for its identity; returns the request id.

    ``InvalidField`` naming the field: ``person`` no reference, or one that no record received from a
    trusted partner names; ``weapon`` not a weapon whose received records name it; ``purpose`` or
    ``legal_basis`` blank. Nothing is recorded or kept on refusal."""
    person = check_person_reference(person, "person")
    weapon = (weapon or "").strip()
    if canonical_uuid(weapon) is None:
        raise InvalidField(f"{weapon[:64]!r} is not a weapon id", field="weapon")
    owners = _owners(node, person)
    if not owners:
        raise InvalidField(f"no record received from a partner names {person}: a disclosure is asked of the "
                           "state whose records name the reference", field="person")
    owner = next((state for state, weapons in owners.items() if weapon in weapons), None)
    if owner is None:
        raise InvalidField(f"no record received about weapon {weapon} names {person}", field="weapon")
    private_key = new_box_key()
    disclosure = DisclosureRequest.request(
        authority=node.registry.authority(by), addressee=owner, person=person, weapon_id=weapon, purpose=purpose,
        legal_basis=legal_basis, answer_key=public_key_of(private_key), occurred_on=_now(occurred_on))
    vault.keep_answer_key(str(disclosure.id), private_key)
    try:
        node.registry.save(disclosure)
    except BaseException:
        vault.forget_answer_key(str(disclosure.id))
        raise
    return disclosure.id


def read_released(node: Node, vault: IdentityVault, request_id: uuid.UUID) -> dict[str, Any]:
    """What the owning state answered to our request ``request_id``: ``{"disclosure", "identity", "erased"}``.

    ``identity`` is the released identity, opened with our key and checked against the signed commitment;
    None while unanswered, when refused, or once the owning state's signed erasure of the person has been
    received (our key is then destroyed: the released copy can never be read again). ``InvalidField``
    (``request``) for a request that is not ours; ``VerificationError`` when a signed release does not open
    or does not match its commitment (``VerificationError``: it is never shown)."""
    disclosure = _ours(node, request_id)
    found: dict[str, Any] = {"disclosure": disclosure.as_dict(), "identity": None, "erased": False}
    if disclosure.answer is None or disclosure.answer.type != types.DISCLOSURE_RELEASED:
        return found
    key = vault.answer_key(str(request_id))
    if _erased_at_owner(node, disclosure.request) or key is None:
        vault.destroy_answer_key(str(request_id))
        found["erased"] = True
        return found
    found["identity"] = opened_identity(disclosure.request, disclosure.answer, key).as_dict()
    return found


def forget_erased(node: Node, erasure: Envelope) -> list[str]:
    """On the owning state's signed erasure of a person (``PersonErasure.Recorded`` received from it), destroy
    the keys of every request of ours about that person: what it released to us can never be opened again,
    nor anything it might still release. Returns the request ids whose key was destroyed; idempotent, and
    opens the vault only when such a request exists."""
    ref = erasure.body.get("reference")
    ours = [d.request.stream for d in disclosures(node) if d.direction == "out"
            and d.request.body.get("person") == ref and d.request.body.get("addressee") == erasure.node]
    if ours:
        with IdentityVault.open(node.settings) as vault:
            for request_id in ours:
                vault.destroy_answer_key(request_id)
    return ours


# --- the owning state --------------------------------------------------------------------------


def release(node: Node, vault: IdentityVault, request_id: uuid.UUID, *, occurred_on: int | None = None,
            by: str = ANSWERING_AUTHORITY) -> None:
    """Release the identity asked for by the received request ``request_id``, sealed to its answer key.

    ``InvalidField`` (``request``) for no such request addressed to us; ``InvalidState`` (``request``) once
    answered; ``UnknownPerson`` / ``PersonErased`` (``request``) when we hold no identity for its reference."""
    received = releasable(node, vault, request_id)
    ref = str(received.body["person"])
    identity = vault.identity(ref)
    salt = new_salt()
    sealed = seal(bytes(received.body["answer_key"]),
                  msgpack.packb({"identity": identity.as_dict(), "salt": salt}), _context(request_id, ref))
    answer = DisclosureAnswer.release(request_id=request_id, authority=node.registry.authority(by),
                                      requesting_state=received.node, person=ref,
                                      commitment=identity_commitment(salt, identity), sealed_identity=sealed,
                                      occurred_on=_now(occurred_on))
    node.registry.save(answer)


def releasable(node: Node, vault: IdentityVault, request_id: uuid.UUID) -> Envelope:
    """The received request ``request_id`` if its identity can be released now (checked before the release is
    put in the read audit); errors as ``release``, and ``InvalidField`` (``request``) for an answer key that
    is a low-order point."""
    received = _received_request(node, request_id)
    try:
        vault.identity(str(received.body["person"]))
    except (UnknownPerson, PersonErased) as refused:
        raise type(refused)(f"{refused.args[0]}: refuse the request (disclosure refuse --reason)",
                            field="request") from None
    try:
        seal(bytes(received.body["answer_key"]), b"", b"")
    except ValueError:  # a low-order point (RFC 7748 section 6.1): nothing sealed to it stays the requester's
        raise InvalidField(f"{received.node}'s request names an answer key no identity can be sealed to: refuse "
                           "the request (disclosure refuse --reason)", field="request") from None
    return received


def refuse(node: Node, request_id: uuid.UUID, *, reason: str, occurred_on: int | None = None,
           by: str = ANSWERING_AUTHORITY) -> None:
    """Refuse the received request ``request_id``, saying why. Errors as ``release`` (``reason`` blank:
    ``InvalidField``)."""
    received = _received_request(node, request_id)
    answer = DisclosureAnswer.refuse(request_id=request_id, authority=node.registry.authority(by),
                                     requesting_state=received.node, person=str(received.body["person"]),
                                     reason=reason, occurred_on=_now(occurred_on))
    node.registry.save(answer)


# --- both ------------------------------------------------------------------------------------


def disclosures(node: Node) -> list[Disclosure]:
    """Every disclosure this node asked for (``out``) or was asked (``in``), oldest request first."""
    own = [Envelope.from_bytes(stored.state) for _n, stored in node.registry.stored_notifications()
           if b"Disclosure" in stored.state]
    own = [e for e in own if e.type.startswith(("DisclosureRequest.", "DisclosureAnswer."))]
    partners = partner_states(node)
    received = [e for e in received_envelopes(node) if e.type.startswith(("DisclosureRequest.", "DisclosureAnswer."))
                and e.node in partners]
    us = node.identity.state
    found = []
    for asked in own:
        if asked.type == types.DISCLOSURE_REQUESTED:
            found.append(Disclosure("out", asked, _answer_from(received, asked.stream, str(asked.body["addressee"]))))
    for asked in received:
        if asked.type == types.DISCLOSURE_REQUESTED and asked.body.get("addressee") == us:
            found.append(Disclosure("in", asked, _answer_from(own, asked.stream, us)))
    return sorted(found, key=lambda d: d.request.recorded_at)


def find_disclosure(node: Node, text: str) -> Disclosure:
    """The disclosure whose request id is ``text`` or starts with it (at least 4 characters); ``InvalidField``
    (``request``) when none or several match."""
    text = (text or "").strip().lower()
    if len(text) < 4:
        raise InvalidField(f"{text!r} is too short: give the request id or its first 4 characters at least",
                           field="request")
    matching = [d for d in disclosures(node) if d.request.stream.startswith(text)]
    if len(matching) != 1:
        what = "no disclosure request" if not matching else f"{len(matching)} disclosure requests"
        raise InvalidField(f"{what} here with an id starting {text[:40]!r}", field="request")
    return matching[0]


# --- internals ---------------------------------------------------------------------------------


def _owners(node: Node, ref: str) -> dict[str, set[str]]:
    """The trusted partners whose received records hold ``ref`` (signed bodies, or the fragments of their trace
    answers), each with the weapons those records are about."""
    needle, partners = ref.encode("ascii"), partner_states(node)
    owners: dict[str, set[str]] = {}
    for envelope in received_envelopes(node):
        if envelope.node in partners and needle in envelope.to_bytes():
            owners.setdefault(envelope.node, set()).update({envelope.stream, str(envelope.body.get("weapon_id", ""))})
    return owners


def _ours(node: Node, request_id: uuid.UUID) -> Disclosure:
    found = next((d for d in disclosures(node) if d.request.stream == str(request_id)), None)
    if found is None or found.direction != "out":
        raise InvalidField(f"{request_id} is not a disclosure request of this node", field="request")
    return found


def _received_request(node: Node, request_id: uuid.UUID) -> Envelope:
    found = next((d for d in disclosures(node) if d.request.stream == str(request_id)), None)
    if found is None or found.direction != "in":
        raise InvalidField(f"no disclosure request {request_id} addressed to {node.identity.state} has been "
                           "received", field="request")
    try:
        node.registry.repository.get(request_id)
    except AggregateNotFoundError:
        return found.request
    raise InvalidState(f"disclosure request {request_id} was answered already", field="request")


def _answer_from(envelopes: list[Envelope], stream: str, state: str) -> Envelope | None:
    return next((e for e in envelopes if e.stream == stream and e.type in _ANSWERS and e.node == state), None)


def _erased_at_owner(node: Node, request: Envelope) -> bool:
    owner, ref = str(request.body.get("addressee")), request.body.get("person")
    return any(e.type == types.PERSON_ERASED and e.body.get("reference") == ref
               for e in node.inbox.received(node=owner, stream=str(erasure_id(str(ref)))))


def opened_identity(request: Envelope, answer: Envelope, key: bytes) -> Identity:
    """The identity the signed release ``answer`` of ``request`` holds, opened with the request's private
    ``key`` and checked against the commitment signed with it. ``VerificationError`` when the box does not
    open (sealed to another key or request, or altered) or holds another identity than the one committed to."""
    ref = str(request.body["person"])
    try:
        content = msgpack.unpackb(open_box(key, bytes(answer.body["sealed_identity"]),
                                           _context(uuid.UUID(request.stream), ref)))
        fields, salt = content["identity"], bytes(content["salt"])
        identity = Identity(**{k: str(fields[k]) for k in ("name", "date_of_birth", "address", "id_document")})
        calculated = identity_commitment(salt, identity)
    except (VerificationError, ValueError, TypeError, KeyError, msgpack.UnpackException) as e:
        raise VerificationError(f"{answer.node}'s release for disclosure request {request.stream} does not open "
                                f"under this node's key: {e}") from e
    if calculated != answer.body.get("commitment"):
        raise VerificationError(f"{answer.node}'s release for disclosure request {request.stream} holds another "
                                "identity than the one its signed commitment names",
                                expected=answer.body.get("commitment"), calculated=calculated)
    return identity


def _context(request_id: uuid.UUID, ref: str) -> bytes:
    """What a sealed identity is bound to: its request and the reference (a box copied elsewhere does not open)."""
    return f"armsledger disclosure|{request_id}|{ref}".encode("ascii")


def _now(occurred_on: int | None) -> int:
    return int(time.time()) if occurred_on is None else occurred_on
