"""The licensing desk's broker register page: the register listed by state, one broker with its periods,
suspensions and activities, a licence linking to its broker, reads audited, refusals shown."""

from __future__ import annotations

from domain.licence import LicenceKind
from nodes.registry import brokers

from desk_steps import NOW, sign_in

DAY = 86_400


def test_brokers_are_listed_and_shown_with_their_activities_and_reads_audited(client, desk_context):
    registry = desk_context.node.registry
    brokers.register_broker(registry, number="BR-1", name="Trade SA", seat="Rue Haute 1, Brussels",
                            valid_from=NOW - 30 * DAY, valid_until=NOW + 30 * DAY, occurred_on=NOW - 30 * DAY)
    brokers.suspend_broker(registry, number="BR-1", until=NOW - 15 * DAY, reason="inspection",
                           occurred_on=NOW - 20 * DAY)
    brokers.record_brokering(registry, number="BR-1", kind="arranging_transfer", parties=("Buyer Ltd", "FN"),
                             description="200 rifles", occurred_on=NOW - 10 * DAY)
    registry.issue_licence(number="EL-7", kind=LicenceKind.EXPORT_LICENCE, holder="FN Herstal", export_state="BE",
                           import_state="NL", valid_from=NOW - 5 * DAY, valid_until=NOW + 10 * DAY,
                           occurred_on=NOW - 5 * DAY, broker="BR-1")
    desk_context.node.settle()
    sign_in(client, "paul")
    assert 'href="/licensing/brokers"' in client.get("/licensing").text
    listed = client.get("/licensing/brokers", params={"state": "registered"})
    assert listed.status_code == 200 and 'href="/licensing/brokers?number=BR-1"' in listed.text
    shown = client.get("/licensing/brokers", params={"number": "br 1"})
    for text in ("Broker BR-1", "Rue Haute 1, Brussels", "inspection", "Arranging a transfer", "Buyer Ltd, FN",
                 "200 rifles", 'href="/licensing/licences?number=EL-7&amp;kind=export_licence"'):
        assert text in shown.text, text
    licence = client.get("/licensing/licences", params={"number": "EL-7"})
    assert 'href="/licensing/brokers?number=BR-1"' in licence.text
    refused = client.get("/licensing/brokers", params={"state": "dormant"})
    assert refused.status_code == 422 and "&#39;dormant&#39; is not a broker state" in refused.text
    missing = client.get("/licensing/brokers", params={"number": "BR-404"})
    assert missing.status_code == 409 and "BR-404" in missing.text
    assert [(r.action, r.subject) for r in desk_context.reads] == [
        ("licence", "brokers state=registered"), ("licence", "broker BR-1 of BE"),
        ("licence", "export_licence EL-7 of BE")]
