"""The pytest plugin: ``cognito_sync_service`` / ``cognito_sync_client`` fixtures,
registered by the ``pytest11`` entry point, in pytest-asyncio's strict mode (a user's
default), in auto mode (this repository's), and without pytest-asyncio at all."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from cognitosync_async import CognitoSyncClient, RecordPatch
from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:0000aaaa-0000-0000-0000-000000000000"
IDENTITY = "us-east-1:1111bbbb-0000-0000-0000-000000000000"

# A user's test module: it uses only the plugin's fixtures (no conftest), in strict mode.
STRICT_MODULE = '''
import pytest

from cognitosync_async import CognitoSyncClient, RecordPatch
from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:0000aaaa-0000-0000-0000-000000000000"
IDENTITY = "us-east-1:1111bbbb-0000-0000-0000-000000000000"
seen = []


@pytest.mark.asyncio
async def test_write_and_read(cognito_sync_client, cognito_sync_service):
    assert isinstance(cognito_sync_service, LocalCognitoSync)
    assert isinstance(cognito_sync_client, CognitoSyncClient)
    assert cognito_sync_service.running
    assert cognito_sync_client.endpoint_url == cognito_sync_service.endpoint_url
    ds = cognito_sync_client.dataset(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="settings")
    await ds.put({"theme": "dark"})
    assert await ds.get() == {"theme": "dark"}
    seen.append((cognito_sync_service, cognito_sync_client.session))


@pytest.mark.asyncio
async def test_each_test_gets_a_fresh_service(cognito_sync_client, cognito_sync_service):
    (old_service, old_session), = seen
    assert old_service is not cognito_sync_service
    assert not old_service.running          # the previous test's service was stopped
    assert old_session is not None and old_session.closed   # and its client closed
    page = await cognito_sync_client.list_records(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="settings")
    assert page.dataset_exists is False and page.records == []


@pytest.mark.asyncio
async def test_service_alone_with_own_client(cognito_sync_service):
    async with CognitoSyncClient(
        cognito_sync_service.region,
        credentials=cognito_sync_service.mint_identity_credentials(POOL, IDENTITY),
        endpoint_url=cognito_sync_service.endpoint_url,
    ) as client:
        resp = await client.update_records(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="d",
            sync_session_token=(await client.list_records(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="d",
            )).sync_session_token,
            record_patches=[RecordPatch("replace", "k", 0, "v")])
        assert [r.key for r in resp.records] == ["k"]
'''

# A user's conftest may override the service; the client binds to the override.
OVERRIDE_CONFTEST = '''
import pytest_asyncio

from cognitosync_async.local import Faults, LocalCognitoSync


@pytest_asyncio.fixture
async def cognito_sync_service():
    async with LocalCognitoSync(faults=Faults(script=["NotAuthorizedException"])) as svc:
        yield svc
'''

OVERRIDE_MODULE = '''
import pytest

from cognitosync_async import NotAuthorizedException

POOL = "us-east-1:0000aaaa-0000-0000-0000-000000000000"
IDENTITY = "us-east-1:1111bbbb-0000-0000-0000-000000000000"


@pytest.mark.asyncio
async def test_client_uses_the_overridden_service(cognito_sync_client):
    with pytest.raises(NotAuthorizedException):  # the override's scripted fault
        await cognito_sync_client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
    page = await cognito_sync_client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
    assert page.count == 0
'''

# Shadows pytest-asyncio on PYTHONPATH, so that importing it fails as in an environment
# without it (its entry point is turned off with -p no:asyncio: it would not be there).
NO_PYTEST_ASYNCIO = (
    "raise ModuleNotFoundError(\"No module named 'pytest_asyncio'\", name='pytest_asyncio')\n"
)


ASYNCIO_INI = "[pytest]\nfilterwarnings = error\nasyncio_default_fixture_loop_scope = function\n"


def _pytest(
    tmp_path: Path, *args: str, ini: str = ASYNCIO_INI, pythonpath: str | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text(ini, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )


def test_registered_by_the_pytest11_entry_point() -> None:
    (ep,) = [ep for ep in entry_points(group="pytest11") if ep.name == "cognitosync_async"]
    assert ep.value == "cognitosync_async.pytest_plugin"
    module = ep.load()
    assert {"cognito_sync_service", "cognito_sync_client"} <= set(module.__all__)


def test_fixtures_in_strict_mode(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(STRICT_MODULE, encoding="utf-8")
    proc = _pytest(tmp_path, "-o", "asyncio_mode=strict")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "3 passed" in proc.stdout, proc.stdout


def test_fixtures_can_be_overridden_in_a_conftest(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(OVERRIDE_CONFTEST, encoding="utf-8")
    (tmp_path / "test_user.py").write_text(OVERRIDE_MODULE, encoding="utf-8")
    proc = _pytest(tmp_path, "-o", "asyncio_mode=strict")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout, proc.stdout


def test_without_pytest_asyncio_pytest_starts_and_the_fixture_says_why(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            def test_plain():
                assert True

            def test_needs_the_service(cognito_sync_service):
                pass
            """
        ),
        encoding="utf-8",
    )
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pytest_asyncio.py").write_text(NO_PYTEST_ASYNCIO, encoding="utf-8")
    proc = _pytest(
        tmp_path, "-p", "no:asyncio", "-rE",
        ini="[pytest]\nfilterwarnings = error\n", pythonpath=str(shadow),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out  # tests ran (1 = some failed), pytest did not break (3/4)
    assert "1 passed" in proc.stdout and "1 error" in proc.stdout, out
    assert "needs pytest-asyncio: pip install pytest-asyncio" in proc.stdout, out


async def test_fixtures_in_this_suites_auto_mode(
    cognito_sync_service: LocalCognitoSync, cognito_sync_client: CognitoSyncClient
) -> None:
    assert cognito_sync_client.endpoint_url == cognito_sync_service.endpoint_url
    ids: dict[str, Any] = {
        "identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "settings"
    }
    token = (await cognito_sync_client.list_records(**ids)).sync_session_token
    resp = await cognito_sync_client.update_records(
        **ids, sync_session_token=token, record_patches=[RecordPatch("replace", "a", 0, "1")]
    )
    assert resp.records is not None
    assert [(r.key, r.value, r.sync_count) for r in resp.records] == [("a", "1", 1)]
