"""Fixes from the second code review of the client core: the credential-refresh
fallback, the lazily read region (one read, usability first, validation), TLS
failures that are worth a retry, and no secret in an endpoint error."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _httpserver import CREDS, DATASET, IDENTITY, POOL, Server, reply, serve

from cognitosync_async import (
    ClientStateError,
    CognitoIdentityClient,
    CognitoIdentityCredentials,
    CognitoSyncClient,
    Credentials,
    EndpointConnectionError,
    HTTPClientError,
    NoRegionError,
    ParamValidationError,
    RefreshableCredentials,
    ServiceError,
)
from cognitosync_async.local import LocalCognitoSync

DATASET_BODY = {"Dataset": {"DatasetName": DATASET}}


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        s.handler = reply(200, DATASET_BODY)
        yield s


async def describe(client: CognitoSyncClient) -> Any:
    return await client.describe_dataset(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
    )


@pytest.fixture
def region_from_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No region in the environment: the client reads the (returned) config file."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    return config


def write_region(config: Path, region: str) -> None:
    config.write_text(f"[default]\nregion = {region}\n", encoding="utf-8")


@pytest.fixture
def file_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The functions run through ``asyncio.to_thread`` (the config file is read so)."""
    calls: list[str] = []
    real = asyncio.to_thread

    async def counting(func, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(func.__name__)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    return calls


# ---------------------------------------------------------------- 1. refresh fallback


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


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


# ---------------------------------------------------------------- 2. region_or_none


async def test_identity_provider_accepts_a_client_whose_region_is_not_read_yet(
    region_from_file: Path,
) -> None:
    write_region(region_from_file, "eu-west-1")
    async with LocalCognitoSync() as svc:
        client = CognitoIdentityClient(endpoint_url=svc.endpoint_url)
        assert client.region_or_none is None
        with pytest.raises(NoRegionError):
            client.region_name  # noqa: B018
        provider = CognitoIdentityCredentials(POOL, client=client)  # no NoRegionError
        assert provider.region_name == "us-east-1"  # the pool id's region
        async with client, provider:
            assert client.region_or_none == "eu-west-1"
            creds = await provider.get_credentials()
            assert creds.access_key_id


# ---------------------------------------------------------------- 3. lazy region


async def test_concurrent_first_calls_read_the_config_file_once(
    region_from_file: Path, file_reads: list[str], server: Server
) -> None:
    write_region(region_from_file, "eu-west-2")
    async with CognitoSyncClient(credentials=CREDS, endpoint_url=server.url) as warm:
        pass
    assert file_reads.count("resolve_settings") == 1 and warm.region_name == "eu-west-2"
    file_reads.clear()
    client = CognitoSyncClient(credentials=CREDS, endpoint_url=server.url)
    try:
        results = await asyncio.gather(*(describe(client) for _ in range(32)))
    finally:
        await client.close()
    assert len(results) == 32 and server.count == 32
    assert file_reads.count("resolve_settings") == 1
    assert client.region_name == "eu-west-2"


async def test_closed_client_without_region_reads_no_file(
    region_from_file: Path, file_reads: list[str]
) -> None:
    write_region(region_from_file, "eu-west-2")
    client = CognitoSyncClient(credentials=CREDS, endpoint_url="http://127.0.0.1:9")
    await client.close()
    with pytest.raises(ClientStateError):
        await describe(client)
    with pytest.raises(ClientStateError):
        async with client:
            pass
    assert file_reads == []
    assert client.region_or_none is None


async def test_client_failing_to_find_a_region_reads_again_next_time(
    region_from_file: Path, file_reads: list[str], server: Server
) -> None:
    client = CognitoSyncClient(credentials=CREDS, endpoint_url=server.url)
    try:
        results = await asyncio.gather(*(describe(client) for _ in range(5)),
                                       return_exceptions=True)
        assert all(isinstance(r, NoRegionError) for r in results)
        assert len({id(r) for r in results}) == 5  # each caller its own error
        assert file_reads.count("resolve_settings") == 1
        write_region(region_from_file, "eu-west-2")
        await describe(client)
        assert file_reads.count("resolve_settings") == 2
    finally:
        await client.close()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
async def test_lookup_in_flight_is_not_shared_with_another_loop(
    region_from_file: Path, server: Server
) -> None:
    os.mkfifo(region_from_file)  # reading it blocks until we write: the lookup stays in flight
    client = CognitoSyncClient(credentials=CREDS, endpoint_url=server.url)
    first = asyncio.create_task(describe(client))
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            with open(region_from_file, "w", encoding="utf-8") as pipe:
                pipe.write("[default]\nregion = eu-west-2\n")

    try:
        await asyncio.sleep(0.05)
        assert not first.done()
        caught: list[BaseException] = []

        def other_loop() -> None:
            try:
                asyncio.run(describe(client))
            except BaseException as exc:  # noqa: BLE001 - inspected below
                caught.append(exc)

        thread = threading.Thread(target=other_loop)
        thread.start()
        await asyncio.to_thread(thread.join, 5)
        assert len(caught) == 1 and isinstance(caught[0], ClientStateError), caught
        await asyncio.to_thread(release)
        await asyncio.wait_for(first, 5)
    finally:
        if not released:
            await asyncio.to_thread(release)
        await client.close()
    assert server.count == 1 and client.region_name == "eu-west-2"


# ---------------------------------------------------------------- 4. region names


@pytest.mark.parametrize(
    "region",
    ["a@evil.com#", "evil.com/", "us-east-1\n", "-us-east-1", "us east 1", "a" * 64, "é"],
)
@pytest.mark.parametrize("endpoint", [None, "http://127.0.0.1:9"])
def test_bad_region_is_refused_at_construction(
    region: str, endpoint: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ParamValidationError) as info:
        CognitoSyncClient(region, credentials=CREDS, endpoint_url=endpoint)
    assert info.value.param == "region_name"
    assert "valid region name" in str(info.value)
    monkeypatch.setenv("AWS_REGION", region)
    with pytest.raises(ParamValidationError):
        CognitoSyncClient(credentials=CREDS, endpoint_url=endpoint)


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1", "local", "a", "A1-b2"])
def test_good_regions_are_accepted(region: str) -> None:
    client = CognitoSyncClient(region, credentials=CREDS)
    assert client.region_name == region
    assert client.endpoint_url.startswith(f"https://cognito-sync.{region}.amazonaws.com")


async def test_bad_region_in_the_config_file_sends_nothing(
    region_from_file: Path, server: Server
) -> None:
    write_region(region_from_file, "a@127.0.0.1#")
    client = CognitoSyncClient(credentials=CREDS)
    try:
        with pytest.raises(ParamValidationError) as info:
            await describe(client)
        assert info.value.param == "region_name"
        # not half-configured
        assert client.region_or_none is None
        with pytest.raises(NoRegionError):
            client.endpoint_url  # noqa: B018
        with pytest.raises(ParamValidationError):
            await describe(client)
    finally:
        await client.close()
    assert client.session is None  # nothing was opened, nothing was sent
    assert server.count == 0


# ---------------------------------------------------------------- 5. TLS failures


async def test_tls_handshake_cut_short_is_retried() -> None:
    connections = 0

    async def close_notify(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.read(5)  # the ClientHello
        writer.write(bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00]))  # alert close_notify
        await writer.drain()
        try:
            await reader.read()  # until the client gives up
        finally:
            writer.close()

    plain = await asyncio.start_server(close_notify, "127.0.0.1", 0)
    port = plain.sockets[0].getsockname()[1]
    try:
        async with CognitoSyncClient(
            "us-east-1", credentials=CREDS, endpoint_url=f"https://127.0.0.1:{port}",
            max_attempts=3, retry_base_delay=0.001, retry_max_delay=0.01,
        ) as client:
            with pytest.raises(EndpointConnectionError) as info:
                await describe(client)
    finally:
        plain.close()
        await plain.wait_closed()
    cause = info.value.__cause__
    assert isinstance(cause, aiohttp.ClientSSLError)
    assert isinstance(cause.os_error, ssl.SSLZeroReturnError)
    assert connections == 3


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


