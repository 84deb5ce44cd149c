"""The national reference table's entries and how a typed description is matched to them; pure.

An entry names one make and model with its type and calibres (UNODC Working Group on Firearms:
descriptions should follow INTERPOL's Firearms Reference Table so that they match across
borders). Makes, models and calibres are compared by their keys: Unicode NFKD without accents,
lower case, letters and digits only, with the usual other names of a make or calibre mapped to
one (``9mm``, ``9x19mm`` and ``9mm Luger`` are one calibre). A description that matches nothing
is flagged, never refused (docs/reference-table.md).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidField
from domain.marking import check_country, check_text

#: Longest reference id, in characters.
MAX_ID = 32
#: Most calibres one entry lists.
MAX_CALIBRES = 8
#: What separates the calibres of one entry where they are written in one text (CSV, display).
CALIBRE_SEPARATOR = ";"

_ID = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")

# Other names of one make, each written as typed; the first of each group is the key's name.
_MAKE_NAMES: tuple[tuple[str, ...], ...] = (
    ("FN Herstal", "FN", "Fabrique Nationale", "Fabrique Nationale de Herstal"),
    ("Smith & Wesson", "S&W", "Smith and Wesson"),
    ("Heckler & Koch", "H&K", "HK", "Heckler und Koch", "Heckler and Koch"),
    ("Ceska Zbrojovka", "CZ", "CZUB", "Česká zbrojovka"),
    ("Sturm, Ruger & Co.", "Ruger", "Sturm Ruger"),
    ("Kalashnikov Concern", "Izhmash", "Kalashnikov"),
    ("Zastava Arms", "Zastava"),
    ("SIG Sauer", "SIG", "Sig-Sauer"),
)

# Other names of one calibre; the first of each group is how the calibre is shown.
_CALIBRE_NAMES: tuple[tuple[str, ...], ...] = (
    ("9x19mm", "9mm", "9 mm", "9mm Luger", "9mm Parabellum", "9mm Para", "9mm NATO", "9x19 Parabellum"),
    ("9x17mm", ".380 ACP", ".380 Auto", "9mm Kurz", "9mm Short", "9mm Browning Short"),
    ("9x18mm Makarov", "9mm Makarov", "9x18"),
    ("7.65x17mm", ".32 ACP", ".32 Auto", "7.65mm Browning", "7.65mm"),
    (".45 ACP", ".45 Auto", "11.43x23mm"),
    (".40 S&W", "10x22mm"),
    ("10mm Auto", "10mm"),
    (".38 Special", ".38 Spl", ".38 SP"),
    (".357 Magnum", ".357 Mag", ".357"),
    (".44 Magnum", ".44 Mag", ".44 Rem Mag"),
    (".22 LR", ".22 Long Rifle", ".22", "5.6x15mmR"),
    ("5.7x28mm", "5.7x28", "5.7 mm"),
    ("4.6x30mm", "4.6x30"),
    ("5.56x45mm", "5.56mm NATO", "5.56 NATO", "5.56"),
    (".223 Remington", ".223 Rem", ".223"),
    ("7.62x51mm", "7.62mm NATO", "7.62 NATO"),
    (".308 Winchester", ".308 Win", ".308"),
    ("7.62x39mm", "7.62x39", "7.62 Soviet"),
    ("7.62x54mmR", "7.62x54R", "7.62x54"),
    ("7.62x25mm Tokarev", "7.62x25", "7.62 Tokarev"),
    ("5.45x39mm", "5.45x39"),
    (".30-06 Springfield", ".30-06", "7.62x63mm"),
    (".50 BMG", "12.7x99mm", "12.7x99"),
    ("12.7x108mm", "12.7x108"),
    ("12 gauge", "12 ga", "12 bore", "12/70", "12G", "12 gauge 70mm"),
    ("20 gauge", "20 ga", "20 bore", "20/70", "20G"),
)


def text_key(text: str) -> str:
    """``text`` compared as a key: accents dropped, lower case, letters and digits only."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().replace("×", "x")
    return _NOT_ALPHANUMERIC.sub("", plain)


def _calibre_text_key(text: str) -> str:
    key = text_key(text)
    # "9x19" and "9x19mm" are one calibre; a bare "9mm" keeps its unit (it is a name of its own).
    if key.endswith("mm") and "x" in key and key[:-2][-1:].isdigit():
        key = key[:-2]
    return key


def _aliases(groups: tuple[tuple[str, ...], ...], key_of: Callable[[str], str]) -> dict[str, str]:
    """Each name's key -> the key of its group's first name."""
    return {key_of(name): key_of(group[0]) for group in groups for name in group}


_MAKE_KEYS: dict[str, str] = _aliases(_MAKE_NAMES, text_key)
_CALIBRE_KEYS: dict[str, str] = _aliases(_CALIBRE_NAMES, _calibre_text_key)
_CALIBRE_SHOWN: dict[str, str] = {_calibre_text_key(group[0]): group[0] for group in _CALIBRE_NAMES}


def make_key(make: str) -> str:
    """The key of a make, its other names mapped to one (``S&W`` and ``Smith & Wesson``)."""
    key = text_key(make)
    return _MAKE_KEYS.get(key, key)


def model_key(model: str) -> str:
    """The key of a model (``Five-seveN`` and ``five seven`` are one)."""
    return text_key(model)


