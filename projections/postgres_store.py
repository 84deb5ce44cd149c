"""The views on PostgreSQL: eventsourcing's ``PostgresTrackingRecorder`` plus the view tables.

Construct through the library's factory with an environment named ``views``,
as its materialised-view examples do; the factory then names the tracking
table ``views_tracking``::

    InfrastructureFactory.construct(Environment("views", env)).tracking_recorder(PostgresViewStore)
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.errors import UniqueViolation
from psycopg.sql import SQL, Composable, Identifier

from projections.store import (
    ASIDE_INDEXES,
    ASIDE_SUFFIX,
    PRIMARY_KEYS,
    TABLES_DDL,
    TRACKING_TABLE,
    VIEW_TABLES,
    OwnLog,
    RowsInto,
    ViewStore,
    WriteTransaction,
)

# text_pattern_ops: a B-tree index serves LIKE 'prefix%' whatever the database's
# collation (with a non-C collation a plain text index cannot).
_DIALECT = {"bytes": "BYTEA", "serial": "TEXT", "pattern_ops": " text_pattern_ops"}
#: Connections that make a rebuild's keys, indexes and statistics at once (each a sort on its own server process).
SWAP_CONNECTIONS = 2


class PostgresViewStore(ViewStore, PostgresTrackingRecorder):
    dialect = _DIALECT
    # The server's COPY into a fresh table without its primary key's index, then one index built by a sort:
    # a tenth less of the server's CPU in a rebuild.
    keys_last = True

    def __init__(self, datastore: PostgresDatastore, *, tracking_table_name: str = TRACKING_TABLE, **kwargs: Any):
        if tracking_table_name != TRACKING_TABLE:
            raise ValueError(f"construct the views' store with an environment named 'views' "
                             f"(tracking table {TRACKING_TABLE!r}, not {tracking_table_name!r})")
        if not datastore.single_row_tracking:
            raise ValueError("the views need single-row tracking (SINGLE_ROW_TRACKING=yes)")
        super().__init__(datastore, tracking_table_name=tracking_table_name, **kwargs)
        self.sql_create_statements.extend(SQL(ddl.format(**_DIALECT)) for ddl in TABLES_DDL)  # type: ignore[misc]  # SQL is accepted where psycopg types Composed
        self._statements: dict[str, str] = {}

    def sql(self, statement: str) -> str:
        converted = self._statements.get(statement)
        if converted is None:
            # No statement of the views contains a literal '?' or '%': values are parameters.
            converted = self._statements[statement] = statement.replace("?", "%s")
        return converted

    def own_log_named(self, name: str) -> OwnLog:
        # As the library's factory names an application's events table.
        table = f"{name.lower()}_events"
        return OwnLog(name, table, SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(table)
                                                        ).as_string(None), "notification_id")

    def _same_database(self, recorder: Any) -> bool:
        from eventsourcing.postgres import PostgresApplicationRecorder

        def database(datastore: PostgresDatastore) -> tuple[Any, ...]:
            kwargs = datastore.pool.kwargs if isinstance(datastore.pool.kwargs, dict) else {}
            return (kwargs.get("host"), kwargs.get("port"), kwargs.get("dbname"), datastore.schema)

        return isinstance(recorder, PostgresApplicationRecorder) and database(recorder.datastore) == database(
            self.datastore)

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.datastore.get_connection() as connection:  # autocommit: the statement is its own snapshot
            return connection.execute(self.sql(statement), tuple(params)).fetchall()

    def select_in(self, cursor: Any, statement: str, values: Collection[str]) -> list[Any]:
        if not values:
            return []
        return self.select(cursor, statement.replace("IN ?", "= ANY(?)"), [list(values)])

    def _insert(self, transaction: WriteTransaction, rows_into: RowsInto, rows: Sequence[tuple]) -> None:
        # COPY into a session-local staging table, then one INSERT ... SELECT with
        # the conflict clause: a third of the time of executemany, whose
        # per-row pipeline work in Python dominated a rebuild. The staging table
        # is made once per transaction (a rebuild writes several batches in one)
        # and emptied after each batch's INSERT, so no batch sees another's rows.
        cursor = transaction.cursor
        staging = f"views_staging_{rows_into.name}"
        if staging not in transaction.prepared:
            cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
                           f"({', '.join(f'{name} {kind}' for name, kind in rows_into.columns)}) "
                           "ON COMMIT DELETE ROWS")
            transaction.prepared.add(staging)
        with cursor.copy(f"COPY {staging} ({rows_into.column_list}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([kind for _, kind in rows_into.columns])
            for row in rows:
                copy.write_row(row)
        # One round trip for both (no parameters: the simple query protocol takes several statements).
        cursor.execute(f"INSERT INTO {rows_into.table} ({rows_into.column_list}) "
                       f"SELECT {rows_into.column_list} FROM {staging} {rows_into.on_conflict}; TRUNCATE {staging}")

    def _insert_new(self, transaction: WriteTransaction, rows_into: RowsInto, rows: Sequence[tuple]) -> None:
        # COPY straight into the table, in a savepoint: without a staging table the server writes
        # the rows once, not three times (staging, table, truncate), which was half of a rebuild.
        # Where a key is taken already (another log held the record, another process wrote the
        # weapon meanwhile) the COPY fails whole, and the rows go the way of ``_insert`` instead:
        # when it succeeds, no row conflicted, so the conflict clause would have done nothing.
        if not rows:
            return
        cursor = transaction.cursor
        try:
            with cursor.connection.transaction():  # a savepoint
                with cursor.copy(f"COPY {rows_into.table} ({rows_into.column_list}) FROM STDIN (FORMAT BINARY)"
                                 ) as copy:
                    copy.set_types([kind for _, kind in rows_into.columns])
                    for row in rows:
                        copy.write_row(row)
        except UniqueViolation:
            self._insert(transaction, rows_into, rows)

    @contextlib.contextmanager
    def aside_transaction(self) -> Iterator[WriteTransaction]:
        with super().aside_transaction() as transaction:
            # Its commit need not wait for the disk: swap_aside's does, and that flush of the WAL takes
            # every earlier commit's records with it. A crash before loses fresh tables the next rebuild drops.
            transaction.cursor.execute("SET LOCAL synchronous_commit = off")
            yield transaction

    def insert_aside(self, transaction: WriteTransaction, rows_into: RowsInto, rows: Sequence[tuple]) -> None:
        with transaction.cursor.copy(f"COPY {rows_into.table} ({rows_into.column_list}) FROM STDIN (FORMAT BINARY)"
                                     ) as copy:
            copy.set_types([kind for _, kind in rows_into.columns])
            for row in rows:
                copy.write_row(row)

    def _index_aside(self) -> None:
        # The filled fresh tables' primary keys and the queries' indexes, then their planner statistics, made
        # before the swap on SWAP_CONNECTIONS connections at once: each is a sort of one table on the server,
        # and one connection made them one after the other while the swap's transaction waited. They are
        # renamed into the views' names in the swap (``_index_swapped``). Fresh tables have no statistics until
        # autovacuum's analyze comes round: till then every query of the views would be planned on guesses (a
        # stream's rows as 0.5 % of the table, and JIT). A rename keeps a table's statistics and its indexes'.
        self._at_once([SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                           Identifier(f"{table}{ASIDE_SUFFIX}"), SQL(PRIMARY_KEYS[table]))
                       for table in VIEW_TABLES]
                      + [SQL(index.ddl.format(**_DIALECT)) for index in ASIDE_INDEXES])
        # After every index: ANALYZE gathers the statistics of the expression indexes (lower(make), ...) too.
        self._at_once([[Identifier(f"{VIEW_TABLES[0]}{ASIDE_SUFFIX}")],
                       [Identifier(f"{table}{ASIDE_SUFFIX}") for table in VIEW_TABLES[1:]]], analyze=True)

    def _at_once(self, work: Sequence[Composable] | Sequence[Sequence[Composable]], analyze: bool = False) -> None:
        """``work`` done in order by up to ``SWAP_CONNECTIONS`` connections at once, each item taken by the first
        connection free and done in a transaction of its own (so that no lock is held while another item
        waits for it), whose commit need not wait for the disk (the swap's does): statements, or (``analyze``)
        lists of tables, each analyzed by ``analyze_quickly``. After a failure no connection takes another item;
        once every connection is done, the failure is raised (the first connection's, if several failed)."""
        pending = collections.deque(work)

        def run() -> None:
            while True:
                try:
                    item = pending.popleft()
                except IndexError:
                    return
                try:
                    with self.datastore.transaction(commit=True) as cursor:
                        cursor.execute("SET LOCAL synchronous_commit = off")
                        if analyze:
                            analyze_quickly(cursor, item)  # type: ignore[arg-type]
                        else:
                            cursor.execute(item)
                except BaseException:
                    pending.clear()
                    raise

        connections = min(SWAP_CONNECTIONS, len(work))
        with ThreadPoolExecutor(connections, thread_name_prefix="views-swap") as pool:
            done = [pool.submit(run) for _ in range(connections)]
        for future in done:
            future.result()

    def _index_swapped(self, cursor: Any) -> None:
        for table in VIEW_TABLES:
            cursor.execute(SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                Identifier(table), Identifier(f"{table}{ASIDE_SUFFIX}_pkey"), Identifier(f"{table}_pkey")))
        for index in ASIDE_INDEXES:
            cursor.execute(SQL("ALTER INDEX {} RENAME TO {}").format(Identifier(index.aside_name),
                                                                    Identifier(index.name)))

    def _lock_tracking(self, cursor: Any) -> None:
        # SHARE ROW EXCLUSIVE conflicts with itself and with every write of the table's rows.
        cursor.execute(f"LOCK TABLE {TRACKING_TABLE} IN SHARE ROW EXCLUSIVE MODE")

    def _clear(self, cursor: Any) -> None:
        cursor.execute(SQL("TRUNCATE {}").format(SQL(", ").join(Identifier(t) for t in VIEW_TABLES)))
        self._clear_tracking(cursor)


QUICK_STATISTICS_TARGET = 10
"""The statistics target of ``analyze_quickly``: samples of 3,000 rows instead of the default's 30,000."""


def analyze_quickly(cursor: Any, tables: Sequence[Composable]) -> None:
    """ANALYZE ``tables`` (in ``cursor``'s transaction) with samples of 3,000 rows: after a bulk load, enough
    for the planner to stop guessing, at about a seventh of a full ANALYZE (the views of 40,000 records: 29
    against 207 ms). Autovacuum's own analyze, at the default target, refines them once enough has changed."""
    cursor.execute(f"SET LOCAL default_statistics_target = {QUICK_STATISTICS_TARGET}")
    cursor.execute(SQL("ANALYZE {}").format(SQL(", ").join(tables)))
