"""The suite's event loop: uvloop under ``pytest --uvloop``, asyncio's otherwise."""

from __future__ import annotations

import asyncio

import pytest

from cognitosync_async import CognitoSyncClient
from cognitosync_async.local import LocalCognitoSync


def _on_uvloop() -> bool:
    return type(asyncio.get_running_loop()).__module__.startswith("uvloop")


async def test_tests_run_on_the_chosen_loop(request: pytest.FixtureRequest) -> None:
    assert _on_uvloop() is bool(request.config.getoption("--uvloop"))


def test_asyncio_run_uses_the_chosen_loop(request: pytest.FixtureRequest) -> None:
    async def which() -> bool:
        return _on_uvloop()

    assert asyncio.run(which()) is bool(request.config.getoption("--uvloop"))


POOL = "us-east-1:00000000-0000-0000-0000-000000000001"
IDENTITY = "us-east-1:11111111-1111-1111-1111-111111111111"


def test_local_service_and_client_on_uvloop() -> None:
    """The local service starts on uvloop (its server is not asyncio's) and serves."""
    uvloop = pytest.importorskip("uvloop")
    from cognitosync_async import RecordPatch

    async def main() -> list[tuple[str | None, str | None]]:
        async with LocalCognitoSync() as svc, CognitoSyncClient(
            svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url
        ) as client:
            ids = {"identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "s"}
            page = await client.list_records(**ids)
            await client.update_records(
                **ids, sync_session_token=page.sync_session_token or "",
                record_patches=[RecordPatch("replace", "k", 0, "v")],
            )
            again = await client.list_records(**ids)
            return [(r.key, r.value) for r in again.records]

    assert uvloop.run(main()) == [("k", "v")]
