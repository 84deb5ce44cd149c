"""The pieces request bodies are made of: every body refuses unknown fields and bounds its strings.

Values are checked for shape here (lengths, ranges); their meaning (a country code, a
date, a licence in force) is checked by the domain, which names the field at fault.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.errors import InvalidField
from domain.marking import Marking
from domain.time import parse_time

Text = Annotated[str, Field(max_length=500)]
Required = Annotated[str, Field(min_length=1, max_length=500)]
Country = Annotated[str, Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2 code")]
Year = Annotated[int, Field(ge=1, le=9999)]
Date = Annotated[str | None, Field(default=None, max_length=40,
                                   description="business date, YYYY-MM-DD or ISO 8601 (default: now)")]


class Body(BaseModel):
    """A request body: unknown fields are refused (422 naming them)."""

    model_config = ConfigDict(extra="forbid")


class MarkingIn(Body):
    """The identifying marking; ``?`` stands for an obliterated character where a seizure allows it."""

    manufacturer: Required
    country: Country
    serial: Required

    def read(self) -> Marking:
        return Marking.read(self.manufacturer, self.country, self.serial)


class Dated(Body):
    date: Date = None

    def occurred_on(self) -> int | None:
        """``date`` as epoch seconds, None for now; ``InvalidField`` on ``date`` if malformed."""
        return None if self.date is None else parse_time(self.date, field="date")


class Recorded(BaseModel):
    """What a write answers: the record type written and the ids it concerns."""

    event: str
    weapon_id: str | None = None
    weapon_ids: list[str] = []
    shipment_id: str | None = None
    licence_id: str | None = None
    trace_id: str | None = None
    holder: str | None = None  # the holder recorded, where a private person's reference was made for it
    reference: dict[str, Any] | None = None  # the reference entry the weapon's description matches, or its flag


def one_weapon(weapon_id: UUID | None, marking: MarkingIn | None) -> tuple[UUID | None, Marking | None]:
    """The weapon named by id or by marking (exactly one); ``InvalidField`` on ``weapon`` otherwise."""
    if (weapon_id is None) == (marking is None):
        raise InvalidField("give weapon_id or marking, exactly one", field="weapon")
    return weapon_id, marking.read() if marking is not None else None
