"""Weapon search: a partial serial as an indexable SQL ``LIKE`` (ITI para 9: obliterated
characters), optionally narrowed (or replaced) by make, model and calibre.

A search pattern is normalised like a serial (``domain.marking.normalise``)
except that ``?`` stands for one unknown character and ``*`` for any run,
exactly as ``domain.marking.serial_pattern_to_regex``. In SQL that is ``LIKE``
with ``_`` and ``%``; literal ``%``, ``_`` and ``\\`` are escaped with ``\\``
(``ESCAPE '\\'``).

A B-tree index serves a ``LIKE`` only through the pattern's literal prefix
(SQLite's LIKE optimisation, PostgreSQL's ``text_pattern_ops``). Obliterated
characters are often at the start of a serial (``??3456``), so the views keep
the reversed serial too, indexed the same way: a pattern with a wildcard in
front but a literal end is searched reversed (``%3456`` -> ``6543%``). Only a
pattern with wildcards at both ends (``*34*``) scans the serial index.

Make, model and calibre match whole, ignoring case (``lower`` on both sides, so
the database's own case folding decides; each has an expression index).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.errors import InvalidField
from domain.marking import check_text, normalise

ONE_UNKNOWN, ANY_RUN = "?", "*"
_LIKE_WILDCARD = {ONE_UNKNOWN: "_", ANY_RUN: "%"}


DESCRIPTION_FIELDS = ("make", "model", "calibre")


@dataclass(frozen=True)
class WeaponFilter:
    """A ``WHERE`` condition on ``view_weapons`` written with ``?`` parameters, and its parameters."""

    condition: str
    params: tuple[str, ...]


@dataclass(frozen=True)
class SerialLike:
    """``column LIKE pattern ESCAPE '\\'``; ``column`` is ``serial_key`` or ``serial_key_reversed``."""

    column: str
    pattern: str


def serial_like(pattern: str) -> SerialLike:
    """Translate a search pattern (``AB?12*``) into an indexable ``LIKE``.

    Raises ``InvalidField`` (field ``serial``) for an empty or overlong
    pattern, or one with no character to search for.
    """
    tokens = _tokens(pattern)
    if not tokens:
        raise InvalidField("pattern has no characters to search for", field="serial")
    first_is_wildcard, last_is_wildcard = tokens[0][0], tokens[-1][0]
    if first_is_wildcard and not last_is_wildcard:
        backwards = [(wildcard, text if wildcard else text[::-1]) for wildcard, text in reversed(tokens)]
        return SerialLike("serial_key_reversed", _like(backwards))
    return SerialLike("serial_key", _like(tokens))


def weapon_filter(serial: str = "", make: str = "", model: str = "", calibre: str = "") -> WeaponFilter:
    """The condition matching every criterion given (empty ones are ignored).

    Raises ``InvalidField`` naming the malformed field, or ``serial`` when no
    criterion is given at all.
    """
    clauses, params = [], []
    if serial.strip():
        like = serial_like(serial)
        clauses.append(f"{like.column} LIKE ? ESCAPE '\\'")
        params.append(like.pattern)
    for field, value in zip(DESCRIPTION_FIELDS, (make, model, calibre), strict=True):
        if value.strip():
            clauses.append(f"lower({field}) = lower(?)")
            params.append(check_text(value, field, max_length=64))
    if not clauses:
        raise InvalidField("give a serial, make, model or calibre to search for", field="serial")
    return WeaponFilter(" AND ".join(clauses), tuple(params))


def _tokens(pattern: str) -> list[tuple[bool, str]]:
    """(is wildcard, text) pairs; literals normalised (NFKC may turn a fullwidth ？ into a literal ?)."""
    text = check_text(pattern, "serial", max_length=64)
    tokens = []
    for chunk in re.split(r"([?*])", text):
        if chunk in (ONE_UNKNOWN, ANY_RUN):
            tokens.append((True, chunk))
        elif normalise(chunk):
            tokens.append((False, normalise(chunk)))
    return tokens


def _like(tokens: list[tuple[bool, str]]) -> str:
    return "".join(_LIKE_WILDCARD[text] if wildcard else _escape(text) for wildcard, text in tokens)


def _escape(literal: str) -> str:
    return literal.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
