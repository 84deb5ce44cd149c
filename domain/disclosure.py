"""Disclosure of a private holder's identity to a partner state, on a signed request (FP art 12(5)).

A partner holds only the owning state's holder reference. Its police (or tracing) officer asks, in a
signed ``DisclosureRequest.Requested``, for the identity behind one reference, about one weapon, for a
stated purpose and legal basis, and names the public key the answer is to be encrypted to. The owning
state's registry answers, under the same id, with ``DisclosureAnswer.Released`` (the identity encrypted
to that key, and a commitment to it) or ``DisclosureAnswer.Refused`` (a reason). Protocol and key
handling: docs/personal-data.md, "Disclosure to a partner".
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

from eventsourcing.domain import Aggregate

from domain import event_types as types
from domain.authority import Authority, check_permitted
from domain.errors import InvalidField, NotPermitted
from domain.marking import check_country, check_text
from domain.person import SUBJECT_ACCESS_ROLES, Identity, check_person_reference
from domain.roles import Role
from domain.signed_aggregate import SignedAggregate, canonical_uuid
from ledger.encoding import canonical_encode

#: Length of an X25519 public key (RFC 7748 section 5), the answer key a request names.
ANSWER_KEY_BYTES = 32
#: Length of the random salt of a commitment: the commitment alone reveals nothing of the identity.
SALT_BYTES = 16


#: Who may read an identity a partner released to this state: the roles that read holders' identities, and
#: tracing officers, who ask for disclosures (a tracing officer reads the answer to its own state's request).
DISCLOSURE_READ_ROLES = SUBJECT_ACCESS_ROLES | {Role.TRACING}
#: Who may release or refuse a partner's request: the registry, which keeps the identity vault.
DISCLOSURE_ANSWER_ROLES = frozenset({Role.REGISTRY})


def check_disclosure_read(role: Role) -> None:
    """Raise ``NotPermitted`` (field ``role``) unless ``role`` may read a released identity."""
    if role not in DISCLOSURE_READ_ROLES:
        allowed = ", ".join(sorted(r.value for r in DISCLOSURE_READ_ROLES))
        raise NotPermitted(f"the {role.value} role may not read released identities ({allowed} may)", field="role")


def identity_commitment(salt: bytes, identity: Identity) -> str:
    """SHA-256 over ``salt`` and the canonical msgpack of ``identity``, in hex: what a release signs.

    Requires ``len(salt) == SALT_BYTES``. The salt travels encrypted with the identity, so only the
    requester can check that what it decrypted is what the owning state committed to."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"a commitment salt is {SALT_BYTES} bytes")
    return hashlib.sha256(salt + canonical_encode(identity.as_dict())).hexdigest()


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


