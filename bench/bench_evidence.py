"""``verify`` and ``evidence verify`` rates (records/s), beside the Ed25519 verification ceiling.

    .venv/bin/python bench/bench_evidence.py [--events N] [--records K] [--rounds R] [--backend sqlite|postgres|both]

Fills a fresh store with N signed events (import-csv of N/2 weapons), then gives one weapon K more
records (thefts and recoveries), seals, and exports that weapon's evidence bundle
(``nodes.evidence.bundle``). Then, ``--rounds`` times: the Ed25519 verification rate of one core
(the ceiling of both, measured just before), ``verify_store`` over the whole store (what
``armsledger verify`` runs, on the process pool) and ``verify_bundle`` over the bundle (what
``armsledger evidence verify`` runs: one process, no database). Medians of the rounds. ``verify``
is compared with the ceiling times the cores; ``evidence verify`` with the ceiling of one core
(each of its records costs one signature check plus a Merkle path). Asserts nothing.
"""

from __future__ import annotations

import os
import time
from uuid import UUID

import common
from bench_rebuild_verify import fill, verify
from common import Stopwatch, Table, median, progress


def give_records(node, records: int) -> UUID:
    """A weapon of the fill with ``records`` more records (a theft and a recovery each pair); its id."""
    from domain.marking import Marking

    weapon_id = Marking.read("FN Herstal", "BE", "S000000000").weapon_id()
    weapon = node.registry.weapon(weapon_id)
    police = node.registry.authority("police")
    occurred = int(time.time()) - 3600
    for _ in range(records // 2):
        weapon.report_stolen(authority=police, place="Liège", circumstances="bench", occurred_on=occurred)
        weapon.recover(authority=police, place="Namur", holder="", occurred_on=occurred)
    node.registry.save(weapon)
    return weapon_id


def evidence_verify(data: bytes) -> tuple[float, int]:
    """(records/s, records) of ``verify_bundle`` over the bundle ``data``."""
    from nodes.evidence.bundle_check import verify_bundle

    with Stopwatch() as watch:
        report = verify_bundle(data)
    if not report.valid:
        raise RuntimeError(f"a fresh bundle does not verify: {report.to_dict()['failures'][:3]}")
    return report.records / watch.seconds, report.records


def measure(backend: str, events: int, records: int, rounds: int) -> Table:
    from nodes.evidence.bundle import bundle_bytes, export_bundle

    label = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
    table = Table(f"bench_evidence: {events:,} stored events, a weapon of {records:,} records, {label}")
    figures: dict[str, list[float]] = {"ceiling": [], "verify": [], "evidence": []}
    with common.fresh_database(backend) as (db, folder):
        node = common.new_node(db, folder)
        progress(f"{label}: filling {events:,} signed events (import-csv), {records:,} records of one weapon")
        fill(node, folder, events)
        weapon_id = give_records(node, records)
        node.sealer.seal()
        with Stopwatch() as exporting:
            data = bundle_bytes(export_bundle(node, weapon_id))
        for r in range(rounds):
            progress(f"{label} round {r + 1}/{rounds}")
            _, per_core = common.ed25519_rates(seconds=0.5)
            figures["ceiling"].append(per_core)
            figures["verify"].append(verify(node)[0])  # (events/s, CPU µs per event)
            rate, shown = evidence_verify(data)
            figures["evidence"].append(rate)
        node.close()
    m = {k: median(v) for k, v in figures.items()}
    cores = os.cpu_count() or 1
    table.add("verify (whole store, process pool)", m["verify"], m["ceiling"] * cores)
    table.add("evidence verify (one bundle, one process)", m["evidence"], m["ceiling"], unit="records/s")
    table.add("evidence export", shown / exporting.seconds, unit="records/s")
    table.notes += [
        f"median of {rounds} rounds: " + ", ".join(f"{k} " + "/".join(f"{x:,.0f}" for x in v)
                                                   for k, v in figures.items()),
        f"verify baseline: Ed25519 verifications/s of one core x {cores} cores, measured before each round",
        "evidence verify baseline: Ed25519 verifications/s of one core (it runs in one process); "
        f"the bundle holds {shown:,} records and is {len(data) / 1e6:.1f} MB",
    ]
    return table


def main() -> None:
    p = common.parser(__doc__.splitlines()[0], default_events=40_000)
    p.add_argument("--records", type=int, default=2_000, help="records of the exported weapon (default 2,000)")
    p.add_argument("--rounds", type=int, default=3, help="rounds; the median is printed")
    args = p.parse_args()
    common.measure_each_backend("bench_evidence", args.backend,
                                lambda b: measure(b, args.events, args.records, args.rounds))


if __name__ == "__main__":
    main()
