"""Every constraint of the service model, checked before any network call.

Each bad input must raise ``ParamValidationError`` (also a ``ValueError``)
naming the parameter, while an ``aiohttp.web`` server on 127.0.0.1 that
counts requests sees none. Valid edge values must reach that server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import attrs
import botocore.session
import pytest
from aiohttp import web
from botocore import xform_name

from cognitosync_async import (
    CognitoStreams,
    CognitoSyncClient,
    CognitoSyncError,
    Credentials,
    ParamValidationError,
    PushSync,
    RecordPatch,
)

SERVICE_MODEL = botocore.session.get_session().get_service_model("cognito-sync")
POOL = "us-east-1:00000000-0000-0000-0000-000000000001"
IDENTITY = "us-east-1:11111111-1111-1111-1111-111111111111"
ROLE = "arn:aws:iam::123456789012:role/CognitoSync"
APP = "arn:aws:sns:us-east-1:123456789012:app/GCM/my_app-1.0"


@attrs.define
class Counting:
    client: CognitoSyncClient
    requests: int = 0
    bodies: list[bytes] = attrs.Factory(list)
    lengths: list[str | None] = attrs.Factory(list)


@pytest.fixture
async def counting() -> AsyncIterator[Counting]:
    """A client pointed at a server that counts the requests it gets."""
    state: list[Counting] = []

    async def handle(request: web.BaseRequest) -> web.Response:
        state[0].requests += 1
        body = await request.content.read()  # whatever its size
        state[0].bodies.append(body)
        state[0].lengths.append(request.headers.get("Content-Length"))
        return web.json_response({})

    runner = web.ServerRunner(web.Server(handle))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    client = CognitoSyncClient(
        "us-east-1",
        credentials=Credentials("AKIDEXAMPLE", "secret"),
        endpoint_url=f"http://{host}:{port}",
        max_attempts=1,
    )
    try:
        async with client:
            state.append(Counting(client))
            yield state[0]
    finally:
        await runner.cleanup()


# Valid arguments for every operation (all members, optional ones included).
VALID: dict[str, dict[str, Any]] = {
    "bulk_publish": {"identity_pool_id": POOL},
    "delete_dataset": {"identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d"},
    "describe_dataset": {"identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d"},
    "describe_identity_pool_usage": {"identity_pool_id": POOL},
    "describe_identity_usage": {"identity_pool_id": POOL, "identity_id": IDENTITY},
    "get_bulk_publish_details": {"identity_pool_id": POOL},
    "get_cognito_events": {"identity_pool_id": POOL},
    "get_identity_pool_configuration": {"identity_pool_id": POOL},
    "list_datasets": {
        "identity_pool_id": POOL, "identity_id": IDENTITY, "next_token": "n", "max_results": 3,
    },
    "list_identity_pool_usage": {"next_token": "n", "max_results": 3},
    "list_records": {
        "identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d",
        "last_sync_count": 0, "next_token": "n", "max_results": 3, "sync_session_token": "s",
    },
    "register_device": {
        "identity_pool_id": POOL, "identity_id": IDENTITY, "platform": "GCM", "token": "t",
    },
    "set_cognito_events": {"identity_pool_id": POOL, "events": {"SyncTrigger": "arn:lambda"}},
    "set_identity_pool_configuration": {
        "identity_pool_id": POOL,
        "push_sync": PushSync(application_arns=[APP], role_arn=ROLE),
        "cognito_streams": CognitoStreams(
            stream_name="s", role_arn=ROLE, streaming_status="ENABLED"
        ),
    },
    "subscribe_to_dataset": {
        "identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d", "device_id": "v",
    },
    "unsubscribe_from_dataset": {
        "identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d", "device_id": "v",
    },
    "update_records": {
        "identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d",
        "device_id": "v", "record_patches": [RecordPatch("replace", "k", 0, "v")],
        "sync_session_token": "s", "client_context": "c",
    },
}


def _required_members() -> list[tuple[str, str]]:
    """``(method, argument)`` for each required member of every operation, from botocore's model."""
    required = []
    for op_name in SERVICE_MODEL.operation_names:
        shape = SERVICE_MODEL.operation_model(op_name).input_shape
        for member in shape.required_members if shape else []:
            required.append((xform_name(op_name), xform_name(member)))
    return required


REQUIRED_MEMBERS = _required_members()


def _required_cases() -> list[Any]:
    """A required member given as None: refused before the network."""
    return [
        pytest.param(method, {param: None}, param, id=f"{method}-{param}-None")
        for method, param in REQUIRED_MEMBERS
    ]


def _case(method: str, param: str, value: Any, case_id: str) -> Any:
    return pytest.param(method, {param: value}, param, id=f"{method}-{param}-{case_id}")


