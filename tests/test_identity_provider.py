"""CognitoIdentityCredentials end to end over loopback, against the local service:
an identity's own credentials, their refresh, single flight, and the provider's lifecycle."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from support.httpserver import FAST, Server, reply, serve

from cognitosync_async import (
    ClientStateError,
    CognitoIdentityClient,
    CognitoIdentityCredentials,
    CognitoSyncClient,
    Credentials,
    CredentialsProvider,
    NotAuthorizedException,
    ParamValidationError,
    PushSync,
    RecordPatch,
    RefreshableCredentials,
)
from cognitosync_async.local import LocalCognitoSync
from cognitosync_async.local.handlers import identity

POOL = "us-east-1:00000000-0000-0000-0000-0000000000bb"
APP_ARN = "arn:aws:sns:us-east-1:123456789012:app/GCM/my-app"
ROLE_ARN = "arn:aws:iam::123456789012:role/push-sync"


@pytest.fixture
async def svc() -> AsyncIterator[LocalCognitoSync]:
    async with LocalCognitoSync() as service:
        yield service


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        yield s


@pytest.fixture
def credential_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every GetCredentialsForIdentity the local service answers (by identity id)."""
    calls: list[str] = []
    handler, signed = identity.OPERATIONS["GetCredentialsForIdentity"]

    async def counting(state: Any, store: Any, data: dict[str, Any]) -> dict[str, Any]:
        calls.append(data.get("IdentityId", ""))
        return await handler(state, store, data)

    monkeypatch.setitem(identity.OPERATIONS, "GetCredentialsForIdentity", (counting, signed))
    return calls


def sync_client(svc: LocalCognitoSync, credentials: Any) -> CognitoSyncClient:
    return CognitoSyncClient(
        svc.region, credentials=credentials, endpoint_url=svc.endpoint_url, **FAST
    )


async def write(client: CognitoSyncClient, identity_id: str, dataset: str, key: str,
                value: str) -> int:
    """One sync round (list for a token, then update); returns the new sync count."""
    listed = await client.list_records(
        identity_pool_id=POOL, identity_id=identity_id, dataset_name=dataset
    )
    current = {r.key: r.sync_count or 0 for r in listed.records or []}
    assert listed.sync_session_token is not None
    written = await client.update_records(
        identity_pool_id=POOL, identity_id=identity_id, dataset_name=dataset,
        record_patches=[RecordPatch("replace", key, current.get(key, 0), value=value)],
        sync_session_token=listed.sync_session_token,
    )
    assert written.records and written.records[0].sync_count is not None
    return written.records[0].sync_count


# ---------------------------------------------------------------- the unauthenticated flow


async def test_unauthenticated_identity_end_to_end(
    svc: LocalCognitoSync, credential_calls: list[str]
) -> None:
    async with sync_client(svc, svc.credentials) as developer:
        await developer.set_identity_pool_configuration(
            identity_pool_id=POOL, push_sync=PushSync(application_arns=[APP_ARN], role_arn=ROLE_ARN)
        )

    async with CognitoIdentityCredentials(POOL, endpoint_url=svc.endpoint_url) as provider:
        assert isinstance(provider, CredentialsProvider)
        assert provider.identity_id is None
        me = await provider.get_identity_id()
        assert me.startswith("us-east-1:") and provider.identity_id == me
        creds = await provider.get_credentials()
        assert creds.session_token and creds.expiration is not None
        assert creds.expiration.tzinfo == timezone.utc
        assert credential_calls == [me]

        async with sync_client(svc, provider) as client:
            assert await write(client, me, "settings", "theme", "dark") == 1
            assert await write(client, me, "settings", "theme", "light") == 2
            records = [r async for r in client.iter_records(
                identity_pool_id=POOL, identity_id=me, dataset_name="settings")]
            assert [(r.key, r.value, r.last_modified_by) for r in records] == [
                ("theme", "light", me)
            ]
            device = await client.register_device(
                identity_pool_id=POOL, identity_id=me, platform="GCM", token="gcm-token"
            )
            assert device.device_id
            await client.subscribe_to_dataset(
                identity_pool_id=POOL, identity_id=me, dataset_name="settings",
                device_id=device.device_id,
            )
            await write(client, me, "settings", "theme", "blue")
            pushes = svc.outbox("push")
            assert pushes and pushes[-1]["identityId"] == me
            await client.unsubscribe_from_dataset(
                identity_pool_id=POOL, identity_id=me, dataset_name="settings",
                device_id=device.device_id,
            )
        assert credential_calls == [me]  # one set of credentials served every call

    with pytest.raises(ClientStateError):
        await provider.get_credentials()


