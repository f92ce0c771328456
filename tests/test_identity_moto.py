"""CognitoIdentityCredentials and CognitoIdentityClient against moto's server mode:
a Cognito Identity emulation nobody here wrote (the pool is created with botocore)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta, timezone
from typing import Any

import botocore.config
import botocore.session
import pytest
from support.httpserver import FAST
from support.moto import moto_url_fixture  # noqa: F401  (the moto_url fixture)

from cognitosync_async import (
    CognitoIdentityClient,
    CognitoIdentityCredentials,
    Credentials,
)

MOTO_CREDS = Credentials("testing", "testing")


@pytest.fixture
def pool(moto_url: str) -> Iterator[str]:
    boto: Any = botocore.session.get_session().create_client(  # stubs type it BaseClient
        "cognito-identity",
        region_name="us-east-1",
        endpoint_url=moto_url,
        aws_access_key_id=MOTO_CREDS.access_key_id,
        aws_secret_access_key=MOTO_CREDS.secret_access_key,
        config=botocore.config.Config(retries={"max_attempts": 0}),
    )
    try:
        created: dict[str, Any] = boto.create_identity_pool(
            IdentityPoolName="cognitosync_async_test",
            AllowUnauthenticatedIdentities=True,
            DeveloperProviderName="login.example.app",
        )
        yield str(created["IdentityPoolId"])
        boto.delete_identity_pool(IdentityPoolId=created["IdentityPoolId"])
    finally:
        boto.close()


async def test_provider_obtains_and_refreshes_from_moto(moto_url: str, pool: str) -> None:
    # moto's credentials live 90 s: a margin of 89.5 s makes them stale after ~0.5 s
    async with CognitoIdentityCredentials(
        pool, endpoint_url=moto_url, advisory_refresh=timedelta(seconds=89.5)
    ) as provider:
        first = await asyncio.gather(*(provider.get_credentials() for _ in range(20)))
        assert len({id(c) for c in first}) == 1  # one fetch served all 20
        creds = first[0]
        assert creds.access_key_id and creds.secret_access_key and creds.session_token
        assert creds.expiration is not None and creds.expiration.tzinfo == timezone.utc
        identity_id = await provider.get_identity_id()
        assert identity_id.startswith("us-east-1:")
        # cached while fresh
        assert await provider.get_credentials() is creds
        await asyncio.sleep(0.7)
        refreshed = await provider.get_credentials()
        assert refreshed is not creds
        assert refreshed.expiration is not None and refreshed.expiration > creds.expiration
        assert await provider.get_identity_id() == identity_id

    async with CognitoIdentityClient(
        "us-east-1", credentials=MOTO_CREDS, endpoint_url=moto_url, **FAST
    ) as client:
        listed = [i.identity_id async for i in client.iter_identities(identity_pool_id=pool)]
        assert identity_id in listed


async def test_developer_token_from_moto(moto_url: str, pool: str) -> None:
    async with CognitoIdentityClient(
        "us-east-1", credentials=MOTO_CREDS, endpoint_url=moto_url, **FAST
    ) as client:
        issued = await client.get_open_id_token_for_developer_identity(
            identity_pool_id=pool, logins={"login.example.app": "user-42"}
        )
        assert issued.identity_id and issued.token
        async with CognitoIdentityCredentials(
            pool, identity_id=issued.identity_id, endpoint_url=moto_url,
            logins={"cognito-identity.amazonaws.com": issued.token},
        ) as provider:
            creds = await provider.get_credentials()
            assert creds.access_key_id
            assert await provider.get_identity_id() == issued.identity_id
