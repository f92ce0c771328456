"""Client settings (region, endpoint, attempts, retry mode, CA bundle, proxies),
explicit argument first, then environment, then profile; boto3 as the oracle."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from aiohttp import web
from support.httpserver import CREDS, POOL, Server, serve

from cognitosync_async import (
    CognitoIdentityClient,
    CognitoSyncClient,
    EndpointConnectionError,
    InvalidConfigError,
    ProfileNotFound,
    ServiceError,
)
from cognitosync_async._transport import Transport

IDENTITY = "us-east-1:11111111-1111-1111-1111-111111111111"


@pytest.fixture
def config() -> Path:
    path = Path(os.environ["AWS_CONFIG_FILE"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        yield s


def boto3_client(service: str, profile: str | None = None, **kw: Any) -> Any:
    return boto3.Session(profile_name=profile).client(
        service, aws_access_key_id="A", aws_secret_access_key="s", **kw
    )


def boto3_attempts(retries: dict[str, Any], mode: str) -> int:
    """The attempts botocore's retry handler for ``mode`` makes (its own defaults)."""
    if "total_max_attempts" in retries:
        return int(retries["total_max_attempts"])
    if mode == "legacy":
        from botocore.loaders import create_loader

        return int(create_loader().load_data("_retry")["retry"]["__default__"]["max_attempts"])
    from botocore.retries.standard import DEFAULT_MAX_ATTEMPTS

    return DEFAULT_MAX_ATTEMPTS


async def resolved(client: CognitoSyncClient | CognitoIdentityClient) -> CognitoSyncClient:
    await client._resolve_settings()
    return client  # type: ignore[return-value]


async def test_region_from_profile_like_boto3(config: Path) -> None:
    config.write_text("[profile dev]\nregion = eu-west-3\n[default]\nregion = ap-south-1\n")  # noqa: ASYNC240
    for profile in (None, "dev"):
        ours = await resolved(CognitoSyncClient(profile_name=profile, credentials=CREDS))
        theirs = await asyncio.to_thread(boto3_client, "cognito-sync", profile)
        assert ours.region_name == theirs.meta.region_name
        assert ours.endpoint_url == theirs.meta.endpoint_url
        await ours.close()


async def test_aws_default_region_over_profile_and_argument_over_both(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text("[default]\nregion = ap-south-1\n")  # noqa: ASYNC240
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")
    ours = await resolved(CognitoSyncClient(credentials=CREDS))
    theirs = await asyncio.to_thread(boto3_client, "cognito-sync")
    assert ours.region_name == theirs.meta.region_name == "sa-east-1"
    explicit = await resolved(CognitoSyncClient("eu-north-1", credentials=CREDS))
    assert explicit.region_name == "eu-north-1"


@pytest.mark.parametrize(
    ("env", "profile_text", "expected"),
    [
        ({"AWS_ENDPOINT_URL_COGNITO_SYNC": "http://127.0.0.1:1/svc"}, "", "http://127.0.0.1:1/svc"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:2"}, "", "http://127.0.0.1:2"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:2",
          "AWS_ENDPOINT_URL_COGNITO_SYNC": "http://127.0.0.1:3"}, "", "http://127.0.0.1:3"),
        ({}, "endpoint_url = http://127.0.0.1:4\n", "http://127.0.0.1:4"),
        ({}, "services = local\nendpoint_url = http://127.0.0.1:4\n", "http://127.0.0.1:5"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:2"}, "services = local\n", "http://127.0.0.1:2"),
        ({"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL": "http://127.0.0.1:2"},
         "endpoint_url = http://127.0.0.1:4\n", None),
        ({}, "ignore_configured_endpoint_urls = true\nendpoint_url = http://127.0.0.1:4\n", None),
    ],
)
async def test_endpoint_like_boto3(
    config: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], profile_text: str,
    expected: str | None,
) -> None:
    config.write_text(  # noqa: ASYNC240
        f"[default]\nregion = us-east-1\n{profile_text}"
        "[services local]\ncognito_sync =\n  endpoint_url = http://127.0.0.1:5\n"
        "cognito_identity =\n  endpoint_url = http://127.0.0.1:6\n"
    )
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    ours = await resolved(CognitoSyncClient(credentials=CREDS))
    theirs = await asyncio.to_thread(boto3_client, "cognito-sync")
    assert ours.endpoint_url == theirs.meta.endpoint_url
    assert ours.endpoint_url == (expected or "https://cognito-sync.us-east-1.amazonaws.com")
    ident = await resolved(CognitoIdentityClient(credentials=CREDS))
    theirs_ident = await asyncio.to_thread(boto3_client, "cognito-identity")
    assert ident.endpoint_url == theirs_ident.meta.endpoint_url
    explicit = await resolved(CognitoSyncClient(credentials=CREDS, endpoint_url="http://127.0.0.1:9"))
    assert explicit.endpoint_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("env", "profile_text"),
    [({"AWS_MAX_ATTEMPTS": "7"}, "max_attempts = 2\n"), ({}, "max_attempts = 2\n"),
     ({"AWS_RETRY_MODE": "standard"}, ""), ({}, "retry_mode = adaptive\n"),
     ({"AWS_RETRY_MODE": "legacy", "AWS_MAX_ATTEMPTS": "4"}, "")],
)
async def test_attempts_and_retry_mode_like_boto3(
    config: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], profile_text: str
) -> None:
    config.write_text(f"[default]\nregion = us-east-1\n{profile_text}")  # noqa: ASYNC240
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    ours = await resolved(CognitoSyncClient(credentials=CREDS))
    theirs = await asyncio.to_thread(boto3_client, "cognito-sync")
    retries = theirs.meta.config.retries
    mode = retries.get("mode", "legacy")
    assert ours._retry.max_attempts == boto3_attempts(retries, mode)
    assert (ours.rate_limiter is not None) == (mode == "adaptive")
    explicit = await resolved(CognitoSyncClient(credentials=CREDS, max_attempts=1))
    assert explicit._retry.max_attempts == 1


