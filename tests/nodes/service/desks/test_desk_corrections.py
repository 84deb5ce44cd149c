"""The desk timeline shows a corrected record beside its correction: the date, the authority, the new values
and the reason, under the record as signed."""

from __future__ import annotations

import html

from nodes.registry.corrections import correct_record

from desk_steps import manufacture, sign_in


def test_the_timeline_shows_the_correction_under_the_record(client, desk_context):
    weapon_id = manufacture(desk_context, "CR123456", holder="Dealer One")
    made = desk_context.node.registry.envelopes(weapon_id)[0]
    correct_record(desk_context.node.registry, record=made.hash.hex()[:8], changes=[("holder", "Dealer Two")],
                   reason="name on the licence")
    desk_context.node.settle()
    sign_in(client, "paul")
    response = client.get(f"/weapons/{weapon_id}")
    assert response.status_code == 200, response.text
    rows = html.unescape(response.text.split("<tbody>", 1)[1]).split("<tr")[1:]
    assert "Manufactured" in rows[0] and "Corrected" in rows[1]
    assert "by the licensing authority: holder: Dealer Two (reason: name on the licence)" in rows[0]
    assert "Dealer Two" in response.text.split("<tbody>", 1)[0]  # the weapon's holder as corrected