async def test_identity_is_refused_other_data_and_developer_operations(
    svc: LocalCognitoSync,
) -> None:
    other = CognitoIdentityCredentials(POOL, endpoint_url=svc.endpoint_url)
    mine = CognitoIdentityCredentials(POOL, endpoint_url=svc.endpoint_url)
    theirs = await other.get_identity_id()
    async with sync_client(svc, other) as their_client:
        await write(their_client, theirs, "private", "k", "v")
    async with sync_client(svc, mine) as client:
        me = await mine.get_identity_id()
        assert me != theirs
        for call in (
            client.list_records(identity_pool_id=POOL, identity_id=theirs, dataset_name="private"),
            client.describe_dataset(
                identity_pool_id=POOL, identity_id=theirs, dataset_name="private"),
            client.list_datasets(identity_pool_id=POOL, identity_id=theirs),
            client.delete_dataset(
                identity_pool_id=POOL, identity_id=theirs, dataset_name="private"),
            client.register_device(
                identity_pool_id=POOL, identity_id=theirs, platform="GCM", token="t"),
            # developer-only operations
            client.describe_identity_pool_usage(identity_pool_id=POOL),
            client.list_identity_pool_usage(),
            client.get_identity_pool_configuration(identity_pool_id=POOL),
            client.set_cognito_events(identity_pool_id=POOL, events={"SyncTrigger": ""}),
            client.bulk_publish(identity_pool_id=POOL),
        ):
            with pytest.raises(NotAuthorizedException) as info:
                await call
            assert info.value.status_code == 403
    async with CognitoIdentityClient(
        svc.region, credentials=mine, endpoint_url=svc.endpoint_url, **FAST
    ) as as_identity:
        with pytest.raises(NotAuthorizedException):
            await as_identity.list_identities(identity_pool_id=POOL, max_results=10)
    # the other identity's data is untouched
    async with sync_client(svc, other) as their_client:
        described = await their_client.describe_dataset(
            identity_pool_id=POOL, identity_id=theirs, dataset_name="private")
        assert described.dataset is not None and described.dataset.num_records == 1


# ---------------------------------------------------------------- refresh


async def test_refreshed_transparently_across_expiry(
    svc: LocalCognitoSync, credential_calls: list[str]
) -> None:
    svc.identity_credentials_ttl = 2
    provider = CognitoIdentityCredentials(
        POOL, endpoint_url=svc.endpoint_url, advisory_refresh=timedelta(seconds=0.5)
    )
    keys: set[str] = set()
    async with provider, sync_client(svc, provider) as client:
        me = await provider.get_identity_id()
        deadline = time.monotonic() + 3.6
        rounds = 0
        while time.monotonic() < deadline:
            await write(client, me, "long-run", "counter", str(rounds))
            keys.add((await provider.get_credentials()).access_key_id)
            rounds += 1
            await asyncio.sleep(0.05)
    # every call succeeded on live credentials, renewed at least twice along the way
    assert len(credential_calls) >= 3
    assert len(keys) == len(credential_calls)
    assert rounds > 20


async def test_fifty_calls_at_expiry_cause_one_refresh(
    svc: LocalCognitoSync, credential_calls: list[str]
) -> None:
    svc.identity_credentials_ttl = 1  # the first credentials live at most 1 s
    provider = CognitoIdentityCredentials(
        POOL, endpoint_url=svc.endpoint_url, advisory_refresh=timedelta(seconds=0.2)
    )
    async with provider, sync_client(svc, provider) as client:
        # 50 calls on a fresh provider: one GetId, one GetCredentialsForIdentity
        first = await asyncio.gather(*(provider.get_credentials() for _ in range(50)))
        assert len({c.access_key_id for c in first}) == 1
        assert len(credential_calls) == 1
        me = await provider.get_identity_id()
        expiration = first[0].expiration
        assert expiration is not None
        await asyncio.sleep(max(0.0, (expiration - datetime.now(timezone.utc)).total_seconds()))
        assert datetime.now(timezone.utc) >= expiration  # the credentials have expired
        svc.identity_credentials_ttl = 10  # the refreshed ones outlive the 50 calls
        results = await asyncio.gather(
            *(client.list_datasets(identity_pool_id=POOL, identity_id=me) for _ in range(50))
        )
        assert len(results) == 50
        assert len(credential_calls) == 2  # exactly one refresh for all 50
        assert (await provider.get_credentials()).access_key_id != first[0].access_key_id


