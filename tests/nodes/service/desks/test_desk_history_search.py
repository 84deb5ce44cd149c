"""The search desk finds a partner's record and pages a cut result; the timeline of an export not
confirmed says in transit, and ``?own=1`` leaves out the partners' records."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from domain.licence import LicenceKind
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY

from desk_app import DeskTestContext, desk_app
from desk_steps import manufacture, sign_in
from memory_federation import MemoryFederation


def test_a_partners_seizure_is_found_and_its_timeline_shown_with_ours_left_apart(tmp_path):
    federation = MemoryFederation(tmp_path, lambda state: str(tmp_path / f"{state}.db"), ["BE", "FR"])
    try:
        belgium = DeskTestContext(federation["BE"])
        ours = [manufacture(belgium, f"DSK-{n}") for n in (1, 3)]
        seized = str(federation["FR"].registry.seize(by="police", marking=Marking.read("FN Herstal", "BE", "DSK-2"),
                                                     type="pistol", place="Marseille", circumstances="in a car"))
        assert federation.deliver("FR", "BE")
        with TestClient(desk_app(belgium)) as client:
            sign_in(client, "paul")
            first = client.get("/search", params={"serial": "DSK*", "offset": "0"})
            whole = client.get("/search", params={"serial": "DSK*"})
            timeline = client.get(f"/weapons/{seized[:8]}")
            own_only = client.get(f"/weapons/{seized}", params={"own": "1"})
            bad_offset = client.get("/search", params={"serial": "DSK*", "offset": "x"})
    finally:
        federation.close()
    assert first.status_code == whole.status_code == timeline.status_code == 200
    assert "3 weapons found." in whole.text and "partner records (FR)" in whole.text
    assert all(f'href="/weapons/{w}"' in whole.text for w in [*ours, seized])
    assert "Verified (received from FR)" in timeline.text and "Seized" in timeline.text
    assert own_only.status_code == 404  # BE signed nothing about this weapon
    assert bad_offset.status_code == 422 and 'href="#f-offset"' in bad_offset.text


def test_a_cut_result_links_the_next_page(client, desk_context, monkeypatch):
    import nodes.service.desks.search_pages as pages

    monkeypatch.setattr(pages, "DEFAULT_LIMIT", 2)  # three results on pages of two
    for n in (1, 2, 3):
        manufacture(desk_context, f"CUT-{n}")
    sign_in(client, "paul")
    first = client.get("/search", params={"serial": "CUT*"}).text
    assert "Showing 1 to 2 of 3." in first and "CUT-3" not in first
    assert 'href="/search?serial=CUT%2A&amp;offset=2"' in first
    second = client.get("/search", params={"serial": "CUT*", "offset": "2"}).text
    assert "Showing 3 to 3 of 3." in second and "CUT-3" in second and "Previous page" in second


def test_the_timeline_of_an_export_not_confirmed_says_in_transit(client, desk_context):
    weapon = manufacture(desk_context, "TRN-1", holder="Dealer SA")
    registry = desk_context.node.registry
    now = int(time.time())
    registry.issue_licence(number="EL-1", kind=LicenceKind.EXPORT_LICENCE, holder="Dealer SA",
                           valid_from=now - 10 * SECONDS_PER_DAY, valid_until=now + 10 * SECONDS_PER_DAY,
                           export_state="BE", import_state="IT", occurred_on=now - 10 * SECONDS_PER_DAY)
    registry.export(weapon_ids=[weapon], licence="EL-1", import_authorization="IT-1", to_state="IT",
                    consignee="Armeria Srl", occurred_on=now - SECONDS_PER_DAY)
    desk_context.node.settle()
    sign_in(client, "paul")
    page = client.get(f"/weapons/{weapon}").text
    assert "exported, in transit to IT, receipt not confirmed" in page and "Armeria Srl" in page
