"""Shared fixtures: the local service (real SQLite, real loopback HTTP) and a client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cognitosync_async import CognitoSyncClient
from cognitosync_async.local import LocalCognitoSync


@pytest.fixture
async def local_sync() -> AsyncIterator[LocalCognitoSync]:
    """The local service in this test's loop: in-memory SQLite, an ephemeral port."""
    async with LocalCognitoSync() as svc:
        yield svc


@pytest.fixture
async def client(local_sync: LocalCognitoSync) -> AsyncIterator[CognitoSyncClient]:
    """A client with the local service's developer credentials."""
    async with CognitoSyncClient(
        local_sync.region,
        credentials=local_sync.credentials,
        endpoint_url=local_sync.endpoint_url,
        retry_base_delay=0.001,
        retry_max_delay=0.05,
    ) as c:
        yield c
