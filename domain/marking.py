"""Weapon marking and identity (ITI paras 8-9, FP art 8).

A weapon's id is derived from its marking so that every node computes the same
id without coordination::

    uuid5(ARMSLEDGER_NAMESPACE, "MANUFACTURER|COUNTRY|SERIAL")   (normalised)

Normalisation: Unicode NFKC, upper case, and spaces, hyphens, dots and slashes
removed, so "Fabrique Nationale / 12-345" and "FABRIQUENATIONALE 12345" are one
weapon. The raw marking as read is kept beside the normalised one.

A weapon found without a readable marking (ITI para 9) gets a random id and a
national mark; obliterated characters of its serial are written ``?``.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

from domain.countries import ISO_3166_ALPHA2
from domain.errors import InvalidField

ARMSLEDGER_NAMESPACE = uuid.UUID("5f1c7d52-3a0e-5b6e-9a43-0f9d7e1c2b11")

# Besides ASCII, the hyphens, dashes, minus signs and slashes that NFKC leaves
# alone (U+2010-U+2015, U+2212, U+2044, U+2215): a marking copied from a word
# processor or OCR must give the same weapon id as one typed by hand.
# Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F; a regex is ~10x
# faster than asking unicodedata per character, and every field of every row passes here.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_REMOVED = re.compile(r"[\s\-./\\\u2010-\u2015\u2212\u2044\u2215]+")
UNKNOWN_CHARACTER = "?"


def normalise(text: str) -> str:
    """NFKC, upper case, without spaces, hyphens, dots and slashes.

    NFKC again at the end: removing a separator or upper-casing can leave a
    decomposed sequence ("A\u00b4" gives "A" + combining acute), which must
    compose to the same text as a typed "\u00c1" (idempotence).
    """
    return unicodedata.normalize("NFKC", _REMOVED.sub("", unicodedata.normalize("NFKC", text).upper()))


def check_country(value: str, field: str) -> str:
    """Return the upper-cased ISO 3166-1 alpha-2 code or raise ``InvalidField``."""
    code = (value or "").strip().upper()
    if code not in ISO_3166_ALPHA2:
        raise InvalidField(f"{value!r} is not an ISO 3166-1 alpha-2 country code", field=field)
    return code


def check_text(value: str | None, field: str, *, required: bool = True, max_length: int = 200) -> str:
    """Strip ``value``; refuse empty (when required), control characters and overlong text."""
    text = (value or "").strip()
    if required and not text:
        raise InvalidField("is required", field=field)
    if len(text) > max_length:
        raise InvalidField(f"is longer than {max_length} characters", field=field)
    if _CONTROL.search(text):
        raise InvalidField("contains control characters", field=field)
    return text


@dataclass(frozen=True)
class Marking:
    """The identifying marking: manufacturer, country of manufacture, serial number."""

    manufacturer: str
    country: str
    serial: str

    @classmethod
    def read(cls, manufacturer: str, country: str, serial: str) -> Marking:
        """Validate a marking as read off the weapon; raises ``InvalidField``."""
        marking = cls(
            manufacturer=check_text(manufacturer, "manufacturer"),
            country=check_country(country, "country"),
            serial=check_text(serial, "serial", max_length=64),
        )
        if not normalise(marking.manufacturer):
            raise InvalidField("has no letters or digits", field="manufacturer")
        if not normalise(marking.serial):
            raise InvalidField("has no letters or digits", field="serial")
        return marking

    @property
    def key(self) -> str:
        """``MANUFACTURER|COUNTRY|SERIAL`` after normalisation."""
        return f"{normalise(self.manufacturer)}|{self.country}|{normalise(self.serial)}"

    @property
    def is_complete(self) -> bool:
        """False when characters of the serial were obliterated (written ``?``)."""
        return UNKNOWN_CHARACTER not in self.serial

    def weapon_id(self) -> uuid.UUID:
        """The id every node derives from this marking (requires ``is_complete``)."""
        if not self.is_complete:
            raise InvalidField(
                "contains obliterated characters ('?'): such a weapon gets a random id "
                "and a national mark (ITI para 9)",
                field="serial",
            )
        return uuid.uuid5(ARMSLEDGER_NAMESPACE, self.key)

    def as_dict(self) -> dict[str, str]:
        return {"manufacturer": self.manufacturer, "country": self.country, "serial": self.serial}


def weapon_id_for(manufacturer: str, country: str, serial: str) -> uuid.UUID:
    """Shortcut: validate the marking and derive the weapon id."""
    return Marking.read(manufacturer, country, serial).weapon_id()


def serial_pattern_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile a partial-serial search pattern (``?`` one character, ``*`` any run).

    The pattern is normalised like a serial, except that ``?`` and ``*`` are kept.
    Raises ``InvalidField`` (field ``serial``) for an empty pattern.
    """
    text = check_text(pattern, "serial", max_length=64)
    parts = []
    for chunk in re.split(r"([?*])", text):
        if chunk == "?":
            parts.append(".")
        elif chunk == "*":
            parts.append(".*")
        elif normalise(chunk):
            parts.append(re.escape(normalise(chunk)))
    if not parts:
        raise InvalidField("pattern has no characters to search for", field="serial")
    # Anchored: "AB?12" finds the serial AB912, not AB912X; "*" says where more may follow.
    return re.compile(r"\A" + "".join(parts) + r"\Z")