ID_TOO_LONG = "us-east-1:" + "a" * 46  # 56 characters
assert len(ID_TOO_LONG) == 56

BAD_ARGUMENTS = [
    *_required_cases(),
    # wrong types
    _case("describe_dataset", "dataset_name", 1, "int-for-str"),
    _case("describe_dataset", "identity_id", b"us-east-1:ab", "bytes-for-str"),
    _case("bulk_publish", "identity_pool_id", ["us-east-1:ab"], "list-for-str"),
    _case("list_datasets", "max_results", True, "bool-for-int"),
    _case("list_datasets", "max_results", "10", "str-for-int"),
    _case("list_datasets", "max_results", 10.0, "float-for-int"),
    _case("list_records", "last_sync_count", "0", "str-for-long"),
    _case("list_records", "last_sync_count", False, "bool-for-long"),
    _case("list_records", "next_token", 5, "int-for-str"),
    _case("list_records", "sync_session_token", 5, "int-for-str"),
    _case("list_identity_pool_usage", "max_results", "3", "str-for-int"),
    _case("register_device", "token", 123, "int-for-str"),
    _case("update_records", "sync_session_token", 1, "int-for-str"),
    _case("update_records", "client_context", {"a": 1}, "dict-for-str"),
    _case("update_records", "record_patches", RecordPatch("remove", "k", 1), "not-a-list"),
    _case("update_records", "record_patches", [{"Op": "remove", "Key": "k", "SyncCount": 1}],
          "dict-for-RecordPatch"),
    _case("update_records", "record_patches", ("a",), "tuple"),
    _case("set_identity_pool_configuration", "push_sync", {"RoleArn": ROLE}, "dict"),
    _case("set_identity_pool_configuration", "cognito_streams", {"StreamName": "s"}, "dict"),
    _case("set_identity_pool_configuration", "push_sync", CognitoStreams(), "other-class"),
    _case("set_cognito_events", "events", [("SyncTrigger", "arn")], "list-for-map"),
    _case("set_cognito_events", "events", {"SyncTrigger": 1}, "int-value"),
    _case("set_cognito_events", "events", {1: "arn"}, "int-key"),
    # lengths
    _case("describe_dataset", "dataset_name", "d" * 129, "129-chars"),
    _case("describe_dataset", "dataset_name", "", "empty"),
    _case("describe_dataset", "identity_id", ID_TOO_LONG, "56-chars"),
    _case("describe_identity_pool_usage", "identity_pool_id", ID_TOO_LONG, "56-chars"),
    _case("describe_identity_pool_usage", "identity_pool_id", "", "empty"),
    _case("subscribe_to_dataset", "device_id", "v" * 257, "257-chars"),
    _case("subscribe_to_dataset", "device_id", "é" * 257, "257-non-ascii-chars"),
    _case("unsubscribe_from_dataset", "device_id", "", "empty"),
    _case("update_records", "device_id", "v" * 257, "257-chars"),
    # patterns (the whole value must match)
    _case("describe_dataset", "identity_id", "us-east-1:ABCDEF", "uppercase-hex"),
    _case("describe_dataset", "identity_id", "us-east-1:abg", "not-hex"),
    _case("describe_dataset", "identity_id", "us-east-1", "no-colon"),
    _case("describe_dataset", "identity_id", ":ab", "no-region"),
    _case("describe_dataset", "identity_id", "us-east-1:ab\n", "trailing-newline"),
    _case("describe_dataset", "identity_id", "us east-1:ab", "space"),
    _case("describe_dataset", "identity_id", "üs-east-1:ab", "non-ascii-word"),
    _case("bulk_publish", "identity_pool_id", "US_EAST_1:AB", "uppercase-hex"),
    _case("describe_dataset", "dataset_name", "a/b", "slash"),
    _case("describe_dataset", "dataset_name", "a b", "space"),
    _case("describe_dataset", "dataset_name", "café", "non-ascii"),
    _case("describe_dataset", "dataset_name", "d\n", "trailing-newline"),
    # dot segments cannot survive URL normalisation
    _case("describe_dataset", "dataset_name", ".", "dot"),
    _case("delete_dataset", "dataset_name", "..", "dotdot"),
    _case("list_records", "dataset_name", "..", "dotdot"),
    _case("subscribe_to_dataset", "device_id", ".", "dot"),
    _case("unsubscribe_from_dataset", "device_id", "..", "dotdot"),
    # enums
    _case("register_device", "platform", "apns", "lowercase"),
    _case("register_device", "platform", "WNS", "unknown"),
    _case("register_device", "platform", "", "empty"),
    # at most one event
    _case("set_cognito_events", "events", {"SyncTrigger": "a", "Other": "b"}, "two-events"),
    # a header value cannot carry a line break
    _case("update_records", "client_context", "a\r\nX-Injected: 1", "crlf"),
]


