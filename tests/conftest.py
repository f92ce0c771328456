"""Shared fixtures: the local service (real SQLite, real loopback HTTP) and a client on it."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator

import pytest

from cognitosync_async import CognitoSyncClient
from cognitosync_async.local import LocalCognitoSync


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--uvloop", action="store_true",
        help="run every test on uvloop (installs uvloop's event loop policy)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # The policy, not only pytest-asyncio's loop: tests that call asyncio.run
    # (and the clients, services and threads they start) then run on uvloop too.
    if config.getoption("--uvloop"):
        import uvloop

        with warnings.catch_warnings():  # policies are deprecated from Python 3.14
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


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
