"""Shared fixtures: the local service (real SQLite, real loopback HTTP), an SDK client
on it, and botocore callers on it (``svc``, ``clients``, ``dev``, ``ident``; their
helpers are in ``support.local_service``). Helpers by kind are in ``tests/support/``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from support.local_service import IDENTITY, POOL, Caller, make_client

from cognitosync_async import CognitoSyncClient
from cognitosync_async._credentials import Credentials
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


@pytest.fixture(name="svc")
async def svc_fixture() -> AsyncIterator[LocalCognitoSync]:
    async with LocalCognitoSync() as service:
        yield service


@pytest.fixture(name="clients")
def clients_fixture(svc: LocalCognitoSync) -> Iterator[Callable[[Credentials | None], Caller]]:
    """A factory of ``Caller``s (developer credentials by default), closed at teardown."""
    made: list[Caller] = []

    def factory(creds: Credentials | None = None) -> Caller:
        caller = Caller(make_client(svc, creds))
        made.append(caller)
        return caller

    yield factory
    for caller in made:
        caller.close()


@pytest.fixture(name="dev")
def dev_fixture(clients: Callable[[Credentials | None], Caller]) -> Caller:
    return clients(None)


@pytest.fixture(name="ident")
def ident_fixture(svc: LocalCognitoSync, clients: Callable[[Credentials | None], Caller]) -> Caller:
    return clients(svc.mint_identity_credentials(POOL, IDENTITY))
