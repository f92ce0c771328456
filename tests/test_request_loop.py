"""The request loop, fast: retries, the skew/expired re-send as an attempt, Retry-After,
event hooks (order, content, no secret), on MockTransport (no socket)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import datetime, timezone
from email.utils import formatdate
from typing import Any

import pytest

from cognitosync_async import (
    AdaptiveRateLimiter,
    CallEnd,
    CallStart,
    CognitoSyncClient,
    Credentials,
    EndpointConnectionError,
    HTTPRequest,
    HTTPResponse,
    InternalErrorException,
    MockTransport,
    ParamValidationError,
    RefreshableCredentials,
    RequestEvent,
    ResponseEvent,
    ResponseMetadata,
    RetryEvent,
    ServiceError,
)

POOL = "us-east-1:00000000-0000-0000-0000-0000000000aa"
SECRET = "wJalrXUtnFEMI-SECRET-NOT-IN-EVENTS"
TOKEN = "SESSION-TOKEN-NOT-IN-EVENTS"
CREDS = Credentials("AKIDLOOP", SECRET, session_token=TOKEN)
OK = HTTPResponse(200, {"x-amzn-RequestId": "rid-ok"}, b"{}")


def error(status: int, code: str, **headers: str) -> HTTPResponse:
    return HTTPResponse(status, {"x-amzn-ErrorType": code, "x-amzn-RequestId": f"rid-{status}",
                                 **headers}, json.dumps({"message": "m"}).encode())


class Script:
    """A MockTransport handler answering from a list, keeping the requests."""

    def __init__(self, *answers: HTTPResponse) -> None:
        self.answers = list(answers)
        self.seen: list[HTTPRequest] = []

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        self.seen.append(request)
        return self.answers.pop(0)


def client(handler: Any, **kwargs: Any) -> CognitoSyncClient:
    options: dict[str, Any] = dict(
        credentials=CREDS, endpoint_url="http://127.0.0.1:9", retry_base_delay=0,
        retry_max_delay=0, transport=MockTransport(handler),
    )
    return CognitoSyncClient("us-east-1", **{**options, **kwargs})


def recorder() -> tuple[list[Any], dict[str, list[Any]]]:
    events: list[Any] = []
    hooks = {name: [events.append] for name in
             ("call_start", "request", "response", "retry", "call_end")}
    return events, hooks


async def test_retries_and_hooks_in_order() -> None:
    script = Script(error(500, "InternalErrorException"), error(503, "ServiceUnavailable"), OK)
    events, hooks = recorder()
    async with client(script, event_hooks=hooks) as c:
        resp = await c.get_cognito_events(identity_pool_id=POOL)
    assert resp.response_metadata == ResponseMetadata("rid-ok", 200, 3)
    kinds = [(type(e).__name__, getattr(e, "attempt", None)) for e in events]
    assert kinds == [
        ("CallStart", None),
        ("RequestEvent", 1), ("ResponseEvent", 1), ("RetryEvent", 1),
        ("RequestEvent", 2), ("ResponseEvent", 2), ("RetryEvent", 2),
        ("RequestEvent", 3), ("ResponseEvent", 3),
        ("CallEnd", None),
    ]
    assert events[0] == CallStart("cognito-sync", "GetCognitoEvents", "us-east-1")
    first = events[2]
    assert isinstance(first, ResponseEvent)
    assert (first.status, first.request_id) == (500, "rid-500")
    assert isinstance(first.error, InternalErrorException) and first.duration >= 0
    end = events[-1]
    assert isinstance(end, CallEnd)
    assert (end.attempts, end.status, end.request_id, end.error) == (3, 200, "rid-ok", None)
    assert len(script.seen) == 3
    # each attempt signed afresh: its own Authorization header
    assert all("Authorization" in r.headers for r in script.seen)


async def test_failed_call_end_carries_the_error_and_attempts() -> None:
    events, hooks = recorder()
    async with client(lambda r: error(500, "InternalErrorException"), max_attempts=3,
                      event_hooks=hooks) as c:
        with pytest.raises(InternalErrorException) as caught:
            await c.get_cognito_events(identity_pool_id=POOL)
    end = events[-1]
    assert isinstance(end, CallEnd)
    assert end.error is caught.value and end.attempts == 3
    assert "after 3 attempts" in str(caught.value)


async def test_network_failure_is_an_attempt_without_status() -> None:
    calls = 0

    async def handler(request: HTTPRequest) -> HTTPResponse:  # an async handler
        nonlocal calls
        calls += 1
        if calls == 1:
            raise EndpointConnectionError("refused")
        return OK

    events, hooks = recorder()
    async with client(handler, event_hooks=hooks) as c:
        await c.get_cognito_events(identity_pool_id=POOL)
    responses = [e for e in events if isinstance(e, ResponseEvent)]
    assert [(e.attempt, e.status) for e in responses] == [(1, None), (2, 200)]
    assert isinstance(responses[0].error, EndpointConnectionError)


def _skewed(offset: float) -> Script:
    """403 skew for a request dated more than 5 minutes off the server's clock, else 200."""

    class Skewed(Script):
        def __call__(self, request: HTTPRequest) -> HTTPResponse:
            self.seen.append(request)
            sent = datetime.strptime(request.headers["X-Amz-Date"] + "+0000", "%Y%m%dT%H%M%SZ%z")
            server = time.time() + offset
            if abs(sent.timestamp() - server) > 300:
                return error(403, "InvalidSignatureException",
                             Date=formatdate(server, usegmt=True))
            return OK

    return Skewed()


