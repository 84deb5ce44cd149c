"""Fixtures of the domain tests: authorities of Belgium, a clock, and ready-made records.

The domain is pure (no I/O): aggregates are built in memory and their pending
events inspected. ``Authority.key_id`` is just a label here; signing happens in
the node's envelope mapper, which these tests do not touch.
"""

from __future__ import annotations

import time

import pytest

from domain.authority import Authority, AuthorityKind
from domain.licence import Licence, LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY as DAY
from domain.weapon import Weapon

STATE = "BE"


@pytest.fixture
def now() -> int:
    """A business time safely in the past (the clock moves while a test runs)."""
    return int(time.time()) - 60


@pytest.fixture
def authorities() -> dict[AuthorityKind, Authority]:
    return {kind: Authority(key_id=f"{kind.value}-key", kind=kind, state=STATE) for kind in AuthorityKind}


@pytest.fixture
def make_weapon(authorities, now):
    """Build a manufactured weapon held by ``holder`` (default "FN Herstal")."""

    def make(serial: str = "1001", holder: str = "FN Herstal") -> Weapon:
        return Weapon.manufacture(
            authority=authorities[AuthorityKind.LICENSING], marking=Marking.read("FN Herstal", STATE, serial),
            type="pistol", make="FN", model="Five-seveN", calibre="5.7x28", year=2020, holder=holder,
            occurred_on=now - 30 * DAY,
        )

    return make


@pytest.fixture
def make_licence(authorities, now):
    """Issue a licence (export licence BE -> NL to "FN Herstal" unless told otherwise)."""

    def make(kind: LicenceKind = LicenceKind.EXPORT_LICENCE, **overrides) -> Licence:
        fields = dict(
            number="EL-1", kind=kind, holder="FN Herstal", valid_from=now - 10 * DAY,
            valid_until=now + 10 * DAY, occurred_on=now - 10 * DAY,
        )
        if kind in (LicenceKind.EXPORT_LICENCE, LicenceKind.IMPORT_AUTHORIZATION, LicenceKind.TRANSIT_NO_OBJECTION):
            fields.update(export_state=STATE, import_state="NL")
        fields.update(overrides)
        return Licence.issue(authority=authorities[AuthorityKind.LICENSING], **fields)

    return make
