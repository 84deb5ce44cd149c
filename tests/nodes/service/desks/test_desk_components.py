"""A weapon's parts on its timeline and a component's page, over HTTP on both backends: the timeline links
each part to its page, which shows the weapons it was in; the read is audited; a marking with no
component on record is refused naming the field."""

from __future__ import annotations

from nodes.registry import components

from desk_steps import manufacture, sign_in


def test_the_timeline_links_each_part_to_its_page(client, desk_context):
    weapon = manufacture(desk_context, "DESK-C1")
    [frame] = components.assemble(desk_context.node.registry, by="licensing", weapon_id=weapon,
                                  parts=[components.read_part("frame=FN Herstal/BE/DF-1")]).component_ids
    desk_context.node.settle()
    sign_in(client, "paul")
    timeline = client.get(f"/weapons/{weapon}")
    assert timeline.status_code == 200
    assert f'<a href="/components/{frame}">frame FN Herstal / BE / DF-1</a>' in timeline.text
    page = client.get(f"/components/{frame}", params={"purpose": "case 12"})
    assert page.status_code == 200, page.text
    assert "Component frame DF-1" in page.text and f'<a href="/weapons/{weapon}">' in page.text
    assert "installed" in page.text and "now" in page.text
    by_marking = client.get("/components/FN Herstal/BE/DF-1")
    assert by_marking.status_code == 200 and frame in by_marking.text
    reads = [(r.action, r.subject, r.purpose) for r in desk_context.read_audit.entries(limit=10)]
    assert ("component", frame, "case 12") in reads
    missing = client.get("/components/FN Herstal/BE/NONE-1")
    assert missing.status_code == 409 and "no record of a component" in missing.text  # the desks' status_for