async def test_skew_resend_is_a_counted_attempt_without_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cognitosync_async")
    script = _skewed(3600)
    events, hooks = recorder()

    class Counting(AdaptiveRateLimiter):
        acquired = 0

        async def acquire(self) -> None:
            Counting.acquired += 1
            await super().acquire()

    async with client(script, max_attempts=2, retry_base_delay=5, retry_max_delay=5,
                      event_hooks=hooks) as c:
        c.rate_limiter = Counting()
        resp = await c.get_cognito_events(identity_pool_id=POOL)
    assert resp.response_metadata.attempts == 2  # the re-send is counted
    retry = [e for e in events if isinstance(e, RetryEvent)]
    assert [(e.attempt, e.delay) for e in retry] == [(1, 0.0)]  # no backoff for the re-send
    assert [e.attempt for e in events if isinstance(e, RequestEvent)] == [1, 2]
    end = events[-1]
    assert isinstance(end, CallEnd) and end.attempts == 2 and end.error is None
    assert len(script.seen) == 2
    lines = [r.getMessage() for r in caplog.records if " attempt=" in r.getMessage()]
    assert [line.split()[2] for line in lines] == ["attempt=1", "attempt=2"]  # both logged
    assert Counting.acquired == 2  # the re-send went through the limiter like the first


async def test_skew_with_max_attempts_1_raises_and_the_next_call_is_right() -> None:
    """max_attempts=1 allows no re-send (botocore counts those too); the clock is
    corrected all the same, so the next call succeeds the first time."""
    script = _skewed(3600)
    async with client(script, max_attempts=1) as c:
        with pytest.raises(ServiceError) as caught:
            await c.get_cognito_events(identity_pool_id=POOL)
        assert caught.value.code == "InvalidSignatureException"
        await c.get_cognito_events(identity_pool_id=POOL)
    assert len(script.seen) == 2


async def test_expired_credentials_resend_is_an_attempt() -> None:
    issued: list[str] = []

    async def fetch() -> Credentials:
        issued.append(f"ASIA{len(issued)}")
        return Credentials(issued[-1], "s", session_token="t",
                           expiration=datetime.now(timezone.utc).replace(year=2100))

    script = Script(error(403, "ExpiredTokenException"), OK)
    events, hooks = recorder()
    async with client(script, credentials=RefreshableCredentials(fetch), max_attempts=2,
                      event_hooks=hooks) as c:
        await c.get_cognito_events(identity_pool_id=POOL)
    assert issued == ["ASIA0", "ASIA1"]
    assert [e.delay for e in events if isinstance(e, RetryEvent)] == [0.0]


@pytest.mark.parametrize(("header", "value", "delay"), [
    ("Retry-After", "0", 0.0),
    ("Retry-After", "7", 0.2),  # bounded by retry_max_delay
    ("x-amz-retry-after", "150", 0.15),  # milliseconds
])
async def test_retry_after_is_the_wait(header: str, value: str, delay: float) -> None:
    script = Script(error(429, "TooManyRequestsException", **{header: value}), OK)
    events, hooks = recorder()
    async with client(script, retry_max_delay=0.2, event_hooks=hooks) as c:
        await c.get_cognito_events(identity_pool_id=POOL)
    assert [e.delay for e in events if isinstance(e, RetryEvent)] == [delay]


async def test_no_secret_in_events() -> None:
    script = Script(error(500, "InternalErrorException"), OK)
    events, hooks = recorder()
    async with client(script, event_hooks=hooks) as c:
        await c.get_cognito_events(identity_pool_id=POOL)
    text = repr(events)
    for secret in (SECRET, TOKEN, script.seen[0].headers["Authorization"]):
        assert secret not in text
    assert SECRET not in repr(script.seen) and TOKEN not in repr(script.seen)


async def test_async_hooks_and_hooks_added_later() -> None:
    seen: list[int] = []

    async def on_response(event: ResponseEvent) -> None:
        seen.append(event.attempt)

    async with client(Script(OK, OK)) as c:
        await c.get_cognito_events(identity_pool_id=POOL)
        c.event_hooks["response"].append(on_response)
        await c.get_cognito_events(identity_pool_id=POOL)
    assert seen == [1]


def test_bad_transport_and_hooks_are_refused() -> None:
    with pytest.raises(ParamValidationError, match="event_hooks"):
        CognitoSyncClient("us-east-1", event_hooks={"nope": []})  # type: ignore[arg-type]
    with pytest.raises(ParamValidationError, match="transport"):
        CognitoSyncClient("us-east-1", transport=object())  # type: ignore[arg-type]


def test_no_opentelemetry_without_the_instrumentor() -> None:
    code = """
import asyncio, sys
from cognitosync_async import CognitoSyncClient, Credentials, HTTPResponse, MockTransport

async def main():
    async with CognitoSyncClient("us-east-1", credentials=Credentials("AKID", "s"),
            transport=MockTransport(lambda r: HTTPResponse(200, {}, b"{}"))) as c:
        await c.get_cognito_events(
            identity_pool_id="us-east-1:00000000-0000-0000-0000-0000000000aa")

asyncio.run(main())
print(sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"


async def test_a_raising_hook_fails_the_call_and_the_others_still_run() -> None:
    ended: list[CallEnd] = []

    def broken(event: CallEnd) -> None:
        raise RuntimeError("metrics backend down")

    async with client(Script(OK), event_hooks={"call_end": [broken, ended.append]}) as c:
        with pytest.raises(RuntimeError, match="metrics backend down"):
            await c.get_cognito_events(identity_pool_id=POOL)
    assert len(ended) == 1 and ended[0].error is None


def test_session_and_transport_are_exclusive() -> None:
    async def make() -> None:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            with pytest.raises(ParamValidationError, match="transport"):
                CognitoSyncClient("us-east-1", session=session,
                                  transport=MockTransport(lambda r: OK))

    import asyncio

    asyncio.run(make())
