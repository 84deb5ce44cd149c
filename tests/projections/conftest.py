"""A small Belgian registry (on each backend) and its partners' logs, for the views' contract tests.

BE records, in business time (2024)::

    W1 AB-7123   pistol   manufactured, transferred to Dealer A, reported lost
    W2 AB-5120   rifle    manufactured, exported to FR via DE (shipment S1)
    W3 XY 999    shotgun  manufactured, seized, destroyed, seized again (flagged)
    W4 ZZ-1      pistol   manufactured, reported stolen
    W5 CHX100    pistol   manufactured, exported to NL (shipment S2)
    W6 CH_100    revolver manufactured, exported to CH (shipment S3)
    W7 AB?12Q    pistol   seized with an obliterated serial character (random id)

FR's node (always SQLite: only its log is read) imports W2 and confirms
receipt of S1; NL's log holds a ``Shipment.ReceiptConfirmed`` for S2. S3
stays open.
"""

from __future__ import annotations

from types import SimpleNamespace
from uuid import UUID

import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment

from domain.marking import Marking
from domain.time import parse_time
from ledger.envelope import GENESIS_PREV, seal
from ledger.keys import generate_key, key_id
from nodes.bootstrap import init_node
from nodes.registry.storage import eventsourcing_env
from nodes.settings import Settings
from projections.store import VIEW_TABLES
from projections.views import Views

D = parse_time  # dates of the scenario read better as "2024-02-10"


def manufacture(registry, manufacturer: str, serial: str, type_: str, holder: str, day: str, **extra) -> UUID:
    return registry.manufacture(
        marking=Marking.read(manufacturer, "BE", serial), type=type_, make=manufacturer.split()[0],
        model=extra.get("model", "M1"), calibre=extra.get("calibre", "9mm"), year=2020, holder=holder,
        occurred_on=D(day),
    )


def export(registry, weapon_id: UUID, number: str, to_state: str, day: str, via: tuple[str, ...] = ()) -> UUID:
    registry.issue_licence(number=number, kind="export_licence", holder="FN Herstal SA", valid_from=D("2024-01-01"),
                           valid_until=D("2024-12-31"), export_state="BE", import_state=to_state,
                           transit_states=via, weapons=(str(weapon_id),), occurred_on=D("2024-01-05"))
    return registry.export(weapon_ids=[weapon_id], licence=number, import_authorization=f"IA-{to_state}-1",
                           to_state=to_state, transit_states=via, occurred_on=D(day))


def build_belgium(registry) -> SimpleNamespace:
    ids = SimpleNamespace()
    ids.w1 = manufacture(registry, "FN Herstal", "AB-7123", "pistol", "FN Herstal SA", "2024-01-10")
    ids.w2 = manufacture(registry, "FN Herstal", "AB-5120", "rifle", "FN Herstal SA", "2024-01-11")
    ids.w3 = manufacture(registry, "Browning", "XY 999", "shotgun", "Browning SA", "2024-01-12")
    ids.w4 = manufacture(registry, "FN Herstal", "ZZ-1", "pistol", "FN Herstal SA", "2024-01-13")
    ids.w5 = manufacture(registry, "FN Herstal", "CHX100", "pistol", "FN Herstal SA", "2024-01-14")
    ids.w6 = manufacture(registry, "FN Herstal", "CH_100", "revolver", "FN Herstal SA", "2024-01-15")

    registry.issue_licence(number="TL-1", kind="transfer_licence", holder="Dealer A", valid_from=D("2024-01-01"),
                           valid_until=D("2024-12-31"), occurred_on=D("2024-01-20"))
    registry.transfer(weapon_id=ids.w1, to_holder="Dealer A", licence="TL-1", occurred_on=D("2024-02-01"))
    ids.s1 = export(registry, ids.w2, "EL-FR", "FR", "2024-02-10", via=("DE",))
    ids.s2 = export(registry, ids.w5, "EL-NL", "NL", "2024-02-20")
    ids.s3 = export(registry, ids.w6, "EL-CH", "CH", "2024-03-01")

    registry.seize(weapon_id=ids.w3, place="Antwerp", circumstances="search", occurred_on=D("2024-03-05"))
    registry.record("report_stolen", by="police", weapon_id=ids.w4, place="Liege", circumstances="burglary",
                    occurred_on=D("2024-03-20"))
    ids.w7 = registry.seize(marking=Marking.read("Glock", "AT", "AB?12Q"), type="pistol", make="Glock",
                            model="17", calibre="9mm", place="Brussels", circumstances="street",
                            occurred_on=D("2024-03-25"))
    registry.record("destroy", by="police", weapon_id=ids.w3, method="crushing", certificate="D-1",
                    occurred_on=D("2024-04-02"))
    registry.record("report_lost", by="police", weapon_id=ids.w1, place="Ghent", circumstances="",
                    occurred_on=D("2024-04-10"))
    registry.seize(weapon_id=ids.w3, place="Namur", circumstances="resurfaced", occurred_on=D("2024-04-20"))
    return ids


