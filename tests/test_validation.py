"""Every constraint of the service model, checked before any network call.

Each bad input must raise ``ParamValidationError`` (also a ``ValueError``)
naming the parameter, while an ``aiohttp.web`` server on 127.0.0.1 that
counts requests sees none. Valid edge values must reach that server.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
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
    _operations,
)
from cognitosync_async import _validation as val
from cognitosync_async._identity import (
    IDENTITY_OPERATIONS,
    CognitoIdentityClient,
    CognitoIdentityCredentials,
)
from cognitosync_async._operations import OPERATIONS, validate

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


SECRET = "SECRETVALUE"

UPDATE = {
    "identity_pool_id": POOL,
    "identity_id": IDENTITY,
    "dataset_name": "d",
    "sync_session_token": "s",
}

def _op(name: str, **kwargs: Any) -> Any:
    """A call that validates ``kwargs`` for the operation ``name``."""
    op = OPERATIONS.get(name) or IDENTITY_OPERATIONS[name]
    return lambda: validate(op, kwargs)

LEAKS = [
    pytest.param(lambda: RecordPatch("replace", "k", 0, SECRET.encode()), "value", SECRET,  # type: ignore[arg-type]
                 id="value-bytes"),
    pytest.param(lambda: RecordPatch("replace", "k", 0, SECRET * 100_000), "value", SECRET,
                 id="value-too-long"),
    pytest.param(lambda: RecordPatch("replace", SECRET * 200, 0), "key", SECRET,
                 id="key-too-long"),
    pytest.param(lambda: RecordPatch(SECRET, "k", 0), "op", SECRET, id="op-unknown"),
    pytest.param(lambda: RecordPatch("replace", "k", SECRET), "sync_count",  # type: ignore[arg-type]
                 SECRET, id="count-str"),
    pytest.param(lambda: RecordPatch("replace", "k", 0, None, SECRET), "device_last_modified_date",  # type: ignore[arg-type]
                 SECRET, id="date-str"),
    pytest.param(lambda: PushSync(role_arn=SECRET), "role_arn", SECRET, id="role-arn"),
    pytest.param(lambda: PushSync(application_arns=[SECRET]), "application_arns", SECRET,
                 id="app-arn"),
    pytest.param(lambda: PushSync(application_arns=SECRET), "application_arns", SECRET,  # type: ignore[arg-type]
                 id="app-arns-str"),
    pytest.param(lambda: CognitoStreams(streaming_status=SECRET), "streaming_status", SECRET,
                 id="status"),
    pytest.param(_op("UpdateRecords", **UPDATE, client_context=f"{SECRET}\nx"),
                 "client_context", SECRET, id="client-context-newline"),
    pytest.param(_op("UpdateRecords", **UPDATE, client_context=SECRET.encode()),
                 "client_context", SECRET, id="client-context-bytes"),
    pytest.param(_op("UpdateRecords", **{**UPDATE, "sync_session_token": SECRET.encode()}),
                 "sync_session_token", SECRET, id="session-token-bytes"),
    pytest.param(_op("UpdateRecords", **UPDATE, record_patches=[{"Value": SECRET}]),
                 "record_patches", SECRET, id="patch-dict"),
    pytest.param(_op("UpdateRecords", **{**UPDATE, "dataset_name": f"{SECRET}/x"}),
                 "dataset_name", SECRET, id="dataset-pattern"),
    pytest.param(_op("DescribeDataset", **{**UPDATE, "identity_id": f"{SECRET}:zz"}),
                 "identity_id", SECRET, id="identity-pattern"),
    pytest.param(_op("RegisterDevice", identity_pool_id=POOL, identity_id=IDENTITY,
                     platform=SECRET, token="t"), "platform", SECRET, id="platform"),
    pytest.param(_op("RegisterDevice", identity_pool_id=POOL, identity_id=IDENTITY,
                     platform="GCM", token=SECRET.encode()), "token", SECRET, id="device-token"),
    pytest.param(_op("SetCognitoEvents", identity_pool_id=POOL, events={"a": SECRET, "b": "c"}),
                 "events", SECRET, id="events-two"),
    pytest.param(_op("SetCognitoEvents", identity_pool_id=POOL, events={SECRET: 1}),
                 "events", SECRET, id="events-int-value"),
    pytest.param(_op("ListDatasets", identity_pool_id=POOL, identity_id=IDENTITY,
                     next_token=SECRET.encode()), "next_token", SECRET, id="next-token"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={"p": SECRET * 5000}), "logins",
                 SECRET, id="login-token-too-long"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={"p": SECRET.encode()}), "logins",
                 SECRET, id="login-token-bytes"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={SECRET * 20: "t"}), "logins",
                 SECRET, id="login-name-too-long"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins=[("p", SECRET)]), "logins",
                 SECRET, id="logins-list"),
    pytest.param(_op("GetId", identity_pool_id=POOL, account_id=SECRET), "account_id",
                 SECRET, id="account-id"),
    pytest.param(_op("GetCredentialsForIdentity", identity_id=IDENTITY,
                     custom_role_arn=SECRET), "custom_role_arn", SECRET, id="custom-role"),
    pytest.param(_op("ListIdentities", identity_pool_id=POOL, max_results=60,
                     next_token=f"{SECRET} x"), "next_token", SECRET, id="pagination-key"),
    pytest.param(_op("ListIdentities", identity_pool_id=POOL, max_results=60,
                     hide_disabled=SECRET), "hide_disabled", SECRET, id="hide-disabled"),
    pytest.param(_op("GetOpenIdTokenForDeveloperIdentity", identity_pool_id=POOL,
                     logins={"p": "u"}, principal_tags={"t": SECRET * 30}), "principal_tags",
                 SECRET, id="principal-tag-too-long"),
    pytest.param(_op("GetOpenIdTokenForDeveloperIdentity", identity_pool_id=POOL,
                     logins={"p": "u"}, token_duration=123_456_789), "token_duration",
                 "123456789", id="token-duration-too-high"),
    pytest.param(_op("ListIdentities", identity_pool_id=POOL, max_results=987_654),
                 "max_results", "987654", id="max-results-too-high"),
    pytest.param(lambda: CognitoIdentityCredentials(POOL, logins={"p": SECRET * 5000}),
                 "logins", SECRET, id="provider-logins"),
    pytest.param(lambda: CognitoIdentityCredentials(SECRET), "identity_pool_id", SECRET,
                 id="provider-pool"),
]

@pytest.mark.parametrize(("call", "param", "secret"), LEAKS)
def test_message_names_parameter_and_rule_never_the_value(
    call: Any, param: str, secret: str
) -> None:
    with pytest.raises(ParamValidationError) as info:
        call()
    err = info.value
    assert err.param == param
    assert str(err).startswith(f"Invalid parameter {param}: ")
    for text in (str(err), err.rule, repr(err), *map(str, err.args)):
        assert secret not in text
    assert secret not in "".join(traceback.format_exception(err))  # as logged

WORDING = [
    pytest.param(lambda: RecordPatch("replace", "k", 0, b"x"), "must be of type str, got bytes",  # type: ignore[arg-type]
                 id="type"),
    pytest.param(lambda: RecordPatch("replace", "k", True), "must be of type int, got bool",
                 id="bool"),
    pytest.param(lambda: RecordPatch("delete", "k", 0), "must be one of ('replace', 'remove')",
                 id="enum"),
    pytest.param(lambda: RecordPatch("replace", "k", 0, "v" * 1_048_576),
                 "length must be <= 1048575 (got 1048576)", id="max-len"),
    pytest.param(lambda: RecordPatch("replace", "", 0), "length must be >= 1 (got 0)",
                 id="min-len"),
    pytest.param(_op("DescribeDataset", **{**UPDATE, "dataset_name": "a b"}),
                 "must match the pattern '[a-zA-Z0-9_.:-]+'", id="pattern"),
    pytest.param(_op("ListIdentities", identity_pool_id=POOL, max_results=61), "must be <= 60",
                 id="le"),
    pytest.param(_op("ListIdentities", identity_pool_id=POOL, max_results=0), "must be >= 1",
                 id="ge"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={"p": 5}),
                 "each value must be of type str, got int", id="map-value"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={"": "t"}),
                 "each key: length must be >= 1 (got 0)", id="map-key"),
    pytest.param(_op("GetId", identity_pool_id=POOL, logins={f"p{i}": "t" for i in range(11)}),
                 "length must be <= 10 (got 11)", id="map-entries"),
    pytest.param(_op("UpdateRecords", **UPDATE, record_patches=[1]),
                 "each item must be of type RecordPatch, got int", id="list-item"),
    pytest.param(_op("UpdateRecords", **UPDATE, record_patches=(1,)),
                 "must be of type list, got tuple", id="list"),
    pytest.param(lambda: CognitoIdentityCredentials(POOL, advisory_refresh=-1),
                 "must not be negative", id="advisory-refresh"),
]

@pytest.mark.parametrize(("call", "rule"), WORDING)
def test_rule_wording(call: Any, rule: str) -> None:
    with pytest.raises(ParamValidationError) as info:
        call()
    assert info.value.rule == rule

def test_body_device_id_may_be_a_dot() -> None:
    for device in (".", ".."):
        validate(OPERATIONS["UpdateRecords"], {**UPDATE, "device_id": device})

@pytest.mark.parametrize("op", ["SubscribeToDataset", "UnsubscribeFromDataset"])
@pytest.mark.parametrize("param", ["dataset_name", "device_id"])
@pytest.mark.parametrize("value", [".", ".."])
def test_every_path_label_refuses_dot_segments(op: str, param: str, value: str) -> None:
    kwargs = {**UPDATE, "device_id": "v", param: value}
    with pytest.raises(ParamValidationError) as info:
        validate(OPERATIONS[op], kwargs)
    assert info.value.param == param
    assert info.value.rule == (
        "must not be '.' or '..': such a path segment does not survive URL normalisation"
    )

def test_shapes_themselves_accept_dots() -> None:
    """The dot-segment rule belongs to the URI location, not to the shapes."""
    for check in (val.DATASET_NAME, val.DEVICE_ID):
        check(None, val.param("x"), ".")
        check(None, val.param("x"), "..")

def test_only_path_labels_are_remembered_as_valid() -> None:
    _operations._VALID_URI.clear()
    token = "a-token-unique-to-this-call"
    validate(OPERATIONS["UpdateRecords"], {**UPDATE, "sync_session_token": token,
                                           "client_context": "c", "device_id": "v"})
    remembered = {value for _, value in _operations._VALID_URI}
    assert remembered == {POOL, IDENTITY, "d"}
    validate(IDENTITY_OPERATIONS["GetId"], {"identity_pool_id": POOL, "logins": {"p": "t"}})
    assert len(_operations._VALID_URI) == 3

def test_integer_maximum() -> None:
    check = val.integer(minimum=1, maximum=3)
    for ok in (1, 2, 3):
        check(None, val.param("n"), ok)
    assert val.optional(check)(None, val.param("n"), None) is None
    for bad in (0, 4, True, 2.0, "2"):
        with pytest.raises(ParamValidationError):
            check(None, val.param("n"), bad)
    assert val.LONG is not val.INTEGER  # the model's Long is 64-bit, its Integer 32-bit

def test_negative_advisory_refresh_is_a_param_error() -> None:
    with pytest.raises(ParamValidationError) as info:
        CognitoIdentityCredentials(POOL, advisory_refresh=timedelta(seconds=-1))
    assert info.value.param == "advisory_refresh"
    assert isinstance(info.value, ValueError)


def ident(i: int) -> str:
    return f"us-east-1:{i:08x}-0000-0000-0000-0000000000e1"

def test_integers_are_bounded_by_the_model_types() -> None:
    long_ = val.param("sync_count")
    val.LONG(None, long_, 2**63 - 1)
    val.LONG(None, long_, -(2**63))
    val.INTEGER(None, val.param("max_results"), 2**31 - 1)
    for bad in (2**63, -(2**63) - 1, 10**5000):
        with pytest.raises(ParamValidationError, match="sync_count: must be"):
            val.LONG(None, long_, bad)
    for bad in (2**31, -(2**31) - 1, 10**5000):
        with pytest.raises(ParamValidationError, match="max_results: must be"):
            val.INTEGER(None, val.param("max_results"), bad)
    with pytest.raises(ParamValidationError, match="sync_count"):
        RecordPatch("replace", "k", 10**5000)
    RecordPatch("replace", "k", 2**63 - 1)

async def test_huge_ints_and_surrogates_refused_before_any_call(
    client: CognitoSyncClient,
) -> None:
    where: dict[str, Any] = {"identity_pool_id": POOL, "identity_id": ident(4), "dataset_name": "d"}
    with pytest.raises(ParamValidationError, match="max_results"):
        await client.list_records(**where, max_results=10**5000)
    with pytest.raises(ParamValidationError, match="last_sync_count"):
        await client.list_records(**where, last_sync_count=2**63)
    with pytest.raises(ParamValidationError, match="no lone surrogates") as info:
        await client.list_records(**where, next_token="zq\ud800")
    assert "\ud800" not in str(info.value) and "zq" not in str(info.value)
    with pytest.raises(ParamValidationError, match="device_id: must be valid Unicode"):
        await client.update_records(**where, device_id="\ud800", sync_session_token="t")
    with pytest.raises(ParamValidationError, match="key: must be valid Unicode"):
        RecordPatch("replace", "é\udc80", 0)
    with pytest.raises(ParamValidationError, match="value: must be valid Unicode"):
        RecordPatch("replace", "k", 0, "ok\ud83d")  # half a surrogate pair
    handle = client.dataset(**where)
    for values in ({"\ud800": "x"}, {"k": "\udfff"}):
        with pytest.raises(ParamValidationError, match="no lone surrogates"):
            await handle.put(values)
    # valid non-ASCII text, astral characters included, goes through
    await handle.put({"clé": "✓ 😀"})
    assert await handle.get() == {"clé": "✓ 😀"}

async def test_identity_logins_with_lone_surrogates_refused() -> None:
    async with CognitoIdentityClient("us-east-1", endpoint_url="http://127.0.0.1:9") as ci:
        for logins in ({"graph.facebook.com": "tok\ud800"}, {"\udc00": "tok"}):
            with pytest.raises(ParamValidationError, match=r"logins: each .*no lone surrogates"):
                await ci.get_id(identity_pool_id=POOL, logins=logins)