async def test_untrusted_certificate_is_not_retried(tmp_path: Path) -> None:
    ctx = _self_signed(tmp_path)
    connections = 0

    async def tls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        loop = asyncio.get_running_loop()
        transport = writer.transport
        try:  # loop.start_tls, not StreamWriter.start_tls: that one is Python 3.11+
            await loop.start_tls(transport, transport.get_protocol(), ctx, server_side=True)
        except (ssl.SSLError, OSError):
            pass
        finally:
            writer.close()

    raw = await asyncio.start_server(tls, "127.0.0.1", 0)
    port = raw.sockets[0].getsockname()[1]
    try:
        async with CognitoSyncClient(
            "us-east-1", credentials=CREDS, endpoint_url=f"https://127.0.0.1:{port}",
            max_attempts=3, retry_base_delay=0.001,
        ) as client:
            with pytest.raises(HTTPClientError) as info:
                await describe(client)
    finally:
        raw.close()
        await raw.wait_closed()
    assert not isinstance(info.value, EndpointConnectionError)
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectorCertificateError)
    assert "certificate" in str(info.value)
    assert connections == 1


# ---------------------------------------------------------------- 6. expiration type


@pytest.mark.parametrize("value", ["2030-01-01", 1_900_000_000, dt.date(2030, 1, 1)])
def test_expiration_must_be_an_aware_datetime(value: Any) -> None:
    with pytest.raises(ParamValidationError) as info:
        Credentials("AKID", "s", expiration=value)
    assert info.value.param == "expiration"
    assert "timezone-aware datetime" in str(info.value)
    assert Credentials("AKID", "s").expiration is None


# ---------------------------------------------------------------- 7. endpoint secrets


@pytest.mark.parametrize(
    "endpoint", ["user:s3cret-pw@example.com", "https://user:s3cret-pw@", "//user:s3cret-pw@/x"]
)
def test_bad_endpoint_error_does_not_echo_it(endpoint: str) -> None:
    with pytest.raises(ParamValidationError) as info:
        CognitoSyncClient("us-east-1", credentials=CREDS, endpoint_url=endpoint)
    assert info.value.param == "endpoint_url"
    assert "must be an absolute http(s) URL" in str(info.value)
    assert "s3cret-pw" not in str(info.value)


def test_repr_hides_endpoint_userinfo() -> None:
    client = CognitoSyncClient(
        "us-east-1", credentials=CREDS, endpoint_url="https://user:s3cret-pw@example.com/p"
    )
    assert "s3cret-pw" not in repr(client)
    assert "example.com/p" in repr(client)
