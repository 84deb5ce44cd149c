"""The federated demo: five national nodes follow one pistol across Europe to its point of diversion.

``DemoNetwork`` starts a local Kafka-protocol broker (``nodes.federation.broker.LocalBroker``)
and one national node per state on the embedded default (a SQLite file in a home
of its own), and makes every node trust every other one exactly as
``armsledger key export`` / ``armsledger trust add`` would. ``settle`` drives
``nodes.federation.sync.sync`` passes on every node in turn until a whole round moves
nothing: each step of the story is deterministic, no sleeps.

``play`` is the story, told as library calls (the CLI is a thin layer over them):

1. BE: FN Herstal makes a Five-seveN pistol (FP art 8(1)(a) marking).
2. NL issues an import authorization and DE a transit no-objection; both travel
   signed to BE. BE's customs tried to export before they arrived and were refused
   (FP art 10(2)-(3)).
3. BE exports the pistol to NL via DE; NL's customs confirm receipt (art 10(4)),
   which travels back and closes the shipment on BE's node.
4. NL: two domestic transfers, each to a holder with a transfer licence (art 7): first to a
   private sport shooter, whom every record names by a holder reference only (the identity
   stays in NL's identity vault), then to a dealer.
5. IT authorizes an import; NL exports the pistol to IT. IT never confirms receipt.
6. FR police seize the pistol in Marseille; the seizure goes to BE (state of manufacture).
7. FR traces it (ITI para 17) to BE. BE answers with its signed records, which show
   the export to NL, so FR's node forwards the trace to NL; NL's answer shows the
   export to IT, so it goes on to IT, which holds nothing (paras 19-20).
8. FR's node joins what it holds into the federated timeline and finds the point
   of diversion (``nodes.tracing.service.diversion_verdict``).

Business dates of the story are fixed; trace steps happen now (their deadlines
run from now).
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from domain.diversion import Verdict
from domain.errors import DomainError
from domain.event_types import (
    SHIPMENT_EVENT_TYPES,
    SHIPMENT_RECEIPT_CONFIRMED,
    WEAPON_PREFIX,
)
from domain.licence import LicenceKind
from domain.marking import Marking
from domain.person import Identity
from domain.records import SignedRecord
from domain.time import end_of_day, format_time, parse_time
from domain.trace_status import Trace
from nodes.federation import crossborder
from nodes.persons.holders import reference_for
from nodes.persons.vault import IdentityVault
from nodes.tracing import service as tracing

if TYPE_CHECKING:
    from nodes.bootstrap import Node
    from nodes.federation.broker import LocalBroker
    from nodes.federation.kafka_transport import KafkaTransport
    from nodes.federation.sync import Federation

#: The national nodes of the story: maker, first importer, transit, second importer, seizing state.
STATES = ("BE", "NL", "DE", "IT", "FR")
TOPIC_PREFIX = "armsledger-demo"
#: A whole round of sync passes moving nothing ends ``settle``; more rounds than this is a bug.
MAX_ROUNDS = 10

PISTOL = Marking.read("FN Herstal", "BE", "386PN04127")
MAKER = "FN Herstal SA"
NL_DEALER = "Wapenhandel Utrecht BV"
#: A private holder: in NL's identity vault only; records name the reference it gets there.
NL_SHOOTER = Identity.of(name="Pieter de Vries", date_of_birth="1979-03-08",
                         address="Lange Nieuwstraat 12, Utrecht", id_document="NL passport NX4P81K27",
                         today=datetime.date(2026, 1, 1))
NL_SECOND_DEALER = "Jachthuis Arnhem BV"
IT_DEALER = "Armeria Bresciana Srl"
CARRIER = "Rhein-Maas Spedition GmbH"


def day(text: str) -> int:
    """Epoch seconds of a story date (YYYY-MM-DD, noon UTC: no date shifts in any time zone shown)."""
    return parse_time(f"{text}T12:00:00Z", field="date")


# --- the network ------------------------------------------------------------------------------


@dataclass
class Traffic:
    """What the sync passes moved, in total."""

    published: int = 0
    accepted: int = 0
    quarantined: int = 0
    reactions: int = 0
    rounds: int = 0


class DemoNetwork:
    """A local broker and national nodes in ``base`` (one home each), all trusting each other.

    ``bootstrap`` given: use that broker instead of starting one. Use as a context
    manager; ``close`` stops everything (the homes stay in ``base``; the caller owns it).
    """

    def __init__(self, base: Path, *, passphrase: str, states: tuple[str, ...] = STATES,
                 bootstrap: str | None = None, topic_prefix: str = TOPIC_PREFIX):
        self.base = Path(base)
        self.passphrase = passphrase
        self.states = tuple(states)
        self.topic_prefix = topic_prefix
        self.bootstrap = bootstrap or ""
        self.broker: LocalBroker | None = None
        self.nodes: dict[str, Node] = {}
        self.transports: dict[str, KafkaTransport] = {}
        self.federations: dict[str, Federation] = {}
        self.traffic = Traffic()

    def start(self) -> DemoNetwork:
        from nodes.bootstrap import init_node
        from nodes.federation.broker import LocalBroker
        from nodes.federation.kafka_transport import KafkaTransport
        from nodes.federation.sync import Federation
        from nodes.settings import Settings

        try:
            if not self.bootstrap:
                self.broker = LocalBroker().start()
                self.bootstrap = self.broker.bootstrap_servers
            for state in self.states:
                home = self.base / state.lower()
                settings = Settings.load(environ={}, home=home, db=str(home / "ledger.db"),
                                         passphrase=self.passphrase, kafka=self.bootstrap)
                self.nodes[state] = init_node(settings, state)
            self.exchange_identities()
            for state in self.states:
                self.transports[state] = KafkaTransport(self.bootstrap, self.topic_prefix)
                self.federations[state] = Federation(self.nodes[state], self.transports[state])
        except BaseException:
            self.close()
            raise
        return self

    def exchange_identities(self) -> None:
        """Every node trusts every other node's key: ``armsledger key export`` then ``trust add``."""
        from nodes.federation.trust import trust_each_other

        trust_each_other(self.nodes.values())

    def settle(self, timeout_s: float = 30.0) -> None:
        """Sync every node in turn until a whole round publishes and reads nothing.

        Raises ``RuntimeError`` if a node's pass does not finish in ``timeout_s``
        or the network does not come to rest within ``MAX_ROUNDS`` rounds.
        """
        from nodes.federation.sync import sync

        for _ in range(MAX_ROUNDS):
            self.traffic.rounds += 1
            moved = False
            for state in self.states:
                report = sync(self.nodes[state], self.transports[state], timeout_s,
                              federation=self.federations[state])
                if not report.quiet:
                    raise RuntimeError(f"{state}: a sync pass did not finish within {timeout_s:g} s")
                self.traffic.published += report.published
                self.traffic.accepted += report.accepted
                self.traffic.quarantined += report.quarantined
                self.traffic.reactions += report.reactions
                moved = moved or bool(report.published or report.read or report.checkpoints_sent)
            if not moved:
                return
        raise RuntimeError(f"the network did not come to rest within {MAX_ROUNDS} rounds of sync passes")

    def close(self) -> None:
        for federation in self.federations.values():
            federation.close()
        for transport in self.transports.values():
            transport.close()
        for node in self.nodes.values():
            node.close()
        self.federations, self.transports, self.nodes = {}, {}, {}
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    def __enter__(self) -> DemoNetwork:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getitem__(self, state: str) -> Node:
        return self.nodes[state]


