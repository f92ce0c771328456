"""The SyncTrigger in the local service (service-behaviour.md#events, #c4): ``newValue: null``
removes a record, a changed read-only field fails the update, and a blocking hook is bounded
by the Lambda timeout like an async one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from support.local_service import (
    IDENTITY,
    POOL,
    Caller,
    code_of,
    put,
    replace,
)

from cognitosync_async.local import LocalCognitoSync

ARN = "arn:aws:lambda:us-east-1:123456789012:function:trigger"
DS = {"IdentityPoolId": POOL, "IdentityId": IDENTITY, "DatasetName": "d"}


async def _hook(svc: LocalCognitoSync, dev: Caller, hook: Callable[..., Any]) -> None:
    svc.lambdas[ARN] = hook
    await dev("set_cognito_events", IdentityPoolId=POOL, Events={"SyncTrigger": ARN})


async def _records(dev: Caller) -> dict[str, str | None]:
    listed = await dev("list_records", **DS)
    return {r["Key"]: r.get("Value") for r in listed["Records"]}


@pytest.mark.parametrize("blocking", [False, True], ids=["async", "sync"])
async def test_new_value_null_removes_the_record(
    svc: LocalCognitoSync, dev: Caller, ident: Caller, blocking: bool
) -> None:
    await put(dev, "d", [replace("keep", "1"), replace("drop", "2")])  # no trigger: developer

    def change(event: dict[str, Any]) -> dict[str, Any]:
        recs = event["datasetRecords"]
        recs["drop"]["newValue"] = None  # op stays "replace": null still removes (C4)
        recs["censored"]["newValue"] = None
        return event

    async def async_change(event: dict[str, Any]) -> dict[str, Any]:
        return change(event)

    await _hook(svc, dev, change if blocking else async_change)
    written = await put(ident, "d", [replace("censored", "bad"), replace("new", "3")])
    by_key = {r["Key"]: r for r in written["Records"]}
    assert set(by_key) == {"drop", "censored", "new"}
    assert "Value" not in by_key["drop"] and "Value" not in by_key["censored"]
    assert by_key["new"]["Value"] == "3"
    assert await _records(dev) == {"keep": "1", "drop": None, "censored": None, "new": "3"}


@pytest.mark.parametrize(
    "edit",
    [
        lambda e: e.update(identityId="us-east-1:99999999-9999-9999-9999-999999999999"),
        lambda e: e.update(datasetName="other"),
        lambda e: e.update(identityPoolId="us-east-1:99999999-9999-9999-9999-999999999999"),
        lambda e: e.update(eventType="Other"),
        lambda e: e.update(region="eu-west-1"),
        lambda e: e.update(version=3),
        lambda e: e.pop("datasetName"),
        lambda e: e["datasetRecords"]["a"].update(oldValue="forged"),
    ],
    ids=["identityId", "datasetName", "identityPoolId", "eventType", "region", "version",
         "missing", "oldValue"],
)
async def test_changed_read_only_field_fails(
    svc: LocalCognitoSync, dev: Caller, ident: Caller, edit: Callable[[dict[str, Any]], Any]
) -> None:
    await put(dev, "d", [replace("a", "1")])

    async def hook(event: dict[str, Any]) -> dict[str, Any]:
        edit(event)
        return event

    await _hook(svc, dev, hook)
    listed = await ident("list_records", **DS)
    err = await ident.err("update_records", **DS, RecordPatches=[replace("a", "2", 1)],
                          SyncSessionToken=listed["SyncSessionToken"])
    assert code_of(err) == "InvalidLambdaFunctionOutputException"
    assert await _records(dev) == {"a": "1"}  # nothing applied


async def test_unchanged_output_and_added_records_pass(
    svc: LocalCognitoSync, dev: Caller, ident: Caller
) -> None:
    async def hook(event: dict[str, Any]) -> dict[str, Any]:
        if "badge" not in event["datasetRecords"]:  # as the developer guide's example adds
            event["datasetRecords"]["badge"] = {"newValue": "gold", "op": "replace"}
        return event

    await _hook(svc, dev, hook)
    await put(ident, "d", [replace("a", "1")])
    await put(ident, "d", [replace("a", "2", 1)])
    assert await _records(dev) == {"a": "2", "badge": "gold"}


async def test_blocking_hook_is_bounded_by_the_lambda_timeout(
    clients: Callable[..., Caller],
) -> None:
    release = threading.Event()
    calls: list[str] = []

    def stuck(event: dict[str, Any]) -> dict[str, Any]:
        calls.append("called")
        release.wait(30)  # a blocking Lambda far past the timeout
        return event

    async with LocalCognitoSync(lambda_timeout=0.2, lambdas={ARN: stuck}) as svc:
        from support.local_service import make_client

        dev = Caller(make_client(svc))
        ident = Caller(make_client(svc, svc.mint_identity_credentials(POOL, IDENTITY)))
        try:
            await dev("set_cognito_events", IdentityPoolId=POOL, Events={"SyncTrigger": ARN})
            listed = await ident("list_records", **DS)
            err = await ident.err("update_records", **DS, RecordPatches=[replace("a", "1")],
                                  SyncSessionToken=listed["SyncSessionToken"])
            assert code_of(err) == "LambdaSocketTimeoutException"
            assert calls == ["called"]
            assert await _records(dev) == {}  # nothing written
        finally:
            release.set()
            dev.close()
            ident.close()
        await asyncio.sleep(0)


@pytest.mark.parametrize(
    "bad",
    [
        {"k\ud800": {"newValue": "v", "op": "replace"}},
        {"k": {"newValue": "v\udfff", "op": "replace"}},
        {"k": {"newValue": "v" * 1_048_576, "op": "replace"}},
        {"k": {"newValue": 5, "op": "replace"}},
        {"k": {"newValue": "v", "op": "upsert"}},
        {"": {"newValue": "v", "op": "replace"}},
    ],
    ids=["surrogate-key", "surrogate-value", "value-too-long", "number", "op", "empty-key"],
)
async def test_bad_output_records_fail_cleanly(
    svc: LocalCognitoSync, dev: Caller, ident: Caller, bad: dict[str, Any]
) -> None:
    async def hook(event: dict[str, Any]) -> dict[str, Any]:
        event["datasetRecords"].update(bad)
        return event

    await _hook(svc, dev, hook)
    listed = await ident("list_records", **DS)
    err = await ident.err("update_records", **DS, RecordPatches=[replace("a", "1")],
                          SyncSessionToken=listed["SyncSessionToken"])
    assert code_of(err) == "InvalidLambdaFunctionOutputException"
    assert await _records(dev) == {}
