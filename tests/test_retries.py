"""Retries over a real loopback server: what is retried, how often, how long
it waits, and that every attempt is signed afresh."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, formatdate

import pytest
import tenacity
from aiohttp import web
from multidict import CIMultiDict
from support.httpserver import DATASET, IDENTITY, POOL, Seen, Server, reply, reset, serve

from cognitosync_async import (
    CognitoSyncError,
    ConnectTimeoutError,
    EndpointConnectionError,
    InternalErrorException,
    InvalidParameterException,
    LambdaThrottledException,
    LimitExceededException,
    NoCredentialsError,
    NotAuthorizedException,
    ParamValidationError,
    ReadTimeoutError,
    ResourceConflictException,
    ResourceNotFoundException,
    ResponseParseError,
    ServiceError,
    TooManyRequestsException,
)
from cognitosync_async._exceptions import service_error
from cognitosync_async._retry import is_retryable, parse_retry_after

DATASET_BODY = {"Dataset": {"DatasetName": DATASET, "NumRecords": 1}}


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        yield s


async def describe(client: object) -> object:
    return await client.describe_dataset(  # type: ignore[attr-defined]
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
    )


# ---------------------------------------------------------------- what is retried


async def test_429_then_200_succeeds(server: Server) -> None:
    server.script(reply(429, {"message": "slow down"}), reply(200, DATASET_BODY))
    async with server.client() as client:
        resp = await describe(client)
    assert resp.dataset.num_records == 1  # type: ignore[attr-defined]
    assert server.count == 2


async def test_too_many_requests_by_error_type_header(server: Server) -> None:
    # The code in x-amzn-ErrorType is what makes it throttling, whatever the status.
    server.script(reply(400, error="TooManyRequestsException"), reply(200, DATASET_BODY))
    async with server.client() as client:
        await describe(client)
    assert server.count == 2


async def test_too_many_requests_exhausted(server: Server) -> None:
    server.handler = reply(429, error="TooManyRequestsException")
    async with server.client(max_attempts=3) as client:
        with pytest.raises(TooManyRequestsException) as info:
            await describe(client)
    assert server.count == 3
    assert info.value.status_code == 429


async def test_lambda_throttled_is_retried(server: Server) -> None:
    server.script(reply(429, error="LambdaThrottledException"), reply(200, {"Records": []}))
    async with server.client() as client:
        resp = await client.update_records(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET,
            sync_session_token="tok",
        )
    assert resp.records == []
    assert server.count == 2
    assert server.seen[0].body == server.seen[1].body


async def test_lambda_throttled_exhausted(server: Server) -> None:
    server.handler = reply(429, error="LambdaThrottledException")
    async with server.client(max_attempts=2) as client:
        with pytest.raises(LambdaThrottledException):
            await client.update_records(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET,
                sync_session_token="tok",
            )
    assert server.count == 2


@pytest.mark.parametrize("max_attempts", [2, 3, 5])
async def test_500s_up_to_max_attempts(server: Server, max_attempts: int) -> None:
    server.handler = reply(500, error="InternalErrorException")
    async with server.client(max_attempts=max_attempts) as client:
        with pytest.raises(CognitoSyncError) as info:
            await describe(client)
    assert server.count == max_attempts
    assert type(info.value) is InternalErrorException
    assert not isinstance(info.value, tenacity.RetryError)
    assert info.value.status_code == 500


async def test_bare_502_is_retried(server: Server) -> None:
    server.script(reply(502, raw=b""), reply(503, raw=b"<html>busy</html>"), reply(200, {}))
    async with server.client() as client:
        await describe(client)
    assert server.count == 3


async def test_max_attempts_1_disables_retries(server: Server) -> None:
    server.handler = reply(500, error="InternalErrorException")
    async with server.client(max_attempts=1) as client:
        with pytest.raises(InternalErrorException):
            await describe(client)
    assert server.count == 1

    server.seen.clear()
    server.handler = reply(429, error="TooManyRequestsException")
    async with server.client(max_attempts=1) as client:
        with pytest.raises(TooManyRequestsException):
            await describe(client)
    assert server.count == 1


@pytest.mark.parametrize(
    ("status", "code", "exc_type"),
    [
        (400, "InvalidParameterException", InvalidParameterException),
        (409, "ResourceConflictException", ResourceConflictException),
        (400, "LimitExceededException", LimitExceededException),
        (429, "LimitExceededException", LimitExceededException),
        (403, "NotAuthorizedException", NotAuthorizedException),
        (403, "AccessDeniedException", ServiceError),
        (404, "ResourceNotFoundException", ResourceNotFoundException),
        (400, None, ServiceError),
    ],
)
async def test_client_errors_never_retried(
    server: Server, status: int, code: str | None, exc_type: type[ServiceError]
) -> None:
    server.handler = reply(status, error=code) if code else reply(status, {"message": "no"})
    async with server.client(max_attempts=5) as client:
        with pytest.raises(ServiceError) as info:
            await describe(client)
    assert type(info.value) is exc_type
    assert info.value.status_code == status
    assert server.count == 1


# ---------------------------------------------------------------- how long it waits


async def test_x_amz_retry_after_milliseconds_honoured(server: Server) -> None:
    server.script(
        reply(429, error="TooManyRequestsException", headers={"x-amz-retry-after": "200"}),
        reply(200, {}),
    )
    async with server.client(retry_base_delay=0.001, retry_max_delay=5.0) as client:
        await describe(client)
    assert server.count == 2
    assert server.seen[1].at - server.seen[0].at >= 0.18


async def test_retry_after_seconds_honoured(server: Server) -> None:
    server.script(reply(503, {"message": "busy"}, headers={"Retry-After": "1"}), reply(200, {}))
    async with server.client(retry_base_delay=0.001, retry_max_delay=5.0) as client:
        await describe(client)
    assert server.count == 2
    assert server.seen[1].at - server.seen[0].at >= 0.95


async def test_retry_after_capped_at_max_delay(server: Server) -> None:
    server.script(
        reply(429, error="TooManyRequestsException", headers={"Retry-After": "30"}),
        reply(200, {}),
    )
    async with server.client(retry_base_delay=0.001, retry_max_delay=0.05) as client:
        start = time.monotonic()
        await describe(client)
        elapsed = time.monotonic() - start
    assert server.count == 2
    assert elapsed < 1.0


async def test_backoff_without_retry_after_is_bounded(server: Server) -> None:
    server.handler = reply(500, error="InternalErrorException")
    async with server.client(max_attempts=4, retry_base_delay=0.01, retry_max_delay=0.02) as c:
        start = time.monotonic()
        with pytest.raises(InternalErrorException):
            await describe(c)
        elapsed = time.monotonic() - start
    assert server.count == 4
    assert elapsed < 1.0  # 3 waits of at most 0.02 s, plus the requests


NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "5"}, 5.0),
        ({"Retry-After": "0"}, 0.0),
        ({"Retry-After": " 7 "}, 7.0),
        ({"retry-after": "3"}, 3.0),
        ({"Retry-After": format_datetime(NOW + timedelta(seconds=10), usegmt=True)}, 10.0),
        ({"Retry-After": format_datetime(NOW - timedelta(seconds=10), usegmt=True)}, 0.0),
        ({"Retry-After": "Fri, 02 Jan 2026 03:04:35 GMT"}, 30.0),
        ({"Retry-After": "Fri, 02 Jan 2026 03:04:35"}, 30.0),  # no zone: UTC
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "-1"}, None),
        ({"Retry-After": "1.5"}, None),
        ({"Retry-After": "²"}, None),
        ({"Retry-After": "٣"}, None),
        ({"Retry-After": "Mon, 01 Jan 99999999999 00:00:00 GMT"}, None),
        ({"Retry-After": "Mon, 99 Foo 2026 00:00:00 GMT"}, None),
        ({"x-amz-retry-after": "250"}, 0.25),
        ({"X-Amz-Retry-After": "0"}, 0.0),
        ({"x-amz-retry-after": "250", "Retry-After": "9"}, 0.25),
        ({"x-amz-retry-after": "junk", "Retry-After": "9"}, 9.0),
        ({"x-amz-retry-after": "-5", "Retry-After": "9"}, 9.0),
        ({"x-amz-retry-after": "junk"}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(CIMultiDict(headers), now=NOW) == expected


@pytest.mark.parametrize(
    "value", ["9" * 400, "99999999999999999999999", "1" + "0" * 300]
)
def test_parse_retry_after_huge_values_are_finite(value: str) -> None:
    for name in ("x-amz-retry-after", "Retry-After"):
        got = parse_retry_after(CIMultiDict({name: value}), now=NOW)
        assert got is not None and got > 1000


# ---------------------------------------------------------------- the predicate


def _svc(code: str, status: int) -> ServiceError:
    return service_error(code, "m", status_code=status, request_id="r")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_svc("TooManyRequestsException", 429), True),
        (_svc("TooManyRequestsException", 400), True),
        (_svc("LambdaThrottledException", 429), True),
        (_svc("ThrottlingException", 400), True),
        (_svc("429", 429), True),
        (_svc("SomethingNew", 429), True),
        (_svc("InternalErrorException", 500), True),
        (_svc("500", 500), True),
        (_svc("502", 502), True),
        (_svc("503", 503), True),
        (_svc("504", 504), True),
        (_svc("ServiceUnavailable", 503), True),
        (_svc("LimitExceededException", 400), False),
        (_svc("LimitExceededException", 429), False),
        (_svc("LimitExceededException", 500), False),
        (_svc("ResourceConflictException", 409), False),
        (_svc("ResourceConflictException", 500), False),
        (_svc("InvalidParameterException", 400), False),
        (_svc("NotAuthorizedException", 403), False),
        (_svc("ResourceNotFoundException", 404), False),
        (_svc("AlreadyStreamedException", 400), False),
        (_svc("DuplicateRequestException", 400), False),
        (_svc("ConcurrentModificationException", 400), False),
        (_svc("InvalidSignatureException", 403), False),
        (_svc("300", 300), False),
        (_svc("499", 499), False),
        (EndpointConnectionError("reset"), True),
        (ConnectTimeoutError("slow connect"), True),
        (ReadTimeoutError("slow read"), True),
        (ResponseParseError("garbage"), False),
        (ParamValidationError("x", "bad"), False),
        (NoCredentialsError("none"), False),
        (ValueError("foreign"), False),
        (OSError("foreign"), False),
    ],
    ids=lambda v: repr(v) if isinstance(v, bool) else f"{type(v).__name__}-{v}",
)
def test_is_retryable(exc: BaseException, expected: bool) -> None:
    assert is_retryable(exc) is expected


# ---------------------------------------------------------------- each attempt is signed afresh


async def test_each_retry_is_resigned(server: Server) -> None:
    # A wait of 1.1 s necessarily crosses a second boundary, so X-Amz-Date moves.
    server.script(
        reply(503, {"message": "busy"}, headers={"x-amz-retry-after": "1100"}),
        reply(200, {}),
    )
    async with server.client(retry_base_delay=0.001, retry_max_delay=5.0) as client:
        await describe(client)
    first, second = server.seen
    assert second.at - first.at >= 1.05
    assert first.headers["X-Amz-Date"] != second.headers["X-Amz-Date"]
    assert first.headers["Authorization"] != second.headers["Authorization"]
    # both genuinely signed, same key and scope, same request otherwise
    for seen in (first, second):
        assert seen.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        assert "x-amz-date" in seen.headers["Authorization"]
    assert (first.method, first.path, first.query) == (second.method, second.path, second.query)


# ---------------------------------------------------------------- connection failures


async def test_connection_reset_then_success_post(server: Server) -> None:
    # POST is not idempotent, so aiohttp does not replay it itself: the SDK retries.
    server.script(reset, reply(200, {"IdentityPoolId": POOL, "BulkPublishStatus": "SUCCEEDED"}))
    async with server.client() as client:
        resp = await client.get_bulk_publish_details(identity_pool_id=POOL)
    assert resp.bulk_publish_status == "SUCCEEDED"
    assert server.count == 2


async def test_connection_reset_then_success_get(server: Server) -> None:
    server.script(reset, reset, reset, reply(200, DATASET_BODY))
    async with server.client() as client:
        resp = await describe(client)
    assert resp.dataset.dataset_name == DATASET  # type: ignore[attr-defined]
    assert server.count == 4


async def test_connection_reset_exhausted_is_typed(server: Server) -> None:
    server.handler = reset
    async with server.client(max_attempts=3) as client:
        with pytest.raises(EndpointConnectionError) as info:
            await client.get_bulk_publish_details(identity_pool_id=POOL)
    assert server.count == 3
    assert info.value.__cause__ is not None


# ---------------------------------------------------------------- clock skew


def _skewed_server(server: Server, skew: float) -> None:
    """A service whose clock is ``skew`` seconds ahead; it refuses a request
    dated more than 5 minutes off its own clock, as AWS does."""

    async def handler(request: web.Request, seen: Seen) -> web.StreamResponse:
        server_now = time.time() + skew
        sent = datetime.strptime(seen.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=timezone.utc
        )
        if abs(sent.timestamp() - server_now) > 300:
            return await reply(
                403,
                {"message": "Signature expired: is now earlier than ..."},
                error="InvalidSignatureException",
                headers={"Date": formatdate(server_now, usegmt=True)},
            )(request, seen)
        return await reply(200, DATASET_BODY)(request, seen)

    server.handler = handler


# The skew re-send is an attempt (counted against max_attempts, as botocore counts it):
# 2 is the least that lets it happen (max_attempts=1: tests/test_request_loop.py).
@pytest.mark.parametrize("max_attempts", [2, 3])
async def test_clock_skew_corrected(server: Server, max_attempts: int) -> None:
    _skewed_server(server, 3600.0)
    async with server.client(max_attempts=max_attempts) as client:
        resp = await describe(client)
        assert resp.dataset.num_records == 1  # type: ignore[attr-defined]
        assert server.count == 2
        first, second = server.seen
        assert first.headers["X-Amz-Date"] != second.headers["X-Amz-Date"]
        sent = datetime.strptime(second.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=timezone.utc
        )
        server_now = datetime.fromtimestamp(time.time() + 3600, timezone.utc)
        assert abs(sent - server_now) < timedelta(minutes=1)
        # the correction sticks: the next call is right the first time
        await describe(client)
        assert server.count == 3


async def test_signature_error_without_skew_not_retried(server: Server) -> None:
    # A genuine signature mismatch (clocks agree) is not retried.
    server.handler = reply(403, error="InvalidSignatureException")
    async with server.client() as client:
        with pytest.raises(ServiceError) as info:
            await describe(client)
    assert info.value.code == "InvalidSignatureException"
    assert server.count == 1


# ---------------------------------------------------------------- concurrent calls


async def test_concurrent_calls_retry_independently(server: Server) -> None:
    """Each call has its own tenacity controller and attempt state: calls in flight
    together on one client, each throttled a different number of times (some
    interleaved with others' retries), each make exactly their own attempts and
    end as their own last answer says."""
    failures = {f"d{i}": i % 4 for i in range(12)}  # d3, d7, d11: 3 failures = exhausted
    seen_by: dict[str, int] = {}

    async def handler(request: web.Request, seen: Seen) -> web.StreamResponse:
        name = seen.path.rsplit("/", 1)[-1]
        seen_by[name] = seen_by.get(name, 0) + 1
        await asyncio.sleep(0.001 * (hash(name) % 3))  # answers come back out of order
        if seen_by[name] <= failures[name]:
            return await reply(429, error="TooManyRequestsException")(request, seen)
        return await reply(200, {"Dataset": {"DatasetName": name, "NumRecords": seen_by[name]}})(
            request, seen
        )

    server.handler = handler
    retries: list[int] = []

    def on_retry(event: object) -> None:
        retries.append(event.attempt)  # type: ignore[attr-defined]

    async with server.client(max_attempts=3, event_hooks={"retry": [on_retry]}) as client:

        async def one(name: str) -> object:
            try:
                return await client.describe_dataset(
                    identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=name
                )
            except TooManyRequestsException as exc:
                return exc

        for _round in range(2):  # the same client again: nothing left over from before
            seen_by.clear()
            retries.clear()
            results = await asyncio.gather(*(one(name) for name in failures))
            for name, result in zip(failures, results, strict=True):
                if failures[name] >= 3:
                    assert isinstance(result, TooManyRequestsException), name
                    assert result.attempts == 3  # type: ignore[attr-defined]
                    assert seen_by[name] == 3
                else:
                    assert result.dataset.dataset_name == name  # type: ignore[attr-defined]
                    assert result.dataset.num_records == failures[name] + 1  # type: ignore[attr-defined]
                    assert seen_by[name] == failures[name] + 1
            # a retry event for each failed attempt another followed, numbered per call
            assert sorted(retries) == sorted(
                n for k in failures.values() for n in range(1, min(k, 2) + 1)
            )
