"""Fixes from the code review: purposeful errors, redaction, the pool wait, TLS
failures, headers with a caller's session, credential refresh, the dataset lock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _httpserver import CREDS, DATASET, IDENTITY, POOL, Server, reply, serve

import cognitosync_async
from cognitosync_async import (
    ClientStateError,
    CognitoSyncClient,
    CognitoSyncError,
    Credentials,
    EndpointConnectionError,
    HTTPClientError,
    NoRegionError,
    ParamValidationError,
    RefreshableCredentials,
    ServiceError,
    UpdateRecordsResponse,
    fan_out,
)
from cognitosync_async import _client as client_mod
from cognitosync_async._config_files import load_shared_config
from cognitosync_async._credential_chain import DefaultCredentialsProvider
from cognitosync_async.local import LocalCognitoSync

DATASET_BODY = {"Dataset": {"DatasetName": DATASET}}
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE-session-token/very+secret=="
TOKEN_CREDS = Credentials("ASIAEXAMPLE", "secret-key", session_token=TOKEN)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        s.handler = reply(200, DATASET_BODY)
        yield s


async def describe(client: CognitoSyncClient) -> Any:
    return await client.describe_dataset(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
    )


# ---------------------------------------------------------------- 1. errors on purpose


async def test_no_region_is_a_cognitosync_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: Server
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    client = CognitoSyncClient(credentials=CREDS, endpoint_url=server.url)  # reads no file
    with pytest.raises(NoRegionError, match="region") as info:
        await describe(client)
    await client.close()
    assert server.count == 0
    assert isinstance(info.value, CognitoSyncError) and isinstance(info.value, ValueError)
    assert "NoRegionError" in cognitosync_async.__all__
    assert cognitosync_async.NoRegionError is NoRegionError


async def test_region_from_the_shared_config_file_at_first_use(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: Server
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "work")
    client = CognitoSyncClient(credentials=CREDS, endpoint_url=server.url)
    with pytest.raises(NoRegionError):
        client.region_name  # noqa: B018 - not known before the first call
    # written after construction: the client read nothing when it was built
    config.write_text("[profile work]\nregion = eu-west-3\n", encoding="utf-8")
    async with client:
        assert client.region_name == "eu-west-3"
        await describe(client)
    assert "/eu-west-3/cognito-sync/aws4_request" in server.seen[0].headers["Authorization"]


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"endpoint_url": "not a url"}, "endpoint_url"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"credentials": object()}, "credentials"),
    ],
)
def test_bad_client_arguments(kwargs: dict[str, Any], param: str) -> None:
    options: dict[str, Any] = {"credentials": CREDS, **kwargs}
    with pytest.raises(ParamValidationError) as info:
        CognitoSyncClient("us-east-1", **options)
    assert info.value.param == param
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "param"), [({"concurrency": 0}, "concurrency"), ({"rate": 0.0}, "rate")]
)
def test_bad_fan_out_arguments(kwargs: dict[str, Any], param: str) -> None:
    async def fn(item: int) -> int:
        return item

    with pytest.raises(ParamValidationError) as info:
        fan_out([1], fn, **kwargs)
    assert info.value.param == param


async def test_paginator_iterated_twice(server: Server) -> None:
    server.handler = reply(200, {"Datasets": [], "Count": 0})
    async with server.client() as client:
        pager = client.iter_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
        assert [d async for d in pager] == []
        with pytest.raises(ClientStateError, match="once"):
            async for _ in pager:
                pass
    assert server.count == 1


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"on_conflict": "merge"}, "on_conflict"),
        ({"max_rounds": 0}, "max_rounds"),
    ],
)
async def test_bad_put_arguments(server: Server, kwargs: dict[str, Any], param: str) -> None:
    async with server.client() as client:
        handle = client.dataset(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET)
        with pytest.raises(ParamValidationError) as info:
            await handle.put({"k": "v"}, **kwargs)
    assert info.value.param == param
    assert server.count == 0


# ---------------------------------------------------------------- 2. token redaction


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


# ---------------------------------------------------------------- 3. the pool wait


async def test_waiting_for_a_pooled_connection_is_not_a_connect_timeout(server: Server) -> None:
    server.handler = reply(200, DATASET_BODY, delay=0.5)
    # one attempt: a retry must not hide a failed wait (it never reaches the server)
    options: dict[str, Any] = {"max_connections": 1, "connect_timeout": 0.1, "max_attempts": 1}
    async with server.client(**options) as client:
        results = await asyncio.gather(describe(client), describe(client))
    assert [r.dataset.dataset_name for r in results] == [DATASET, DATASET]
    assert server.count == 2
    assert server.max_in_flight == 1


# ---------------------------------------------------------------- 4. TLS failures


async def test_tls_failure_is_not_retried() -> None:
    connections = 0

    async def not_tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    plain = await asyncio.start_server(not_tls, "127.0.0.1", 0)
    port = plain.sockets[0].getsockname()[1]
    try:
        async with CognitoSyncClient(
            "us-east-1",
            credentials=CREDS,
            endpoint_url=f"https://127.0.0.1:{port}",
            max_attempts=3,
            retry_base_delay=0.001,
        ) as client:
            with pytest.raises(HTTPClientError) as info:
                await describe(client)
    finally:
        plain.close()
        await plain.wait_closed()
    assert not isinstance(info.value, EndpointConnectionError)
    assert isinstance(info.value.__cause__, aiohttp.ClientSSLError)
    assert connections == 1


# ---------------------------------------------------------------- 5. headers, any session


async def test_caller_session_sends_the_same_headers(server: Server) -> None:
    async with server.client() as client:
        await describe(client)
        await client.bulk_publish(identity_pool_id=POOL)
    async with aiohttp.ClientSession() as session:
        async with server.client(session=session) as client:
            await describe(client)
            await client.bulk_publish(identity_pool_id=POOL)
    own, theirs = server.seen[:2], server.seen[2:]
    for mine, caller in zip(own, theirs, strict=True):
        assert "Accept" not in caller.headers
        assert caller.headers["Accept-Encoding"] == "identity"
        assert sorted(k.lower() for k in caller.headers) == sorted(
            k.lower() for k in mine.headers
        )
        assert mine.headers.get("Content-Type") == caller.headers.get("Content-Type")


# ---------------------------------------------------------------- 6. refresh failures


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


def test_naive_expiration_is_refused() -> None:
    with pytest.raises(ParamValidationError) as info:
        Credentials("AKID", "s", expiration=datetime(2026, 1, 1))  # noqa: DTZ001
    assert info.value.param == "expiration"
    assert "timezone-aware" in str(info.value)
    Credentials("AKID", "s", expiration=datetime(2026, 1, 1, tzinfo=timezone.utc))


# ---------------------------------------------------------------- 7. shared files


async def test_profile_from_files(tmp_path: Path) -> None:
    creds_file = tmp_path / "credentials"
    creds_file.write_text("[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = s\n")
    config_file = tmp_path / "config"
    config_file.write_text("[profile dev]\nregion = eu-west-1\n")
    env = {
        "AWS_PROFILE": "dev",
        "AWS_SHARED_CREDENTIALS_FILE": str(creds_file),
        "AWS_CONFIG_FILE": str(config_file),
    }
    creds = await DefaultCredentialsProvider(env).get_credentials()
    assert creds.access_key_id == "AKIADEV"
    assert load_shared_config(env).get("dev", "region") == "eu-west-1"


# ---------------------------------------------------------------- 8. dataset handle


async def test_put_checks_key_length_before_any_call(server: Server) -> None:
    async with server.client() as client:
        handle = client.dataset(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET)
        with pytest.raises(ParamValidationError) as info:
            await handle.put({"k" * 1025: "v"})
        assert info.value.param == "values"
        with pytest.raises(ParamValidationError):
            await handle.put({"k": "v" * 1_048_576})
    assert server.count == 0


async def test_handles_on_one_dataset_share_the_lock(client: CognitoSyncClient) -> None:
    def handle(name: str = "settings") -> Any:
        return client.dataset(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=name)

    first, second = handle(), handle()
    assert first is not second and first._lock is second._lock
    assert handle("other")._lock is not first._lock
    results = await asyncio.gather(first.put({"k": "a"}), second.put({"k": "b"}))
    assert [r.rounds for r in results] == [1, 1]
    assert await first.get() == {"k": "b"}


class BadResolverClient(CognitoSyncClient):
    """Another writer changes ``k`` just before the first UpdateRecords: one conflict."""

    other: CognitoSyncClient | None = None

    async def update_records(self, **kwargs: Any) -> UpdateRecordsResponse:
        other, self.other = self.other, None
        if other is not None:
            await other.dataset(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="settings"
            ).put({"k": "theirs"})
        return await super().update_records(**kwargs)


async def test_resolver_returning_a_non_string(
    local_sync: LocalCognitoSync, client: CognitoSyncClient
) -> None:
    async with BadResolverClient(
        local_sync.region,
        credentials=local_sync.credentials,
        endpoint_url=local_sync.endpoint_url,
    ) as racy:
        racy.other = client
        handle = racy.dataset(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="settings")
        with pytest.raises(ParamValidationError, match="resolver returned int"):
            await handle.put({"k": "mine"}, on_conflict=lambda key, local, remote: 5)  # type: ignore[arg-type,return-value,unused-ignore]


# ---------------------------------------------------------------- 10. the aiohttp boundary


def test_client_module_does_not_import_aiohttp_at_run_time() -> None:
    assert "aiohttp" not in vars(client_mod)
    assert client_mod.USER_AGENT.startswith(f"cognitosync-async/{cognitosync_async.__version__} ")
