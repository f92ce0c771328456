"""Shared fixtures: the local service (real SQLite, real loopback HTTP) and a client on it."""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cognitosync_async import CognitoSyncClient
from cognitosync_async.local import LocalCognitoSync

# Settings that would send a test's traffic elsewhere, or make it depend on the machine
_MACHINE_ENV = (
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_COGNITO_SYNC", "AWS_ENDPOINT_URL_COGNITO_IDENTITY",
    "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SSO", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_CA_BUNDLE",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_METADATA_SERVICE_TIMEOUT",
    "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "no_proxy",
)


@pytest.fixture(autouse=True)
def _isolated_aws_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No test reads the machine's ~/.aws, follows its proxy or endpoint settings, or
    reaches the instance metadata address: IMDS is off unless a test turns it on
    (pointing AWS_EC2_METADATA_SERVICE_ENDPOINT at loopback)."""
    for name in _MACHINE_ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    if not os.environ.get("AWS_CONFIG_FILE"):
        monkeypatch.setenv("AWS_CONFIG_FILE", str(Path(home) / ".aws" / "config"))
    if not os.environ.get("AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(Path(home) / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


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
