"""Every operation and the sync rules S1-S10 of docs/service-behaviour.md, through botocore."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from support.local_service import (
    IDENTITY,
    OTHER_IDENTITY,
    POOL,
    Caller,
    code_of,
    put,
    raw_request,
    remove,
    replace,
    status_of,
)

from cognitosync_async._credentials import Credentials
from cognitosync_async.local import LambdaThrottled, LocalCognitoSync

IDS = {"IdentityPoolId": POOL, "IdentityId": IDENTITY}
APNS_ARN = "arn:aws:sns:us-east-1:123456789012:app/APNS/my-app"
ROLE_ARN = "arn:aws:iam::123456789012:role/CognitoPush"


def ds(name: str) -> dict[str, str]:
    return {**IDS, "DatasetName": name}


# ---------------------------------------------------------------- S1, S2, S3, S5


async def test_s1_first_sync_yields_one_and_each_update_adds_one(dev: Caller) -> None:
    r = await put(dev, "d", [replace("a", "1"), replace("b", "2")])
    assert [(x["Key"], x["SyncCount"]) for x in r["Records"]] == [("a", 1), ("b", 1)]
    r = await put(dev, "d", [replace("a", "3", 1)])
    assert r["Records"][0]["SyncCount"] == 2
    listed = await dev("list_records", **ds("d"))
    assert listed["DatasetSyncCount"] == 2
    assert listed["DatasetExists"] is True
    assert listed["LastModifiedBy"] == "123456789012"


async def test_s2_conflict_message_and_nothing_applied(dev: Caller) -> None:
    await put(dev, "d", [replace("a", "1")])
    err = await dev.err(
        "update_records", **ds("d"),
        RecordPatches=[replace("b", "x"), replace("a", "1", 0)],
        SyncSessionToken=(await dev("list_records", **ds("d")))["SyncSessionToken"],
    )
    assert code_of(err) == "ResourceConflictException"
    assert status_of(err) == 409
    assert err.response["Error"]["Message"] == "Current SyncCount for: a is: 1 not: 0"
    listed = await dev("list_records", **ds("d"))
    assert [x["Key"] for x in listed["Records"]] == ["a"]
    assert listed["DatasetSyncCount"] == 1


async def test_s2_conflict_even_when_value_unchanged_and_higher_count(dev: Caller) -> None:
    await put(dev, "d", [replace("a", "1")])
    for count in (0, 5):
        err = await dev.err("update_records", **ds("d"), RecordPatches=[replace("a", "1", count)],
                            SyncSessionToken=(await dev("list_records", **ds("d")))[
                                "SyncSessionToken"])
        assert code_of(err) == "ResourceConflictException"


async def test_s3_tombstones(dev: Caller) -> None:
    await put(dev, "d", [replace("a", "1"), replace("b", "2")])
    r = await put(dev, "d", [remove("a", 1), remove("never", 0)])
    assert r["Records"][0] == {**r["Records"][0], "Key": "a", "SyncCount": 2}
    assert "Value" not in r["Records"][0]
    listed = await dev("list_records", **ds("d"), LastSyncCount=1)
    assert {x["Key"] for x in listed["Records"]} == {"a", "never"}
    assert all("Value" not in x for x in listed["Records"])
    # a tombstone has a count: re-adding needs it
    err = await dev.err("update_records", **ds("d"), RecordPatches=[replace("a", "x", 0)],
                        SyncSessionToken=listed["SyncSessionToken"])
    assert err.response["Error"]["Message"] == "Current SyncCount for: a is: 2 not: 0"
    r = await put(dev, "d", [replace("a", "back", 2)])
    assert r["Records"][0]["SyncCount"] == 3
    described = await dev("describe_dataset", **ds("d"))
    assert described["Dataset"]["NumRecords"] == 2  # a and b; tombstones excluded
    assert described["Dataset"]["DataStorage"] == len("a" "back" "b" "2")


async def test_s4_parameter_errors_and_empty_patches(dev: Caller) -> None:
    token = (await dev("list_records", **ds("d")))["SyncSessionToken"]
    for patches in (
        [{"Op": "replace", "Key": "a", "SyncCount": 0}],
        [replace("a", "1"), replace("a", "2")],
        [{"Op": "replace", "Key": "a", "Value": "1", "SyncCount": -1}],
    ):
        err = await dev.err("update_records", **ds("d"), RecordPatches=patches,
                            SyncSessionToken=token)
        assert code_of(err) == "InvalidParameterException", patches
    r = await dev("update_records", **ds("d"), RecordPatches=[], SyncSessionToken=token)
    assert r["Records"] == []
    err = await dev.err("describe_dataset", **ds("d"))
    assert code_of(err) == "ResourceNotFoundException"


async def test_s4_token_checked_before_conflicts(dev: Caller) -> None:
    await put(dev, "d", [replace("a", "1")])
    err = await dev.err("update_records", **ds("d"), RecordPatches=[replace("a", "1", 0)],
                        SyncSessionToken="bogus")
    assert code_of(err) == "InvalidParameterException"


async def test_s5_list_records_rules(dev: Caller) -> None:
    missing = await dev("list_records", **ds("nope"), LastSyncCount=0)
    assert missing["DatasetExists"] is False
    assert missing["Count"] == 0 and missing["Records"] == []
    assert missing["DatasetSyncCount"] == 0
    assert missing["SyncSessionToken"]
    await put(dev, "d", [replace("a", "1")])
    await put(dev, "d", [replace("b", "2")])
    r = await dev("list_records", **ds("d"), LastSyncCount=1)
    assert [x["Key"] for x in r["Records"]] == ["b"] and r["Count"] == 1
    err = await dev.err("list_records", **ds("d"), LastSyncCount=3)
    assert code_of(err) == "InvalidParameterException"
    assert err.response["Error"]["Message"] == "No such SyncCount: 3 exists for this Dataset"


async def test_s5_paging_snapshot_and_same_token(dev: Caller) -> None:
    await put(dev, "d", [replace(f"k{i:02}", str(i)) for i in range(5)])
    await put(dev, "d", [replace("k00", "x", 1)])
    first = await dev("list_records", **ds("d"), MaxResults=2)
    assert first["Count"] == 2 and "NextToken" in first
    await put(dev, "d", [replace("late", "x")])  # after the snapshot: not listed
    seen = list(first["Records"])
    page = first
    while "NextToken" in page:
        assert set(page["NextToken"]) <= set(  # standard base64 (#c7)
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        page = await dev("list_records", **ds("d"), MaxResults=2, NextToken=page["NextToken"])
        assert page["DatasetSyncCount"] == 2
        assert page["SyncSessionToken"] == first["SyncSessionToken"]
        seen += page["Records"]
    assert [(x["Key"], x["SyncCount"]) for x in seen] == [
        ("k01", 1), ("k02", 1), ("k03", 1), ("k04", 1), ("k00", 2)]


async def test_s6_session_token_binding_and_expiry(clients: Callable[..., Caller]) -> None:
    async with LocalCognitoSync(sync_session_ttl=0.3) as svc2:
        from support.local_service import make_client

        caller = Caller(make_client(svc2))
        try:
            token = (await caller("list_records", **ds("a")))["SyncSessionToken"]
            assert set(token) <= set(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
            err = await caller.err("update_records", **ds("b"),
                                   RecordPatches=[replace("k", "v")], SyncSessionToken=token)
            assert err.response["Error"]["Message"] == "SyncSessionToken not valid for these inputs"
            # reusable until expiry
            await caller("update_records", **ds("a"), RecordPatches=[replace("k", "v")],
                         SyncSessionToken=token)
            await caller("update_records", **ds("a"), RecordPatches=[replace("k", "w", 1)],
                         SyncSessionToken=token)
            # ListRecords accepts (and returns) a previous token
            again = await caller("list_records", **ds("a"), SyncSessionToken=token)
            assert again["SyncSessionToken"] == token
            await asyncio.sleep(0.4)
            err = await caller.err("update_records", **ds("a"),
                                   RecordPatches=[replace("k", "x", 2)], SyncSessionToken=token)
            assert code_of(err) == "InvalidParameterException"
        finally:
            caller.close()


async def test_s7_s8_delete_and_recreate(dev: Caller) -> None:
    created = await put(dev, "d", [replace("a", "1")])
    await put(dev, "d", [replace("a", "2", 1)])
    deleted = await dev("delete_dataset", **ds("d"))
    assert deleted["Dataset"]["DatasetName"] == "d"
    assert deleted["Dataset"]["NumRecords"] == 1
    assert created["Records"][0]["LastModifiedDate"] is not None
    for op in ("describe_dataset", "delete_dataset"):
        err = await dev.err(op, **ds("d"))
        assert code_of(err) == "ResourceNotFoundException" and status_of(err) == 404
    listed = await dev("list_records", **ds("d"), LastSyncCount=2)
    assert listed["DatasetExists"] is False
    assert listed["DatasetDeletedAfterRequestedSyncCount"] is True
    assert (await dev("list_records", **ds("d"), LastSyncCount=0))[
        "DatasetDeletedAfterRequestedSyncCount"] is False
    # UpdateRecords recreates; counts stay monotonic
    r = await put(dev, "d", [replace("a", "new", 0)])
    assert r["Records"][0]["SyncCount"] == 3
    listed = await dev("list_records", **ds("d"), LastSyncCount=1)
    assert listed["DatasetExists"] is True
    assert listed["DatasetDeletedAfterRequestedSyncCount"] is True
    assert [x["Value"] for x in listed["Records"]] == ["new"]


async def test_s9_writer_and_device_dates(
    svc: LocalCognitoSync, dev: Caller, ident: Caller
) -> None:
    r = await put(ident, "d", [{**replace("a", "1"), "DeviceLastModifiedDate": 1412974057}],
                  DeviceId="dev-1")
    rec = r["Records"][0]
    assert rec["LastModifiedBy"] == IDENTITY
    assert rec["DeviceLastModifiedDate"].timestamp() == 1412974057
    r = await put(dev, "d", [replace("b", "1")])
    assert r["Records"][0]["LastModifiedBy"] == svc.account_id
    assert "DeviceLastModifiedDate" not in r["Records"][0]


async def test_s10_merge(svc: LocalCognitoSync, dev: Caller) -> None:
    await put(dev, "settings", [replace("a", "old")], identity=OTHER_IDENTITY)
    await put(dev, "settings", [replace("a", "new")])
    names = svc.merge(POOL, OTHER_IDENTITY, IDENTITY)
    assert names == [f"settings.{OTHER_IDENTITY}"]
    listed = await dev("list_records", **ds("settings"))
    assert listed["MergedDatasetNames"] == [f"settings.{OTHER_IDENTITY}"]
    merged = await dev("list_records", **ds(f"settings.{OTHER_IDENTITY}"))
    assert [x["Value"] for x in merged["Records"]] == ["old"]
    datasets = await dev("list_datasets", **IDS)
    assert sorted(d["DatasetName"] for d in datasets["Datasets"]) == [
        "settings", f"settings.{OTHER_IDENTITY}"]
    other = await dev("list_datasets", IdentityPoolId=POOL, IdentityId=OTHER_IDENTITY)
    assert other["Datasets"] == []
    await dev("delete_dataset", **ds(f"settings.{OTHER_IDENTITY}"))
    listed = await dev("list_records", **ds("settings"))
    assert "MergedDatasetNames" not in listed


# ---------------------------------------------------------------- limits


async def test_limit_records_per_dataset(dev: Caller) -> None:
    await put(dev, "d", [replace(f"k{i}", "v") for i in range(1024)])
    err = await dev.err("update_records", **ds("d"), RecordPatches=[replace("extra", "v")],
                        SyncSessionToken=(await dev("list_records", **ds("d"), MaxResults=1))[
                            "SyncSessionToken"])
    assert code_of(err) == "LimitExceededException" and status_of(err) == 400
    # a remove in the same request makes room
    await put(dev, "d", [remove("k0", 1), replace("extra", "v")])


async def test_limit_dataset_bytes_in_utf8(dev: Caller) -> None:
    big = "é" * (512 * 1024 - 1)  # 2 bytes each in UTF-8
    ok = await put(dev, "d", [replace("a", big[:-1] + "ab")])  # 1 + (2*524286 + 2) bytes
    assert ok["Records"][0]["SyncCount"] == 1
    err = await dev.err("update_records", **ds("d"), RecordPatches=[replace("b", "xyz")],
                        SyncSessionToken=(await dev("list_records", **ds("d"), LastSyncCount=1))[
                            "SyncSessionToken"])
    assert code_of(err) == "LimitExceededException"
    assert (await dev("describe_dataset", **ds("d")))["Dataset"]["NumRecords"] == 1


async def test_limit_datasets_per_identity(dev: Caller) -> None:
    for i in range(20):
        await put(dev, f"d{i}", [replace("a", "1")])
    err = await dev.err("update_records", **ds("d20"), RecordPatches=[replace("a", "1")],
                        SyncSessionToken=(await dev("list_records", **ds("d20")))[
                            "SyncSessionToken"])
    assert code_of(err) == "LimitExceededException"
    await put(dev, "d0", [replace("b", "1")])  # existing datasets still writable
    page = await dev("list_datasets", **IDS, MaxResults=7)
    names: list[str] = []
    while True:
        names += [d["DatasetName"] for d in page["Datasets"]]
        assert page["Count"] == len(page["Datasets"])
        if "NextToken" not in page:
            break
        page = await dev("list_datasets", **IDS, MaxResults=7, NextToken=page["NextToken"])
    assert sorted(names) == sorted(f"d{i}" for i in range(20))
    usage = await dev("describe_identity_usage", **IDS)
    assert usage["IdentityUsage"]["DatasetCount"] == 20
    assert usage["IdentityUsage"]["DataStorage"] == 20 * 2 + 2


# ---------------------------------------------------------------- usage


async def test_usage(dev: Caller) -> None:
    pools = [f"us-east-1:{i:08x}-0000-0000-0000-000000000000" for i in range(3)]
    for p in pools:
        await put(dev, "d", [replace("key", "value")], pool=p)
    usage = await dev("describe_identity_pool_usage", IdentityPoolId=pools[0])
    u = usage["IdentityPoolUsage"]
    assert u["IdentityPoolId"] == pools[0]
    assert u["DataStorage"] == 8 and u["SyncSessionsCount"] == 1
    listed = await dev("list_identity_pool_usage", MaxResults=2)
    assert listed["MaxResults"] == 2 and listed["Count"] == 2
    rest = await dev("list_identity_pool_usage", MaxResults=2, NextToken=listed["NextToken"])
    assert [x["IdentityPoolId"] for x in listed["IdentityPoolUsages"] + rest[
        "IdentityPoolUsages"]] == pools
    assert "NextToken" not in rest


# ---------------------------------------------------------------- configuration, events


async def test_pool_configuration_round_trip(dev: Caller) -> None:
    got = await dev("get_identity_pool_configuration", IdentityPoolId=POOL)
    assert set(got) - {"ResponseMetadata"} == {"IdentityPoolId"}
    streams = {"StreamName": "s", "RoleArn": ROLE_ARN, "StreamingStatus": "ENABLED"}
    r = await dev("set_identity_pool_configuration", IdentityPoolId=POOL, CognitoStreams=streams)
    assert r["CognitoStreams"] == streams and "PushSync" not in r
    push = {"ApplicationArns": [APNS_ARN], "RoleArn": ROLE_ARN}
    r = await dev("set_identity_pool_configuration", IdentityPoolId=POOL, PushSync=push)
    assert r["PushSync"] == push and r["CognitoStreams"] == streams  # omitted member unchanged
    got = await dev("get_identity_pool_configuration", IdentityPoolId=POOL)
    assert got["PushSync"] == push and got["CognitoStreams"] == streams
    err = await dev.err("set_identity_pool_configuration", IdentityPoolId=POOL,
                        PushSync={"ApplicationArns": ["not-an-arn"]})
    assert code_of(err) == "InvalidParameterException"


async def test_cognito_events(dev: Caller) -> None:
    assert (await dev("get_cognito_events", IdentityPoolId=POOL))["Events"] == {}
    arn = "arn:aws:lambda:us-east-1:123456789012:function:trigger"
    r = await dev("set_cognito_events", IdentityPoolId=POOL, Events={"SyncTrigger": arn})
    assert set(r) == {"ResponseMetadata"}
    assert (await dev("get_cognito_events", IdentityPoolId=POOL))["Events"] == {
        "SyncTrigger": arn}
    err = await dev.err("set_cognito_events", IdentityPoolId=POOL, Events={"Other": arn})
    assert code_of(err) == "InvalidParameterException"
    await dev("set_cognito_events", IdentityPoolId=POOL, Events={"SyncTrigger": ""})
    assert (await dev("get_cognito_events", IdentityPoolId=POOL))["Events"] == {}


async def test_sync_trigger_hook(svc: LocalCognitoSync, dev: Caller, ident: Caller) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:trigger"
    events: list[dict[str, Any]] = []

    async def hook(event: dict[str, Any]) -> dict[str, Any]:
        events.append(json.loads(json.dumps(event)))
        recs = event["datasetRecords"]
        if "score" in recs:
            recs["score"]["newValue"] = recs["score"]["newValue"] + "!"
        recs["badge"] = {"newValue": "gold", "op": "replace"}
        if recs.get("boom", {}).get("newValue") == "throttle":
            raise LambdaThrottled
        return event

    svc.lambdas[arn] = hook
    await dev("set_cognito_events", IdentityPoolId=POOL, Events={"SyncTrigger": arn})
    r = await put(ident, "d", [replace("score", "10")])
    assert {x["Key"]: x["Value"] for x in r["Records"]} == {"score": "10!", "badge": "gold"}
    assert events[0]["datasetRecords"]["score"] == {
        "oldValue": None, "newValue": "10", "op": "replace"}
    assert events[0]["version"] == 2 and events[0]["identityId"] == IDENTITY
    # developer credentials do not fire the trigger
    r = await put(dev, "d", [replace("plain", "1")])
    assert [x["Key"] for x in r["Records"]] == ["plain"]
    assert len(events) == 1
    err = await ident.err(
        "update_records", **ds("d"), RecordPatches=[replace("boom", "throttle")],
        SyncSessionToken=(await ident("list_records", **ds("d")))["SyncSessionToken"])
    assert code_of(err) == "LambdaThrottledException" and status_of(err) == 429


# ---------------------------------------------------------------- bulk publish


async def test_bulk_publish(svc: LocalCognitoSync, dev: Caller) -> None:
    details = await dev("get_bulk_publish_details", IdentityPoolId=POOL)
    assert details["BulkPublishStatus"] == "NOT_STARTED"
    err = await dev.err("bulk_publish", IdentityPoolId=POOL)
    assert code_of(err) == "InvalidParameterException"  # streaming not enabled
    await dev("set_identity_pool_configuration", IdentityPoolId=POOL, CognitoStreams={
        "StreamName": "s", "RoleArn": ROLE_ARN, "StreamingStatus": "ENABLED"})
    await put(dev, "d", [replace("a", "1")])
    r = await dev("bulk_publish", IdentityPoolId=POOL)
    assert r["IdentityPoolId"] == POOL
    details = await dev("get_bulk_publish_details", IdentityPoolId=POOL)
    assert details["BulkPublishStatus"] == "SUCCEEDED"
    assert details["BulkPublishCompleteTime"] >= details["BulkPublishStartTime"]
    err = await dev.err("bulk_publish", IdentityPoolId=POOL)
    assert code_of(err) == "AlreadyStreamedException"
    stream = svc.outbox("stream")
    assert [e["operation"] for e in stream] == ["replace", "bulkpublish"]
    assert stream[0]["kinesisSyncRecords"][0]["key"] == "a"


async def test_bulk_publish_in_progress(dev: Caller) -> None:
    async with LocalCognitoSync(bulk_publish_delay=0.3) as svc2:
        from support.local_service import make_client

        caller = Caller(make_client(svc2))
        try:
            await caller("set_identity_pool_configuration", IdentityPoolId=POOL, CognitoStreams={
                "StreamName": "s", "RoleArn": ROLE_ARN, "StreamingStatus": "ENABLED"})
            await caller("bulk_publish", IdentityPoolId=POOL)
            details = await caller("get_bulk_publish_details", IdentityPoolId=POOL)
            assert details["BulkPublishStatus"] == "IN_PROGRESS"
            assert "BulkPublishCompleteTime" not in details
            err = await caller.err("bulk_publish", IdentityPoolId=POOL)
            assert code_of(err) == "DuplicateRequestException"
            await asyncio.sleep(0.35)
            details = await caller("get_bulk_publish_details", IdentityPoolId=POOL)
            assert details["BulkPublishStatus"] == "SUCCEEDED"
        finally:
            caller.close()


# ---------------------------------------------------------------- push


async def test_register_subscribe_unsubscribe(
    svc: LocalCognitoSync, dev: Caller, ident: Caller
) -> None:
    err = await ident.err("register_device", **IDS, Platform="APNS", Token="t1")
    assert code_of(err) == "InvalidConfigurationException"
    await dev("set_identity_pool_configuration", IdentityPoolId=POOL,
              PushSync={"ApplicationArns": [APNS_ARN], "RoleArn": ROLE_ARN})
    err = await ident.err("register_device", **IDS, Platform="GCM", Token="t1")
    assert code_of(err) == "InvalidConfigurationException"
    device = (await ident("register_device", **IDS, Platform="APNS", Token="t1"))["DeviceId"]
    assert (await ident("register_device", **IDS, Platform="APNS", Token="t1"))[
        "DeviceId"] == device
    assert (await ident("register_device", **IDS, Platform="APNS", Token="t2"))[
        "DeviceId"] != device
    err = await ident.err("subscribe_to_dataset", **ds("d"), DeviceId=device)
    assert code_of(err) == "ResourceNotFoundException"  # dataset does not exist yet
    await put(ident, "d", [replace("a", "1")])
    err = await ident.err("subscribe_to_dataset", **ds("d"), DeviceId="unknown-device")
    assert code_of(err) == "ResourceNotFoundException"
    r = await ident("subscribe_to_dataset", **ds("d"), DeviceId=device)
    assert set(r) == {"ResponseMetadata"}
    await put(ident, "d", [replace("a", "2", 1)])
    assert svc.outbox("push") == [{
        "kind": "push", "source": "cognito-sync", "identityPoolId": POOL,
        "identityId": IDENTITY, "datasetName": "d", "syncCount": 2, "deviceId": device}]
    await ident("unsubscribe_from_dataset", **ds("d"), DeviceId=device)
    err = await ident.err("unsubscribe_from_dataset", **ds("d"), DeviceId=device)
    assert code_of(err) == "ResourceNotFoundException"


async def test_device_id_with_slash_routes(
    svc: LocalCognitoSync, dev: Caller, ident: Caller
) -> None:
    await dev("set_identity_pool_configuration", IdentityPoolId=POOL,
              PushSync={"ApplicationArns": [APNS_ARN], "RoleArn": ROLE_ARN})
    await put(ident, "d", [replace("a", "1")])
    err = await ident.err("subscribe_to_dataset", **ds("d"), DeviceId="a/b c+=")
    # routed to SubscribeToDataset (not UnknownOperation): the device is simply unknown
    assert code_of(err) == "ResourceNotFoundException"
    assert "a/b c+=" in err.response["Error"]["Message"]


# ---------------------------------------------------------------- wire format


async def test_wire_format_success_and_error(svc: LocalCognitoSync, dev: Caller) -> None:
    await put(dev, "d", [replace("a", "1")])
    path = f"/identitypools/{POOL.replace(':', '%3A')}/identities/{IDENTITY.replace(':', '%3A')}"
    status, headers, body = await raw_request(svc, "GET", path + "/datasets/d")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert "x-amzn-RequestId" in headers and "Date" in headers
    data = json.loads(body)
    created = data["Dataset"]["CreationDate"]
    assert isinstance(created, float) and round(created, 3) == created
    status, headers, body = await raw_request(svc, "GET", path + "/datasets/missing")
    assert status == 404
    assert headers["x-amzn-ErrorType"] == (
        "ResourceNotFoundException:http://internal.amazon.com/coral/"
        "com.amazonaws.cognito.sync.model/")
    assert set(json.loads(body)) == {"message"}
    # empty output is {}
    status, _, body = await raw_request(
        svc, "POST", f"/identitypools/{POOL.replace(':', '%3A')}/events",
        body=b'{"Events":{"SyncTrigger":""}}')
    assert status == 200 and body == b"{}"


async def test_raw_colon_in_path_is_accepted(svc: LocalCognitoSync, dev: Caller) -> None:
    await put(dev, "d", [replace("a", "1")])
    status, _, body = await raw_request(
        svc, "GET", f"/identitypools/{POOL}/identities/{IDENTITY}/datasets/d/records")
    assert status == 200, body
    assert json.loads(body)["Records"][0]["Key"] == "a"


async def test_strict_mode(clients: Callable[..., Caller]) -> None:
    from support.local_service import make_client

    async with LocalCognitoSync(strict=True) as svc2:
        caller = Caller(make_client(svc2))
        try:
            err = await caller.err("list_records", **ds("d"))
            assert code_of(err) == "ResourceNotFoundException"
            svc2.seed_pool(POOL)
            err = await caller.err("describe_identity_usage", **IDS)
            assert code_of(err) == "ResourceNotFoundException"
            svc2.seed_identity(POOL, IDENTITY)
            await put(caller, "d", [replace("a", "1")])
            with pytest.raises(Exception, match="not found"):
                svc2.mint_identity_credentials(POOL, OTHER_IDENTITY)
            creds: Credentials = svc2.mint_identity_credentials(POOL, IDENTITY)
            assert creds.session_token and creds.expiration is not None
        finally:
            caller.close()
