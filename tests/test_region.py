"""Where the client's region comes from and what it accepts: the environment or the
shared config file, read lazily at first use (once, per loop, again after a failure),
region names validated before anything is sent, and ``region_or_none``."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from support.httpserver import CREDS, DATASET, IDENTITY, POOL, Server, reply, serve

import cognitosync_async
from cognitosync_async import (
    ClientStateError,
    CognitoIdentityClient,
    CognitoIdentityCredentials,
    CognitoSyncClient,
    CognitoSyncError,
    NoRegionError,
    ParamValidationError,
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
def no_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


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


@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("us-east-1", "https://cognito-sync.us-east-1.amazonaws.com"),
        ("eu-west-1", "https://cognito-sync.eu-west-1.amazonaws.com"),
        ("cn-north-1", "https://cognito-sync.cn-north-1.amazonaws.com.cn"),
        ("cn-northwest-1", "https://cognito-sync.cn-northwest-1.amazonaws.com.cn"),
    ],
)
def test_default_endpoint(region: str, endpoint: str) -> None:
    client = CognitoSyncClient(region, credentials=CREDS)
    assert client.endpoint_url == endpoint
    assert client.region_name == region

def test_region_from_aws_region(monkeypatch: pytest.MonkeyPatch, no_aws_env: None) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    client = CognitoSyncClient(credentials=CREDS)
    assert client.region_name == "ap-southeast-2"
    assert client.endpoint_url == "https://cognito-sync.ap-southeast-2.amazonaws.com"

def test_region_from_aws_default_region(
    monkeypatch: pytest.MonkeyPatch, no_aws_env: None
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "cn-north-1")
    client = CognitoSyncClient(credentials=CREDS)
    assert client.region_name == "cn-north-1"
    assert client.endpoint_url.endswith(".amazonaws.com.cn")

def test_explicit_region_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    assert CognitoSyncClient("eu-west-2").region_name == "eu-west-2"
    assert CognitoSyncClient(region_name="eu-west-3").region_name == "eu-west-3"

async def test_no_region_is_a_clear_error_at_first_use(
    no_aws_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))
    async with serve() as server:
        client = CognitoSyncClient(credentials=CREDS, endpoint_url=server.url)
        with pytest.raises(ValueError, match="region"):
            async with client:
                pass
        assert client.session is None  # nothing opened, nothing to close
        assert server.count == 0


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
