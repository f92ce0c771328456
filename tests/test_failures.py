"""Everything that can go wrong on the wire surfaces as a CognitoSyncError."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import attrs
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.httpserver import (
    CREDS,
    DATASET,
    IDENTITY,
    POOL,
    Seen,
    Server,
    free_port,
    reply,
    serve,
)

from cognitosync_async import (
    CognitoSyncClient,
    CognitoSyncError,
    Credentials,
    EndpointConnectionError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
    RecordPatch,
    ResponseParseError,
    ServiceError,
)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        yield s


async def describe(client: CognitoSyncClient) -> Any:
    return await client.describe_dataset(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
    )


# ---------------------------------------------------------------- unreadable answers


async def truncated(request: web.Request, seen: Seen) -> web.StreamResponse:
    """Promise 1000 bytes, send 13, hang up."""
    resp = web.StreamResponse(
        status=200, headers={"Content-Type": "application/json", "Content-Length": "1000"}
    )
    await resp.prepare(request)
    await resp.write(b'{"Dataset": {')
    assert request.transport is not None
    request.transport.abort()
    raise asyncio.CancelledError


@pytest.mark.parametrize("max_attempts", [1, 3])
async def test_truncated_body(server: Server, max_attempts: int) -> None:
    server.handler = truncated
    async with server.client(max_attempts=max_attempts) as client:
        with pytest.raises(CognitoSyncError) as info:
            await describe(client)
    assert isinstance(info.value, HTTPClientError)
    assert info.value.__cause__ is not None
    assert server.count == max_attempts  # a dropped connection is retried


async def test_truncated_then_complete(server: Server) -> None:
    server.script(truncated, reply(200, {"Dataset": {"DatasetName": DATASET}}))
    async with server.client() as client:
        resp = await describe(client)
    assert resp.dataset.dataset_name == DATASET
    assert server.count == 2


@pytest.mark.parametrize(
    "raw",
    [b"<html>hello</html>", b"not json", b'{"Dataset": ', b"\xff\xfe\x00garbage", b"{'a': 1}"],
)
async def test_200_non_json_is_response_parse_error(server: Server, raw: bytes) -> None:
    server.handler = reply(200, raw=raw)
    async with server.client() as client:
        with pytest.raises(ResponseParseError) as info:
            await describe(client)
    assert isinstance(info.value.__cause__, ValueError)
    assert server.count == 1  # an unreadable success is not retried


@pytest.mark.parametrize(
    "raw", [b"[]", b"[1, 2]", b"42", b"-1.5", b'"text"', b"null", b"true", b"false"]
)
async def test_200_json_not_an_object_is_typed(server: Server, raw: bytes) -> None:
    server.handler = reply(200, raw=raw, headers={"Content-Type": "application/json"})
    async with server.client() as client:
        with pytest.raises(ResponseParseError) as info:
            await describe(client)
    assert info.value.__cause__ is not None


@pytest.mark.parametrize(
    "body",
    [
        {"Dataset": "not an object"},
        {"Dataset": [1, 2]},
        {"Dataset": {"CreationDate": "yesterday"}},
        {"Dataset": {"CreationDate": [1]}},
        {"Dataset": {"CreationDate": True}},
        {"Dataset": {"CreationDate": 1e300}},
        {"Dataset": {"LastModifiedDate": {"x": 1}}},
    ],
)
async def test_200_wrong_member_types_are_typed(server: Server, body: Any) -> None:
    server.handler = reply(200, body)
    async with server.client() as client:
        with pytest.raises(ResponseParseError):
            await describe(client)


@pytest.mark.parametrize(
    "raw", [b"[" * 100_000, b'{"Records": ' * 50_000, b"NaN", b"Infinity"]
)
async def test_pathological_json(server: Server, raw: bytes) -> None:
    server.handler = reply(200, raw=raw)
    async with server.client() as client:
        with pytest.raises(ResponseParseError):
            await client.list_records(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
            )


@pytest.mark.parametrize("raw", [b"[" * 100_000, b"\xff\xfe", b"[1, 2]", b"null", b""])
async def test_error_answers_with_odd_bodies_are_service_errors(
    server: Server, raw: bytes
) -> None:
    server.handler = reply(400, raw=raw)
    async with server.client() as client:
        with pytest.raises(ServiceError) as info:
            await describe(client)
    assert info.value.status_code == 400
    assert info.value.code == "400"


# ---------------------------------------------------------------- network failures


async def test_unreachable_port() -> None:
    port = free_port()
    async with CognitoSyncClient(
        "us-east-1", credentials=CREDS, endpoint_url=f"http://127.0.0.1:{port}",
        max_attempts=2, retry_base_delay=0.001, retry_max_delay=0.05,
    ) as client:
        with pytest.raises(EndpointConnectionError) as info:
            await describe(client)
    assert info.value.__cause__ is not None
    assert str(port) in str(info.value)


async def test_read_timeout(server: Server) -> None:
    server.handler = reply(200, {}, delay=1.0)
    async with server.client(read_timeout=0.2, max_attempts=1) as client:
        start = time.monotonic()
        with pytest.raises(ReadTimeoutError) as info:
            await describe(client)
        elapsed = time.monotonic() - start
    assert elapsed < 0.9
    assert info.value.__cause__ is not None
    assert isinstance(info.value, CognitoSyncError)


async def test_read_timeout_is_retried(server: Server) -> None:
    server.script(reply(200, {}, delay=1.0), reply(200, {"Dataset": {"NumRecords": 3}}))
    async with server.client(read_timeout=0.2, max_attempts=2) as client:
        resp = await describe(client)
    assert resp.dataset.num_records == 3
    assert server.count == 2


async def test_cancelled_call_returns_its_connection(server: Server) -> None:
    arrived = asyncio.Event()

    async def slow_then_fast(request: web.Request, seen: Seen) -> web.StreamResponse:
        if server.count == 1:
            arrived.set()
            await asyncio.sleep(5)
        return await reply(200, {"Dataset": {"NumRecords": 7}})(request, seen)

    server.handler = slow_then_fast
    async with server.client(max_connections=1) as client:
        task = asyncio.create_task(describe(client))
        await asyncio.wait_for(arrived.wait(), 2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        start = time.monotonic()
        resp = await asyncio.wait_for(describe(client), 2)
        assert time.monotonic() - start < 1.0
        assert resp.dataset.num_records == 7
        # and the pool still serves calls after that
        await asyncio.wait_for(describe(client), 2)
    assert server.count == 3


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dataset_name": "bad name!"},
        {"dataset_name": ".."},
        {"dataset_name": "x" * 129},
        {"identity_id": "no-colon"},
        {"identity_pool_id": "us-east-1:XYZ"},
        {"identity_pool_id": None},
        {"dataset_name": 5},
    ],
)
async def test_invalid_input_never_reaches_the_network(
    server: Server, kwargs: dict[str, Any]
) -> None:
    args: dict[str, Any] = {
        "identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": DATASET, **kwargs
    }
    async with server.client() as client:
        with pytest.raises(ParamValidationError) as info:
            await client.describe_dataset(**args)
    assert isinstance(info.value, CognitoSyncError)
    assert server.count == 0


async def test_invalid_update_records_never_reaches_the_network(server: Server) -> None:
    async with server.client() as client:
        with pytest.raises(ParamValidationError):
            await client.update_records(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET,
                record_patches=[{"Op": "replace"}],  # type: ignore[list-item]
                sync_session_token="tok",
            )
        with pytest.raises(ParamValidationError):
            await client.update_records(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET,
                sync_session_token=None,
            )
        with pytest.raises(ParamValidationError):
            await client.set_cognito_events(
                identity_pool_id=POOL, events={"SyncTrigger": "a", "Other": "b"}
            )
        with pytest.raises(ParamValidationError):
            RecordPatch("replace", "k", 0, value="v" * 1_048_576)
    assert server.count == 0


# ---------------------------------------------------------------- anything the server says

HEADER_NAMES = [
    "x-amzn-ErrorType",
    "Retry-After",
    "x-amz-retry-after",
    "x-amzn-RequestId",
    "Date",
    "Content-Type",
    "Content-Encoding",
]
CODES = [
    "TooManyRequestsException",
    "LambdaThrottledException",
    "InternalErrorException",
    "ResourceConflictException",
    "LimitExceededException",
    "InvalidSignatureException",
    "RequestTimeTooSkewed",
    "Throttling",
    ":",
    "#",
    "a#b:c",
    "",
]
CONTROL: tuple[Literal["Cc"]] = ("Cc",)  # a Literal: hypothesis types its category names
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x2FF, blacklist_categories=CONTROL),
    max_size=40,
)
header_value = st.one_of(
    header_text,
    st.sampled_from(CODES),
    st.sampled_from(["0", "1", "²", "-1", "9" * 400, "1e3", " 2 ", "gzip"]),
    st.sampled_from(
        [
            "Mon, 01 Jan 99999999999 00:00:00 GMT",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Thu, 01 Jan 2099 00:00:00 GMT",
            "Thu, 01 Jan 1970 00:00:00 +9999",
        ]
    ),
    st.integers(-(10**30), 10**30).map(str),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
MEMBERS = [
    "Dataset", "Records", "NextToken", "Count", "DatasetSyncCount", "LastModifiedBy",
    "MergedDatasetNames", "DatasetExists", "SyncSessionToken", "Events", "PushSync",
    "CognitoStreams", "IdentityPoolUsages", "CreationDate", "LastModifiedDate", "Key", "Value",
    "SyncCount", "message", "Message", "__type", "code", "Code",
]
shaped = st.recursive(
    json_values,
    lambda inner: st.dictionaries(st.sampled_from(MEMBERS), inner, max_size=6)
    | st.lists(st.dictionaries(st.sampled_from(MEMBERS), inner, max_size=4), max_size=3),
    max_leaves=20,
)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    st.binary(max_size=120),
    shaped.map(_dumps),
    json_values.map(_dumps),
    st.tuples(shaped.map(_dumps), st.integers(0, 200)).map(lambda t: t[0][: t[1]]),
    st.just(b""),
)


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


answers = st.builds(
    Answer,
    status=st.integers(200, 599),
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_value, max_size=5),
    body=bodies,
)

CALLS: dict[str, dict[str, Any]] = {
    "describe_dataset": {"identity_pool_id": POOL, "identity_id": IDENTITY,
                         "dataset_name": DATASET},
    "list_records": {"identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": DATASET},
    "update_records": {
        "identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": DATASET,
        "sync_session_token": "tok",
        "record_patches": [RecordPatch("replace", "k", 0, value="v")],
    },
    "get_cognito_events": {"identity_pool_id": POOL},
    "get_identity_pool_configuration": {"identity_pool_id": POOL},
    "list_identity_pool_usage": {},
    "list_datasets": {"identity_pool_id": POOL, "identity_id": IDENTITY},
    "describe_identity_usage": {"identity_pool_id": POOL, "identity_id": IDENTITY},
    "subscribe_to_dataset": {
        "identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": DATASET,
        "device_id": "dev-1",
    },
}


async def _one_call(server: Server, operation: str, answers_: list[Answer]) -> None:
    async def handler(request: web.Request, seen: Seen) -> web.StreamResponse:
        answer = answers_[min(server.count - 1, len(answers_) - 1)]
        try:
            resp = web.Response(status=answer.status, body=answer.body)
            for name, value in answer.headers.items():
                resp.headers[name] = value
        except (ValueError, TypeError):  # a header aiohttp refuses to send
            resp = web.Response(status=answer.status, body=answer.body)
        return resp

    server.seen.clear()
    server.handler = handler
    async with server.client(max_attempts=2, read_timeout=5.0) as client:
        try:
            result = await getattr(client, operation)(**CALLS[operation])
        except CognitoSyncError as exc:
            if isinstance(exc, ServiceError):
                assert isinstance(exc.code, str)
                assert 300 <= exc.status_code <= 599
                str(exc)
            return
        # anything else escaping fails the test
    assert attrs.has(type(result))
    assert type(result).__name__.endswith("Response")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    operation=st.sampled_from(sorted(CALLS)),
    answers_=st.lists(answers, min_size=1, max_size=2),
)
def test_any_answer_is_a_response_or_a_cognitosync_error(
    operation: str, answers_: list[Answer]
) -> None:
    # A synchronous test driving its own loop: hypothesis runs each example in it.
    async def run() -> None:
        async with serve() as server:
            await _one_call(server, operation, answers_)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run())
    finally:
        loop.close()


@pytest.mark.parametrize("context", ["a\r\nX-Injected: 1", "a\nb", "nul\x00", "bell\x07"])
async def test_header_injection_refused_before_the_network(
    server: Server, context: str
) -> None:
    async with server.client() as client:
        with pytest.raises(ParamValidationError, match="client_context"):
            await client.update_records(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET,
                sync_session_token="tok", client_context=context,
            )
        # an ordinary (even non-ASCII) context goes through, raw
        await client.update_records(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET,
            sync_session_token="tok", client_context="ctx ünï\tok",
        )
    assert server.count == 1
    assert server.seen[0].headers["x-amz-Client-Context"] == "ctx ünï\tok"


TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE-session-token/very+secret=="

TOKEN_CREDS = Credentials("ASIAEXAMPLE", "secret-key", session_token=TOKEN)


async def test_signature_mismatch_message_has_no_session_token(server: Server) -> None:
    canonical = (
        "The request signature we calculated does not match the signature you provided. "
        "The Canonical String for this request should have been\n'GET\n/identitypools/x\n\n"
        f"host:127.0.0.1\nx-amz-date:20260101T000000Z\nx-amz-security-token:{TOKEN}\n\n"
        "host;x-amz-date;x-amz-security-token\nabc'"
    )
    server.handler = reply(
        403, {"__type": "InvalidSignatureException", "message": canonical}
    )
    async with server.client(credentials=TOKEN_CREDS, max_attempts=1) as client:
        with pytest.raises(ServiceError) as info:
            await describe(client)
    err = info.value
    assert err.code == "InvalidSignatureException"
    assert server.seen[0].headers["X-Amz-Security-Token"] == TOKEN  # it was sent
    for text in (str(err), err.message, repr(err)):
        assert TOKEN not in text
    assert "x-amz-security-token:<redacted>\n" in err.message
    assert "x-amz-date:20260101T000000Z" in err.message  # the rest is kept
