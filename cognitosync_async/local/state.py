"""The rows the stores share: validated patches, stored credentials, the emulator's
limits, and the reads and wire shapes more than one store needs.

Times are stored as integer epoch milliseconds and answered as epoch seconds with
milliseconds. Wire shapes are plain dicts (PascalCase members, absent members left
out). Every function taking a ``conn`` runs inside the caller's transaction
(:meth:`Database.transaction <cognitosync_async.local.database.Database.transaction>`).
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import attrs

MAX_RECORDS_PER_DATASET = 1024
MAX_DATASETS_PER_IDENTITY = 20
MAX_DATASET_BYTES = 1024 * 1024
DEFAULT_RECORDS_PAGE = 1024
DEFAULT_DATASETS_PAGE = 64
DEFAULT_POOLS_PAGE = 64
MAX_PAGE = 1024
BULK_PUBLISH_INTERVAL_MS = 24 * 3600 * 1000


def now_ms() -> int:
    return int(time.time() * 1000)


def ts(ms: int) -> float:
    """Epoch milliseconds as the wire's epoch seconds with milliseconds."""
    return ms / 1000


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


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def dataset_row(
    conn: sqlite3.Connection, pool_id: str, identity_id: str, name: str
) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM datasets WHERE pool_id=? AND identity_id=? AND name=?",
        (pool_id, identity_id, name),
    ).fetchone()
    return row


def record_json(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {"Key": row["key"]}
    if row["value"] is not None:
        out["Value"] = row["value"]
    out["SyncCount"] = row["sync_count"]
    out["LastModifiedDate"] = ts(row["last_modified_ms"])
    out["LastModifiedBy"] = row["last_modified_by"]
    if row["device_last_modified_ms"] is not None:
        out["DeviceLastModifiedDate"] = ts(row["device_last_modified_ms"])
    return out


def touch(conn: sqlite3.Connection, pool_id: str, identity_id: str, t: int) -> None:
    conn.execute("UPDATE pools SET last_modified_ms=? WHERE pool_id=?", (t, pool_id))
    conn.execute(
        "UPDATE identities SET last_modified_ms=? WHERE pool_id=? AND identity_id=?",
        (t, pool_id, identity_id),
    )


def pool_streams(conn: sqlite3.Connection, pool_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT cognito_streams FROM pools WHERE pool_id=?", (pool_id,)
    ).fetchone()
    if row is None or row[0] is None:
        return None
    value: dict[str, Any] = json.loads(row[0])
    return value