def calibre_key(calibre: str) -> str:
    """The key of a calibre, its other names mapped to one (``9mm Luger`` and ``9x19mm``)."""
    key = _calibre_text_key(calibre)
    return _CALIBRE_KEYS.get(key, key)


def calibre_name(calibre: str) -> str:
    """How the calibre is shown in the table's own words (``9mm Luger`` -> ``9x19mm``), else as typed."""
    return _CALIBRE_SHOWN.get(calibre_key(calibre), calibre.strip())


@dataclass(frozen=True)
class ReferenceEntry:
    """One entry of the national reference table: ``ref_id`` (unique), make, model, type, its
    calibres (one or more), the country of manufacture (ISO 3166-1 alpha-2, "" if not stated)
    and the source it was taken from (INTERPOL IFRT, a national list, "starter")."""

    ref_id: str
    make: str
    model: str
    type: str
    calibres: tuple[str, ...]
    country: str = ""
    source: str = ""

    @classmethod
    def read(cls, *, ref_id: str, make: str, model: str, type: str, calibres: str | Sequence[str],
             country: str = "", source: str = "") -> ReferenceEntry:
        """An entry from text as typed or read from a file; ``calibres`` as a list or one text
        separated by ``;``. ``InvalidField`` naming the field at fault (``id``, ``make``, ``model``,
        ``type``, ``calibre``, ``country``, ``source``)."""
        ref_id = check_text(ref_id, "id", max_length=MAX_ID)
        if not _ID.match(ref_id):
            raise InvalidField(f"{ref_id!r}: letters, digits, '.', '_' and '-' only, starting with a letter or "
                               "digit", field="id")
        listed = calibres.split(CALIBRE_SEPARATOR) if isinstance(calibres, str) else list(calibres)
        named = tuple(check_text(c, "calibre", max_length=32) for c in listed if c.strip())
        if not named:
            raise InvalidField("is required (one or more, separated by ';')", field="calibre")
        if len(named) > MAX_CALIBRES:
            raise InvalidField(f"lists {len(named)} calibres, at most {MAX_CALIBRES}", field="calibre")
        entry = cls(ref_id=ref_id, make=check_text(make, "make", max_length=100),
                    model=check_text(model, "model", max_length=100), type=check_text(type, "type", max_length=64),
                    calibres=named, country=check_country(country, "country") if country.strip() else "",
                    source=check_text(source, "source", required=False, max_length=200))
        for name, value in (("make", entry.make), ("model", entry.model)):
            if not text_key(value):
                raise InvalidField(f"{value!r} has no letters or digits", field=name)
        for calibre in named:
            if not calibre_key(calibre):
                raise InvalidField(f"{calibre!r} has no letters or digits", field="calibre")
        return entry

    @property
    def calibre_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(calibre_key(c) for c in self.calibres))

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain values; ``calibre``: its calibres in one text (what a trace request carries)."""
        return {"id": self.ref_id, "make": self.make, "model": self.model, "type": self.type,
                "calibre": f"{CALIBRE_SEPARATOR} ".join(self.calibres), "country": self.country,
                "source": self.source}


# --- matching a description --------------------------------------------------------------------

MATCHED = "matched"
UNMATCHED = "unmatched"
AMBIGUOUS = "ambiguous"
NO_TABLE = "no-table"   # the node holds no reference table: nothing is matched, nothing flagged


@dataclass(frozen=True)
class Match:
    """What a description matched: ``status`` (``MATCHED``, ``UNMATCHED``, ``AMBIGUOUS``, ``NO_TABLE``),
    the ``entry`` when exactly one matched, the ``candidates``' ids when several did, and ``reason``."""

    status: str
    reason: str = ""
    entry: ReferenceEntry | None = None
    candidates: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        """The officer is warned: the description matches no single entry of a table held."""
        return self.status in (UNMATCHED, AMBIGUOUS)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "id": self.entry.ref_id if self.entry else None,
                "entry": self.entry.to_dict() if self.entry else None, "candidates": list(self.candidates),
                "reason": self.reason}


def match_description(*, make: str, model: str, calibre: str, candidates: Iterable[ReferenceEntry]) -> Match:
    """Match a typed make, model and calibre to ``candidates`` (the caller's entries with the same
    make and model keys, or more). The calibre, when given, must be one of the entry's; without
    it, make and model decide. Never raises: a description that matches nothing is ``UNMATCHED``."""
    shown = " / ".join(t.strip() for t in (make, model, calibre) if t and t.strip()) or "(none)"
    if not text_key(make or "") or not text_key(model or ""):
        return Match(UNMATCHED, f"description {shown}: no make and model to match")
    same = [e for e in candidates if make_key(e.make) == make_key(make) and model_key(e.model) == model_key(model)]
    if not same:
        return Match(UNMATCHED, f"description {shown}: no entry for make {make.strip()!r} model {model.strip()!r}")
    if calibre and calibre.strip():
        wanted = calibre_key(calibre)
        fitting = [e for e in same if wanted in e.calibre_keys]
        if not fitting:
            listed = ", ".join(f"{e.ref_id} ({'; '.join(e.calibres)})" for e in same[:3])
            return Match(UNMATCHED, f"description {shown}: calibre {calibre.strip()!r} is not that of {listed}")
        same = fitting
    if len(same) > 1:
        return Match(AMBIGUOUS, f"description {shown} matches {len(same)} entries: give the calibre",
                     candidates=tuple(e.ref_id for e in same))
    return Match(MATCHED, f"description {shown} is reference entry {same[0].ref_id}", entry=same[0])
