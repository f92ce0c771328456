"""SQLite storage and the service rules that need a transaction.

One connection, one lock: every public method takes the lock and runs one
transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), so an ``UpdateRecords`` applies
all its patches or none, and of two writers with the same sync count exactly
one wins. File databases use WAL with ``synchronous=FULL``: an acknowledged
write survives ``kill -9``. Methods are blocking; the server calls them through
``asyncio.to_thread``.

Times are stored as integer epoch milliseconds. Methods return plain dicts in
the wire shape (PascalCase members, absent members left out).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs

from ._errors import MAX_LONG, ServiceException, invalid_parameter, not_found

MAX_RECORDS_PER_DATASET = 1024
MAX_DATASETS_PER_IDENTITY = 20
MAX_DATASET_BYTES = 1024 * 1024
DEFAULT_RECORDS_PAGE = 1024
DEFAULT_DATASETS_PAGE = 64
DEFAULT_POOLS_PAGE = 64
MAX_PAGE = 1024
BULK_PUBLISH_INTERVAL_MS = 24 * 3600 * 1000

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
-- Merges (SERVICE.md C3, C5): the datasets a merge moved under the surviving identity
-- (reported in MergedDatasetNames of their parent), and the identities merged away.
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


def now_ms() -> int:
    return int(time.time() * 1000)


def ts(ms: int) -> float:
    """Epoch milliseconds as the wire's epoch seconds with milliseconds."""
    return ms / 1000


#: Leading bytes of every token: they encode as ``+/+/``, so each token exercises a
#: client's percent-encoding of ``+`` and ``/`` (the JSON after them is ASCII, which
#: alone never yields either); ``=`` padding follows the JSON's length.
_TOKEN_MARK = b"\xfb\xff\xbf"


def encode_token(data: dict[str, Any]) -> str:
    """An opaque paging token in standard base64, ``+ / =`` included (SERVICE.md C7)."""
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.b64encode(_TOKEN_MARK + raw).decode()


def decode_token(token: str, name: str = "nextToken") -> dict[str, Any]:
    """The position a token holds; any token this service did not issue is a 400."""
    try:
        raw = base64.b64decode(token, validate=True)
        if not raw.startswith(_TOKEN_MARK):
            raise ValueError("not a token of this service")
        data = json.loads(raw[len(_TOKEN_MARK):])
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise invalid_parameter(f"Invalid {name}") from None
    if not isinstance(data, dict):
        raise invalid_parameter(f"Invalid {name}")
    for value in data.values():  # positions are flat: strings and 64-bit counts only
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise invalid_parameter(f"Invalid {name}")
        if isinstance(value, int) and not 0 <= value <= MAX_LONG:
            raise invalid_parameter(f"Invalid {name}")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise invalid_parameter(f"Invalid {name}") from None
    return data


@attrs.frozen
class Patch:
    """One validated RecordPatch."""

    op: str
    key: str
    sync_count: int
    value: str | None = None
    device_last_modified_ms: int | None = None


@attrs.frozen
class StoredCredentials:
    """Identity-bound credentials as stored (shared with the command line)."""

    access_key_id: str
    secret_access_key: str = attrs.field(repr=False)
    session_token: str = attrs.field(repr=False)
    identity_pool_id: str
    identity_id: str
    expiration_ms: int


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


