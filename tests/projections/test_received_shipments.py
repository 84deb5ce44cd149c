"""Views.received_shipments: this log's shipments whose receipt a partner confirmed, latest first."""

from __future__ import annotations

from domain.time import parse_time as D


def test_shipments_leave_the_open_list_for_the_received_one_when_partners_confirm(belgium, partners):
    views, ids = belgium.views, belgium.ids
    views.catch_up(belgium.registry)
    assert views.received_shipments() == []
    views.catch_up(partners.france_log)
    views.catch_up(partners.netherlands_log)
    received = views.received_shipments()
    assert [s["shipment_id"] for s in received] == [str(ids.s2), str(ids.s1)]     # latest receipt first
    assert received[0]["received_on"] == D("2024-02-23") and received[0]["received_by_node"] == "NL"
    assert received[1]["weapons"] == [str(ids.w2)] and received[1]["to_state"] == "FR"
    assert [s["shipment_id"] for s in views.received_shipments(limit=1)] == [str(ids.s2)]
    assert [s["shipment_id"] for s in views.open_shipments(D("2024-03-11"))] == [str(ids.s3)]
