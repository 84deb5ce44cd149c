"""``/api/v1/persons``: private holders. ``POST`` stores an identity and answers its holder reference;
``GET /{ref}`` is subject access: the identity and every record here that mentions it (read audit,
action ``person``; roles of ``domain.person.SUBJECT_ACCESS_ROLES`` only). ``PersonIn`` is also the
``to_person`` / ``holder_person`` of the weapon routes: the same holder rule as the CLI
(``nodes.persons.holders``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from pydantic import BaseModel

from domain.person import check_person_reference, check_subject_access
from nodes.persons.access import subject_access
from nodes.persons.holders import PersonGiven, reference_for
from nodes.service.acting import API_PREFIX, Context, Purpose, Reader, Recorder, audited
from nodes.service.bodies import Body, Required, Text
from nodes.service.errors import ERROR_RESPONSES

router = APIRouter(prefix=f"{API_PREFIX}/persons", tags=["persons"], responses=ERROR_RESPONSES)

Reference = Annotated[str, Path(min_length=1, max_length=100, description="a holder reference, person:...")]


class PersonIn(Body):
    """A private person's identity: kept in the node's identity vault only, never in a signed record."""

    name: Required
    date_of_birth: Required
    address: Text = ""
    id_document: Text = ""

    def given(self) -> PersonGiven:
        return PersonGiven(name=self.name, date_of_birth=self.date_of_birth, address=self.address,
                           id_document=self.id_document)


def given(person: PersonIn | None) -> PersonGiven:
    """What a body's optional person field gives to ``nodes.persons.holders.holder_for``."""
    return person.given() if person is not None else PersonGiven()


class PersonAdded(BaseModel):
    person: str
    new: bool


@router.post("", status_code=status.HTTP_201_CREATED,
             summary="store a private holder's identity; answers its reference")
def add_person(body: PersonIn, officer: Recorder, context: Context) -> PersonAdded:
    ref, new = reference_for(context.vault(), body.given().identity())
    return PersonAdded(person=ref, new=new)


@router.get("/{ref}", summary="subject access: a holder's identity and every record here that mentions it")
def show_person(ref: Reference, officer: Reader, context: Context, why: Purpose) -> dict[str, Any]:
    check_subject_access(officer.role)
    ref = check_person_reference(ref)
    vault = context.vault()
    vault.is_erased(ref)  # 404 for an unknown reference before anything is read or recorded
    found = subject_access(context.node, vault, ref)
    audited(context, officer, "person", ref, why)
    return found
