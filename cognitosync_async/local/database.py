"""The emulator's SQLite database: one connection, one lock, one schema.

:meth:`Database.transaction` takes the lock and runs one ``BEGIN IMMEDIATE`` …
``COMMIT`` (``ROLLBACK`` on any exception), so an ``UpdateRecords`` applies all
its patches or none, and of two writers with the same sync count exactly one
wins. :meth:`Database.read` takes the lock only, for a single read. File
databases use WAL with ``synchronous=FULL``: an acknowledged write survives
``kill -9``. Everything here blocks; handlers call the stores through
``asyncio.to_thread``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ._errors import ServiceException

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pools (
    pool_id TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    sync_sessions INTEGER NOT NULL DEFAULT 0,
    push_sync TEXT,
    cognito_streams TEXT,
    events TEXT NOT NULL DEFAULT '{}',
    bulk_status TEXT,
    bulk_start_ms INTEGER,
    bulk_due_ms INTEGER,
    bulk_complete_ms INTEGER,
    bulk_failure TEXT
);
CREATE TABLE IF NOT EXISTS identities (
    pool_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    PRIMARY KEY (pool_id, identity_id)
);
CREATE TABLE IF NOT EXISTS datasets (
    pool_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    name TEXT NOT NULL,
    live INTEGER NOT NULL,
    sync_count INTEGER NOT NULL,
    deleted_max INTEGER,
    created_ms INTEGER,
    last_modified_ms INTEGER,
    last_modified_by TEXT,
    PRIMARY KEY (pool_id, identity_id, name)
);
CREATE TABLE IF NOT EXISTS records (
    pool_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    dataset TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    sync_count INTEGER NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    last_modified_by TEXT NOT NULL,
    device_last_modified_ms INTEGER,
    PRIMARY KEY (pool_id, identity_id, dataset, key)
);
CREATE INDEX IF NOT EXISTS records_by_count
    ON records (pool_id, identity_id, dataset, sync_count, key);
CREATE TABLE IF NOT EXISTS sessions (
    token TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    dataset TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    token TEXT NOT NULL,
    UNIQUE (pool_id, identity_id, platform, token)
);
CREATE TABLE IF NOT EXISTS subscriptions (
    pool_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    dataset TEXT NOT NULL,
    device_id TEXT NOT NULL,
    PRIMARY KEY (pool_id, identity_id, dataset, device_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    pool_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
    access_key_id TEXT PRIMARY KEY,
    secret_access_key TEXT NOT NULL,
    session_token TEXT NOT NULL,
    pool_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    expiration_ms INTEGER NOT NULL
);
-- Cognito Identity side (local/identity.py): logins linked to identities, and the
-- OpenID tokens GetOpenIdTokenForDeveloperIdentity issued.
CREATE TABLE IF NOT EXISTS identity_logins (
    pool_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    PRIMARY KEY (pool_id, provider, subject)
);
-- Merges (docs/service-behaviour.md#c3, #c5): the datasets a merge moved under the
-- surviving identity (reported in MergedDatasetNames of their parent), and the
-- identities merged away.
CREATE TABLE IF NOT EXISTS merged_datasets (
    pool_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    parent TEXT NOT NULL,
    name TEXT NOT NULL,
    source_identity_id TEXT NOT NULL,
    PRIMARY KEY (pool_id, identity_id, name)
);
CREATE TABLE IF NOT EXISTS disabled_identities (
    pool_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    merged_into TEXT NOT NULL,
    PRIMARY KEY (pool_id, identity_id)
);
CREATE TABLE IF NOT EXISTS developer_providers (
    pool_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    PRIMARY KEY (pool_id, provider)
);
CREATE TABLE IF NOT EXISTS openid_tokens (
    token TEXT PRIMARY KEY,
    pool_id TEXT NOT NULL,
    identity_id TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
);
"""


class Database:
    """One SQLite database (``None`` = in memory), shared by every store."""

    def __init__(self, db_path: str | None = None, *, durable: bool = True) -> None:
        """``durable=False`` skips the fsync after each commit (a throw-away file)."""
        self.db_path = db_path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            db_path or ":memory:", isolation_level=None, check_same_thread=False, timeout=10.0
        )
        self._conn.row_factory = sqlite3.Row
        if db_path:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        self._conn.execute("PRAGMA busy_timeout=10000")
        with self._lock:
            self._conn.executescript(_SCHEMA)
        self._closed = False

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._lock:
            if self._closed:
                raise ServiceException("InternalErrorException", "The service is shutting down")
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection under the lock, outside any transaction (one read)."""
        with self._lock:
            if self._closed:
                raise ServiceException("InternalErrorException", "The service is shutting down")
            yield self._conn
