"""Pool configuration (push sync, Cognito Streams), Cognito Events, and BulkPublish
(docs/service-behaviour.md#pool-operations)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .._errors import ServiceException, invalid_parameter, not_found
from ..database import Database
from ..state import BULK_PUBLISH_INTERVAL_MS, now_ms, pool_streams, record_json, ts
from .devices import stream_payload


class PoolStore:
    """An identity pool's configuration, events and bulk publish runs."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @staticmethod
    def _config_json(row: sqlite3.Row) -> dict[str, Any]:
        out: dict[str, Any] = {"IdentityPoolId": row["pool_id"]}
        if row["push_sync"] is not None:
            out["PushSync"] = json.loads(row["push_sync"])
        if row["cognito_streams"] is not None:
            out["CognitoStreams"] = json.loads(row["cognito_streams"])
        return out

    def get_configuration(self, pool_id: str) -> dict[str, Any]:
        with self._db.transaction() as conn:
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
        with self._db.transaction() as conn:
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
        with self._db.transaction() as conn:
            row = conn.execute("SELECT events FROM pools WHERE pool_id=?", (pool_id,)).fetchone()
            if row is None:
                raise not_found(f"Identity pool {pool_id} not found")
            events: dict[str, str] = json.loads(row[0])
            return events

    def set_events(self, pool_id: str, changes: dict[str, str]) -> None:
        with self._db.transaction() as conn:
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

    def _settle_bulk(self, conn: sqlite3.Connection, pool_id: str) -> sqlite3.Row:
        """Complete a due run (lazily: no background task) and return the pool row."""
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM pools WHERE pool_id=?", (pool_id,)
        ).fetchone()
        if row is None:
            raise not_found(f"Identity pool {pool_id} not found")
        if row["bulk_status"] == "IN_PROGRESS" and now_ms() >= row["bulk_due_ms"]:
            streams = pool_streams(conn, pool_id)
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
            payload = stream_payload(
                pool_id,
                ds["identity_id"],
                ds["name"],
                ds["sync_count"],
                [record_json(r) for r in rows],
                t,
                operation="bulkpublish",
            )
            conn.execute(
                "INSERT INTO outbox (kind, pool_id, payload, created_ms) VALUES ('stream',?,?,?)",
                (pool_id, json.dumps(payload), t),
            )

    def bulk_publish(self, pool_id: str, delay: float) -> dict[str, Any]:
        with self._db.transaction() as conn:
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
            streams = pool_streams(conn, pool_id)
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
        with self._db.transaction() as conn:
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