async def test_nothing_configured_keeps_the_sdks_five_attempts(config: Path) -> None:
    # the one deliberate difference: boto3's default mode is now "standard" (3 attempts);
    # the SDK keeps its documented 5 (retried throttling is the common case for sync)
    ours = await resolved(CognitoSyncClient("us-east-1", credentials=CREDS))
    assert ours._retry.max_attempts == 5 and ours.rate_limiter is None


async def test_bad_retry_settings_are_clear(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text("[default]\nregion = us-east-1\n")  # noqa: ASYNC240
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "zero")
    with pytest.raises(InvalidConfigError, match="max_attempts"):
        await resolved(CognitoSyncClient(credentials=CREDS))
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    monkeypatch.setenv("AWS_RETRY_MODE", "eager")
    with pytest.raises(InvalidConfigError, match="retry_mode"):
        await resolved(CognitoSyncClient(credentials=CREDS))


async def test_missing_profile_is_profile_not_found_not_no_region(config: Path) -> None:
    config.write_text("[default]\nregion = us-east-1\n")  # noqa: ASYNC240
    client = CognitoSyncClient(profile_name="ghost", credentials=CREDS)
    with pytest.raises(ProfileNotFound, match="ghost"):
        await client.describe_dataset(identity_pool_id=POOL, identity_id=IDENTITY,
                                      dataset_name="d")
    await client.close()


async def test_construction_reads_no_file(config: Path) -> None:
    config.mkdir()  # reading it would fail: construction must not try  # noqa: ASYNC240
    CognitoSyncClient(profile_name="any", credentials=CREDS)
    CognitoIdentityClient(profile_name="any")


async def test_ca_bundle_from_profile_and_environment_like_boto3(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    config.write_text(f"[default]\nregion = us-east-1\nca_bundle = {certifi.where()}\n")  # noqa: ASYNC240
    client = await resolved(CognitoSyncClient(credentials=CREDS))
    theirs = await asyncio.to_thread(
        lambda: boto3.Session()._session.get_config_variable("ca_bundle"))
    assert client._settings is not None and client._settings.ca_bundle == theirs
    transport = client._transport
    assert isinstance(transport, Transport)  # the default aiohttp transport
    assert transport.ssl_context is not None  # the session will verify with it
    monkeypatch.setenv("AWS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    with pytest.raises(InvalidConfigError, match="CA bundle"):
        await resolved(CognitoSyncClient(credentials=CREDS))


async def _describe_once(url: str, **options: Any) -> None:
    """One describe_dataset by a new client, closed after (a service error is fine: the
    test looks at the route the request took)."""
    client = CognitoSyncClient("us-east-1", credentials=CREDS, endpoint_url=url,
                               max_attempts=1, **options)
    try:
        await client.describe_dataset(identity_pool_id=POOL, identity_id=IDENTITY,
                                      dataset_name="d")
    except ServiceError:
        pass
    await client.close()


async def test_https_proxy_variables_and_no_proxy(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loopback forward proxy sees the request; NO_PROXY sends it straight."""
    proxied: list[str] = []

    async def proxy(request: web.Request) -> web.StreamResponse:
        proxied.append(str(request.url))
        async with aiohttp.ClientSession() as s, s.request(
            request.method, str(request.url), headers=request.headers,
            data=await request.read()) as r:
            return web.Response(status=r.status, body=await r.read(), headers={
                k: v for k, v in r.headers.items() if k.lower() not in ("content-length",
                                                                          "transfer-encoding")})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        await _describe_once(server.url)
        assert len(proxied) == 1 and proxied[0].startswith(server.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        await _describe_once(server.url)
        assert len(proxied) == 1  # straight to the server this time
        monkeypatch.delenv("NO_PROXY")
        async with aiohttp.ClientSession() as own:  # the caller's session: its settings rule
            await _describe_once(server.url, session=own)
        assert len(proxied) == 1  # HTTP_PROXY is not applied to a caller's session
    finally:
        await runner.cleanup()


class _NoSuchHost(aiohttp.abc.AbstractResolver):
    """Every name fails to resolve, as for a region that does not exist (no DNS traffic)."""

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> Any:
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


async def test_dns_failure_of_the_default_endpoint_hints_at_the_region() -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=_NoSuchHost())) as s:
        client = CognitoSyncClient("eu-west-1", credentials=CREDS, session=s, max_attempts=2,
                                   retry_base_delay=0.001, retry_max_delay=0.002)
        with pytest.raises(EndpointConnectionError) as info:
            await client.describe_dataset(identity_pool_id=POOL, identity_id=IDENTITY,
                                          dataset_name="d")
        await client.close()
    text = str(info.value)
    assert "cognito-sync.eu-west-1.amazonaws.com" in text and "region 'eu-west-1'" in text
    assert f"identity pool {POOL} is in us-east-1" in text
    assert "after 2 attempts" in text


async def test_last_error_of_a_retried_call_counts_attempts(server: Server) -> None:
    from support.httpserver import reply

    server.handler = reply(500, {"__type": "InternalErrorException", "message": "down"})
    client = server.client(max_attempts=3)
    with pytest.raises(ServiceError, match="after 3 attempts"):
        await client.describe_dataset(identity_pool_id=POOL, identity_id=IDENTITY,
                                      dataset_name="d")
    await client.close()