async def test_refresh_failure_reaches_every_waiter_then_recovers(server: Server) -> None:
    server.script(
        reply(200, {"IdentityId": "us-east-1:1111"}),
        reply(500, {"__type": "InternalErrorException", "message": "boom"}),
        reply(200, {"IdentityId": "us-east-1:1111", "Credentials": {
            "AccessKeyId": "ASIAOK", "SecretKey": "s", "SessionToken": "t",
            "Expiration": time.time() + 3600}}),
    )
    client = CognitoIdentityClient("us-east-1", endpoint_url=server.url, max_attempts=1)
    async with client, CognitoIdentityCredentials(POOL, client=client) as provider:
        outcomes = await asyncio.gather(
            *(provider.get_credentials() for _ in range(10)), return_exceptions=True
        )
        assert all(getattr(o, "code", None) == "InternalErrorException" for o in outcomes)
        assert server.count == 2  # one GetId, one failed GetCredentialsForIdentity
        assert (await provider.get_credentials()).access_key_id == "ASIAOK"
        assert server.count == 3
    assert client.session is not None and client.session.closed  # closed by its owner only


# ---------------------------------------------------------------- developer-authenticated


async def test_developer_authenticated_identity(
    svc: LocalCognitoSync, credential_calls: list[str]
) -> None:
    async with CognitoIdentityClient(
        svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url, **FAST
    ) as backend:
        issued = await backend.get_open_id_token_for_developer_identity(
            identity_pool_id=POOL, logins={"login.example.app": "user-42"}
        )
        assert issued.identity_id and issued.token
        user = issued.identity_id

        # the documented flow: the backend hands IdentityId + Token to the app
        provider = CognitoIdentityCredentials(
            POOL, identity_id=user, endpoint_url=svc.endpoint_url,
            logins={"cognito-identity.amazonaws.com": issued.token},
        )
        async with provider, sync_client(svc, provider) as client:
            assert await provider.get_identity_id() == user
            assert await write(client, user, "profile", "name", "Ada") == 1

        # without an identity id, GetId finds the same identity from the token
        found = CognitoIdentityCredentials(
            POOL, endpoint_url=svc.endpoint_url,
            logins={"cognito-identity.amazonaws.com": issued.token},
        )
        async with found:
            assert await found.get_identity_id() == user

        # an authenticated identity without its login is refused
        async with CognitoIdentityCredentials(
            POOL, identity_id=user, endpoint_url=svc.endpoint_url
        ) as anonymous:
            with pytest.raises(NotAuthorizedException):
                await anonymous.get_credentials()

        # logins from a callable: a fresh token for every refresh
        tokens: list[str] = []

        async def fresh_logins() -> dict[str, str]:
            again = await backend.get_open_id_token_for_developer_identity(
                identity_pool_id=POOL, logins={"login.example.app": "user-42"}
            )
            assert again.identity_id == user and again.token
            tokens.append(again.token)
            return {"cognito-identity.amazonaws.com": again.token}

        svc.identity_credentials_ttl = 2  # credentials live 1-2 s (whole-second expiry)
        renewing = CognitoIdentityCredentials(
            POOL, identity_id=user, endpoint_url=svc.endpoint_url, logins=fresh_logins,
            advisory_refresh=0.5,
        )
        async with renewing, sync_client(svc, renewing) as client:
            await write(client, user, "profile", "name", "Grace")
            expiration = (await renewing.get_credentials()).expiration
            assert expiration is not None
            stale_in = expiration - timedelta(seconds=0.5) - datetime.now(timezone.utc)
            await asyncio.sleep(stale_in.total_seconds() + 0.05)
            await write(client, user, "profile", "name", "Hopper")
        # one fresh token per refresh (at least the first fetch and one after expiry)
        assert len(tokens) >= 2 and len(set(tokens)) == len(tokens)
        assert credential_calls[-len(tokens):] == [user] * len(tokens)


# ---------------------------------------------------------------- lifecycle and hygiene


