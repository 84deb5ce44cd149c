"""The views fold a correction that comes in a later batch than the record it corrects: the weapon is folded
afresh, so search by holder and custody show the corrected values (SQLite and PostgreSQL)."""

from __future__ import annotations

from domain.marking import Marking
from domain.time import SECONDS_PER_DAY, format_time
from nodes.bootstrap import init_node
from nodes.registry.corrections import correct_record
from nodes.settings import Settings


def test_a_later_correction_refolds_the_weapon_in_the_views(tmp_path, db_url):
    node = init_node(Settings.load(environ={}, home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    try:
        made_on = 1_600_000_000
        weapon = node.registry.manufacture(marking=Marking.read("Acme", "BE", "V-1"), type="pistol", make="Acme",
                                           model="A1", calibre="9mm", year=2019, holder="Acme Arms",
                                           occurred_on=made_on)
        node.registry.record("report_lost", by="police", weapon_id=weapon, place="Ghent", circumstances="",
                             occurred_on=made_on + SECONDS_PER_DAY)
        node.settle()
        assert node.views.custody(weapon)["holder"] == "Acme Arms"
        [made, _] = node.registry.envelopes(weapon)
        correct_record(node.registry, record=made.hash.hex()[:8], changes=[("holder", "Acme Arms SA")],
                       reason="legal name")
        lost = node.registry.envelopes(weapon)[1]
        correct_record(node.registry, record=lost.hash.hex(), reason="reported late",
                       changes=[("occurred_on", format_time(made_on + 3 * SECONDS_PER_DAY))])
        node.settle()
        custody = node.views.custody(weapon)
        assert (custody["holder"], custody["status"]) == ("Acme Arms SA", "lost")
        assert custody["since"] == made_on + 3 * SECONDS_PER_DAY
    finally:
        node.close()