@pytest.mark.parametrize(("method", "override", "param"), BAD_ARGUMENTS)
async def test_bad_argument_is_refused_before_any_request(
    counting: Counting, method: str, override: dict[str, Any], param: str
) -> None:
    kwargs = {**VALID[method], **override}
    with pytest.raises(ParamValidationError) as info:
        await getattr(counting.client, method)(**kwargs)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, CognitoSyncError)
    assert err.param == param
    assert param in str(err)
    if override.get(param, 0) is None:
        assert "missing" in str(err) and "required" in str(err)
    assert counting.requests == 0


@pytest.mark.parametrize(
    ("method", "param"), [pytest.param(m, p, id=f"{m}-no-{p}") for m, p in REQUIRED_MEMBERS]
)
async def test_required_argument_left_out_is_a_type_error(
    counting: Counting, method: str, param: str
) -> None:
    """A required argument has no default: leaving it out fails as Python calls do."""
    kwargs = {k: v for k, v in VALID[method].items() if k != param}
    with pytest.raises(TypeError, match=f"missing 1 required keyword-only argument: '{param}'"):
        await getattr(counting.client, method)(**kwargs)
    assert counting.requests == 0


# Structured inputs validate when built: the same error, no client needed.
_NOW = datetime(2020, 1, 1, tzinfo=timezone.utc)
BAD_OBJECTS = [
    (RecordPatch, {"op": "REPLACE", "key": "k", "sync_count": 0}, "op", "op-uppercase"),
    (RecordPatch, {"op": "delete", "key": "k", "sync_count": 0}, "op", "op-unknown"),
    (RecordPatch, {"op": None, "key": "k", "sync_count": 0}, "op", "op-None"),
    (RecordPatch, {"op": "replace", "key": "", "sync_count": 0}, "key", "key-empty"),
    (RecordPatch, {"op": "replace", "key": "k" * 1025, "sync_count": 0}, "key", "key-1025"),
    (RecordPatch, {"op": "replace", "key": 5, "sync_count": 0}, "key", "key-int"),
    (RecordPatch, {"op": "replace", "key": "k", "sync_count": "0"}, "sync_count", "count-str"),
    (RecordPatch, {"op": "replace", "key": "k", "sync_count": True}, "sync_count", "count-bool"),
    (RecordPatch, {"op": "replace", "key": "k", "sync_count": 1.0}, "sync_count", "count-float"),
    (RecordPatch, {"op": "replace", "key": "k", "sync_count": None}, "sync_count", "count-None"),
    (RecordPatch, {"op": "replace", "key": "k", "sync_count": 0, "value": "v" * 1_048_576},
     "value", "value-1048576"),
    (RecordPatch, {"op": "replace", "key": "k", "sync_count": 0, "value": 5}, "value",
     "value-int"),
    (RecordPatch, {"op": "replace", "key": "k", "sync_count": 0,
                   "device_last_modified_date": "2020-01-01"}, "device_last_modified_date",
     "date-str"),
    (RecordPatch, {"op": "replace", "key": "k", "sync_count": 0,
                   "device_last_modified_date": 1577836800}, "device_last_modified_date",
     "date-int"),
    (PushSync, {"role_arn": "arn:aws:iam::abc:role/x"}, "role_arn", "role-account-not-digits"),
    (PushSync, {"role_arn": "arn:aws:iam::123456789012:user/x"}, "role_arn", "role-user"),
    (PushSync, {"role_arn": "arn:aws:iam::1:role"}, "role_arn", "role-too-short"),
    (PushSync, {"role_arn": ROLE + "\nx"}, "role_arn", "role-newline"),
    (PushSync, {"role_arn": ROLE + "x" * 2048}, "role_arn", "role-2049-chars"),
    (PushSync, {"role_arn": "arn:aws:iam::١٢٣:role/x"}, "role_arn", "role-non-ascii-digits"),
    (PushSync, {"application_arns": APP}, "application_arns", "app-not-a-list"),
    (PushSync, {"application_arns": [APP.replace("GCM", "gcm")]}, "application_arns",
     "app-lowercase-platform"),
    (PushSync, {"application_arns": [APP.rsplit("/", 1)[0] + "/"]}, "application_arns",
     "app-empty-name"),
    (PushSync, {"application_arns": [APP.replace("app/", "endpoint/")]}, "application_arns",
     "app-endpoint"),
    (PushSync, {"application_arns": [APP, 5]}, "application_arns", "app-int"),
    (CognitoStreams, {"stream_name": "s" * 129}, "stream_name", "stream-129"),
    (CognitoStreams, {"stream_name": ""}, "stream_name", "stream-empty"),
    (CognitoStreams, {"role_arn": "role"}, "role_arn", "role"),
    (CognitoStreams, {"streaming_status": "PAUSED"}, "streaming_status", "status-unknown"),
    (CognitoStreams, {"streaming_status": "enabled"}, "streaming_status", "status-lowercase"),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "param"),
    [pytest.param(c, k, p, id=i) for c, k, p, i in BAD_OBJECTS],
)
def test_bad_structured_input_is_refused(cls: type, kwargs: dict[str, Any], param: str) -> None:
    with pytest.raises(ParamValidationError) as info:
        cls(**kwargs)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.param == param
    assert param in str(err)