# --- what the story leaves behind -----------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One record of the weapon's federated timeline, as the seizing state holds it."""

    occurred_on: int
    type: str
    node: str
    hash: str
    detail: str


@dataclass(frozen=True)
class Outcome:
    weapon_id: uuid.UUID
    seizing_state: str
    refusal: str                      # why BE's first export attempt was refused
    trace_id: uuid.UUID
    hops: tuple[Trace, ...]
    timeline: tuple[TimelineEntry, ...]
    verdict: Verdict
    open_shipments: dict[str, list[dict[str, Any]]]   # per state: shipments never confirmed
    private_holder: str = ""          # NL's reference of the sport shooter


Narrate = Callable[[str], None]


def play(net: DemoNetwork, say: Narrate = lambda line: None) -> Outcome:
    """Play the story on ``net`` (states ``STATES``), telling each step through ``say``.

    Raises ``DomainError`` if a rule refuses a step (a bug in the story) and
    ``RuntimeError`` if the network does not settle.
    """
    be, nl, de, it, fr = (net[s] for s in ("BE", "NL", "DE", "IT", "FR"))

    # 1. Manufacture, with the marking of FP art 8(1)(a).
    pistol = be.registry.manufacture(marking=PISTOL, type="pistol", make="FN Herstal", model="Five-seveN",
                                     calibre="5.7x28mm", year=2021, holder=MAKER, occurred_on=day("2021-03-02"))
    say(f"2021-03-02  BE  {MAKER} manufactures a Five-seveN pistol, marked {_marking(PISTOL)}")

    # 2. Licences: NL's import authorization and DE's transit no-objection are issued
    #    on their own nodes and must reach BE signed before BE may export (FP art 10(2)-(3)).
    _licence(nl, "NL-IA-2021-0318", LicenceKind.IMPORT_AUTHORIZATION, NL_DEALER, "2021-04-12", "2021-04-12",
             "2021-12-31", export_state="BE", import_state="NL", transit_states=("DE",), consignee=NL_DEALER,
             quantity=1)
    say(f"2021-04-12  NL  import authorization NL-IA-2021-0318 for {NL_DEALER} (1 pistol from BE)")
    _licence(de, "DE-TNO-2021-0077", LicenceKind.TRANSIT_NO_OBJECTION, CARRIER, "2021-04-20", "2021-04-20",
             "2021-12-31", export_state="BE", import_state="NL", transit_states=("DE",))
    say("2021-04-20  DE  transit no-objection DE-TNO-2021-0077 for the BE -> NL shipment")
    _licence(be, "BE-EL-2021-1142", LicenceKind.EXPORT_LICENCE, MAKER, "2021-04-26", "2021-04-26", "2021-10-31",
             export_state="BE", import_state="NL", transit_states=("DE",), consignee=NL_DEALER)
    say(f"2021-04-26  BE  export licence BE-EL-2021-1142 for {MAKER}: to NL via DE")
    first_export: dict[str, Any] = dict(
        weapon_ids=[pistol], licence="BE-EL-2021-1142", import_authorization="NL-IA-2021-0318", to_state="NL",
        transit_states=("DE",), transit_no_objections=("DE-TNO-2021-0077",), consignee=NL_DEALER,
        occurred_on=day("2021-05-10"))
    try:
        be.registry.export(**first_export)  # nothing has travelled yet
    except DomainError as refused:
        refusal = str(refused.args[0])
    else:
        raise AssertionError("BE exported without NL's import authorization on record")
    say(f"2021-05-10  BE  customs try to export before any sync: REFUSED, {refusal.split(':')[0]}")
    net.settle()
    say("            sync: NL's authorization and DE's no-objection reach BE, verified on ingest")

    # 3. The licensed export, and NL's receipt confirmation closing BE's shipment.
    first_shipment = be.registry.export(**first_export)
    say(f"2021-05-10  BE  customs export it to NL via DE (shipment {_short(first_shipment)}), citing the "
        "authorizations received")
    net.settle()
    crossborder.confirm_receipt(nl, shipment=str(first_shipment), occurred_on=day("2021-05-12"))
    say(f"2021-05-12  NL  customs confirm receipt for {NL_DEALER}; NL opens the pistol's record")
    net.settle()
    closed = not be.registry.repository.get(first_shipment).is_open
    say(f"            sync: the confirmation reaches BE; BE's shipment {_short(first_shipment)} "
        + ("is closed" if closed else "is STILL OPEN"))

    # 4. Domestic transfers in NL, each to the holder of a transfer licence (FP art 7); a private
    #    holder is named by reference, the identity kept in NL's vault (docs/personal-data.md).
    with IdentityVault.open(nl.settings) as vault:
        shooter, _new = reference_for(vault, NL_SHOOTER)
    _licence(nl, "NL-TL-2022-0091", LicenceKind.TRANSFER_LICENCE, shooter, "2022-01-10", "2022-01-10",
             "2026-12-31")
    nl.registry.transfer(weapon_id=pistol, to_holder=shooter, licence="NL-TL-2022-0091",
                         occurred_on=day("2022-02-14"))
    say(f"2022-02-14  NL  transfer to a private sport shooter, recorded as {shooter} (transfer licence "
        "NL-TL-2022-0091; the identity stays in NL's vault)")
    _licence(nl, "NL-TL-2023-0440", LicenceKind.TRANSFER_LICENCE, NL_SECOND_DEALER, "2023-01-02", "2023-01-02",
             "2027-12-31")
    nl.registry.transfer(weapon_id=pistol, to_holder=NL_SECOND_DEALER, licence="NL-TL-2023-0440",
                         occurred_on=day("2023-06-01"))
    say(f"2023-06-01  NL  transfer to {NL_SECOND_DEALER} (transfer licence NL-TL-2023-0440)")

    # 5. A second export, NL -> IT, under IT's authorization; IT never confirms receipt.
    _licence(it, "IT-AI-2023-5521", LicenceKind.IMPORT_AUTHORIZATION, IT_DEALER, "2023-08-01", "2023-08-01",
             "2024-01-31", export_state="NL", import_state="IT", consignee=IT_DEALER, quantity=1)
    say(f"2023-08-01  IT  import authorization IT-AI-2023-5521 for {IT_DEALER}")
    _licence(nl, "NL-EL-2023-0777", LicenceKind.EXPORT_LICENCE, NL_SECOND_DEALER, "2023-08-21", "2023-08-21",
             "2024-02-29", export_state="NL", import_state="IT", consignee=IT_DEALER)
    say(f"2023-08-21  NL  export licence NL-EL-2023-0777 for {NL_SECOND_DEALER}: to IT, for {IT_DEALER}")
    net.settle()
    second_shipment = nl.registry.export(weapon_ids=[pistol], licence="NL-EL-2023-0777",
                                         import_authorization="IT-AI-2023-5521", to_state="IT",
                                         consignee=IT_DEALER, occurred_on=day("2023-09-05"))
    say(f"2023-09-05  NL  customs export it to IT (shipment {_short(second_shipment)})")
    net.settle()
    say("            IT  customs never confirm receipt")

    # 6. The seizure in a fourth state; the seizure goes to the state of manufacture.
    fr.registry.seize(marking=PISTOL, place="Marseille", type="pistol", calibre="5.7x28mm",
                      circumstances="found in a car during a drug-trafficking search", occurred_on=day("2024-11-08"))
    say("2024-11-08  FR  police seize the pistol in Marseille, in a car searched in a drug-trafficking case")
    net.settle()

    # 7. FR traces it; acknowledgements, answers and forwarding are automatic reactions.
    trace_id = tracing.submit(fr, to="BE", marking=PISTOL, circumstances="seized in Marseille on 2024-11-08, "
                              "in a car searched in a drug-trafficking case", legal_basis="Code de procédure "
                              "pénale, art. 60", intended_use="criminal investigation", priority="urgent")
    say(f"{format_time(int(time.time()))[:10]}  FR  trace request to BE (urgent), trace {_short(trace_id)}")
    net.settle()
    hops = tuple(tracing.hops(fr, trace_id))
    say("            sync: each addressee acknowledges and answers by itself; FR's node forwards the trace "
        f"along the exports its answers show: {' -> '.join(['FR', *(h.addressee for h in hops)])}")

    # 8. The federated timeline and the verdict, as FR holds them.
    verdict, life = tracing.diversion_verdict(fr, pistol)
    return Outcome(weapon_id=pistol, seizing_state="FR", refusal=refusal, trace_id=trace_id, hops=hops,
                   timeline=timeline(life.records, pistol), verdict=verdict,
                   open_shipments={s: crossborder.open_shipments(net[s]) for s in net.states},
                   private_holder=shooter)


