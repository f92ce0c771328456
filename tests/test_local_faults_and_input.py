"""Fault injection, and bad input that must never crash or corrupt the service."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import botocore.exceptions
import pytest
from support.local_service import (
    IDENTITY,
    POOL,
    Caller,
    code_of,
    put,
    raw_request,
    replace,
    status_of,
)

from cognitosync_async.local import Faults, LocalCognitoSync

P = POOL.replace(":", "%3A")
I = IDENTITY.replace(":", "%3A")  # noqa: E741
DS_PATH = f"/identitypools/{P}/identities/{I}/datasets/d"
KW = {"IdentityPoolId": POOL, "IdentityId": IDENTITY}
DROPPED = (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError)


async def test_script_answers_in_order_then_normal(svc: LocalCognitoSync, dev: Caller) -> None:
    svc.faults.script = [429, 500, "drop", "ConcurrentModificationException", "ok", 503]
    err = await dev.err("list_datasets", **KW)
    assert (status_of(err), code_of(err)) == (429, "TooManyRequestsException")
    assert err.response["Error"]["Message"] == "Rate exceeded"
    assert err.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "0"
    err = await dev.err("list_datasets", **KW)
    assert (status_of(err), code_of(err)) == (500, "InternalErrorException")
    with pytest.raises(DROPPED):
        await dev("list_datasets", **KW)
    err = await dev.err("list_datasets", **KW)
    assert (status_of(err), code_of(err)) == (400, "ConcurrentModificationException")
    await dev("list_datasets", **KW)  # "ok"
    err = await dev.err("list_datasets", **KW)
    assert status_of(err) == 503
    await dev("list_datasets", **KW)
    assert svc.faults.script == []


async def test_throttle_token_bucket(svc: LocalCognitoSync, dev: Caller) -> None:
    svc.faults = Faults(throttle_rate=20.0, throttle_burst=2)
    await dev("list_datasets", **KW)
    await dev("list_datasets", **KW)
    err = await dev.err("list_datasets", **KW)
    assert code_of(err) == "TooManyRequestsException" and status_of(err) == 429
    assert err.response["Error"]["Message"] == "Rate exceeded"
    assert int(err.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1
    # another pool has its own bucket
    await dev("list_datasets", IdentityPoolId="us-east-1:ab", IdentityId=IDENTITY)
    await asyncio.sleep(0.1)  # refills at 20/s
    await dev("list_datasets", **KW)
    # BulkPublish/GetBulkPublishDetails are never throttled (not in their error lists)
    svc.faults.throttle_rate = 0.001
    for _ in range(3):
        await dev("get_bulk_publish_details", IdentityPoolId=POOL)


async def test_random_faults_are_seedable(dev: Caller, svc: LocalCognitoSync) -> None:
    svc.faults = Faults(error_rate=0.5, seed=7)
    outcomes = []
    for _ in range(8):
        try:
            await dev("list_datasets", **KW)
            outcomes.append("ok")
        except botocore.exceptions.ClientError as exc:
            outcomes.append(code_of(exc))
    svc.faults = Faults(error_rate=0.5, seed=7)
    again = []
    for _ in range(8):
        try:
            await dev("list_datasets", **KW)
            again.append("ok")
        except botocore.exceptions.ClientError as exc:
            again.append(code_of(exc))
    assert outcomes == again
    assert set(outcomes) == {"ok", "InternalErrorException"}


async def test_latency_and_drop_rate(dev: Caller, svc: LocalCognitoSync) -> None:
    svc.faults.latency = 0.2
    start = time.monotonic()
    await dev("list_datasets", **KW)
    assert time.monotonic() - start >= 0.2
    svc.faults = Faults(drop_rate=1.0)
    with pytest.raises(DROPPED):
        await dev("list_datasets", **KW)
    svc.faults.reset()
    await dev("list_datasets", **KW)


# ---------------------------------------------------------------- bad input


_SER = "SerializationException"  # a member of the wrong JSON type (service-behaviour.md#c2)
_PARAM = "InvalidParameterException"  # a right-typed value breaking a rule


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", _SER),
        (b"[1, 2]", _SER),
        (b'"string"', _SER),
        (b'{"SyncSessionToken": 5}', _SER),
        (b'{"RecordPatches": "x", "SyncSessionToken": "t"}', _SER),
        (b'{"RecordPatches": [{"Op": "replace", "Key": "a", "Value": 1, "SyncCount": 0}],'
         b' "SyncSessionToken": "t"}', _SER),
        (b'{"RecordPatches": [{"Op": "replace", "Key": "a", "Value": "1", "SyncCount": true}],'
         b' "SyncSessionToken": "t"}', _SER),
        (b'{"RecordPatches": [{"Op": "upsert", "Key": "a", "Value": "1", "SyncCount": 0}],'
         b' "SyncSessionToken": "t"}', _PARAM),
        (b'{"RecordPatches": [{"Op": "replace", "Key": "", "Value": "1", "SyncCount": 0}],'
         b' "SyncSessionToken": "t"}', _PARAM),
        (b'{"RecordPatches": [null], "SyncSessionToken": "t"}', _SER),
        (b'{"RecordPatches": [], "SyncSessionToken": "t", "DeviceId": ""}', _PARAM),
        (b"\xff\xfe", _SER),
    ],
)
async def test_malformed_update_records(
    svc: LocalCognitoSync, dev: Caller, body: bytes, code: str
) -> None:
    await put(dev, "d", [replace("a", "1")])
    status, headers, resp = await raw_request(svc, "POST", DS_PATH, body=body)
    assert status == 400, resp
    assert headers["x-amzn-ErrorType"].split(":")[0] == code
    assert "message" in json.loads(resp)
    listed = await dev("list_records", **KW, DatasetName="d")
    assert [(r["Key"], r["Value"], r["SyncCount"]) for r in listed["Records"]] == [("a", "1", 1)]


@pytest.mark.parametrize(
    ("path", "query", "status", "code"),
    [
        ("/nothing/here", "", 404, "UnknownOperationException"),
        (f"/identitypools/{P}/identities/{I}/datasets/d/records/extra", "", 404,
         "UnknownOperationException"),
        (f"/identitypools/bad-pool/identities/{I}/datasets/d", "", 400,
         "InvalidParameterException"),
        (f"/identitypools/{P}/identities/{I}/datasets/bad%21name", "", 400,
         "InvalidParameterException"),
        (f"/identitypools/{P}/identities/{I}/datasets/d/records", "lastSyncCount=abc", 400,
         "InvalidParameterException"),
        (f"/identitypools/{P}/identities/{I}/datasets/d/records", "maxResults=0", 400,
         "InvalidParameterException"),
        (f"/identitypools/{P}/identities/{I}/datasets/d/records", "nextToken=%25%25", 400,
         "InvalidParameterException"),
        (f"/identitypools/{P}/identities/{I}/datasets/%FF", "", 400,
         "InvalidParameterException"),
    ],
)
async def test_bad_paths_and_queries(
    svc: LocalCognitoSync, path: str, query: str, status: int, code: str
) -> None:
    got, headers, body = await raw_request(svc, "GET", path, query=query)
    assert got == status, body
    assert headers["x-amzn-ErrorType"].split(":")[0] == code
    assert "x-amzn-RequestId" in headers
    assert "message" in json.loads(body)


async def test_wrong_method_on_known_path(svc: LocalCognitoSync) -> None:
    status, headers, _ = await raw_request(svc, "PUT", DS_PATH)
    assert status == 404
    assert headers["x-amzn-ErrorType"].startswith("UnknownOperationException:")


async def test_oversized_body(svc: LocalCognitoSync) -> None:
    body = b'{"SyncSessionToken":"' + b"x" * (7 * 1024 * 1024) + b'"}'
    try:
        status, headers, resp = await raw_request(svc, "POST", DS_PATH, body=body)
    except aiohttp.ClientError:  # the server may close before reading everything
        return
    assert status == 400
    assert headers["x-amzn-ErrorType"].startswith("InvalidParameterException:")


async def test_record_value_too_long(svc: LocalCognitoSync, dev: Caller) -> None:
    listed = await dev("list_records", **KW, DatasetName="d")
    body = json.dumps({"SyncSessionToken": listed["SyncSessionToken"], "RecordPatches": [
        {"Op": "replace", "Key": "a", "Value": "x" * 1_048_576, "SyncCount": 0}]}).encode()
    status, headers, _ = await raw_request(svc, "POST", DS_PATH, body=body)
    assert status == 400
    assert headers["x-amzn-ErrorType"].startswith("InvalidParameterException:")
