"""The licensing desk's transfer form and private holders: a reference this node holds is recorded, any other
``person:`` text is refused naming the field, and nothing is written."""

from __future__ import annotations

from domain.person import Identity, new_person_reference

from desk_steps import issue_transfer_licence, manufacture, sign_in


def test_the_transfer_form_takes_only_references_held_here(client, desk_context):
    weapon_id = manufacture(desk_context, "AB123456")
    ref = desk_context.vault().add(Identity.of(name="Anna Verhoeven", date_of_birth="1975-04-12"))
    issue_transfer_licence(desk_context, "T-8", ref)
    csrf = sign_in(client, "lena")
    refused = client.post("/licensing/transfer", data={"weapon": weapon_id, "to": new_person_reference(),
                                                       "licence": "T-8", "csrf_token": csrf})
    assert refused.status_code == 409 and "no holder" in refused.text and 'href="#f-to"' in refused.text
    assert desk_context.node.registry.weapon(weapon_id).holder == "Armurerie Liège"
    moved = client.post("/licensing/transfer", data={"weapon": weapon_id, "to": ref, "licence": "T-8",
                                                     "csrf_token": csrf})
    assert moved.status_code == 200 and "Transferred" in moved.text
    assert desk_context.node.registry.weapon(weapon_id).holder == ref