class Storage:
    """The emulator's state in one SQLite database (``None`` = in memory)."""

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
    def _tx(self) -> Iterator[sqlite3.Connection]:
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

    # ------------------------------------------------------------------ pools, identities

    @staticmethod
    def _pool_exists(conn: sqlite3.Connection, pool_id: str) -> bool:
        row = conn.execute("SELECT 1 FROM pools WHERE pool_id=?", (pool_id,)).fetchone()
        return row is not None

    @staticmethod
    def _create_pool(conn: sqlite3.Connection, pool_id: str) -> None:
        t = now_ms()
        conn.execute(
            "INSERT OR IGNORE INTO pools (pool_id, created_ms, last_modified_ms) VALUES (?,?,?)",
            (pool_id, t, t),
        )

    def ensure(self, pool_id: str, identity_id: str | None, *, create: bool) -> None:
        """Make sure the pool (and identity) exist: create them, or raise 404."""
        with self._tx() as conn:
            if not self._pool_exists(conn, pool_id):
                if not create:
                    raise not_found(f"Identity pool {pool_id} not found")
                self._create_pool(conn, pool_id)
            if identity_id is None:
                return
            row = conn.execute(
                "SELECT 1 FROM identities WHERE pool_id=? AND identity_id=?",
                (pool_id, identity_id),
            ).fetchone()
            if row is None:
                if not create:
                    raise not_found(f"Identity {identity_id} not found")
                t = now_ms()
                conn.execute(
                    "INSERT INTO identities VALUES (?,?,?,?)", (pool_id, identity_id, t, t)
                )

    def seed_pool(self, pool_id: str) -> None:
        self.ensure(pool_id, None, create=True)

    def seed_identity(self, pool_id: str, identity_id: str) -> None:
        self.ensure(pool_id, identity_id, create=True)

    # ------------------------------------------------------------------ credentials

    def put_credentials(self, creds: StoredCredentials) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO credentials VALUES (?,?,?,?,?,?)",
                (
                    creds.access_key_id,
                    creds.secret_access_key,
                    creds.session_token,
                    creds.identity_pool_id,
                    creds.identity_id,
                    creds.expiration_ms,
                ),
            )

    def get_credentials(self, access_key_id: str) -> StoredCredentials | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM credentials WHERE access_key_id=?", (access_key_id,)
            ).fetchone()
        if row is None:
            return None
        return StoredCredentials(
            access_key_id=row["access_key_id"],
            secret_access_key=row["secret_access_key"],
            session_token=row["session_token"],
            identity_pool_id=row["pool_id"],
            identity_id=row["identity_id"],
            expiration_ms=row["expiration_ms"],
        )

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _dataset_row(
        conn: sqlite3.Connection, pool_id: str, identity_id: str, name: str
    ) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM datasets WHERE pool_id=? AND identity_id=? AND name=?",
            (pool_id, identity_id, name),
        ).fetchone()
        return row

    @staticmethod
    def _dataset_usage(
        conn: sqlite3.Connection, pool_id: str, identity_id: str, name: str
    ) -> tuple[int, int]:
        row = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(CAST(value AS BLOB)))"
            ", 0) FROM records WHERE pool_id=? AND identity_id=? AND dataset=? "
            "AND value IS NOT NULL",
            (pool_id, identity_id, name),
        ).fetchone()
        return int(row[0]), int(row[1])

    def _dataset_json(self, conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
        num, size = self._dataset_usage(conn, row["pool_id"], row["identity_id"], row["name"])
        out: dict[str, Any] = {
            "IdentityId": row["identity_id"],
            "DatasetName": row["name"],
            "CreationDate": ts(row["created_ms"]),
            "LastModifiedDate": ts(row["last_modified_ms"]),
            "DataStorage": size,
            "NumRecords": num,
        }
        if row["last_modified_by"] is not None:
            out["LastModifiedBy"] = row["last_modified_by"]
        return out

    @staticmethod
    def _record_json(row: sqlite3.Row) -> dict[str, Any]:
        out: dict[str, Any] = {"Key": row["key"]}
        if row["value"] is not None:
            out["Value"] = row["value"]
        out["SyncCount"] = row["sync_count"]
        out["LastModifiedDate"] = ts(row["last_modified_ms"])
        out["LastModifiedBy"] = row["last_modified_by"]
        if row["device_last_modified_ms"] is not None:
            out["DeviceLastModifiedDate"] = ts(row["device_last_modified_ms"])
        return out

    @staticmethod
    def _pool_storage(conn: sqlite3.Connection, pool_id: str) -> int:
        row = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(CAST(value AS BLOB))), 0) "
            "FROM records WHERE pool_id=? AND value IS NOT NULL",
            (pool_id,),
        ).fetchone()
        return int(row[0])

    # ------------------------------------------------------------------ usage

    def _pool_usage_json(self, conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "IdentityPoolId": row["pool_id"],
            "SyncSessionsCount": row["sync_sessions"],
            "DataStorage": self._pool_storage(conn, row["pool_id"]),
            "LastModifiedDate": ts(row["last_modified_ms"]),
        }

    def describe_identity_pool_usage(self, pool_id: str) -> dict[str, Any]:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM pools WHERE pool_id=?", (pool_id,)).fetchone()
            if row is None:
                raise not_found(f"Identity pool {pool_id} not found")
            return {"IdentityPoolUsage": self._pool_usage_json(conn, row)}

    def list_identity_pool_usage(
        self, next_token: str | None, max_results: int | None
    ) -> dict[str, Any]:
        limit = min(max_results or DEFAULT_POOLS_PAGE, MAX_PAGE)
        after = ""
        if next_token is not None:
            after = str(decode_token(next_token).get("p", ""))
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT * FROM pools WHERE pool_id > ? ORDER BY pool_id LIMIT ?",
                (after, limit + 1),
            ).fetchall()
            page = rows[:limit]
            out: dict[str, Any] = {
                "IdentityPoolUsages": [self._pool_usage_json(conn, r) for r in page],
                "MaxResults": max_results if max_results is not None else DEFAULT_POOLS_PAGE,
                "Count": len(page),
            }
        if len(rows) > limit:
            out["NextToken"] = encode_token({"p": page[-1]["pool_id"]})
        return out

    def describe_identity_usage(self, pool_id: str, identity_id: str) -> dict[str, Any]:
        with self._tx() as conn:
            row = conn.execute(
                "SELECT * FROM identities WHERE pool_id=? AND identity_id=?",
                (pool_id, identity_id),
            ).fetchone()
            if row is None:
                raise not_found(f"Identity {identity_id} not found")
            count = conn.execute(
                "SELECT COUNT(*) FROM datasets WHERE pool_id=? AND identity_id=? AND live=1",
                (pool_id, identity_id),
            ).fetchone()[0]
            size = conn.execute(
                "SELECT COALESCE(SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(CAST(value AS BLOB))), 0)"
                " FROM records WHERE pool_id=? AND identity_id=? AND value IS NOT NULL",
                (pool_id, identity_id),
            ).fetchone()[0]
            return {
                "IdentityUsage": {
                    "IdentityId": identity_id,
                    "IdentityPoolId": pool_id,
                    "LastModifiedDate": ts(row["last_modified_ms"]),
                    "DatasetCount": int(count),
                    "DataStorage": int(size),
                }
            }

    # ------------------------------------------------------------------ datasets

    def list_datasets(
        self, pool_id: str, identity_id: str, next_token: str | None, max_results: int | None
    ) -> dict[str, Any]:
        limit = min(max_results or DEFAULT_DATASETS_PAGE, MAX_PAGE)
        after = ""
        if next_token is not None:
            after = str(decode_token(next_token).get("n", ""))
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT * FROM datasets WHERE pool_id=? AND identity_id=? AND live=1 "
                "AND name > ? ORDER BY name LIMIT ?",
                (pool_id, identity_id, after, limit + 1),
            ).fetchall()
            page = rows[:limit]
            out: dict[str, Any] = {
                "Datasets": [self._dataset_json(conn, r) for r in page],
                "Count": len(page),
            }
        if len(rows) > limit:
            out["NextToken"] = encode_token({"n": page[-1]["name"]})
        return out

    def describe_dataset(self, pool_id: str, identity_id: str, name: str) -> dict[str, Any]:
        with self._tx() as conn:
            row = self._dataset_row(conn, pool_id, identity_id, name)
            if row is None or not row["live"]:
                raise not_found(f"Dataset {name} not found")
            return {"Dataset": self._dataset_json(conn, row)}

    def delete_dataset(self, pool_id: str, identity_id: str, name: str) -> dict[str, Any]:
        with self._tx() as conn:
            row = self._dataset_row(conn, pool_id, identity_id, name)
            if row is None or not row["live"]:
                raise not_found(f"Dataset {name} not found")
            result = {"Dataset": self._dataset_json(conn, row)}
            key = (pool_id, identity_id, name)
            conn.execute(
                "UPDATE datasets SET live=0, deleted_max=sync_count "
                "WHERE pool_id=? AND identity_id=? AND name=?",
                key,
            )
            conn.execute(
                "DELETE FROM records WHERE pool_id=? AND identity_id=? AND dataset=?", key
            )
            conn.execute(
                "DELETE FROM subscriptions WHERE pool_id=? AND identity_id=? AND dataset=?", key
            )
            # a deleted merged dataset leaves its parent's MergedDatasetNames for good
            conn.execute(
                "DELETE FROM merged_datasets WHERE pool_id=? AND identity_id=? AND name=?", key
            )
            self._touch(conn, pool_id, identity_id, now_ms())
            return result

    @staticmethod
    def _touch(conn: sqlite3.Connection, pool_id: str, identity_id: str, t: int) -> None:
        conn.execute("UPDATE pools SET last_modified_ms=? WHERE pool_id=?", (t, pool_id))
        conn.execute(
            "UPDATE identities SET last_modified_ms=? WHERE pool_id=? AND identity_id=?",
            (t, pool_id, identity_id),
        )

    @staticmethod
    def _merged_names(
        conn: sqlite3.Connection, pool_id: str, identity_id: str, name: str
    ) -> list[str]:
        """The live datasets a merge moved under this one (C3: never a name prefix)."""
        rows = conn.execute(
            "SELECT m.name FROM merged_datasets m JOIN datasets d ON d.pool_id=m.pool_id "
            "AND d.identity_id=m.identity_id AND d.name=m.name AND d.live=1 "
            "WHERE m.pool_id=? AND m.identity_id=? AND m.parent=? ORDER BY m.name",
            (pool_id, identity_id, name),
        ).fetchall()
        return [r[0] for r in rows]

    # ------------------------------------------------------------------ records

    def _issue_session(
        self, conn: sqlite3.Connection, pool_id: str, identity_id: str, name: str, ttl: float
    ) -> str:
        token = secrets.token_urlsafe(32)
        conn.execute(
            "INSERT INTO sessions VALUES (?,?,?,?,?)",
            (token, pool_id, identity_id, name, now_ms() + int(ttl * 1000)),
        )
        conn.execute(
            "UPDATE pools SET sync_sessions = sync_sessions + 1 WHERE pool_id=?", (pool_id,)
        )
        return token

    @staticmethod
    def _session_valid(
        conn: sqlite3.Connection, token: str, pool_id: str, identity_id: str, name: str
    ) -> bool:
        row = conn.execute("SELECT * FROM sessions WHERE token=?", (token,)).fetchone()
        return (
            row is not None
            and (row["pool_id"], row["identity_id"], row["dataset"]) == (pool_id, identity_id, name)
            and row["expires_ms"] > now_ms()
        )

    def list_records(
        self,
        pool_id: str,
        identity_id: str,
        name: str,
        *,
        last_sync_count: int | None,
        next_token: str | None,
        max_results: int | None,
        sync_session_token: str | None,
        session_ttl: float,
    ) -> dict[str, Any]:
        limit = min(max_results or DEFAULT_RECORDS_PAGE, MAX_PAGE)
        last = last_sync_count or 0
        cursor: dict[str, Any] | None = None
        if next_token is not None:
            cursor = decode_token(next_token)
            if not (
                isinstance(cursor.get("c"), int)
                and isinstance(cursor.get("s"), int)
                and isinstance(cursor.get("k"), str)
                and isinstance(cursor.get("t"), str)
            ):
                raise invalid_parameter("Invalid nextToken")
        with self._tx() as conn:
            ds = self._dataset_row(conn, pool_id, identity_id, name)
            live = ds is not None and bool(ds["live"])
            current = ds["sync_count"] if (ds is not None and live) else 0
            if live and cursor is None and last > current:
                raise invalid_parameter(f"No such SyncCount: {last} exists for this Dataset")
            deleted_max = ds["deleted_max"] if ds is not None else None
            deleted_after = deleted_max is not None and 0 < last <= deleted_max
            if cursor is not None:
                snapshot = int(cursor["c"])
                token = str(cursor["t"])
                after: tuple[int, str] = (int(cursor["s"]), str(cursor["k"]))
            else:
                snapshot = current
                if sync_session_token and self._session_valid(
                    conn, sync_session_token, pool_id, identity_id, name
                ):
                    token = sync_session_token
                else:
                    token = self._issue_session(conn, pool_id, identity_id, name, session_ttl)
                after = (last, "")
            rows = conn.execute(
                "SELECT * FROM records WHERE pool_id=? AND identity_id=? AND dataset=? "
                "AND sync_count > ? AND sync_count <= ? AND (sync_count, key) > (?, ?) "
                "ORDER BY sync_count, key LIMIT ?",
                (pool_id, identity_id, name, last, snapshot, after[0], after[1], limit + 1),
            ).fetchall()
            page = rows[:limit]
            out: dict[str, Any] = {
                "Records": [self._record_json(r) for r in page],
                "Count": len(page),
                "DatasetSyncCount": snapshot,
                "DatasetExists": live,
                "DatasetDeletedAfterRequestedSyncCount": deleted_after,
                "SyncSessionToken": token,
            }
            if live and ds is not None and ds["last_modified_by"] is not None:
                out["LastModifiedBy"] = ds["last_modified_by"]
            merged = self._merged_names(conn, pool_id, identity_id, name)
            if merged:
                out["MergedDatasetNames"] = merged
        if len(rows) > limit:
            tail = page[-1]
            out["NextToken"] = encode_token(
                {"c": snapshot, "s": tail["sync_count"], "k": tail["key"], "t": token}
            )
        return out

    def read_dataset(
        self, pool_id: str, identity_id: str, name: str
    ) -> dict[str, tuple[str | None, int]]:
        """``{key: (value or None for a tombstone, sync count)}`` of one dataset."""
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT key, value, sync_count FROM records "
                "WHERE pool_id=? AND identity_id=? AND dataset=?",
                (pool_id, identity_id, name),
            ).fetchall()
        return {r["key"]: (r["value"], r["sync_count"]) for r in rows}

    def check_session(self, token: str, pool_id: str, identity_id: str, name: str) -> None:
        with self._tx() as conn:
            if not self._session_valid(conn, token, pool_id, identity_id, name):
                raise invalid_parameter("SyncSessionToken not valid for these inputs")

    def update_records(
        self,
        pool_id: str,
        identity_id: str,
        name: str,
        *,
        patches: Sequence[Patch],
        sync_session_token: str,
        device_id: str | None,
        writer: str,
    ) -> dict[str, Any]:
        """Check token, conflicts and limits, then apply every patch or none (S1-S4, S7)."""
        with self._tx() as conn:
            if not self._session_valid(conn, sync_session_token, pool_id, identity_id, name):
                raise invalid_parameter("SyncSessionToken not valid for these inputs")
            if not patches:
                return {"Records": []}
            key3 = (pool_id, identity_id, name)
            rows = conn.execute(
                "SELECT key, value, sync_count FROM records "
                "WHERE pool_id=? AND identity_id=? AND dataset=?",
                key3,
            ).fetchall()
            current = {r["key"]: (r["value"], r["sync_count"]) for r in rows}
            for p in patches:
                server = current.get(p.key, (None, 0))[1]
                if server != p.sync_count:
                    raise ServiceException(
                        "ResourceConflictException",
                        f"Current SyncCount for: {p.key} is: {server} not: {p.sync_count}",
                    )
            live = {k: v for k, (v, _) in current.items() if v is not None}
            for p in patches:
                if p.op == "replace":
                    assert p.value is not None
                    live[p.key] = p.value
                else:
                    live.pop(p.key, None)
            if len(live) > MAX_RECORDS_PER_DATASET:
                raise ServiceException(
                    "LimitExceededException",
                    f"Dataset would have {len(live)} records; the limit is "
                    f"{MAX_RECORDS_PER_DATASET}",
                )
            size = sum(_utf8_len(k) + _utf8_len(v) for k, v in live.items())
            if size > MAX_DATASET_BYTES:
                raise ServiceException(
                    "LimitExceededException",
                    f"Dataset would hold {size} bytes; the limit is {MAX_DATASET_BYTES}",
                )
            ds = self._dataset_row(conn, *key3)
            t = now_ms()
            if ds is None or not ds["live"]:
                count = conn.execute(
                    "SELECT COUNT(*) FROM datasets WHERE pool_id=? AND identity_id=? AND live=1",
                    (pool_id, identity_id),
                ).fetchone()[0]
                if count >= MAX_DATASETS_PER_IDENTITY:
                    raise ServiceException(
                        "LimitExceededException",
                        f"Identity already has {count} datasets; the limit is "
                        f"{MAX_DATASETS_PER_IDENTITY}",
                    )
            base = ds["sync_count"] if ds is not None else 0
            new_count = base + 1
            if ds is None:
                conn.execute(
                    "INSERT INTO datasets VALUES (?,?,?,1,?,NULL,?,?,?)",
                    (*key3, new_count, t, t, writer),
                )
            elif not ds["live"]:
                conn.execute(
                    "UPDATE datasets SET live=1, sync_count=?, created_ms=?, last_modified_ms=?, "
                    "last_modified_by=? WHERE pool_id=? AND identity_id=? AND name=?",
                    (new_count, t, t, writer, *key3),
                )
            else:
                conn.execute(
                    "UPDATE datasets SET sync_count=?, last_modified_ms=?, last_modified_by=? "
                    "WHERE pool_id=? AND identity_id=? AND name=?",
                    (new_count, t, writer, *key3),
                )
            written: list[dict[str, Any]] = []
            for p in patches:
                value = p.value if p.op == "replace" else None
                conn.execute(
                    "INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?,?,?)",
                    (*key3, p.key, value, new_count, t, writer, p.device_last_modified_ms),
                )
                rec: dict[str, Any] = {"Key": p.key}
                if value is not None:
                    rec["Value"] = value
                rec.update(SyncCount=new_count, LastModifiedDate=ts(t), LastModifiedBy=writer)
                if p.device_last_modified_ms is not None:
                    rec["DeviceLastModifiedDate"] = ts(p.device_last_modified_ms)
                written.append(rec)
            self._touch(conn, pool_id, identity_id, t)
            self._notify(conn, pool_id, identity_id, name, new_count, written, t)
            return {"Records": written}

    def _notify(
        self,
        conn: sqlite3.Connection,
        pool_id: str,
        identity_id: str,
        name: str,
        sync_count: int,
        written: list[dict[str, Any]],
        t: int,
    ) -> None:
        """Outbox entries: one push per subscribed device, one stream record if enabled."""
        subs = conn.execute(
            "SELECT device_id FROM subscriptions WHERE pool_id=? AND identity_id=? AND dataset=?",
            (pool_id, identity_id, name),
        ).fetchall()
        for sub in subs:
            payload = {
                "source": "cognito-sync",
                "identityPoolId": pool_id,
                "identityId": identity_id,
                "datasetName": name,
                "syncCount": sync_count,
                "deviceId": sub[0],
            }
            conn.execute(
                "INSERT INTO outbox (kind, pool_id, payload, created_ms) VALUES ('push',?,?,?)",
                (pool_id, json.dumps(payload), t),
            )
        streams = self._streams(conn, pool_id)
        if streams and streams.get("StreamingStatus") == "ENABLED":
            payload = self._stream_payload(pool_id, identity_id, name, sync_count, written, t)
            conn.execute(
                "INSERT INTO outbox (kind, pool_id, payload, created_ms) VALUES ('stream',?,?,?)",
                (pool_id, json.dumps(payload), t),
            )

    @staticmethod
    def _stream_payload(
        pool_id: str,
        identity_id: str,
        name: str,
        sync_count: int,
        records: list[dict[str, Any]],
        t: int,
        operation: str = "replace",
    ) -> dict[str, Any]:
        return {
            "identityPoolId": pool_id,
            "identityId": identity_id,
            "dataSetName": name,
            "operation": operation,
            "kinesisSyncRecords": [
                {
                    "key": r["Key"],
                    "value": r.get("Value"),
                    "syncCount": r["SyncCount"],
                    "lastModifiedDate": round(r["LastModifiedDate"] * 1000),
                    "deviceLastModifiedDate": (
                        round(r["DeviceLastModifiedDate"] * 1000)
                        if "DeviceLastModifiedDate" in r
                        else None
                    ),
                    "op": "replace" if "Value" in r else "remove",
                }
                for r in records
            ],
            "lastModifiedDate": t,
            "kinesisSyncRecordsURL": None,
            "payloadType": "Inline",
            "syncCount": sync_count,
        }

    # ------------------------------------------------------------------ merge (S10)

    def merge(self, pool_id: str, source_identity_id: str, target_identity_id: str) -> list[str]:
        """Merge the source identity into the target (as linking their logins does, C5):
        the source's datasets move under the target as ``<name>.<sourceId>`` and are
        recorded as merges (C3), its logins move to the target, its credentials are
        revoked and it is disabled."""
        if source_identity_id == target_identity_id:
            raise ValueError("cannot merge an identity into itself")
        with self._tx() as conn:
            return self.merge_in(conn, pool_id, source_identity_id, target_identity_id)

    def merge_in(
        self,
        conn: sqlite3.Connection,
        pool_id: str,
        source_identity_id: str,
        target_identity_id: str,
    ) -> list[str]:
        """``merge`` inside the caller's transaction."""
        rows = conn.execute(
            "SELECT name FROM datasets WHERE pool_id=? AND identity_id=? AND live=1",
            (pool_id, source_identity_id),
        ).fetchall()
        moved: list[str] = []
        for (name,) in rows:
            new_name = f"{name}.{source_identity_id}"
            if self._dataset_row(conn, pool_id, target_identity_id, new_name) is not None:
                conn.execute(
                    "DELETE FROM datasets WHERE pool_id=? AND identity_id=? AND name=?",
                    (pool_id, target_identity_id, new_name),
                )
                conn.execute(
                    "DELETE FROM records WHERE pool_id=? AND identity_id=? AND dataset=?",
                    (pool_id, target_identity_id, new_name),
                )
            conn.execute(
                "UPDATE datasets SET identity_id=?, name=? "
                "WHERE pool_id=? AND identity_id=? AND name=?",
                (target_identity_id, new_name, pool_id, source_identity_id, name),
            )
            conn.execute(
                "UPDATE records SET identity_id=?, dataset=? "
                "WHERE pool_id=? AND identity_id=? AND dataset=?",
                (target_identity_id, new_name, pool_id, source_identity_id, name),
            )
            conn.execute(
                "INSERT OR REPLACE INTO merged_datasets VALUES (?,?,?,?,?)",
                (pool_id, target_identity_id, name, new_name, source_identity_id),
            )
            moved.append(new_name)
        for table, column in (("datasets", "identity_id"), ("records", "identity_id")):
            conn.execute(
                f"DELETE FROM {table} WHERE pool_id=? AND {column}=?",
                (pool_id, source_identity_id),
            )
        conn.execute(
            "DELETE FROM subscriptions WHERE pool_id=? AND identity_id=?",
            (pool_id, source_identity_id),
        )
        conn.execute(  # the source's own merges were renamed above, and recorded anew
            "DELETE FROM merged_datasets WHERE pool_id=? AND identity_id=?",
            (pool_id, source_identity_id),
        )
        conn.execute(
            "UPDATE identity_logins SET identity_id=? WHERE pool_id=? AND identity_id=?",
            (target_identity_id, pool_id, source_identity_id),
        )
        conn.execute(
            "UPDATE openid_tokens SET identity_id=? WHERE pool_id=? AND identity_id=?",
            (target_identity_id, pool_id, source_identity_id),
        )
        conn.execute(
            "DELETE FROM credentials WHERE pool_id=? AND identity_id=?",
            (pool_id, source_identity_id),
        )
        conn.execute(
            "INSERT OR REPLACE INTO disabled_identities VALUES (?,?,?)",
            (pool_id, source_identity_id, target_identity_id),
        )
        conn.execute(
            "UPDATE disabled_identities SET merged_into=? WHERE pool_id=? AND merged_into=?",
            (target_identity_id, pool_id, source_identity_id),
        )
        self._touch(conn, pool_id, target_identity_id, now_ms())
        return sorted(moved)

    # ------------------------------------------------------------------ pool configuration

    @staticmethod
    def _streams(conn: sqlite3.Connection, pool_id: str) -> dict[str, Any] | None:
        row = conn.execute(
            "SELECT cognito_streams FROM pools WHERE pool_id=?", (pool_id,)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        value: dict[str, Any] = json.loads(row[0])
        return value

    @staticmethod
    def _config_json(row: sqlite3.Row) -> dict[str, Any]:
        out: dict[str, Any] = {"IdentityPoolId": row["pool_id"]}
        if row["push_sync"] is not None:
            out["PushSync"] = json.loads(row["push_sync"])
        if row["cognito_streams"] is not None:
            out["CognitoStreams"] = json.loads(row["cognito_streams"])
        return out

    def get_configuration(self, pool_id: str) -> dict[str, Any]:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM pools WHERE pool_id=?", (pool_id,)).fetchone()
            if row is None:
                raise not_found(f"Identity pool {pool_id} not found")
            return self._config_json(row)

    def set_configuration(
        self,
        pool_id: str,
        push_sync: dict[str, Any] | None,
        cognito_streams: dict[str, Any] | None,
    ) -> dict[str, Any]:
        with self._tx() as conn:
            if push_sync is not None:
                conn.execute(
                    "UPDATE pools SET push_sync=? WHERE pool_id=?",
                    (json.dumps(push_sync), pool_id),
                )
            if cognito_streams is not None:
                conn.execute(
                    "UPDATE pools SET cognito_streams=? WHERE pool_id=?",
                    (json.dumps(cognito_streams), pool_id),
                )
            row = conn.execute("SELECT * FROM pools WHERE pool_id=?", (pool_id,)).fetchone()
            if row is None:
                raise not_found(f"Identity pool {pool_id} not found")
            return self._config_json(row)

    def get_events(self, pool_id: str) -> dict[str, str]:
        with self._tx() as conn:
            row = conn.execute("SELECT events FROM pools WHERE pool_id=?", (pool_id,)).fetchone()
            if row is None:
                raise not_found(f"Identity pool {pool_id} not found")
            events: dict[str, str] = json.loads(row[0])
            return events

    def set_events(self, pool_id: str, changes: dict[str, str]) -> None:
        with self._tx() as conn:
            row = conn.execute("SELECT events FROM pools WHERE pool_id=?", (pool_id,)).fetchone()
            if row is None:
                raise not_found(f"Identity pool {pool_id} not found")
            events: dict[str, str] = json.loads(row[0])
            for key, arn in changes.items():
                if arn == "":
                    events.pop(key, None)
                else:
                    events[key] = arn
            conn.execute(
                "UPDATE pools SET events=? WHERE pool_id=?", (json.dumps(events), pool_id)
            )

    # ------------------------------------------------------------------ bulk publish

    def _settle_bulk(self, conn: sqlite3.Connection, pool_id: str) -> sqlite3.Row:
        """Complete a due run (lazily: no background task) and return the pool row."""
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM pools WHERE pool_id=?", (pool_id,)
        ).fetchone()
        if row is None:
            raise not_found(f"Identity pool {pool_id} not found")
        if row["bulk_status"] == "IN_PROGRESS" and now_ms() >= row["bulk_due_ms"]:
            streams = self._streams(conn, pool_id)
            due = row["bulk_due_ms"]
            if streams and streams.get("StreamingStatus") == "ENABLED":
                self._publish_all(conn, pool_id, due)
                conn.execute(
                    "UPDATE pools SET bulk_status='SUCCEEDED', bulk_complete_ms=? "
                    "WHERE pool_id=?",
                    (due, pool_id),
                )
            else:
                conn.execute(
                    "UPDATE pools SET bulk_status='FAILED', bulk_complete_ms=NULL, "
                    "bulk_failure=? WHERE pool_id=?",
                    ("Cognito Streams was disabled during the bulk publish", pool_id),
                )
            row = conn.execute("SELECT * FROM pools WHERE pool_id=?", (pool_id,)).fetchone()
        return row

    def _publish_all(self, conn: sqlite3.Connection, pool_id: str, t: int) -> None:
        datasets = conn.execute(
            "SELECT identity_id, name, sync_count FROM datasets WHERE pool_id=? AND live=1 "
            "ORDER BY identity_id, name",
            (pool_id,),
        ).fetchall()
        for ds in datasets:
            rows = conn.execute(
                "SELECT * FROM records WHERE pool_id=? AND identity_id=? AND dataset=? "
                "ORDER BY key",
                (pool_id, ds["identity_id"], ds["name"]),
            ).fetchall()
            payload = self._stream_payload(
                pool_id,
                ds["identity_id"],
                ds["name"],
                ds["sync_count"],
                [self._record_json(r) for r in rows],
                t,
                operation="bulkpublish",
            )
            conn.execute(
                "INSERT INTO outbox (kind, pool_id, payload, created_ms) VALUES ('stream',?,?,?)",
                (pool_id, json.dumps(payload), t),
            )

    def bulk_publish(self, pool_id: str, delay: float) -> dict[str, Any]:
        with self._tx() as conn:
            row = self._settle_bulk(conn, pool_id)
            t = now_ms()
            if row["bulk_status"] == "IN_PROGRESS":
                raise ServiceException(
                    "DuplicateRequestException", "A bulk publish is already in progress"
                )
            if (
                row["bulk_status"] == "SUCCEEDED"
                and t - row["bulk_complete_ms"] < BULK_PUBLISH_INTERVAL_MS
            ):
                raise ServiceException(
                    "AlreadyStreamedException",
                    "A bulk publish already succeeded for this pool in the last 24 hours",
                )
            streams = self._streams(conn, pool_id)
            if not streams or streams.get("StreamingStatus") != "ENABLED":
                raise invalid_parameter("Cognito Streams is not enabled for this identity pool")
            conn.execute(
                "UPDATE pools SET bulk_status='IN_PROGRESS', bulk_start_ms=?, bulk_due_ms=?, "
                "bulk_complete_ms=NULL, bulk_failure=NULL WHERE pool_id=?",
                (t, t + int(delay * 1000), pool_id),
            )
            self._settle_bulk(conn, pool_id)
            return {"IdentityPoolId": pool_id}

    def get_bulk_publish_details(self, pool_id: str) -> dict[str, Any]:
        with self._tx() as conn:
            row = self._settle_bulk(conn, pool_id)
            status = row["bulk_status"] or "NOT_STARTED"
            out: dict[str, Any] = {"IdentityPoolId": pool_id, "BulkPublishStatus": status}
            if row["bulk_start_ms"] is not None:
                out["BulkPublishStartTime"] = ts(row["bulk_start_ms"])
            if row["bulk_complete_ms"] is not None:
                out["BulkPublishCompleteTime"] = ts(row["bulk_complete_ms"])
            if row["bulk_failure"] is not None:
                out["FailureMessage"] = row["bulk_failure"]
            return out

    # ------------------------------------------------------------------ push

    def register_device(
        self, pool_id: str, identity_id: str, platform: str, token: str
    ) -> dict[str, Any]:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM pools WHERE pool_id=?", (pool_id,)).fetchone()
            if row is None:
                raise not_found(f"Identity pool {pool_id} not found")
            push = json.loads(row["push_sync"]) if row["push_sync"] else None
            arns = (push or {}).get("ApplicationArns") or []
            if not push or not any(f":app/{platform}/" in arn for arn in arns):
                raise ServiceException(
                    "InvalidConfigurationException",
                    f"Push sync is not configured for platform {platform}",
                )
            existing = conn.execute(
                "SELECT device_id FROM devices WHERE pool_id=? AND identity_id=? "
                "AND platform=? AND token=?",
                (pool_id, identity_id, platform, token),
            ).fetchone()
            if existing is not None:
                return {"DeviceId": existing[0]}
            device_id = str(uuid.uuid4())
            conn.execute(
                "INSERT INTO devices VALUES (?,?,?,?,?)",
                (device_id, pool_id, identity_id, platform, token),
            )
            return {"DeviceId": device_id}

    def _check_subscription_target(
        self, conn: sqlite3.Connection, pool_id: str, identity_id: str, name: str, device_id: str
    ) -> None:
        row = conn.execute("SELECT push_sync FROM pools WHERE pool_id=?", (pool_id,)).fetchone()
        if row is None:
            raise not_found(f"Identity pool {pool_id} not found")
        if row[0] is None:
            raise ServiceException(
                "InvalidConfigurationException", "Push sync is not configured for this pool"
            )
        dev = conn.execute(
            "SELECT 1 FROM devices WHERE device_id=? AND pool_id=? AND identity_id=?",
            (device_id, pool_id, identity_id),
        ).fetchone()
        if dev is None:
            raise not_found(f"Device {device_id} is not registered to this identity")
        ds = self._dataset_row(conn, pool_id, identity_id, name)
        if ds is None or not ds["live"]:
            raise not_found(f"Dataset {name} not found")

    def subscribe(self, pool_id: str, identity_id: str, name: str, device_id: str) -> None:
        with self._tx() as conn:
            self._check_subscription_target(conn, pool_id, identity_id, name, device_id)
            conn.execute(
                "INSERT OR IGNORE INTO subscriptions VALUES (?,?,?,?)",
                (pool_id, identity_id, name, device_id),
            )

    def unsubscribe(self, pool_id: str, identity_id: str, name: str, device_id: str) -> None:
        with self._tx() as conn:
            self._check_subscription_target(conn, pool_id, identity_id, name, device_id)
            cur = conn.execute(
                "DELETE FROM subscriptions WHERE pool_id=? AND identity_id=? AND dataset=? "
                "AND device_id=?",
                (pool_id, identity_id, name, device_id),
            )
            if cur.rowcount == 0:
                raise not_found(f"Device {device_id} is not subscribed to dataset {name}")

    # ------------------------------------------------------------------ outbox

    def outbox(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._tx() as conn:
            if kind is None:
                rows = conn.execute("SELECT kind, payload FROM outbox ORDER BY seq").fetchall()
            else:
                rows = conn.execute(
                    "SELECT kind, payload FROM outbox WHERE kind=? ORDER BY seq", (kind,)
                ).fetchall()
        return [{"kind": r[0], **json.loads(r[1])} for r in rows]

    def clear_outbox(self) -> None:
        with self._tx() as conn:
            conn.execute("DELETE FROM outbox")
