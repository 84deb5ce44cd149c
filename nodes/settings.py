"""Settings, read once from the environment (and command-line overrides) into a frozen object.

==============================  ===============================  ===========================
setting                         environment                      default
==============================  ===============================  ===========================
home                            ARMSLEDGER_HOME                  ``./.armsledger``
db                              ARMSLEDGER_DB                    ``HOME/ledger.db`` (SQLite)
passphrase                      ARMSLEDGER_PASSPHRASE            none: required to sign
kafka                           ARMSLEDGER_KAFKA                 none (federation off)
topic_prefix                    ARMSLEDGER_TOPIC_PREFIX          ``armsledger``
overdue_days                    ARMSLEDGER_OVERDUE_DAYS          30
trace.autorespond               ARMSLEDGER_TRACE_AUTORESPOND     on (0/false/no/off: off)
trace.acknowledge_days          ARMSLEDGER_TRACE_ACK_DAYS        2 (urgent traces: 1)
trace.respond_days              ARMSLEDGER_TRACE_RESPONSE_DAYS   30 (urgent traces: 24 hours)
max_message_bytes               ARMSLEDGER_MAX_MESSAGE_BYTES     1048576 (1 MiB)
quarantine_max_entries          ARMSLEDGER_QUARANTINE_ENTRIES    10000
quarantine_max_bytes            ARMSLEDGER_QUARANTINE_BYTES      67108864 (64 MiB)
component_kinds                 ARMSLEDGER_COMPONENT_KINDS       none (comma-separated kinds added)
retention (years per class)     ARMSLEDGER_RETENTION_YEARS_<C>   MANUFACTURE 30, OTHER 20
retention (after destruction)   ARMSLEDGER_RETENTION_YEARS_      30 (off: the state is not bound
                                AFTER_DESTRUCTION                by Directive (EU) 2021/555)
kek_file                        ARMSLEDGER_KEK_FILE              ``HOME/keys/kek``
kek_cost                        ARMSLEDGER_KEK_COST              15 (scrypt's N = 2^15 for a new KEK
                                                                 or key file; 10 to 20)
kafka_security                  ARMSLEDGER_KAFKA_SECURITY_       PLAINTEXT; with TLS and SASL:
                                PROTOCOL, ..._CA_FILE, ...       ``nodes.federation.kafka_security``
==============================  ===============================  ===========================

``db`` is a SQLite file path or a ``postgresql://`` URL. ``topic_prefix`` starts every
Kafka topic name (``<prefix>.inbox.<STATE>``); all nodes of a federation use the same one.
``max_message_bytes``: an inbox message (Kafka key and value) larger than this is refused
before anything of it is stored; the quarantine keeps only its hash, size, offset and origin.
The quarantine holds at most ``quarantine_max_entries`` entries of ``quarantine_max_bytes`` in
all: beyond, its oldest entries expire, except alarms (evidence of a fork), which never do.
A retention period below its legal minimum (``domain.retention``, docs/personal-data.md) is refused.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from domain.errors import InvalidField
from domain.numbers import check_whole
from domain.retention import AFTER_DESTRUCTION_YEARS, LEGAL_MINIMUM_YEARS, RetentionPeriods
from domain.shipment import DEFAULT_OVERDUE_DAYS
from domain.time import check_days
from domain.trace_status import TraceDeadlines
from ledger import passphrase_seal
from nodes.federation.kafka_security import KafkaSecurity

_OFF = ("0", "false", "no", "off")
DEFAULT_TOPIC_PREFIX = "armsledger"
#: A record with a full lifecycle fragment is tens of KiB; 1 MiB leaves room and bounds the damage.
DEFAULT_MAX_MESSAGE_BYTES = 1 << 20
DEFAULT_QUARANTINE_MAX_ENTRIES = 10_000
DEFAULT_QUARANTINE_MAX_BYTES = 64 << 20
#: log2 of scrypt's N for a new file sealed with the passphrase (RFC 7914: 2^15 x 8 x 128 bytes = 32 MiB), and the
#: costs a file may have (``ledger.passphrase_seal``).
DEFAULT_KEK_COST = passphrase_seal.DEFAULT_COST
KEK_COSTS = passphrase_seal.COSTS


@dataclass(frozen=True)
class TraceSettings(TraceDeadlines):
    """The trace deadlines (ITI paras 19-20), and whether the addressee answers by itself.

    ``autorespond`` off: a received trace request is only acknowledged
    automatically; an officer answers (``nodes.federation.reactions``).
    """

    autorespond: bool = True

    @classmethod
    def load(cls, environ: Mapping[str, str]) -> TraceSettings:
        """From ARMSLEDGER_TRACE_AUTORESPOND, ARMSLEDGER_TRACE_ACK_DAYS and ARMSLEDGER_TRACE_RESPONSE_DAYS.

        Raises ``InvalidField`` for a number of days that is not a whole number.
        """
        autorespond = str(environ.get("ARMSLEDGER_TRACE_AUTORESPOND", "1")).strip().lower() not in _OFF
        days = {name: _days(environ, variable, name) for name, variable in (
            ("acknowledge_days", "ARMSLEDGER_TRACE_ACK_DAYS"), ("respond_days", "ARMSLEDGER_TRACE_RESPONSE_DAYS"))}
        return cls(autorespond=autorespond, **{k: v for k, v in days.items() if v is not None})


@dataclass(frozen=True)
class Settings:
    """One node's settings. ``overdue_days``: a shipment that no state confirmed receiving
    this many days after its export is overdue, in the listing of open shipments and
    in the diversion analysis alike.

    One default, 30 days (``domain.shipment.DEFAULT_OVERDUE_DAYS``). FP art 10(4)
    requires confirmation of receipt of a shipment but sets no period, and the ITI
    none either; 30 days is the period the node already applied when listing open
    shipments and judging diversion (the pure analysis alone defaulted to 90), so
    no node's output changes; a state sets its own with ARMSLEDGER_OVERDUE_DAYS.
    """

    home: Path
    db: str = field(repr=False)  # a URL may carry a password: ``shown_db`` is for messages
    passphrase: str = field(default="", repr=False)
    kafka: str = ""
    topic_prefix: str = DEFAULT_TOPIC_PREFIX
    overdue_days: int = DEFAULT_OVERDUE_DAYS
    trace: TraceSettings = field(default_factory=TraceSettings)
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    quarantine_max_entries: int = DEFAULT_QUARANTINE_MAX_ENTRIES
    quarantine_max_bytes: int = DEFAULT_QUARANTINE_MAX_BYTES
    #: Essential component kinds the state records besides frame, receiver, slide, barrel, bolt and breech
    #: block (``domain.component.ESSENTIAL_KINDS``).
    component_kinds: tuple[str, ...] = ()
    #: How long each class of records is kept (docs/personal-data.md).
    retention: RetentionPeriods = field(default_factory=RetentionPeriods)
    #: The file of the key-encryption key of holders' identities (``nodes.persons.kek``); "" for HOME/keys/kek.
    kek_file: str = ""
    #: log2 of scrypt's N for a KEK or private key file created (``nodes.persons.kek``, ``ledger.keys``); a file
    #: records its own cost.
    kek_cost: int = DEFAULT_KEK_COST
    #: TLS and SASL towards a real Kafka (docs/kafka-transport.md).
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)

    @property
    def shown_db(self) -> str:
        """``db`` with the password of a URL masked, for messages and logs."""
        from nodes.registry.storage import masked_dsn

        return masked_dsn(self.db)

    @property
    def is_postgres(self) -> bool:
        return self.db.startswith(("postgresql://", "postgres://"))

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); non-None ``overrides`` win.

        Raises ``InvalidField`` when a number of days or bytes is not a whole number (bytes: at least 1);
        ``ConfigurationError`` naming the variable for Kafka security settings that cannot work.
        """
        env = os.environ if environ is None else environ
        given = {k: v for k, v in overrides.items() if v is not None}
        home = Path(str(given.get("home") or env.get("ARMSLEDGER_HOME") or ".armsledger"))
        db = str(given.get("db") or env.get("ARMSLEDGER_DB") or home / "ledger.db")
        overdue_days = _days(env, "ARMSLEDGER_OVERDUE_DAYS", "overdue_days")
        max_message_bytes = _size(env, "ARMSLEDGER_MAX_MESSAGE_BYTES", "max_message_bytes")
        quarantine_max_entries = _size(env, "ARMSLEDGER_QUARANTINE_ENTRIES", "quarantine_max_entries")
        quarantine_max_bytes = _size(env, "ARMSLEDGER_QUARANTINE_BYTES", "quarantine_max_bytes")
        kek_cost = _size(env, "ARMSLEDGER_KEK_COST", "kek_cost")
        if kek_cost is not None and not KEK_COSTS[0] <= kek_cost <= KEK_COSTS[1]:
            raise InvalidField(f"ARMSLEDGER_KEK_COST={kek_cost} is not from {KEK_COSTS[0]} to {KEK_COSTS[1]} "
                               "(log2 of scrypt's N)", field="kek_cost")
        return cls(
            home=home,
            db=db,
            passphrase=str(given.get("passphrase") or env.get("ARMSLEDGER_PASSPHRASE") or ""),
            kafka=str(given.get("kafka") or env.get("ARMSLEDGER_KAFKA") or ""),
            topic_prefix=str(given.get("topic_prefix") or env.get("ARMSLEDGER_TOPIC_PREFIX") or DEFAULT_TOPIC_PREFIX),
            overdue_days=DEFAULT_OVERDUE_DAYS if overdue_days is None else overdue_days,
            trace=TraceSettings.load(env),
            max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES if max_message_bytes is None else max_message_bytes,
            quarantine_max_entries=quarantine_max_entries or DEFAULT_QUARANTINE_MAX_ENTRIES,
            quarantine_max_bytes=quarantine_max_bytes or DEFAULT_QUARANTINE_MAX_BYTES,
            component_kinds=tuple(k.strip().lower() for k in env.get("ARMSLEDGER_COMPONENT_KINDS", "").split(",")
                                  if k.strip()),
            retention=_retention(env),
            kek_file=str(given.get("kek_file") or env.get("ARMSLEDGER_KEK_FILE") or ""),
            kek_cost=DEFAULT_KEK_COST if kek_cost is None else kek_cost,
            kafka_security=KafkaSecurity.load(env),
        )


