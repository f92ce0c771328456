"""Shared helpers for the mirror/verify tests: seeding through botocore, reading the target."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

from cognitosync_async import CognitoSyncClient
from cognitosync_async.local import LocalCognitoSync
from support.local_service import POOL, Caller, put, remove, replace


def ids(count: int, salt: int = 0xAB) -> list[str]:
    return [f"us-east-1:{uuid.UUID(int=salt << 96 | i)}" for i in range(count)]


async def current(dev: Caller, identity: str, dataset: str) -> dict[str, tuple[Any, int]]:
    listed = await dev("list_records", IdentityPoolId=POOL, IdentityId=identity,
                       DatasetName=dataset, MaxResults=1024)
    return {r["Key"]: (r.get("Value"), r["SyncCount"]) for r in listed["Records"]}


async def write(dev: Caller, identity: str, dataset: str, values: dict[str, str | None]) -> None:
    """Set (value) and remove (None) keys with the right sync counts, as an app would."""
    now = await current(dev, identity, dataset)
    patches = [
        replace(k, v, now.get(k, (None, 0))[1]) if v is not None
        else remove(k, now.get(k, (None, 0))[1])
        for k, v in values.items()
    ]
    await put(dev, dataset, patches, identity=identity)


async def seed(dev: Caller, identities: list[str]) -> None:
    for n, ident in enumerate(identities):
        await write(dev, ident, "settings", {"theme": f"t{n}", "lang": "en", "gone": "x"})
        await write(dev, ident, "settings", {"gone": None})  # a tombstone
        if n % 2 == 0:
            await write(dev, ident, "progress", {f"level-{i}": str(i * n) for i in range(5)})


def table(path: Path, sql: str, *args: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def sdk_client(svc: LocalCognitoSync) -> CognitoSyncClient:
    return CognitoSyncClient(svc.region, credentials=svc.credentials,
                             endpoint_url=svc.endpoint_url, retry_base_delay=0.001,
                             retry_max_delay=0.05)


async def sync_sessions(dev: Caller) -> int:
    """The service's own count of ListRecords reads that opened a sync session."""
    usage = await dev("describe_identity_pool_usage", IdentityPoolId=POOL)
    return int(usage["IdentityPoolUsage"]["SyncSessionsCount"])
