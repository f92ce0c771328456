"""The local service logs under its own ``cognitosync_async_local`` tree: the SDK's DEBUG
(``cognitosync_async``) shows only the SDK's lines, and the emulator's are one switch away."""

from __future__ import annotations

import logging

import pytest

from cognitosync_async import CognitoSyncClient, InvalidParameterException
from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:00000000-0000-0000-0000-000000000001"
IDENTITY = "us-east-1:11111111-1111-1111-1111-111111111111"


def _local(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("cognitosync_async_local")]


def _sdk(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name == "cognitosync_async" or r.name.startswith("cognitosync_async.")]


async def _calls() -> None:
    async with LocalCognitoSync() as svc, CognitoSyncClient(
        svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url
    ) as client:
        await client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
        with pytest.raises(InvalidParameterException):  # an error answer is logged too
            await client.update_records(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="d",
                sync_session_token="bogus",
            )


async def test_sdk_debug_shows_only_the_sdk(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cognitosync_async")
    await _calls()
    assert _sdk(caplog), "the SDK logs each attempt at DEBUG"
    assert _local(caplog) == []
    assert not [r for r in caplog.records if r.name.startswith("cognitosync_async.local")]


async def test_local_debug_is_its_own_switch(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="cognitosync_async_local")
    await _calls()
    names = {r.name for r in _local(caplog)}
    assert names == {"cognitosync_async_local.server"}
    assert _sdk(caplog) == []