def _days(environ: Mapping[str, str], variable: str, name: str) -> int | None:
    """The whole number of days in ``variable``, None when unset; ``InvalidField`` otherwise."""
    text = str(environ.get(variable, "") or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidField(f"{variable}={text!r} is not a whole number of days", field=name)
    return check_days(int(text), name)


def _size(environ: Mapping[str, str], variable: str, name: str) -> int | None:
    """The number (of bytes, of entries) in ``variable``, 1 to 2^53 - 1; None when unset; else ``InvalidField``."""
    text = str(environ.get(variable, "") or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 16):
        raise InvalidField(f"{variable}={text[:40]!r} is not a whole number from 1 to 2^53 - 1", field=name)
    return check_whole(int(text), name, least=1)


RETENTION_VARIABLE = "ARMSLEDGER_RETENTION_YEARS_"
AFTER_DESTRUCTION_VARIABLE = "ARMSLEDGER_RETENTION_YEARS_AFTER_DESTRUCTION"


def _retention(environ: Mapping[str, str]) -> RetentionPeriods:
    """The retention periods from ARMSLEDGER_RETENTION_YEARS_<CLASS> and ..._AFTER_DESTRUCTION (``off``: none).

    ``InvalidField`` naming the variable for a period that is not a whole number or is below its legal minimum.
    """
    fields = {kind: RETENTION_VARIABLE + kind.value.upper() for kind in LEGAL_MINIMUM_YEARS}
    years = {kind: given for kind, variable in fields.items()
             if (given := _years(environ, variable)) is not None}
    after: int | None = None
    if str(environ.get(AFTER_DESTRUCTION_VARIABLE, "") or "").strip().lower() not in _OFF:
        given = _years(environ, AFTER_DESTRUCTION_VARIABLE)
        after = AFTER_DESTRUCTION_YEARS if given is None else given
    return RetentionPeriods(years={**LEGAL_MINIMUM_YEARS, **years}, after_destruction_years=after,
                            fields=fields, after_destruction_field=AFTER_DESTRUCTION_VARIABLE)


def _years(environ: Mapping[str, str], variable: str) -> int | None:
    """The whole number of years in ``variable`` (at most 1000), None when unset; ``InvalidField`` otherwise."""
    text = str(environ.get(variable, "") or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 4):
        raise InvalidField(f"{variable}={text[:40]!r} is not a whole number of years", field=variable)
    return check_whole(int(text), variable, most=1000)