class DisclosureRequest(SignedAggregate):
    """The requesting state's request for the identity behind one of another state's references."""

    TOPIC = "DisclosureRequest"

    class Event(SignedAggregate.Event):
        TOPIC = "DisclosureRequest.Event"

    class Requested(Event, Aggregate.Created):
        """``person``: the addressee's reference; ``weapon_id``: the weapon whose records name it;
        ``answer_key``: the X25519 public key the identity is to be encrypted to."""

        TOPIC = types.DISCLOSURE_REQUESTED
        requesting_state: str
        addressee: str
        person: str
        weapon_id: str
        purpose: str
        legal_basis: str
        answer_key: bytes

    def __init__(self, occurred_on: int, authority: str, requesting_state: str, addressee: str, person: str,
                 weapon_id: str, purpose: str, legal_basis: str, answer_key: bytes):
        self.requested_on = occurred_on
        self.requesting_state = requesting_state
        self.addressee = addressee
        self.person = person
        self.weapon_id = weapon_id
        self.purpose = purpose
        self.legal_basis = legal_basis
        self.answer_key = answer_key

    @staticmethod
    def create_id(**_: Any) -> uuid.UUID:
        return uuid.uuid4()

    @classmethod
    def request(cls, *, authority: Authority, addressee: str, person: str, weapon_id: str, purpose: str,
                legal_basis: str, answer_key: bytes, occurred_on: int) -> DisclosureRequest:
        """A request to ``addressee`` for the identity behind its reference ``person``.

        ``NotPermitted`` unless ``authority`` may request; ``InvalidField`` naming the field: ``addressee``
        not another state, ``person`` no reference, ``weapon`` no weapon id, ``purpose`` or ``legal_basis``
        blank or over 500 characters, ``answer_key`` not 32 bytes."""
        check_permitted(types.DISCLOSURE_REQUESTED, authority.kind)
        addressee = check_country(addressee, "addressee")
        if addressee == authority.state:
            raise InvalidField("a disclosure is requested from another state (read this state's own "
                               "holders with person show)", field="addressee")
        if canonical_uuid(weapon_id) is None:
            raise InvalidField(f"{weapon_id[:64]!r} is not a weapon id", field="weapon")
        if len(answer_key) != ANSWER_KEY_BYTES:
            raise InvalidField(f"must be an X25519 public key of {ANSWER_KEY_BYTES} bytes", field="answer_key")
        return cls._open(cls.Requested, authority=authority, occurred_on=occurred_on,
                         requesting_state=authority.state, addressee=addressee,
                         person=check_person_reference(person, "person"), weapon_id=weapon_id,
                         purpose=check_text(purpose, "purpose", max_length=500),
                         legal_basis=check_text(legal_basis, "legal_basis", max_length=500),
                         answer_key=bytes(answer_key))


class DisclosureAnswer(SignedAggregate):
    """The owning state's answer to a disclosure request (same id as the request): recorded once."""

    TOPIC = "DisclosureAnswer"

    class Event(SignedAggregate.Event):
        TOPIC = "DisclosureAnswer.Event"

    class Released(Event, Aggregate.Created):
        """``commitment``: ``identity_commitment`` of the identity released; ``sealed_identity``: the
        identity and the commitment's salt, encrypted to the request's answer key."""

        TOPIC = types.DISCLOSURE_RELEASED
        requesting_state: str
        answering_state: str
        person: str
        commitment: str
        sealed_identity: bytes

    class Refused(Event, Aggregate.Created):
        TOPIC = types.DISCLOSURE_REFUSED
        requesting_state: str
        answering_state: str
        person: str
        reason: str

    def __init__(self, occurred_on: int, authority: str, requesting_state: str, answering_state: str, person: str,
                 commitment: str = "", sealed_identity: bytes = b"", reason: str = ""):
        self.answered_on = occurred_on
        self.requesting_state = requesting_state
        self.answering_state = answering_state
        self.person = person
        self.released = bool(commitment)
        self.reason = reason

    @staticmethod
    def create_id(request_id: uuid.UUID, **_: Any) -> uuid.UUID:
        return request_id

    @classmethod
    def release(cls, *, request_id: uuid.UUID, authority: Authority, requesting_state: str, person: str,
                commitment: str, sealed_identity: bytes, occurred_on: int) -> DisclosureAnswer:
        """Release the identity behind ``person`` to ``requesting_state``; ``NotPermitted`` unless the
        authority may release."""
        check_permitted(types.DISCLOSURE_RELEASED, authority.kind)
        return cls._open(cls.Released, id=request_id, authority=authority, occurred_on=occurred_on,
                         requesting_state=requesting_state, answering_state=authority.state,
                         person=check_person_reference(person, "person"), commitment=commitment,
                         sealed_identity=bytes(sealed_identity))

    @classmethod
    def refuse(cls, *, request_id: uuid.UUID, authority: Authority, requesting_state: str, person: str,
               reason: str, occurred_on: int) -> DisclosureAnswer:
        """Refuse the request, saying why; ``InvalidField`` (``reason``) when blank or over 2000 characters."""
        check_permitted(types.DISCLOSURE_REFUSED, authority.kind)
        return cls._open(cls.Refused, id=request_id, authority=authority, occurred_on=occurred_on,
                         requesting_state=requesting_state, answering_state=authority.state,
                         person=check_person_reference(person, "person"),
                         reason=check_text(reason, "reason", max_length=2000))
