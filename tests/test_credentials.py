"""Where credentials come from, and how providers are asked and refreshed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from support.httpserver import CREDS, DATASET, IDENTITY, POOL, Server, reply, serve

from cognitosync_async import (
    CognitoSyncClient,
    CognitoSyncError,
    Credentials,
    CredentialsProvider,
    InternalErrorException,
    NoCredentialsError,
    RefreshableCredentials,
)
from cognitosync_async._config_files import load_shared_config
from cognitosync_async._credential_chain import DefaultCredentialsProvider

DATASET_BODY = {"Dataset": {"DatasetName": DATASET}}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere unless a test puts them there."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing-config"))


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        s.handler = reply(200, DATASET_BODY)
        yield s


def client_for(server: Server, credentials: Any = None, **kwargs: Any) -> CognitoSyncClient:
    return CognitoSyncClient(
        "us-east-1", credentials=credentials, endpoint_url=server.url,
        retry_base_delay=0.001, retry_max_delay=0.05, **kwargs,
    )


async def describe(client: CognitoSyncClient) -> Any:
    return await client.describe_dataset(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
    )


# ---------------------------------------------------------------- sources


async def test_explicit_credentials(server: Server) -> None:
    async with client_for(server, CREDS) as client:
        await describe(client)
    seen = server.seen[0]
    assert seen.access_key == "AKIDEXAMPLE"
    assert "X-Amz-Security-Token" not in seen.headers
    assert "x-amz-security-token" not in seen.headers["Authorization"]


async def test_explicit_session_token_is_sent_and_signed(server: Server) -> None:
    creds = Credentials("AKIATEMP", "secret", session_token="the-session-token")
    async with client_for(server, creds) as client:
        await describe(client)
    seen = server.seen[0]
    assert seen.access_key == "AKIATEMP"
    assert seen.headers["X-Amz-Security-Token"] == "the-session-token"
    assert "x-amz-security-token" in seen.headers["Authorization"].split("SignedHeaders=")[1]


async def test_environment_credentials(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "env-token")
    async with client_for(server) as client:
        await describe(client)
    seen = server.seen[0]
    assert seen.access_key == "AKIAENVIRONMENT"
    assert seen.headers["X-Amz-Security-Token"] == "env-token"


async def test_environment_wins_over_files(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shared = tmp_path / "credentials"
    shared.write_text("[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    async with client_for(server) as client:
        await describe(client)
    assert server.seen[0].access_key == "AKIAENVIRONMENT"
    assert "X-Amz-Security-Token" not in server.seen[0].headers


async def test_shared_credentials_file_with_profile(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shared = tmp_path / "credentials"
    shared.write_text(
        "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n\n"
        "[dev]\naws_access_key_id = AKIADEVPROFILE\naws_secret_access_key = dev-secret\n"
        "aws_session_token = dev-token\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_PROFILE", "dev")
    async with client_for(server) as client:
        await describe(client)
    assert server.seen[0].access_key == "AKIADEVPROFILE"
    assert server.seen[0].headers["X-Amz-Security-Token"] == "dev-token"


async def test_shared_credentials_file_default_profile(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shared = tmp_path / "credentials"
    shared.write_text("[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = d\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    async with client_for(server) as client:
        await describe(client)
    assert server.seen[0].access_key == "AKIADEFAULT"


async def test_config_file_profile_section(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[default]\nregion = us-east-1\n\n"
        "[profile x]\nregion = eu-west-1\naws_access_key_id = AKIACONFIGX\n"
        "aws_secret_access_key = config-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_PROFILE", "x")
    async with client_for(server) as client:
        await describe(client)
    assert server.seen[0].access_key == "AKIACONFIGX"


async def test_files_are_read_at_first_call_not_construction(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shared = tmp_path / "credentials"
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    client = client_for(server)  # the file does not exist yet
    shared.write_text("[default]\naws_access_key_id = AKIALATER\naws_secret_access_key = l\n")
    async with client:
        await describe(client)
    assert server.seen[0].access_key == "AKIALATER"


async def test_no_credentials_anywhere(server: Server) -> None:
    client = client_for(server)  # the constructor does not complain
    async with client:
        with pytest.raises(NoCredentialsError) as info:
            await describe(client)
    assert isinstance(info.value, CognitoSyncError)
    assert "credentials" in str(info.value).lower()
    assert server.count == 0


async def test_profile_without_keys_is_no_credentials(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shared = tmp_path / "credentials"
    shared.write_text("[dev]\naws_access_key_id = AKIAONLYKEY\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    monkeypatch.setenv("AWS_PROFILE", "dev")
    async with client_for(server) as client:
        with pytest.raises(NoCredentialsError):
            await describe(client)
    assert server.count == 0


def test_repr_hides_secrets() -> None:
    creds = Credentials("AKIAVISIBLE", "TOP-SECRET-KEY", session_token="SESSION-TOKEN-XYZ")
    for text in (repr(creds), str(creds), repr(RefreshableCredentials(lambda: None))):  # type: ignore[arg-type, return-value]
        assert "TOP-SECRET-KEY" not in text
        assert "SESSION-TOKEN-XYZ" not in text
    assert "AKIAVISIBLE" in repr(creds)
    client = CognitoSyncClient("us-east-1", credentials=creds)
    assert "TOP-SECRET-KEY" not in repr(client)


# ---------------------------------------------------------------- providers


class CountingProvider:
    """A custom provider handing out a different key each time it is asked."""

    def __init__(self) -> None:
        self.calls = 0

    async def get_credentials(self) -> Credentials:
        self.calls += 1
        return Credentials(f"AKIAPROVIDER{self.calls}", f"secret-{self.calls}")


async def test_custom_provider_asked_before_each_attempt(server: Server) -> None:
    provider = CountingProvider()
    assert isinstance(provider, CredentialsProvider)
    server.script(
        reply(500, error="InternalErrorException"),
        reply(500, error="InternalErrorException"),
        reply(200, DATASET_BODY),
    )
    async with client_for(server, provider) as client:
        await describe(client)
        assert provider.calls == 3
        assert [s.access_key for s in server.seen] == [
            "AKIAPROVIDER1", "AKIAPROVIDER2", "AKIAPROVIDER3"
        ]
        await describe(client)
    assert provider.calls == 4


async def test_provider_failure_is_raised_from_the_call(server: Server) -> None:
    class Broken:
        async def get_credentials(self) -> Credentials:
            raise NoCredentialsError("token endpoint said no")

    async with client_for(server, Broken()) as client:
        with pytest.raises(NoCredentialsError, match="said no"):
            await describe(client)
    assert server.count == 0


def test_not_a_provider_is_rejected() -> None:
    with pytest.raises(CognitoSyncError, match="credentials"):
        CognitoSyncClient("us-east-1", credentials=object())  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class Fetcher:
    """Temporary credentials valid for an hour; optionally gated by an event."""

    def __init__(self, clock: Clock, gate: asyncio.Event | None = None) -> None:
        self.clock = clock
        self.gate = gate
        self.fetches = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.cancelled = False

    async def __call__(self) -> Credentials:
        self.fetches += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            else:
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.in_flight -= 1
        n = self.fetches
        return Credentials(
            f"AKIAFETCH{n}", f"secret-{n}", session_token=f"token-{n}",
            expiration=self.clock() + timedelta(hours=1),
        )


async def test_refreshable_caches_and_refreshes_ahead_of_expiry() -> None:
    clock = Clock()
    fetch = Fetcher(clock)
    provider = RefreshableCredentials(fetch, advisory_refresh=timedelta(minutes=5), clock=clock)
    first = await provider.get_credentials()
    assert first.access_key_id == "AKIAFETCH1"
    clock.now += timedelta(minutes=30)
    assert await provider.get_credentials() is first
    assert fetch.fetches == 1
    clock.now += timedelta(minutes=24)  # 6 minutes left: still fresh
    assert await provider.get_credentials() is first
    clock.now += timedelta(minutes=2)  # 4 minutes left: refresh ahead of expiry
    second = await provider.get_credentials()
    assert second.access_key_id == "AKIAFETCH2"
    assert fetch.fetches == 2
    clock.now += timedelta(hours=2)  # well past expiry
    assert (await provider.get_credentials()).access_key_id == "AKIAFETCH3"


async def test_refreshable_without_expiration_is_kept() -> None:
    calls = 0

    async def fetch() -> Credentials:
        nonlocal calls
        calls += 1
        return Credentials("AKIAFOREVER", "s")

    provider = RefreshableCredentials(fetch)
    for _ in range(5):
        await provider.get_credentials()
    assert calls == 1


async def test_one_refresh_in_flight_for_50_waiters() -> None:
    clock = Clock()
    gate = asyncio.Event()
    fetch = Fetcher(clock, gate)
    provider = RefreshableCredentials(fetch, clock=clock)
    waiters = [asyncio.create_task(provider.get_credentials()) for _ in range(50)]
    await asyncio.sleep(0.01)
    assert fetch.fetches == 1 and fetch.in_flight == 1
    gate.set()
    results = await asyncio.gather(*waiters)
    assert {id(r) for r in results} == {id(results[0])}
    assert fetch.fetches == 1 and fetch.max_in_flight == 1


async def test_one_refresh_for_50_concurrent_calls(server: Server) -> None:
    clock = Clock()
    gate = asyncio.Event()
    fetch = Fetcher(clock, gate)
    provider = RefreshableCredentials(fetch, clock=clock)
    async with client_for(server, provider) as client:
        calls = [asyncio.create_task(describe(client)) for _ in range(50)]
        await asyncio.sleep(0.01)
        assert server.count == 0 and fetch.fetches == 1
        gate.set()
        await asyncio.gather(*calls)
        # expiry approaches: the next burst shares one refresh as well
        clock.now += timedelta(minutes=56)
        gate.clear()
        calls = [asyncio.create_task(describe(client)) for _ in range(50)]
        await asyncio.sleep(0.01)
        gate.set()
        await asyncio.gather(*calls)
    assert fetch.fetches == 2 and fetch.max_in_flight == 1
    assert server.count == 100
    assert {s.access_key for s in server.seen[:50]} == {"AKIAFETCH1"}
    assert {s.access_key for s in server.seen[50:]} == {"AKIAFETCH2"}


async def test_waiter_cancellation_does_not_cancel_the_refresh() -> None:
    clock = Clock()
    gate = asyncio.Event()
    fetch = Fetcher(clock, gate)
    provider = RefreshableCredentials(fetch, clock=clock)
    first = asyncio.create_task(provider.get_credentials())
    second = asyncio.create_task(provider.get_credentials())
    await asyncio.sleep(0.01)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.sleep(0.01)
    assert not fetch.cancelled
    gate.set()
    creds = await asyncio.wait_for(second, 1)
    assert creds.access_key_id == "AKIAFETCH1"
    assert fetch.fetches == 1
    assert await provider.get_credentials() is creds  # and it was cached


async def test_failed_refresh_reaches_every_waiter_and_is_retried_next_time() -> None:
    attempts = 0

    async def flaky() -> Credentials:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.01)
        if attempts == 1:
            raise NoCredentialsError("identity service unavailable")
        return Credentials("AKIASECOND", "s")

    provider = RefreshableCredentials(flaky)
    results = await asyncio.gather(
        *(provider.get_credentials() for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, NoCredentialsError) for r in results)
    assert attempts == 1
    assert (await provider.get_credentials()).access_key_id == "AKIASECOND"


async def test_provider_error_through_client_is_not_retried(server: Server) -> None:
    asked = 0

    class Failing:
        async def get_credentials(self) -> Credentials:
            nonlocal asked
            asked += 1
            raise NoCredentialsError("nope")

    server.handler = reply(500, error="InternalErrorException")
    async with client_for(server, Failing(), max_attempts=3) as client:
        with pytest.raises(NoCredentialsError):
            await describe(client)
    assert asked == 1
    assert server.count == 0
    assert not issubclass(NoCredentialsError, InternalErrorException)


async def test_credentials_refused_as_expired_are_refreshed_and_resent(server: Server) -> None:
    """The service refuses credentials it considers expired (e.g. its clock is
    ahead): the client drops them from a refreshable provider, fetches fresh
    ones and re-sends at once, as the next attempt (counted: max_attempts=2)."""
    issued: list[str] = []

    async def fetch() -> Credentials:
        key = f"ASIAFRESH{len(issued)}"
        issued.append(key)
        expires = datetime.now(timezone.utc) + timedelta(hours=1)
        return Credentials(key, "secret", session_token=f"token-{key}", expiration=expires)

    server.script(
        reply(403, error="ExpiredTokenException"),
        reply(200, DATASET_BODY),
    )
    provider = RefreshableCredentials(fetch)
    async with client_for(server, provider, max_attempts=2) as client:
        resp = await describe(client)
    assert resp.dataset is not None and resp.dataset.dataset_name == DATASET
    assert issued == ["ASIAFRESH0", "ASIAFRESH1"]
    assert [s.access_key for s in server.seen] == ["ASIAFRESH0", "ASIAFRESH1"]
    assert server.seen[1].headers["X-Amz-Security-Token"] == "token-ASIAFRESH1"


async def test_expired_refusal_with_static_credentials_is_raised(server: Server) -> None:
    server.script(reply(403, error="ExpiredTokenException"))
    async with client_for(server, CREDS) as client:
        with pytest.raises(CognitoSyncError) as caught:
            await describe(client)
    assert getattr(caught.value, "code", None) == "ExpiredTokenException"
    assert server.count == 1  # a 403 is not retried, and static credentials cannot refresh


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