def test_construction_validates_and_does_no_io() -> None:
    with pytest.raises(ParamValidationError):
        CognitoIdentityCredentials("not-a-pool")
    with pytest.raises(ParamValidationError):
        CognitoIdentityCredentials(POOL, identity_id="bad id")
    with pytest.raises(ParamValidationError):
        CognitoIdentityCredentials(POOL, logins={"p": ""})
    with pytest.raises(ValueError):
        CognitoIdentityCredentials(POOL, advisory_refresh=-1)
    provider = CognitoIdentityCredentials("eu-west-2:00000000-0000-0000-0000-000000000001")
    assert provider.region_name == "eu-west-2"  # from the pool id
    assert isinstance(provider, RefreshableCredentials)
    assert CognitoIdentityCredentials(POOL, region_name="us-west-2").region_name == "us-west-2"


async def test_never_closed_provider_leaves_nothing_open(svc: LocalCognitoSync) -> None:
    # filterwarnings=error: an unclosed aiohttp session would fail this test
    provider = CognitoIdentityCredentials(POOL, endpoint_url=svc.endpoint_url)
    async with sync_client(svc, provider) as client:
        me = await provider.get_identity_id()
        await client.list_datasets(identity_pool_id=POOL, identity_id=me)
    del provider, client
    gc.collect()
    await asyncio.sleep(0)


async def test_close_cancels_a_refresh_in_flight(server: Server) -> None:
    arrived = asyncio.Event()
    slow = reply(200, {"IdentityId": "us-east-1:1111"}, delay=5)

    async def respond(request: Any, seen: Any) -> Any:
        arrived.set()
        return await slow(request, seen)

    server.handler = respond
    provider = CognitoIdentityCredentials(POOL, endpoint_url=server.url)
    waiter = asyncio.ensure_future(provider.get_credentials())
    await asyncio.wait_for(arrived.wait(), 5)
    started = time.monotonic()
    await provider.close()
    await provider.close()  # idempotent
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert time.monotonic() - started < 1
    with pytest.raises(ClientStateError):
        await provider.get_identity_id()
    with pytest.raises(ClientStateError):
        async with provider:
            pass


async def test_secrets_never_in_repr_or_logs(
    svc: LocalCognitoSync, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with CognitoIdentityClient(
        svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url, **FAST
    ) as backend:
        issued = await backend.get_open_id_token_for_developer_identity(
            identity_pool_id=POOL, logins={"login.example.app": "user-1"}
        )
    assert issued.token is not None
    provider = CognitoIdentityCredentials(
        POOL, identity_id=issued.identity_id, endpoint_url=svc.endpoint_url,
        logins={"cognito-identity.amazonaws.com": issued.token},
    )
    async with provider:
        creds = await provider.get_credentials()
    assert creds.session_token is not None
    secrets = (creds.secret_access_key, creds.session_token, issued.token)
    texts = [repr(provider), str(provider), repr(creds), repr(issued), caplog.text]
    for secret in secrets:
        for text in texts:
            assert secret not in text
    assert any("Cognito Identity" in r.getMessage() for r in caplog.records)


async def test_user_supplied_client_is_shared_and_not_closed(svc: LocalCognitoSync) -> None:
    calls: list[str] = []

    class Counting(CognitoIdentityClient):
        async def get_id(self, **kwargs: Any) -> Any:
            calls.append("GetId")
            return await super().get_id(**kwargs)

        async def get_credentials_for_identity(self, **kwargs: Any) -> Any:
            calls.append("GetCredentialsForIdentity")
            return await super().get_credentials_for_identity(**kwargs)

    async with Counting(svc.region, endpoint_url=svc.endpoint_url) as client:
        provider = CognitoIdentityCredentials(POOL, client=client)
        assert provider.region_name == svc.region
        await asyncio.gather(provider.get_identity_id(), provider.get_credentials(),
                             provider.get_identity_id())
        await provider.close()
        assert calls == ["GetId", "GetCredentialsForIdentity"]
        assert client.session is not None and not client.session.closed


async def test_static_identity_credentials_still_work(svc: LocalCognitoSync) -> None:
    """The admin path (mint_identity_credentials) and the provider path agree."""
    minted = svc.mint_identity_credentials(POOL, "us-east-1:22222222-2222-2222-2222-222222222222")
    assert isinstance(minted, Credentials)
    async with sync_client(svc, minted) as client:
        await client.list_datasets(
            identity_pool_id=POOL, identity_id="us-east-1:22222222-2222-2222-2222-222222222222"
        )
