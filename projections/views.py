"""The read models of a node: lifecycle, marking index, custody, open shipments, statistics.

Rebuilt from the signed envelopes of the notification log, with the position
tracked (eventsourcing's tracking machinery) in the same transaction as the
rows, so ``catch_up`` resumes exactly where the last committed batch ended::

    views = Views.open(eventsourcing_env(settings.db), own_log=registry.name)   # the node says where
    views.catch_up(node.registry)            # project what was recorded since last time
    views.lifecycle(weapon_id)

``catch_up`` needs only ``registry.name`` (the tracked application name,
"armsledger" for the node's registry) and ``registry.recorder``'s
``select_notifications`` (``projections.log_pages`` reads the library's own
recorders' tables directly); any application with a log of envelopes can be
projected into the same views under its own name (the log of records
received from partners, in the federated lifecycle).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Executor
from typing import Any, Protocol, Self

from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    Tracking,
)
from eventsourcing.utils import Environment

import projections.sqlite_pool  # noqa: F401  (every SQLite store gets the mended connection pool)
from domain.errors import InvalidField
from domain.event_types import SEIZED
from domain.marking import Marking
from domain.time import SECONDS_PER_DAY
from ledger.envelope import Envelope
from projections.batch import ParsedPage, ProjectedBatch, ViewEvent, cyclic_gc_paused, parse_page, project_parsed
from projections.errors import TrackingConflict
from projections.log_pages import read_page
from projections.read_ahead import PagesAhead, can_read_ahead
from projections.rebuild_aside import rebuild_aside
from projections.serial_search import DESCRIPTION_FIELDS, serial_like, weapon_filter
from projections.store import ViewStore, WriteTransaction, held_record
from projections.weapon_state import WeaponView

Progress = Callable[[int, int | None], None]
"""``progress(done, total)``: ``done`` units of a long piece of work so far out of ``total`` (None: not
known yet). How a projection, an import, an audit or a sync tells the CLI how far it is."""

StartWorkers = Callable[[int], Executor]
"""``start_workers(n)``: a pool of ``n`` worker processes (``nodes.workers.start_pool``), shut down by its caller."""


class EnvelopeLog(Protocol):
    """What ``catch_up`` reads: an eventsourcing application whose stored states are envelopes."""

    name: str
    recorder: ApplicationRecorder


class Views:
    """Queries over the views; ``catch_up`` and ``rebuild`` write them. Close when done."""

    BATCH_SIZE = 1000  # envelopes per batch: per transaction when catching up
    REBUILD_BATCHES_PER_TRANSACTION = 10
    # A transaction holds the tracking row, which a concurrent catch-up waits for (lock timeout 5 s).
    REBUILD_TRANSACTION_SECONDS = 1.0
    # Rebuild a plain log by stream into fresh tables (projections.rebuild_aside); False: in position order.
    REBUILD_ASIDE = True

    def __init__(self, store: ViewStore, factory: InfrastructureFactory | None = None):
        self.store = store
        #: How a rebuild starts worker processes to make a large SQLite log's rows on
        #: (``projections.range_rows``); None: it makes them in this process.
        self.start_workers: StartWorkers | None = None
        self._factory = factory
        # Catch-ups of this process take turns here, not at the connection pool: the pool's wait is
        # bounded (5 s), and sixteen officers' searches each bringing the views up to date queued there.
        self._catching_up = threading.Lock()

    @classmethod
    def open(cls, persistence: Mapping[str, str], *, own_log: str | None = None) -> Views:
        """Open (creating the tables if missing) the views in the database ``persistence`` names.

        ``own_log``: the name of an application whose log the library keeps in the same database (the node's
        registry): its records are projected without a copy of their envelopes, which the queries read from
        the log's rows (``projections.store.OwnLog``). Other logs' records keep their copy.

        ``persistence`` is the environment of eventsourcing's persistence module
        (``PERSISTENCE_MODULE`` ``eventsourcing.sqlite`` or ``eventsourcing.postgres``
        and its settings), as the node builds it from its ``--db`` value
        (``nodes.registry.storage.eventsourcing_env``). Raises ``KeyError`` when
        ``PERSISTENCE_MODULE`` is missing.
        """
        env = dict(persistence)
        module = env["PERSISTENCE_MODULE"]
        if module == "eventsourcing.postgres":
            from projections.postgres_store import PostgresViewStore as store_class
            # The views need one connection at a time; don't hold the registry's pool size.
            env.update({"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "2"})
        else:
            from projections.sqlite_store import SQLiteViewStore as store_class  # type: ignore[assignment]
        factory = InfrastructureFactory.construct(Environment("views", env))
        store = factory.tracking_recorder(store_class)
        store.ensure_schema()  # type: ignore[attr-defined]  # ViewStore adds it to the recorder
        if own_log is not None:
            store.own_log = store.own_log_named(own_log)  # type: ignore[attr-defined]
        return cls(store, factory)  # type: ignore[arg-type]

    def close(self) -> None:
        if self._factory is not None:
            self._factory.close()
            self._factory = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing -----------------------------------------------------------------------

    def position(self, log: EnvelopeLog) -> int:
        """Notification id of the last record of ``log`` projected (0 if none)."""
        return self.store.max_tracking_id(log.name) or 0

    def catch_up(self, log: EnvelopeLog, progress: Progress | None = None, *, until: int | None = None) -> int:
        """Project every notification of ``log`` after the tracked position (up to position ``until``, if given).

        Batches of ``BATCH_SIZE``, each with its tracking row in one
        transaction. Returns the number of notifications processed, those of
        types the views skip included. If another process catches up at the
        same time, each batch is applied by exactly one of them. ``progress``
        is called after each batch with the log positions passed and to pass.

        Views already at the end of ``log`` are not written: no write transaction is opened.
        """
        with self._catching_up:
            position = self.position(log)
            if until is None and (log.recorder.max_notification_id() or 0) <= position:
                return 0
            return self._project(log, written=None, progress=progress, until=until, position=position)

    def rebuild(self, log: EnvelopeLog, progress: Progress | None = None, *, until: int | None = None) -> int:
        """Empty every view and tracked position, then project ``log`` from its start (up to ``until``, if given).

        Records of other logs (partners) are forgotten too: catch up with
        each of them again afterwards. Returns the number of notifications processed.
        ``progress`` as for ``catch_up``.

        A plain log (``projections.projected_rows``) of the library's tables is read stream by stream
        into fresh tables swapped in at the end (``projections.rebuild_aside``, when ``REBUILD_ASIDE``):
        until then the views stay as they were. Any other log is projected in position order into the
        emptied views, batch by batch: a crash then leaves the views of the batches committed, and
        their position, from which ``catch_up`` goes on.
        """
        if self.REBUILD_ASIDE:
            processed = rebuild_aside(self.store, log, until, progress, self.start_workers)
            if processed is not None:
                return processed
        self.store.clear()
        # The views start empty, so only weapons this rebuild has written can
        # have a stored state: the others need no query (a tenth of a rebuild
        # on PostgreSQL was spent looking up weapons that were not there).
        return self._project(log, written=set(), progress=progress, until=until)

    def _project(self, log: EnvelopeLog, written: set[str] | None, progress: Progress | None,
                 until: int | None, position: int | None = None) -> int:
        """``catch_up``; ``written``, when not None, holds every weapon id that has a row in the views;
        ``position``, when given, the tracked position just read.

        With ``written`` (a rebuild) up to ``REBUILD_BATCHES_PER_TRANSACTION``
        batches share one transaction, for at most ``REBUILD_TRANSACTION_SECONDS``:
        a commit per batch was a tenth of a rebuild on SQLite. Each batch still
        records its own tracking position, and a crash loses the uncommitted
        batches whole, views and position alike. A rebuild reads and parses
        the log's next pages on a thread (``projections.read_ahead``) while it
        projects and writes the current one.
        """
        processed = 0
        copy_envelopes = not self.store.references(log.name, log.recorder)
        position = start = self.position(log) if position is None else position
        end = 0
        if progress is not None:
            end = max(start, (log.recorder.max_notification_id() or 0) if until is None else until)
        with contextlib.ExitStack() as stack:
            pages = self._pages(log, position, until, ahead=written is not None, stack=stack)
            while True:
                group: list[ProjectedBatch] = []
                try:
                    with self.store.transaction() as transaction:
                        group = self._project_group(log, pages, written, transaction, copy_envelopes)
                except TrackingConflict:
                    position = self.position(log)  # someone else projected it: go on from there
                    written = None  # and wrote weapons this process does not know of
                    stack.close()
                    pages = self._pages(log, position, until, ahead=False, stack=stack)
                    continue
                if not group:
                    return processed
                processed += sum(batch.processed for batch in group)
                position = group[-1].last_notification_id
                if progress is not None:
                    end = max(end, position)  # the log grew meanwhile
                    progress(position - start, end - start)

    def _pages(self, log: EnvelopeLog, position: int, until: int | None, *, ahead: bool,
               stack: contextlib.ExitStack) -> Callable[[], ParsedPage | None]:
        """The parsed pages of ``log`` after ``position`` one call after the other (None after the last),
        read ahead on a thread when ``ahead`` (closed with ``stack``)."""
        if ahead and can_read_ahead(log.recorder):
            return stack.enter_context(PagesAhead(log.recorder, position + 1, self.BATCH_SIZE, until)).next

        def next_page() -> ParsedPage | None:
            nonlocal position
            if until is not None and position >= until:
                return None
            notifications = read_page(log.recorder, position + 1, self.BATCH_SIZE, until)
            if not notifications:
                return None
            position = notifications[-1].id
            return parse_page(notifications)
        return next_page

    def _project_group(self, log: EnvelopeLog, pages: Callable[[], ParsedPage | None], written: set[str] | None,
                       transaction: WriteTransaction, copy_envelopes: bool) -> list[ProjectedBatch]:
        """The next batches of ``pages`` written in ``transaction``: one for a catch-up, several for a rebuild;
        the envelopes copied unless ``log`` is the views' own (``ViewStore.references``)."""
        def load_weapons(weapon_ids: Collection[str]) -> Mapping[str, WeaponView]:
            if written is not None:
                weapon_ids = [w for w in weapon_ids if w in written]
            return self.store.load_weapons(weapon_ids, transaction) if weapon_ids else {}

        def load_weapon_events(weapon_ids: Collection[str]) -> list[ViewEvent]:
            return self.store.load_weapon_events(weapon_ids, transaction)

        group: list[ProjectedBatch] = []
        size = self.REBUILD_BATCHES_PER_TRANSACTION if written is not None else 1
        started = time.monotonic()
        while len(group) < size and (not group or time.monotonic() - started < self.REBUILD_TRANSACTION_SECONDS):
            with cyclic_gc_paused():
                page = pages()
                if page is None:
                    break
                batch = project_parsed(page, load_weapons, load_weapon_events, copy_envelopes=copy_envelopes)
                self.store.write(batch, Tracking(log.name, batch.last_notification_id), transaction)
            if written is not None:
                # Loads later in this transaction see these rows; a rollback ends the rebuild's use of the set.
                written.update(weapon.weapon_id for weapon in batch.weapons)
            # What the caller needs of it, without its rows: they need not stay alive until the commit.
            group.append(ProjectedBatch(batch.last_notification_id, batch.processed))
        return group

    # --- queries -----------------------------------------------------------------------

    def lifecycle(self, weapon_id: uuid.UUID | str) -> dict[str, Any] | None:
        """The weapon's marking, description, current state and every record, in lifecycle order.

        None if no record of the weapon was projected. Raises ``InvalidField``
        if ``weapon_id`` is not a UUID; ``MissingRecord`` if a record's row of the own log
        is gone or changed (``projections.store.held_record``).
        """
        weapon_id = _weapon_id(weapon_id)
        rows = self.store.query(
            "SELECT w.weapon_id, w.manufacturer, w.country, w.serial, w.type, w.make, w.model, w.calibre, w.year, "
            "w.status, w.holder, w.place, w.flags, e.stream, e.node, e.version, e.notification_id, "
            f"{self.store.envelope_of('e')} AS envelope "
            "FROM view_weapons w LEFT JOIN view_events e ON e.stream = w.weapon_id WHERE w.weapon_id = ? "
            "ORDER BY e.sequence_on, e.node, e.version", [weapon_id])
        if not rows:
            return None
        weapon = rows[0]
        return {
            "weapon_id": weapon_id,
            "marking": _marking(weapon),
            "description": {k: weapon[k] for k in ("type", "make", "model", "calibre", "year")},
            "status": weapon["status"],
            "holder": weapon["holder"],
            "place": weapon["place"],
            "flags": _flags(weapon),
            "events": [_event(held_record(row)) for row in rows if row["stream"] is not None],
        }

    def find_by_marking(self, manufacturer: str, country: str, serial: str) -> list[str]:
        """Ids of weapons whose normalised marking equals this one (raises ``InvalidField`` if malformed)."""
        key = Marking.read(manufacturer, country, serial).key
        rows = self.store.query("SELECT weapon_id FROM view_weapons WHERE marking_key = ? ORDER BY weapon_id", [key])
        return [row["weapon_id"] for row in rows]

    def weapon_ids_starting(self, prefix: str, limit: int = 6) -> list[str]:
        """Ids of weapons on record that start with ``prefix``, at most ``limit``, in id order.

        Requires ``prefix`` to be lower-case hex digits and dashes (``nodes.values.id_prefix``).
        """
        rows = self.store.query("SELECT weapon_id FROM view_weapons WHERE weapon_id LIKE ? ORDER BY weapon_id LIMIT ?",
                                [f"{prefix}%", limit])
        return [row["weapon_id"] for row in rows]

    def search_serial(self, pattern: str, limit: int = 100) -> list[dict[str, Any]]:
        """Weapons whose normalised serial matches ``pattern`` (``?`` one character, ``*`` any run).

        At most ``limit`` results, ordered by serial. Raises ``InvalidField``
        (field ``serial``) for an empty pattern.
        """
        serial_like(pattern)  # an empty pattern is refused, not taken for "no criterion"
        return [{k: found[k] for k in ("weapon_id", "marking", "status")}
                for found in self.search(serial=pattern, limit=limit)]

    def search(self, *, serial: str = "", make: str = "", model: str = "", calibre: str = "",
               limit: int = 100) -> list[dict[str, Any]]:
        """Weapons matching every criterion given: partial serial as ``search_serial``; make, model
        and calibre whole, ignoring case. Ordered and limited as ``search_serial``, each with its
        ``description`` (make, model, calibre) and ``flags`` (a seizure's, ``reactivated``). Raises
        ``InvalidField`` naming the field, or ``serial`` when no criterion is given.
        """
        where = weapon_filter(serial, make, model, calibre)
        rows = self.store.query(
            "SELECT weapon_id, manufacturer, country, serial, make, model, calibre, status, flags FROM view_weapons "
            f"WHERE {where.condition} ORDER BY serial_key, weapon_id LIMIT ?", [*where.params, max(0, int(limit))])
        return [{"weapon_id": r["weapon_id"], "marking": _marking(r), "status": r["status"],
                 "description": {k: r[k] for k in DESCRIPTION_FIELDS}, "flags": _flags(r)} for r in rows]

    def custody(self, weapon_id: uuid.UUID | str) -> dict[str, Any] | None:
        """Current holder, place (state), status and since when (occurred_on); None if unknown."""
        weapon_id = _weapon_id(weapon_id)
        rows = self.store.query("SELECT holder, place, status, since FROM view_weapons WHERE weapon_id = ?",
                                [weapon_id])
        if not rows:
            return None
        row = rows[0]
        return {"weapon_id": weapon_id, "holder": row["holder"], "place": row["place"], "status": row["status"],
                "since": row["since"]}

    def open_shipments(self, now: int, overdue_days: int | None = None) -> list[dict[str, Any]]:
        """Shipments exported and not confirmed as received (FP art 10(4)), oldest first.

        ``age_days`` is whole days from ``exported_on`` to ``now``; with
        ``overdue_days``, only shipments at least that old. A shipment is
        closed by ``Shipment.ReceiptConfirmed`` or by any ``Weapon.ReceiptConfirmed``
        naming it, from whichever node.
        """
        condition, params = "", []
        if overdue_days is not None:
            condition, params = " AND s.exported_on <= ?", [now - overdue_days * SECONDS_PER_DAY]
        rows = self.store.query(
            "SELECT s.*, sw.weapon_id FROM view_shipments s "
            "LEFT JOIN view_shipment_weapons sw ON sw.shipment_id = s.shipment_id "
            f"WHERE s.received_on IS NULL AND s.exported_on IS NOT NULL{condition} "
            "ORDER BY s.exported_on, s.shipment_id, sw.weapon_id", params)
        shipments = _shipments(rows)
        for shipment in shipments:
            shipment["age_days"] = (now - shipment["exported_on"]) // SECONDS_PER_DAY
        return shipments

    def received_shipments(self, limit: int = 50) -> list[dict[str, Any]]:
        """This log's shipments whose receipt was confirmed, latest receipt first (at most ``limit``),
        each as ``open_shipments`` gives them plus ``received_on`` and ``received_by_node``."""
        rows = self.store.query(
            "SELECT s.*, sw.weapon_id FROM view_shipments s "
            "LEFT JOIN view_shipment_weapons sw ON sw.shipment_id = s.shipment_id "
            "WHERE s.shipment_id IN (SELECT shipment_id FROM view_shipments "
            "WHERE received_on IS NOT NULL AND exported_on IS NOT NULL ORDER BY received_on DESC LIMIT ?) "
            "ORDER BY s.received_on DESC, s.shipment_id, sw.weapon_id", [max(0, int(limit))])
        shipments = _shipments(rows)
        for shipment, first in zip(shipments, {r["shipment_id"]: r for r in rows}.values(), strict=True):
            shipment["received_on"], shipment["received_by_node"] = first["received_on"], first["received_by_node"]
        return shipments

    def statistics(self) -> dict[str, Any]:
        """Counts in the shape of UNODC's illicit arms flows (seizure) questionnaire.

        ``by_type``, ``by_state`` (the state of the node that recorded the
        record) and ``by_month`` (``YYYY-MM`` of occurred_on, UTC) count
        records; ``by_weapon_type`` and ``by_country_of_manufacture`` (the
        marking's country) count weapons; ``seizures_by_type_and_month`` and
        ``seizures_by_country_of_manufacture`` count ``Weapon.Seized`` records
        by the seized weapon's type and marking.
        """
        seizures = ("FROM view_events e JOIN view_weapons w ON w.weapon_id = e.stream "
                    f"WHERE e.type = '{SEIZED}'")
        with self.store.reading() as cursor:
            def counts(statement: str) -> dict[str, int]:
                return {row["k"]: row["n"] for row in self.store.select(cursor, statement)}

            by_type_and_month: dict[str, dict[str, int]] = {}
            for row in self.store.select(cursor, f"SELECT w.type AS k, e.month AS m, COUNT(*) AS n {seizures} "
                                                 "GROUP BY w.type, e.month ORDER BY w.type, e.month"):
                by_type_and_month.setdefault(row["k"], {})[row["m"]] = row["n"]
            by_type = counts("SELECT type AS k, COUNT(*) AS n FROM view_events GROUP BY type ORDER BY type")
            by_weapon_type = counts("SELECT type AS k, COUNT(*) AS n FROM view_weapons GROUP BY type ORDER BY type")
            return {
                "events": sum(by_type.values()),
                "weapons": sum(by_weapon_type.values()),
                "by_type": by_type,
                "by_state": counts("SELECT node AS k, COUNT(*) AS n FROM view_events GROUP BY node ORDER BY node"),
                "by_month": counts("SELECT month AS k, COUNT(*) AS n FROM view_events GROUP BY month ORDER BY month"),
                "by_weapon_type": by_weapon_type,
                "by_country_of_manufacture": counts(
                    "SELECT country AS k, COUNT(*) AS n FROM view_weapons GROUP BY country ORDER BY country"),
                "seizures_by_type_and_month": by_type_and_month,
                "seizures_by_country_of_manufacture": counts(
                    f"SELECT w.country AS k, COUNT(*) AS n {seizures} GROUP BY w.country ORDER BY w.country"),
            }




