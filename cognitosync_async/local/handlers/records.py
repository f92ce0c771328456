"""Cognito Sync's usage, dataset and record operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._errors import MAX_LONG, invalid_parameter, serialization
from ..state import Patch
from .call import Call, epoch_ms, int_query, string
from .sync_trigger import run_sync_trigger


def _patches(data: Mapping[str, Any]) -> list[Patch]:
    raw = data.get("RecordPatches")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise serialization("RecordPatches", "an array", raw)
    patches: list[Patch] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"RecordPatches[{i}]"
        if not isinstance(item, dict):
            raise serialization(where, "an object", item)
        op = item.get("Op")
        if op is not None and not isinstance(op, str):
            raise serialization(f"{where}.Op", "a string", op)
        if op not in ("replace", "remove"):
            raise invalid_parameter(f"{where}.Op must be 'replace' or 'remove'")
        key = item.get("Key")
        if key is not None and not isinstance(key, str):
            raise serialization(f"{where}.Key", "a string", key)
        if key is None or not 1 <= len(key) <= 1024:
            raise invalid_parameter(f"{where}.Key must be a string of 1 to 1024 characters")
        count = item.get("SyncCount")
        if count is None:
            raise invalid_parameter(f"{where}.SyncCount is required")
        if isinstance(count, bool) or not isinstance(count, int):
            raise serialization(f"{where}.SyncCount", "an integer", count)
        if count > MAX_LONG:
            raise serialization(f"{where}.SyncCount", "a 64-bit integer", count)
        if count < 0:
            raise invalid_parameter(f"{where}.SyncCount must not be negative")
        value = item.get("Value")
        if value is not None and not isinstance(value, str):
            raise serialization(f"{where}.Value", "a string", value)
        if value is not None and len(value) > 1_048_575:
            raise invalid_parameter(f"{where}.Value is longer than 1048575 characters")
        if op == "replace" and value is None:
            raise invalid_parameter(f"{where}: a replace needs a Value")
        if key in seen:
            raise invalid_parameter(f"Duplicate key in RecordPatches: {key}")
        seen.add(key)
        patches.append(
            Patch(
                op=op,
                key=key,
                sync_count=count,
                value=value if op == "replace" else None,
                device_last_modified_ms=epoch_ms(
                    item.get("DeviceLastModifiedDate"), f"{where}.DeviceLastModifiedDate"
                ),
            )
        )
    return patches


async def list_identity_pool_usage(call: Call) -> dict[str, Any]:
    max_results = int_query(call, "maxResults", minimum=1)
    result: dict[str, Any] = await call.run(
        call.state.storage.records.list_identity_pool_usage,
        call.query.get("nextToken"),
        max_results,
    )
    return result


async def describe_identity_pool_usage(call: Call) -> dict[str, Any]:
    await call.ensure(identity=False)
    result: dict[str, Any] = await call.run(
        call.state.storage.records.describe_identity_pool_usage, call.pool
    )
    return result


async def describe_identity_usage(call: Call) -> dict[str, Any]:
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.records.describe_identity_usage, call.pool, call.identity
    )
    return result


async def list_datasets(call: Call) -> dict[str, Any]:
    max_results = int_query(call, "maxResults", minimum=1)
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.records.list_datasets,
        call.pool,
        call.identity,
        call.query.get("nextToken"),
        max_results,
    )
    return result


async def describe_dataset(call: Call) -> dict[str, Any]:
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.records.describe_dataset, call.pool, call.identity, call.dataset
    )
    return result


async def delete_dataset(call: Call) -> dict[str, Any]:
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.records.delete_dataset, call.pool, call.identity, call.dataset
    )
    return result


async def list_records(call: Call) -> dict[str, Any]:
    last = int_query(call, "lastSyncCount", minimum=0)
    max_results = int_query(call, "maxResults", minimum=1)
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.records.list_records,
        call.pool,
        call.identity,
        call.dataset,
        last_sync_count=last,
        next_token=call.query.get("nextToken"),
        max_results=max_results,
        sync_session_token=call.query.get("syncSessionToken"),
        session_ttl=call.state.sync_session_ttl,
    )
    return result


async def update_records(call: Call) -> dict[str, Any]:
    data = call.json()
    token = string(data, "SyncSessionToken", required=True)
    assert token is not None
    device_id = string(data, "DeviceId")
    if device_id is not None and not 1 <= len(device_id) <= 256:
        raise invalid_parameter("DeviceId must be 1 to 256 characters")
    patches = _patches(data)
    await call.ensure(identity=True)
    storage = call.state.storage
    principal = call.principal
    writer = principal.identity_id if principal.kind == "identity" else call.state.account_id
    assert writer is not None
    if patches and principal.kind == "identity":
        patches = await run_sync_trigger(call, token, patches)
    result: dict[str, Any] = await call.run(
        storage.records.update_records,
        call.pool,
        call.identity,
        call.dataset,
        patches=patches,
        sync_session_token=token,
        device_id=device_id,
        writer=writer,
    )
    return result
