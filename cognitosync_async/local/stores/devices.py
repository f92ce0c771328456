"""Devices and the outbox: RegisterDevice, (un)subscriptions, and the push and
stream notifications a write leaves (docs/service-behaviour.md#pool-operations)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any

from .._errors import ServiceException, not_found
from ..database import Database
from ..state import dataset_row, pool_streams


def notify(
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
    streams = pool_streams(conn, pool_id)
    if streams and streams.get("StreamingStatus") == "ENABLED":
        payload = stream_payload(pool_id, identity_id, name, sync_count, written, t)
        conn.execute(
            "INSERT INTO outbox (kind, pool_id, payload, created_ms) VALUES ('stream',?,?,?)",
            (pool_id, json.dumps(payload), t),
        )


def stream_payload(
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


class DeviceStore:
    """Push devices, their subscriptions, and the outbox."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def register_device(
        self, pool_id: str, identity_id: str, platform: str, token: str
    ) -> dict[str, Any]:
        with self._db.transaction() as conn:
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
        ds = dataset_row(conn, pool_id, identity_id, name)
        if ds is None or not ds["live"]:
            raise not_found(f"Dataset {name} not found")

    def subscribe(self, pool_id: str, identity_id: str, name: str, device_id: str) -> None:
        with self._db.transaction() as conn:
            self._check_subscription_target(conn, pool_id, identity_id, name, device_id)
            conn.execute(
                "INSERT OR IGNORE INTO subscriptions VALUES (?,?,?,?)",
                (pool_id, identity_id, name, device_id),
            )

    def unsubscribe(self, pool_id: str, identity_id: str, name: str, device_id: str) -> None:
        with self._db.transaction() as conn:
            self._check_subscription_target(conn, pool_id, identity_id, name, device_id)
            cur = conn.execute(
                "DELETE FROM subscriptions WHERE pool_id=? AND identity_id=? AND dataset=? "
                "AND device_id=?",
                (pool_id, identity_id, name, device_id),
            )
            if cur.rowcount == 0:
                raise not_found(f"Device {device_id} is not subscribed to dataset {name}")

    def outbox(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._db.transaction() as conn:
            if kind is None:
                rows = conn.execute("SELECT kind, payload FROM outbox ORDER BY seq").fetchall()
            else:
                rows = conn.execute(
                    "SELECT kind, payload FROM outbox WHERE kind=? ORDER BY seq", (kind,)
                ).fetchall()
        return [{"kind": r[0], **json.loads(r[1])} for r in rows]

    def clear_outbox(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM outbox")
