"""The sharing policy of this node: the domain's defaults, plus ``HOME/sharing.json``, to trusted partners only.

The defaults are ``domain.sharing`` (data minimisation, FP art 12(5)); the file
adds recipients per record type, never removes one, and adds none to the types whose
default is the only route (``ONLY_DEFAULT_RECIPIENTS``: hit notices go to the reporter only). The whole policy, with the
file's format, is in docs/sharing.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from domain.authority import PERMISSIONS
from domain.countries import ISO_3166_ALPHA2
from domain.event_types import AUTHORITY_PREFIX
from domain.sharing import ONLY_DEFAULT_RECIPIENTS, default_recipients, default_recipients_by_type, withheld
from ledger.envelope import Envelope
from nodes.errors import ConfigurationError
from nodes.federation.trust import file_stamp

SHARING_FILE = "sharing.json"
ALL = "all"
EVERY_TYPE = "*"


@dataclass(frozen=True)
class SharingRules:
    """Recipients added to the defaults, per record type (``"*"``: every type).

    Each value is a frozenset of states, or ``ALL`` for every trusted partner.
    """

    extra: Mapping[str, frozenset[str] | str] = field(default_factory=dict)

    @classmethod
    def load(cls, home: Path) -> SharingRules:
        """Rules from ``HOME/sharing.json`` (none if the file is missing).

        Raises ``ConfigurationError`` naming the entry when the file is not the documented form.
        """
        path = Path(home) / SHARING_FILE
        if not path.exists():
            return cls()
        try:
            document = json.loads(path.read_text())
        except ValueError as e:
            raise ConfigurationError(f"{path}: not JSON ({e})") from None
        return cls.parse(document, source=str(path))

    @classmethod
    def parse(cls, document: object, *, source: str = SHARING_FILE) -> SharingRules:
        if not isinstance(document, dict) or set(document) - {"share"}:
            raise ConfigurationError(f'{source}: expected {{"share": {{"TYPE": ["CC", ...] | "all"}}}}')
        share = document.get("share", {})
        if not isinstance(share, dict):
            raise ConfigurationError(f'{source}: "share" must map record types to states or "all"')
        known = set(PERMISSIONS) | {EVERY_TYPE}
        extra: dict[str, frozenset[str] | str] = {}
        for record_type, states in share.items():
            if record_type not in known and not record_type.startswith(AUTHORITY_PREFIX):
                raise ConfigurationError(f"{source}: share: {record_type!r} is not a record type")
            if record_type in ONLY_DEFAULT_RECIPIENTS:
                raise ConfigurationError(f"{source}: share: {record_type} goes only to the states the default "
                                         "policy names (docs/sharing.md): it cannot be shared further")
            if states == ALL:
                extra[record_type] = ALL
                continue
            if not isinstance(states, list) or not all(isinstance(s, str) for s in states):
                raise ConfigurationError(f'{source}: share: {record_type}: expected a list of states or "all"')
            codes = frozenset(s.strip().upper() for s in states)
            bad = sorted(codes - ISO_3166_ALPHA2)
            if bad:
                raise ConfigurationError(
                    f"{source}: share: {record_type}: {bad[0]!r} is not an ISO 3166-1 alpha-2 country code")
            extra[record_type] = codes
        return cls(extra)


class SharingFile:
    """``HOME/sharing.json`` for a long-running node: its rules, read again only when the file changed (its
    inode, size or modification time), so an edit is picked up at the next ``rules``."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self._read: tuple[tuple[str, int, int, int], SharingRules] | None = None

    def rules(self) -> SharingRules:
        """``SharingRules.load`` of the file as it is now; raises ``ConfigurationError`` as that does (every call,
        as long as the file stays so)."""
        try:
            stamp = file_stamp(self.home / SHARING_FILE)
        except FileNotFoundError:
            return SharingRules()
        if self._read is not None and self._read[0] == stamp:
            return self._read[1]
        rules = SharingRules.load(self.home)
        self._read = (stamp, rules)  # a file replaced meanwhile is read again next time: its stamp changed
        return rules


@dataclass(frozen=True)
class SharingContext:
    """What the policy may consult: the node's state, its trusted partners, its own records.

    ``own_records(stream)`` returns this node's envelopes of ``stream`` in version order
    (``node.registry.envelopes``).
    """

    own_state: str
    partners: frozenset[str]
    own_records: Callable[[str], list[Envelope]]
    rules: SharingRules = field(default_factory=SharingRules)


def recipients(envelope: Envelope, context: SharingContext) -> frozenset[str]:
    """The trusted partners that receive ``envelope`` (one of this node's own records)."""
    if withheld(envelope):  # a private holder's name never leaves the state (``domain.sharing.withheld``)
        return frozenset()
    default = default_recipients(envelope, context.partners, context.own_records)
    return _with_rules(default, envelope.type, context)


def recipients_by_type(record_type: str, context: SharingContext) -> frozenset[str] | None:
    """The recipients of every record of ``record_type``, or None when they depend on the record.

    Lets the relay route most records without reading them.
    """
    default = default_recipients_by_type(record_type, context.partners)
    return None if default is None else _with_rules(default, record_type, context)


def _with_rules(default: frozenset[str], record_type: str, context: SharingContext) -> frozenset[str]:
    wanted = set(default)
    for key in () if record_type in ONLY_DEFAULT_RECIPIENTS else (record_type, EVERY_TYPE):
        added = context.rules.extra.get(key)
        if added == ALL:
            wanted |= context.partners
        elif isinstance(added, frozenset):
            wanted |= added
    return frozenset(wanted & context.partners) - {context.own_state}