def dump(views: Views) -> dict[str, list[tuple]]:
    """Every row of every view table, in a stable order."""
    with views.store.reading() as cursor:
        return {table: sorted(tuple(dict(row).values()) for row in views.store.select(cursor, f"SELECT * FROM {table}"))
                for table in VIEW_TABLES}


@pytest.fixture(scope="session")
def dump_views():
    """``dump(views)``: the views' content, for comparing two ways of building them."""
    return dump


def partner_log(path, name: str) -> SimpleNamespace:
    """A real eventsourcing application recorder (SQLite) standing for a log of received records."""
    factory = InfrastructureFactory.construct(Environment(name, {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path), "ORIGINATOR_ID_TYPE": "uuid",
    }))
    return SimpleNamespace(name=name, recorder=factory.application_recorder(), factory=factory)


@pytest.fixture
def belgium(db_url, tmp_path):
    """BE's node on the backend under test, its views (not yet caught up) and the scenario's ids."""
    node = init_node(Settings.load(home=tmp_path / "be", db=db_url, passphrase="pw"), "BE")
    ids = build_belgium(node.registry)
    views = Views.open(eventsourcing_env(db_url), own_log=node.registry.name)  # as the node opens them
    yield SimpleNamespace(node=node, registry=node.registry, views=views, ids=ids, db=db_url)
    views.close()
    node.close()


@pytest.fixture
def partners(belgium, tmp_path):
    """FR's log (a real node: imports W2, confirms receipt of S1) and NL's log (confirms S2)."""
    ids = belgium.ids
    france = init_node(Settings.load(home=tmp_path / "fr", db=str(tmp_path / "fr.db"), passphrase="pw"), "FR")
    france.registry.import_weapon(
        marking=Marking.read("FN Herstal", "BE", "AB-5120"), type="rifle", make="FN", model="M1", calibre="9mm",
        year=2020, from_state="BE", import_year=2024, import_authorization="IA-FR-1", holder="Armurerie Paris",
        shipment=str(ids.s1), occurred_on=D("2024-02-15"))
    france.registry.record("confirm_receipt", by="customs", weapon_id=ids.w2, received_by="Armurerie Paris",
                           occurred_on=D("2024-02-16"))

    netherlands = partner_log(tmp_path / "nl-received.db", "received_nl")
    key = generate_key()
    receipt = seal(key, node="NL", stream=str(ids.s2), version=2, type="Shipment.ReceiptConfirmed",
                   occurred_on=D("2024-02-23"), recorded_at=D("2024-02-23") * 1_000_000, authority=key_id(key),
                   prev=GENESIS_PREV, body={"confirmed_by_state": "NL", "confirmation": "NL-C-77"})
    netherlands.recorder.insert_events([StoredEvent(originator_id=ids.s2, originator_version=2,
                                                    topic=receipt.type, state=receipt.to_bytes())])
    # Named apart from BE's "armsledger": each log has its own tracked position.
    france_log = SimpleNamespace(name="received_fr", recorder=france.registry.recorder)
    yield SimpleNamespace(france=france, france_log=france_log, netherlands_log=netherlands)
    netherlands.factory.close()
    france.close()


@pytest.fixture(scope="module")
def identity(tmp_path_factory):
    """A Belgian node's identity (its keys), the node itself closed: for registries made on any database."""
    home = tmp_path_factory.mktemp("node")
    node = init_node(Settings.load(home=home / "be", db=str(home / "keys-only.db"), passphrase="pw"), "BE")
    node.close()
    return node.identity
