"""What ingest checks of a message from its bytes alone: its form, its record's fields and
the record's Ed25519 signature by the key its origin's signers name.

A pure function of the bytes and of who may sign (``Signers``), so that it runs on the
verifying processes (``nodes.federation.signature_pool``) while ingest records the batch
before. ``nodes.federation.ingest_run`` decides with what it finds, in the order of the
acceptance rule, as if it had checked each message itself: a signature checked with
another key than the one the signers name when the message's turn comes is checked again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from domain.errors import InvalidField
from ledger.acceptance import (
    CERTIFICATE_TYPE,
    CertifiedKey,
    Refusal,
    Signers,
    read_certificate,
    signer,
    verify_signatures,
)
from ledger.envelope import Envelope
from ledger.errors import LedgerError
from nodes.acceptance import RECORD_SCHEMA
from nodes.federation.wire import Message, RecordMessage, decode_message, record_from_checked_bytes


@dataclass(frozen=True)
class Checked:
    """One message as ``check_messages`` found it.

    ``message`` is None when the bytes are not a federation message, or hold a record that is
    not an envelope: ``malformed`` then says why (the quarantine's detail). For a record:
    ``envelope`` (its hash computed); ``invalid``, the first field out of the domain's schema
    as (field, problem); ``unforeseen``, "TypeName: message" when the schema check broke on it;
    ``signature``, (raw key, whether the signature verifies with it) when the signers given
    for its origin name the key that must have signed it, else None.
    """

    message: Message | None
    malformed: str = ""
    envelope: Envelope | None = None
    invalid: tuple[str | None, str] | None = None
    unforeseen: str = ""
    signature: tuple[bytes, bool] | None = None


#: What a verifying process sends back of a record whose bytes it found canonical (``verdicts``): its
#: envelope's hash, ``invalid``, ``unforeseen`` and ``signature`` as ``Checked`` has them.
Verdicts = tuple[bytes, tuple[str | None, str] | None, str, tuple[bytes, bool] | None]


def verdicts(values: Sequence[bytes], signers: Mapping[str, Signers]) -> list[Checked | Verdicts]:
    """``check_messages`` as a verifying process sends it back: each record whose bytes were found canonical as
    its ``Verdicts`` alone, anything else as its ``Checked``; ``with_verdicts`` makes them ``Checked`` again.

    The caller holds the bytes: sending back the parsed message and envelope, or the bytes, cost the ingest
    process more (unpickling, and the bytes through the pipe) than parsing its own bytes again without checks.
    """
    sent: list[Checked | Verdicts] = []
    for checked in check_messages(values, signers):
        envelope = checked.envelope
        if type(checked.message) is RecordMessage and type(envelope) is Envelope and "hash" in envelope.__dict__:
            sent.append((envelope.hash, checked.invalid, checked.unforeseen, checked.signature))
        else:
            sent.append(checked)
    return sent


def with_verdicts(values: Sequence[bytes], sent: Sequence[Checked | Verdicts]) -> list[Checked]:
    """The ``Checked`` of each of ``values`` from ``verdicts(values, ...)``'s result ``sent``, in order.

    Requires ``sent`` to be what ``verdicts`` gave for these very ``values`` (in this process or a verifying one):
    a record sent as its verdicts is parsed again from its bytes here without checking (they were checked there).
    Raises ``ValueError`` if the two lists differ in length.
    """
    return [found if isinstance(found, Checked) else _checked_record(value, *found)
            for value, found in zip(values, sent, strict=True)]


def _checked_record(value: bytes, envelope_hash: bytes, invalid: tuple[str | None, str] | None, unforeseen: str,
                    signature: tuple[bytes, bool] | None) -> Checked:
    """The ``Checked`` of a record that ``verdicts`` sent as its verdicts: parsed again as the checks parsed it,
    without checking again (``check_message`` found the bytes canonical, in our own process)."""
    message = record_from_checked_bytes(value)
    envelope = Envelope.from_checked_bytes(message.envelope, envelope_hash)
    checked = object.__new__(Checked)
    checked.__dict__.update(message=message, malformed="", envelope=envelope, invalid=invalid,
                            unforeseen=unforeseen, signature=signature)
    return checked


def check_messages(values: Sequence[bytes], signers: Mapping[str, Signers]) -> list[Checked]:
    """``check_message`` of each value, in order, the signers of each message's origin widened by the
    certificates before it in ``values`` (``certified_ahead``). Never raises for bad input."""
    ahead = dict(signers)
    found = []
    for value in values:
        checked = check_message(value, ahead)
        found.append(checked)
        if checked.envelope is not None and isinstance(checked.message, RecordMessage):
            known = ahead.get(checked.message.origin)
            if known is not None:
                ahead[checked.message.origin] = certified_ahead(known, checked.envelope)
    return found


def certified_ahead(signers: Signers, record: Envelope) -> Signers:
    """``signers`` with the key ``record`` certifies when it is a certificate that names its key properly:
    who may sign the records after it, should it be accepted in its turn.

    Only to choose ahead of time the key a signature is verified with: a verdict is used for the key it
    was found with, and only if the signers known when the record's turn comes name that same key
    (``check_signed``'s ``signature_by``). A key id names one key (it is derived from the key), so a
    certificate accepted in its turn names the key chosen here.
    """
    if record.type != CERTIFICATE_TYPE:
        return signers
    key = read_certificate(record.body)
    if not isinstance(key, CertifiedKey) or key.key_id in signers.certified:
        return signers
    return replace(signers, certified={**signers.certified, key.key_id: key})


def check_message(value: bytes, signers: Mapping[str, Signers]) -> Checked:
    """What ``value`` (a Kafka value read from the inbox topic) holds, checked as far as its bytes
    and ``signers`` (origin -> who may sign its records, as known now) allow."""
    try:
        message = decode_message(value)
    except (LedgerError, ValueError, TypeError) as e:
        return Checked(None, f"not a federation message: {e}")
    if not isinstance(message, RecordMessage):
        return Checked(message)
    try:
        envelope = Envelope.from_bytes(message.envelope)
    except LedgerError as e:
        return Checked(None, f"the record is not an envelope: {e}")
    invalid, unforeseen = None, ""
    try:
        RECORD_SCHEMA.check(stream=envelope.stream, type=envelope.type, body=envelope.body,
                            version=envelope.version, occurred_on=envelope.occurred_on,
                            recorded_at=envelope.recorded_at, node=envelope.node, authority=envelope.authority)
    except InvalidField as e:
        invalid = (e.field, str(e.args[0]))
    except Exception as e:  # ingest quarantines it as unverifiable, as a check that broke in ingest
        unforeseen = f"{type(e).__name__}: {e}"
    signature = None
    known = signers.get(message.origin)
    found = signer(envelope, known) if known is not None else None
    if found is not None and not isinstance(found, Refusal):
        signature = (found[0], verify_signatures([(found[0], envelope.sig, envelope.hash)])[0])
    else:
        envelope.hash  # noqa: B018  (computed here, where it costs ingest nothing: the proof needs it)
    return Checked(message, envelope=envelope, invalid=invalid, unforeseen=unforeseen, signature=signature)
