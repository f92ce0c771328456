"""When a refresh of expiring credentials fails: a service or network failure falls
back to the still-valid credentials with one warning (no secret logged); a
programming error, an expiry or an invalidation raises."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

import pytest
from support.httpserver import POOL

from cognitosync_async import (
    ClientStateError,
    CognitoIdentityCredentials,
    Credentials,
    ParamValidationError,
    RefreshableCredentials,
    ServiceError,
)
from cognitosync_async.local import LocalCognitoSync


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

def failing_after_first(clock: Clock) -> Callable[[], Awaitable[Credentials]]:
    calls = 0

    async def fetch() -> Credentials:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise ServiceError("down", code="InternalErrorException", status_code=500)
        return Credentials(
            "ASIAFIRST", "first-secret", session_token="first-token",
            expiration=clock() + timedelta(hours=1),
        )

    return fetch


def fails_after_first(
    clock: Clock, error: BaseException, gate: asyncio.Event | None = None
) -> Callable[[], Awaitable[Credentials]]:
    calls = 0

    async def fetch() -> Credentials:
        nonlocal calls
        calls += 1
        if calls > 1:
            if gate is not None:
                await gate.wait()
            raise error
        return Credentials(
            "ASIAFIRST", "first-secret", session_token="first-token",
            expiration=clock() + timedelta(hours=1),
        )

    return fetch


async def test_failed_early_refresh_keeps_valid_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    provider = RefreshableCredentials(failing_after_first(clock), clock=clock)
    first = await provider.get_credentials()
    clock.now += timedelta(minutes=57)  # in the refresh window, 3 minutes left
    with caplog.at_level(logging.WARNING, logger="cognitosync_async"):
        assert await provider.get_credentials() is first
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ServiceError" in warnings[0].getMessage()
    for secret in ("first-secret", "first-token"):
        assert secret not in caplog.text
    clock.now += timedelta(minutes=3)  # now expired: the failure is raised
    with pytest.raises(ServiceError):
        await provider.get_credentials()

async def test_failed_refresh_after_invalidate_raises() -> None:
    clock = Clock()
    provider = RefreshableCredentials(failing_after_first(clock), clock=clock)
    first = await provider.get_credentials()
    provider.invalidate(first)
    with pytest.raises(ServiceError):
        await provider.get_credentials()


@pytest.mark.parametrize(
    "error",
    [TypeError("logins() takes 0 positional arguments"), ParamValidationError("logins", "bad"),
     ClientStateError("closed"), KeyError("x")],
    ids=["TypeError", "ParamValidationError", "ClientStateError", "KeyError"],
)
async def test_programming_errors_are_raised_not_hidden(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    provider = RefreshableCredentials(fails_after_first(clock, error), clock=clock)
    await provider.get_credentials()
    clock.now += timedelta(minutes=57)  # in the refresh window; still valid for 3 minutes
    with caplog.at_level(logging.WARNING, logger="cognitosync_async"), pytest.raises(
        type(error)
    ):
        await provider.get_credentials()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

@pytest.mark.parametrize(
    "error",
    [ServiceError("service down", code="InternalErrorException", status_code=500),
     ConnectionRefusedError(111, "Connection refused")],
    ids=["ServiceError", "OSError"],
)
async def test_service_or_network_failure_falls_back_with_one_warning(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    gate = asyncio.Event()
    provider = RefreshableCredentials(fails_after_first(clock, error, gate), clock=clock)
    first = await provider.get_credentials()
    clock.now += timedelta(minutes=57)
    with caplog.at_level(logging.WARNING, logger="cognitosync_async"):
        waiters = [asyncio.create_task(provider.get_credentials()) for _ in range(8)]
        await asyncio.sleep(0.01)
        assert not any(w.done() for w in waiters)  # they wait for the one refresh
        gate.set()
        assert all(c is first for c in await asyncio.gather(*waiters))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # one per failed refresh, not one per waiter
    text = warnings[0].getMessage()
    assert f"{type(error).__name__}: {error}" in text
    for secret in ("first-secret", "first-token"):
        assert secret not in caplog.text

async def test_buggy_logins_callable_surfaces_through_the_identity_provider() -> None:
    calls = 0

    async def logins() -> dict[str, str]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise TypeError("bug in the caller's token refresher")
        return {}

    async with LocalCognitoSync() as svc:
        svc.identity_credentials_ttl = 30
        provider = CognitoIdentityCredentials(
            POOL, endpoint_url=svc.endpoint_url, logins=logins, advisory_refresh=31
        )
        async with provider:
            first = await provider.get_credentials()
            assert first.expiration is not None
            assert first.expiration > datetime.now(timezone.utc)  # still valid...
            with pytest.raises(TypeError, match="bug in the caller"):
                await provider.get_credentials()  # ...yet the bug is not hidden
