"""Pools and identities as Cognito Sync sees them, usage, datasets, records and sync
sessions: the sync rules that need a transaction (docs/service-behaviour.md#sync-rules),
and merges (#c3). S1-S10, C3 and C5 below are the rules of that file."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from typing import Any

from .._errors import ServiceException, invalid_parameter, not_found
from ..database import Database
from ..state import (
    DEFAULT_DATASETS_PAGE,
    DEFAULT_POOLS_PAGE,
    DEFAULT_RECORDS_PAGE,
    MAX_DATASET_BYTES,
    MAX_DATASETS_PER_IDENTITY,
    MAX_PAGE,
    MAX_RECORDS_PER_DATASET,
    Patch,
    dataset_row,
    now_ms,
    record_json,
    touch,
    ts,
    utf8_len,
)
from ..tokens import decode_token, encode_token
from .devices import notify


class RecordStore:
    """Pools and identities as Cognito Sync sees them, their usage, datasets, records,
    sync sessions and merges."""

    def __init__(self, database: Database) -> None:
        self._db = database

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
        with self._db.transaction() as conn:
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
    def _pool_storage(conn: sqlite3.Connection, pool_id: str) -> int:
        row = conn.execute(
            "SELECT COALESCE(SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(CAST(value AS BLOB))), 0) "
            "FROM records WHERE pool_id=? AND value IS NOT NULL",
            (pool_id,),
        ).fetchone()
        return int(row[0])

    def _pool_usage_json(self, conn: sqlite3.Connection, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "IdentityPoolId": row["pool_id"],
            "SyncSessionsCount": row["sync_sessions"],
            "DataStorage": self._pool_storage(conn, row["pool_id"]),
            "LastModifiedDate": ts(row["last_modified_ms"]),
        }

    def describe_identity_pool_usage(self, pool_id: str) -> dict[str, Any]:
        with self._db.transaction() as conn:
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
        with self._db.transaction() as conn:
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
        with self._db.transaction() as conn:
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

    def list_datasets(
        self, pool_id: str, identity_id: str, next_token: str | None, max_results: int | None
    ) -> dict[str, Any]:
        limit = min(max_results or DEFAULT_DATASETS_PAGE, MAX_PAGE)
        after = ""
        if next_token is not None:
            after = str(decode_token(next_token).get("n", ""))
        with self._db.transaction() as conn:
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
        with self._db.transaction() as conn:
            row = dataset_row(conn, pool_id, identity_id, name)
            if row is None or not row["live"]:
                raise not_found(f"Dataset {name} not found")
            return {"Dataset": self._dataset_json(conn, row)}

    def delete_dataset(self, pool_id: str, identity_id: str, name: str) -> dict[str, Any]:
        with self._db.transaction() as conn:
            row = dataset_row(conn, pool_id, identity_id, name)
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
            touch(conn, pool_id, identity_id, now_ms())
            return result

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
        with self._db.transaction() as conn:
            ds = dataset_row(conn, pool_id, identity_id, name)
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
                "Records": [record_json(r) for r in page],
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
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT key, value, sync_count FROM records "
                "WHERE pool_id=? AND identity_id=? AND dataset=?",
                (pool_id, identity_id, name),
            ).fetchall()
        return {r["key"]: (r["value"], r["sync_count"]) for r in rows}

    def check_session(self, token: str, pool_id: str, identity_id: str, name: str) -> None:
        with self._db.transaction() as conn:
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
        with self._db.transaction() as conn:
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
            size = sum(utf8_len(k) + utf8_len(v) for k, v in live.items())
            if size > MAX_DATASET_BYTES:
                raise ServiceException(
                    "LimitExceededException",
                    f"Dataset would hold {size} bytes; the limit is {MAX_DATASET_BYTES}",
                )
            ds = dataset_row(conn, *key3)
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
            touch(conn, pool_id, identity_id, t)
            notify(conn, pool_id, identity_id, name, new_count, written, t)
            return {"Records": written}

    def merge(self, pool_id: str, source_identity_id: str, target_identity_id: str) -> list[str]:
        """Merge the source identity into the target (as linking their logins does, C5):
        the source's datasets move under the target as ``<name>.<sourceId>`` and are
        recorded as merges (C3), its logins move to the target, its credentials are
        revoked and it is disabled."""
        if source_identity_id == target_identity_id:
            raise ValueError("cannot merge an identity into itself")
        with self._db.transaction() as conn:
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
            if dataset_row(conn, pool_id, target_identity_id, new_name) is not None:
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
        touch(conn, pool_id, target_identity_id, now_ms())
        return sorted(moved)
