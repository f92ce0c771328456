"""pytest fixtures for testing code that uses cognitosync_async.

Installing the package registers this module with pytest (entry point
``pytest11``, name ``cognitosync_async``; ``-p no:cognitosync_async`` turns it
off). It provides two function-scoped async fixtures, written with
``pytest_asyncio.fixture`` so that they work in pytest-asyncio's default
*strict* mode as well as in *auto* mode:

- ``cognito_sync_service``: a running :class:`~cognitosync_async.local.LocalCognitoSync`
  (in-memory SQLite, an ephemeral loopback port), fresh for each test and stopped
  after it;
- ``cognito_sync_client``: a :class:`~cognitosync_async.CognitoSyncClient` bound to
  that service with its developer credentials, closed after the test.

Both run in the event loop pytest-asyncio gives the test's fixtures (the
``asyncio_default_fixture_loop_scope`` setting). To configure the service (faults,
``strict``, a database file), override ``cognito_sync_service`` in your
``conftest.py``; ``cognito_sync_client`` then binds to your service.

pytest-asyncio is needed to run the fixtures, not to load the plugin: without it,
pytest starts as usual and a test that requests a fixture fails with a message
saying what to install.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._client import CognitoSyncClient
    from .local import LocalCognitoSync

__all__ = ["cognito_sync_client", "cognito_sync_service"]

MISSING_PYTEST_ASYNCIO = (
    "the {name} fixture (from cognitosync_async's pytest plugin) needs pytest-asyncio: "
    "pip install pytest-asyncio (or: pip install 'cognitosync-async[test]')"
)

try:
    import pytest_asyncio
except ImportError:  # the plugin still loads; requesting a fixture explains what is missing
    HAVE_PYTEST_ASYNCIO = False
else:
    HAVE_PYTEST_ASYNCIO = True


async def _service() -> AsyncIterator[LocalCognitoSync]:
    """A running local Cognito Sync service (in-memory SQLite), fresh for each test."""
    from .local import LocalCognitoSync

    async with LocalCognitoSync() as service:
        yield service


async def _client(cognito_sync_service: LocalCognitoSync) -> AsyncIterator[CognitoSyncClient]:
    """A CognitoSyncClient on ``cognito_sync_service`` (developer credentials), closed after."""
    from ._client import CognitoSyncClient

    async with CognitoSyncClient(
        cognito_sync_service.region,
        credentials=cognito_sync_service.credentials,
        endpoint_url=cognito_sync_service.endpoint_url,
    ) as client:
        yield client


def _unavailable(name: str) -> Any:
    def fixture() -> Iterator[None]:
        pytest.fail(MISSING_PYTEST_ASYNCIO.format(name=name), pytrace=False)
        yield  # pragma: no cover - pytest.fail raises

    fixture.__name__ = name
    fixture.__doc__ = MISSING_PYTEST_ASYNCIO.format(name=name)
    return pytest.fixture(name=name)(fixture)


if HAVE_PYTEST_ASYNCIO:
    cognito_sync_service = pytest_asyncio.fixture(_service, name="cognito_sync_service")
    cognito_sync_client = pytest_asyncio.fixture(_client, name="cognito_sync_client")
else:  # pragma: no cover - exercised in a subprocess by tests/test_pytest_plugin.py
    cognito_sync_service = _unavailable("cognito_sync_service")
    cognito_sync_client = _unavailable("cognito_sync_client")