def _weapon_id(value: uuid.UUID | str) -> str:
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip()))
    except ValueError:
        raise InvalidField(f"{value!r} is not a weapon id (UUID)", field="weapon") from None


def _shipments(rows: list[Any]) -> list[dict[str, Any]]:
    """Rows of ``view_shipments`` joined to their weapons, one dict per shipment in row order."""
    shipments: dict[str, dict[str, Any]] = {}
    for row in rows:
        shipment = shipments.get(row["shipment_id"])
        if shipment is None:
            shipment = shipments[row["shipment_id"]] = {
                "shipment_id": row["shipment_id"], "node": row["node"],
                "export_licence": row["export_licence"], "import_authorization": row["import_authorization"],
                "from_state": row["from_state"], "to_state": row["to_state"],
                "transit": [s for s in row["transit"].split(",") if s], "consignee": row["consignee"],
                "weapons": [], "exported_on": row["exported_on"],
            }
        if row["weapon_id"] is not None:
            shipment["weapons"].append(row["weapon_id"])
    return list(shipments.values())


def _marking(row: Any) -> dict[str, str]:
    return {"manufacturer": row["manufacturer"], "country": row["country"], "serial": row["serial"]}


def _flags(row: Any) -> list[str]:
    return [f for f in row["flags"].split(",") if f]


def _event(envelope: Envelope) -> dict[str, Any]:
    return {
        "type": envelope.type,
        "occurred_on": envelope.occurred_on,
        "recorded_at": envelope.recorded_at,
        "authority": envelope.authority,
        "node": envelope.node,
        "hash": envelope.hash.hex(),
        "version": envelope.version,
        "fields": dict(envelope.body),
    }