# --------------------------------------------------------------------------- edges that pass

EDGE_DATASET = ("a:" * 64)[:128]
VALID_EDGES = [
    pytest.param("describe_dataset", {"dataset_name": EDGE_DATASET}, id="dataset-128-with-colon"),
    pytest.param("describe_dataset", {"dataset_name": "a_b.c:d-E9"}, id="dataset-all-classes"),
    pytest.param("describe_dataset", {"dataset_name": "..."}, id="dataset-three-dots"),
    pytest.param("describe_dataset", {"identity_id": "us-east-1:" + "a" * 45}, id="id-55"),
    pytest.param("describe_dataset", {"identity_id": "x_1-Z:0-f"}, id="id-word-chars"),
    pytest.param("subscribe_to_dataset", {"device_id": "v" * 256}, id="device-256"),
    pytest.param("subscribe_to_dataset", {"device_id": "é/%2F .x"}, id="device-odd"),
    pytest.param("list_datasets", {"max_results": 0}, id="max-results-0"),
    pytest.param("list_datasets", {"max_results": -1}, id="max-results-negative"),
    pytest.param("list_records", {"last_sync_count": 0}, id="last-sync-count-0"),
    pytest.param("list_records", {"last_sync_count": 2**63 - 1}, id="last-sync-count-max"),
    pytest.param("list_records", {"next_token": ""}, id="next-token-empty"),
    pytest.param("set_cognito_events", {"events": {}}, id="no-events"),
    pytest.param("set_cognito_events", {"events": {"SyncTrigger": ""}}, id="event-removal"),
    pytest.param("set_identity_pool_configuration",
                 {"push_sync": None, "cognito_streams": None}, id="nothing-set"),
    pytest.param(
        "set_identity_pool_configuration",
        {"push_sync": PushSync(application_arns=[], role_arn="arn:aws:iam::1:role/")},
        id="role-20-chars",
    ),
    pytest.param(
        "set_identity_pool_configuration",
        {"cognito_streams": CognitoStreams(stream_name="s" * 128, streaming_status="DISABLED")},
        id="stream-128",
    ),
    pytest.param("update_records",
                 {"record_patches": [RecordPatch("replace", "k", 0, "v" * 1_048_575)]},
                 id="value-1048575"),
    pytest.param("update_records",
                 {"record_patches": [RecordPatch("replace", "k", 0, "é" * 1_048_575)]},
                 id="value-1048575-two-byte-chars"),
    pytest.param(
        "update_records",
        {"record_patches": [
            RecordPatch("replace", "k" * 1024, -1, "", _NOW),
            RecordPatch("remove", "ключ", 2**63 - 1, None, datetime(2020, 1, 1)),  # noqa: DTZ001
        ]},
        id="patch-edges",
    ),
    pytest.param("update_records", {"record_patches": []}, id="no-patches"),
    pytest.param("update_records", {"device_id": None, "client_context": None}, id="optional-None"),
    pytest.param("update_records", {"client_context": "a\tb é"}, id="client-context-tab"),
    pytest.param("update_records", {"sync_session_token": ""}, id="token-empty"),
]


@pytest.mark.parametrize(("method", "override"), VALID_EDGES)
async def test_valid_edge_reaches_the_server(
    counting: Counting, method: str, override: dict[str, Any]
) -> None:
    kwargs = {**VALID[method], **override}
    await getattr(counting.client, method)(**kwargs)
    assert counting.requests == 1
    if method == "update_records":  # sent with its length, not chunked, however large
        assert counting.lengths[0] == str(len(counting.bodies[0]))
    for patch in kwargs.get("record_patches") or []:
        if patch.value is not None:  # the whole value arrived
            assert json.dumps(patch.value).encode() in counting.bodies[0]


@pytest.mark.parametrize("method", sorted(VALID))
async def test_valid_arguments_reach_the_server(counting: Counting, method: str) -> None:
    """The control: the counting server is reachable, and every operation is covered."""
    assert set(VALID) == {xform_name(n) for n in SERVICE_MODEL.operation_names}
    await getattr(counting.client, method)(**VALID[method])
    assert counting.requests == 1