# --- reading the outcome ------------------------------------------------------------------------


def timeline(records: tuple[SignedRecord, ...], weapon_id: uuid.UUID) -> tuple[TimelineEntry, ...]:
    """The weapon's records and those of the shipments it travelled in, in business-time order."""
    wid = str(weapon_id)
    shipments = {str(r.body.get("shipment")) for r in records if r.stream == wid and r.body.get("shipment")}
    chosen = [r for r in records if (r.stream == wid and r.type.startswith(WEAPON_PREFIX))
              or (r.stream in shipments and r.type in SHIPMENT_EVENT_TYPES)]
    chosen.sort(key=lambda r: (r.occurred_on, r.recorded_at, r.type.startswith(WEAPON_PREFIX), r.node))
    return tuple(TimelineEntry(r.occurred_on, r.type, r.node, r.hash.hex(), describe(r)) for r in chosen)


def describe(record: SignedRecord) -> str:
    """One line a tracing officer reads: what the record says, without ids."""
    b = record.body
    kind = record.type.split(".", 1)[1]
    if kind == "Manufactured":
        return f"{b.get('make')} {b.get('model')} {b.get('type')}, {b.get('calibre')}, by {b.get('holder')}"
    if kind == "Imported":
        return f"from {b.get('from_state')}, held by {b.get('holder')}, import marking {b.get('import_state')} " \
               f"{b.get('import_year')}"
    if kind == "Exported":
        via = f" via {', '.join(b.get('transit_states', ()))}" if b.get("transit_states") else ""
        return f"to {b.get('to_state')}{via}, for {b.get('consignee')}, licence {b.get('licence')}"
    if kind == "ReceiptConfirmed" and record.type.startswith(WEAPON_PREFIX):
        return f"received by {b.get('received_by')}"
    if kind == "Transferred":
        return f"to {b.get('to_holder')}, transfer licence {b.get('licence')}"
    if kind == "Seized":
        return f"in {b.get('place')}, {b.get('state')}: {b.get('circumstances')}"
    if kind == "Opened":
        count = len(b.get("weapons", ()))
        return f"{b.get('export_state')} -> {b.get('import_state')}, {count} weapon{'s' * (count != 1)}, " \
               f"import authorization {b.get('import_authorization')}"
    if record.type == SHIPMENT_RECEIPT_CONFIRMED:
        return f"closed: {b.get('confirmed_by_state')} confirmed receipt"
    return ""


def _licence(node: Node, number: str, kind: LicenceKind, holder: str, issued: str, valid_from: str,
             valid_until: str, **fields: Any) -> None:
    node.registry.issue_licence(number=number, kind=kind, holder=holder, valid_from=day(valid_from),
                                valid_until=end_of_day(day(valid_until)), occurred_on=day(issued), **fields)


def _marking(marking: Marking) -> str:
    return f"{marking.manufacturer} / {marking.country} / {marking.serial}"


def _short(value: object) -> str:
    return str(value)[:8]
