"""The pool's SyncTrigger, run inside UpdateRecords with identity credentials
(docs/service-behaviour.md#events and #c4; "C4" below is that rule)."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

from .._errors import ServiceException
from ..context import LambdaThrottled, SyncTriggerHook
from ..state import Patch
from .call import Call

#: Event members a SyncTrigger may not change (C4; the DG names read-only fields).
_READ_ONLY_EVENT_FIELDS = (
    "version", "eventType", "region", "identityPoolId", "identityId", "datasetName"
)


def _storable(text: str) -> bool:
    """Valid Unicode (no lone surrogate), so it can be stored as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _invoke(hook: SyncTriggerHook, event: dict[str, Any]) -> Any:
    """Call a hook: a coroutine function in the loop, anything else in a thread (so
    the caller's deadline bounds a blocking hook too; a hook past it is abandoned)."""
    if inspect.iscoroutinefunction(hook):
        outcome: Any = hook(event)
    else:
        outcome = await asyncio.to_thread(hook, event)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return outcome


async def run_sync_trigger(call: Call, token: str, patches: list[Patch]) -> list[Patch]:
    """Run the pool's SyncTrigger hook, if one is set and registered
    (docs/service-behaviour.md#events)."""
    storage = call.state.storage
    events: dict[str, str] = await call.run(storage.pools.get_events, call.pool)
    hook = call.state.lambdas.get(events.get("SyncTrigger", ""))
    if hook is None:
        return patches
    await call.run(storage.records.check_session, token, call.pool, call.identity, call.dataset)
    snapshot: dict[str, tuple[str | None, int]] = await call.run(
        storage.records.read_dataset, call.pool, call.identity, call.dataset
    )
    for p in patches:
        server = snapshot.get(p.key, (None, 0))[1]
        if server != p.sync_count:
            raise ServiceException(
                "ResourceConflictException",
                f"Current SyncCount for: {p.key} is: {server} not: {p.sync_count}",
            )
    records: dict[str, dict[str, Any]] = {
        key: {"oldValue": value, "newValue": value, "op": "replace"}
        for key, (value, _) in snapshot.items()
        if value is not None
    }
    for p in patches:
        records[p.key] = {
            "oldValue": snapshot.get(p.key, (None, 0))[0],
            "newValue": p.value,
            "op": p.op,
        }
    event: dict[str, Any] = {
        "version": 2,
        "eventType": "SyncTrigger",
        "region": call.state.region,
        "identityPoolId": call.pool,
        "identityId": call.identity,
        "datasetName": call.dataset,
        "datasetRecords": records,
    }
    try:
        outcome = await asyncio.wait_for(
            _invoke(hook, json.loads(json.dumps(event))), call.state.lambda_timeout
        )
    except LambdaThrottled:
        raise ServiceException("LambdaThrottledException", "Lambda was throttled") from None
    except asyncio.TimeoutError:
        raise ServiceException(
            "LambdaSocketTimeoutException", "The SyncTrigger timed out"
        ) from None
    except ServiceException:
        raise
    except Exception as exc:
        raise ServiceException(
            "InvalidLambdaFunctionOutputException", f"The SyncTrigger failed: {exc!r}"
        ) from None
    out_records = outcome.get("datasetRecords") if isinstance(outcome, dict) else None
    if not isinstance(out_records, dict):
        raise ServiceException(
            "InvalidLambdaFunctionOutputException", "The SyncTrigger output has no datasetRecords"
        )
    assert isinstance(outcome, dict)
    for name in _READ_ONLY_EVENT_FIELDS:  # C4: a changed read-only field fails the update
        if outcome.get(name) != event[name]:
            raise ServiceException(
                "InvalidLambdaFunctionOutputException",
                f"The SyncTrigger changed the read-only field {name}",
            )
    by_key = {p.key: p for p in patches}
    final: list[Patch] = []
    for key, rec in out_records.items():
        if not (isinstance(key, str) and 1 <= len(key) <= 1024 and isinstance(rec, dict)):
            raise ServiceException("InvalidLambdaFunctionOutputException", "Bad record in output")
        op, value = rec.get("op"), rec.get("newValue")
        if op not in ("replace", "remove") or not (value is None or isinstance(value, str)):
            raise ServiceException(
                "InvalidLambdaFunctionOutputException", "Bad op or newValue in output"
            )
        if not _storable(key) or (
            value is not None and not (len(value) <= 1_048_575 and _storable(value))
        ):
            raise ServiceException(
                "InvalidLambdaFunctionOutputException",
                "A key or newValue in the output is too long or not valid Unicode",
            )
        if "oldValue" in rec and rec["oldValue"] != records.get(key, {}).get("oldValue"):
            raise ServiceException(
                "InvalidLambdaFunctionOutputException",
                "The SyncTrigger changed the read-only field oldValue",
            )
        current_value, current_count = snapshot.get(key, (None, 0))
        # C4: "to remove a record, either set the op to remove, or set the value to null"
        new_value = value if op == "replace" else None
        op = "replace" if new_value is not None else "remove"
        if key not in by_key and new_value == current_value:
            continue
        original = by_key.get(key)
        final.append(
            Patch(
                op=op,
                key=key,
                sync_count=current_count,
                value=new_value,
                device_last_modified_ms=original.device_last_modified_ms if original else None,
            )
        )
    return final
