"""The ``sqlite:PATH`` target: the embedded default (a fresh machine needs nothing else).

Layout, exactly as the contract gives it (dates in epoch milliseconds,
``value`` NULL on a tombstone)::

    datasets(identity_pool_id TEXT, identity_id TEXT, dataset_name TEXT,
             dataset_sync_count INTEGER, num_records INTEGER, data_storage INTEGER,
             creation_date INTEGER, last_modified_date INTEGER, last_modified_by TEXT,
             deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (identity_id, dataset_name))
    records(identity_id TEXT, dataset_name TEXT, key TEXT, value TEXT,
            deleted INTEGER NOT NULL, sync_count INTEGER, last_modified_date INTEGER,
            last_modified_by TEXT, device_last_modified_date INTEGER,
            PRIMARY KEY (identity_id, dataset_name, key))

The file is in WAL mode, so several processes (shards) can write into one
file at once (with a generous busy timeout), with ``synchronous=NORMAL``:
a commit survives the process being killed (``kill -9``) at once; after a
power cut the last commits may be lost, but the log is replayed in order,
so a dataset row (the cursor) never survives without the records committed
before it, and a rerun redoes what was lost. (``synchronous=FULL``, an fsync
per commit, made a first copy several times slower for no gain in
correctness.) Every method is one transaction (``BEGIN
IMMEDIATE`` for writes), run off the event loop on one connection (calls are
serialized by a lock: SQLite serializes writers anyway).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

from ._target import DatasetRow, RecordRow, TargetError, TargetLayoutError, WriteResult

T = TypeVar("T")

DATASETS_DDL = """CREATE TABLE IF NOT EXISTS datasets(
    identity_pool_id TEXT, identity_id TEXT, dataset_name TEXT,
    dataset_sync_count INTEGER, num_records INTEGER, data_storage INTEGER,
    creation_date INTEGER, last_modified_date INTEGER, last_modified_by TEXT,
    deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (identity_id, dataset_name))"""
RECORDS_DDL = """CREATE TABLE IF NOT EXISTS records(
    identity_id TEXT, dataset_name TEXT, key TEXT, value TEXT,
    deleted INTEGER NOT NULL, sync_count INTEGER, last_modified_date INTEGER,
    last_modified_by TEXT, device_last_modified_date INTEGER,
    PRIMARY KEY (identity_id, dataset_name, key))"""

LAYOUT: dict[str, tuple[list[str], list[str]]] = {
    "datasets": (
        ["identity_pool_id", "identity_id", "dataset_name", "dataset_sync_count",
         "num_records", "data_storage", "creation_date", "last_modified_date",
         "last_modified_by", "deleted"],
        ["identity_id", "dataset_name"],
    ),
    "records": (
        ["identity_id", "dataset_name", "key", "value", "deleted", "sync_count",
         "last_modified_date", "last_modified_by", "device_last_modified_date"],
        ["identity_id", "dataset_name", "key"],
    ),
}

_UPSERT = (
    "INSERT INTO records(identity_id, dataset_name, key, value, deleted, sync_count, "
    "last_modified_date, last_modified_by, device_last_modified_date) "
    "VALUES (?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT(identity_id, dataset_name, key) DO UPDATE SET value=excluded.value, "
    "deleted=excluded.deleted, sync_count=excluded.sync_count, "
    "last_modified_date=excluded.last_modified_date, "
    "last_modified_by=excluded.last_modified_by, "
    "device_last_modified_date=excluded.device_last_modified_date"
)


def _record_values(identity_id: str, dataset_name: str, r: RecordRow) -> tuple[Any, ...]:
    return (identity_id, dataset_name, r.key, r.value, int(r.value is None), r.sync_count,
            r.last_modified_date, r.last_modified_by, r.device_last_modified_date)


def _row_record(row: sqlite3.Row) -> RecordRow:
    return RecordRow(
        key=row["key"], value=None if row["deleted"] else row["value"],
        sync_count=int(row["sync_count"] or 0), last_modified_date=row["last_modified_date"],
        last_modified_by=row["last_modified_by"],
        device_last_modified_date=row["device_last_modified_date"],
    )


def _row_dataset(row: sqlite3.Row) -> DatasetRow:
    return DatasetRow(
        identity_pool_id=row["identity_pool_id"], identity_id=row["identity_id"],
        dataset_name=row["dataset_name"], dataset_sync_count=int(row["dataset_sync_count"] or 0),
        num_records=row["num_records"], data_storage=row["data_storage"],
        creation_date=row["creation_date"], last_modified_date=row["last_modified_date"],
        last_modified_by=row["last_modified_by"], deleted=bool(row["deleted"]),
    )


class SqliteTarget:
    """``sqlite:PATH``: the copy in one SQLite file (created with its tables if missing,
    unless ``existing``: then a missing file is a :class:`TargetError`)."""

    def __init__(self, path: str, *, spec: str | None = None, create_table: bool = False,
                 existing: bool = False, busy_timeout: float = 60.0) -> None:
        self.path = path
        self._existing = existing
        self.spec = spec if spec is not None else f"sqlite:{path}"
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SqliteTarget({self.path!r})"

    # ------------------------------------------------------------------ lifecycle

    def _open(self) -> sqlite3.Connection:
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise TargetError(f"{self.spec}: directory {directory} does not exist")
        if self._existing and not os.path.isfile(self.path):
            raise TargetError(f"{self.spec}: no such file (nothing to compare against)")
        try:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise TargetError(f"{self.spec}: cannot open: {exc}") from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
            self._set_up(conn)
            self._check_layout(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise TargetError(f"{self.spec}: not a usable SQLite database: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _set_up(self, conn: sqlite3.Connection) -> None:
        """WAL mode and the tables. Shards opening a new file at once can meet
        "database is locked" here without SQLite's busy handler waiting (switching
        a fresh file to WAL takes an exclusive lock): try again until the busy
        timeout has passed."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(DATASETS_DDL)
                conn.execute(RECORDS_DDL)
                conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                time.sleep(0.02)

    def _check_layout(self, conn: sqlite3.Connection) -> None:
        for table, (columns, keys) in LAYOUT.items():
            info = conn.execute(f"PRAGMA table_info({table})").fetchall()
            have = {r["name"] for r in info}
            missing = [c for c in columns if c not in have]
            pk = [r["name"] for r in sorted((r for r in info if r["pk"]), key=lambda r: r["pk"])]
            if missing or pk != keys:
                raise TargetLayoutError(
                    f"{self.spec}: table {table} does not have the mirror's layout "
                    f"(missing columns: {', '.join(missing) or 'none'}; primary key "
                    f"({', '.join(pk)}) instead of ({', '.join(keys)}))"
                )

    async def open(self) -> None:
        if self._conn is None:
            self._conn = await asyncio.to_thread(self._open)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            async with self._lock:
                await asyncio.to_thread(conn.close)

    async def __aenter__(self) -> SqliteTarget:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _run(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = True) -> T:
        """``fn(conn)`` in one transaction, off the loop (``write``: taking the write
        lock at once, so two writers never deadlock; reads take none, in WAL mode)."""
        conn = self._conn
        if conn is None:
            raise TargetError(f"{self.spec}: not open")

        def tx() -> T:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        async with self._lock:
            return await asyncio.to_thread(tx)

    # ------------------------------------------------------------------ the protocol

    async def datasets(self, identity_id: str) -> dict[str, DatasetRow]:
        def q(conn: sqlite3.Connection) -> dict[str, DatasetRow]:
            rows = conn.execute("SELECT * FROM datasets WHERE identity_id=?",
                                (identity_id,)).fetchall()
            return {r["dataset_name"]: _row_dataset(r) for r in rows}

        return await self._run(q, write=False)

    async def write_records(
        self, identity_id: str, dataset_name: str, records: Sequence[RecordRow], *,
        exact: bool = False,
    ) -> WriteResult:
        def w(conn: sqlite3.Connection) -> WriteResult:
            if not exact:
                before = conn.total_changes
                conn.executemany(
                    _UPSERT + " WHERE excluded.sync_count > records.sync_count",
                    [_record_values(identity_id, dataset_name, r) for r in records],
                )
                return WriteResult(written=conn.total_changes - before)
            old = {
                row["key"]: _row_record(row)
                for row in conn.execute(
                    "SELECT * FROM records WHERE identity_id=? AND dataset_name=?",
                    (identity_id, dataset_name),
                )
            }
            new = {r.key: r for r in records}
            gone = [k for k in old if k not in new]
            conn.executemany(
                "DELETE FROM records WHERE identity_id=? AND dataset_name=? AND key=?",
                [(identity_id, dataset_name, k) for k in gone],
            )
            changed = [r for r in new.values() if old.get(r.key) != r]
            conn.executemany(_UPSERT, [_record_values(identity_id, dataset_name, r)
                                       for r in changed])
            return WriteResult(written=len(changed), removed=len(gone))

        return await self._run(w)

    @staticmethod
    def _put_row(conn: sqlite3.Connection, row: DatasetRow) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO datasets(identity_pool_id, identity_id, dataset_name, "
            "dataset_sync_count, num_records, data_storage, creation_date, last_modified_date, "
            "last_modified_by, deleted) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (row.identity_pool_id, row.identity_id, row.dataset_name, row.dataset_sync_count,
             row.num_records, row.data_storage, row.creation_date, row.last_modified_date,
             row.last_modified_by, int(row.deleted)),
        )

    async def write_dataset(self, row: DatasetRow) -> None:
        await self._run(lambda conn: self._put_row(conn, row))

    async def delete_dataset(self, row: DatasetRow) -> int:
        def d(conn: sqlite3.Connection) -> int:
            cur = conn.execute("DELETE FROM records WHERE identity_id=? AND dataset_name=?",
                               (row.identity_id, row.dataset_name))
            self._put_row(conn, row)
            return cur.rowcount

        return await self._run(d)

    async def records(self, identity_id: str, dataset_name: str) -> list[RecordRow]:
        def q(conn: sqlite3.Connection) -> list[RecordRow]:
            rows = conn.execute(
                "SELECT * FROM records WHERE identity_id=? AND dataset_name=? ORDER BY key",
                (identity_id, dataset_name),
            ).fetchall()
            return [_row_record(r) for r in rows]

        return await self._run(q, write=False)

    async def identities(self) -> AsyncIterator[str]:
        after = ""
        while True:
            def page(conn: sqlite3.Connection, after: str = after) -> list[str]:
                rows = conn.execute(
                    "SELECT DISTINCT identity_id FROM datasets WHERE identity_id > ? "
                    "ORDER BY identity_id LIMIT 1000", (after,),
                ).fetchall()
                return [r[0] for r in rows]

            ids = await self._run(page, write=False)
            if not ids:
                return
            for ident in ids:
                yield ident
            after = ids[-1]
