"""Cursors that never skip another writer's change (SERVICE.md C9), and what
``put`` reports: merged datasets, DeviceLastModifiedDate, and what a
SyncTrigger made of the write. Against the local service.

The race is made deterministic with the service's own SyncTrigger hook: while
writer A's ``UpdateRecords`` is in flight (after A read the dataset), the hook
has writer B write another key over HTTP, so B's change gets the sync count
between A's read and A's write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from cognitosync_async import CognitoSyncClient, PullResult, PutResult
from cognitosync_async import _dataset as dataset_mod
from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:00000000-0000-0000-0000-0000000000e7"
ID = "us-east-1:11111111-1111-1111-1111-1111111111e7"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:sync-trigger"


def make(svc: LocalCognitoSync, *, identity: bool = False) -> CognitoSyncClient:
    creds = svc.mint_identity_credentials(POOL, ID) if identity else svc.credentials
    return CognitoSyncClient(
        svc.region, credentials=creds, endpoint_url=svc.endpoint_url,
        retry_base_delay=0.001, retry_max_delay=0.01,
    )


@pytest.fixture
async def svc() -> AsyncIterator[LocalCognitoSync]:
    async with LocalCognitoSync() as s:
        yield s


@pytest.fixture
async def dev(svc: LocalCognitoSync) -> AsyncIterator[CognitoSyncClient]:
    async with make(svc) as c:
        yield c


@pytest.fixture
async def user(svc: LocalCognitoSync) -> AsyncIterator[CognitoSyncClient]:
    """Identity credentials: its UpdateRecords run the pool's SyncTrigger."""
    async with make(svc, identity=True) as c:
        yield c


async def trigger(
    svc: LocalCognitoSync,
    dev: CognitoSyncClient,
    hook: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
) -> None:
    svc.lambdas[ARN] = hook
    await dev.set_cognito_events(identity_pool_id=POOL, events={"SyncTrigger": ARN})


def handle(client: CognitoSyncClient) -> dataset_mod.DatasetHandle:
    return client.dataset(identity_pool_id=POOL, identity_id=ID, dataset_name="shared")


def apply(mirror: dict[str, str], pulled: PullResult) -> None:
    if pulled.reset:
        mirror.clear()
    for key in pulled.removed:
        mirror.pop(key, None)
    mirror.update(pulled.changed)


def apply_put(mirror: dict[str, str], result: PutResult) -> None:
    for record in result.records:
        assert record.key is not None
        if record.value is None:
            mirror.pop(record.key, None)
        else:
            mirror[record.key] = record.value


# ---------------------------------------------------------------- the cursor


async def test_cursor_does_not_skip_a_write_between_read_and_write(
    svc: LocalCognitoSync, dev: CognitoSyncClient, user: CognitoSyncClient
) -> None:
    a, b = handle(user), handle(dev)
    await b.put({"seed": "0"})
    mirror: dict[str, str] = {}
    first = await a.pull()
    apply(mirror, first)
    assert first.dataset_sync_count == 1
    raced = False

    async def other_writer(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal raced
        if not raced:
            raced = True
            await b.put({"from-b": "hello"})  # between A's read and A's write
        return event

    await trigger(svc, dev, other_writer)
    result = await a.put({"from-a": "x"}, since=first.dataset_sync_count)
    assert raced
    # B's change got count 2, A's write count 3: the service's count is not a cursor
    assert result.dataset_sync_count == 3
    missed = await a.pull(since=result.dataset_sync_count)
    assert "from-b" not in missed.changed  # what the unsafe cursor would lose
    assert result.cursor == 1  # the mobile rule: 3 != 1 + 1, so stay at `since`
    apply_put(mirror, result)
    again = await a.pull(since=result.cursor)
    apply(mirror, again)
    assert mirror == await a.get() == {"seed": "0", "from-b": "hello", "from-a": "x"}


async def test_cursor_advances_when_nobody_else_wrote(dev: CognitoSyncClient) -> None:
    h = handle(dev)
    first = await h.put({"a": "1"}, since=0)
    assert first.cursor == first.dataset_sync_count == 1
    second = await h.put({"a": "2", "b": "3"}, since=first.cursor)
    assert second.cursor == second.dataset_sync_count == 2
    nothing = await h.put({"a": "2"}, since=second.cursor)  # already so: no write
    assert nothing.records == [] and nothing.cursor == 2
    assert (await h.pull(since=2)).changed == {}


async def test_cursor_over_several_update_records_calls(
    dev: CognitoSyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset_mod, "MAX_PATCHES_PER_REQUEST", 2)
    h = handle(dev)
    result = await h.put({f"k{i}": str(i) for i in range(5)}, since=0)
    assert result.calls == 1 + 3
    assert result.cursor == result.dataset_sync_count == 3  # 1, 2, 3: consecutive


async def test_cursor_stays_when_the_read_is_past_since(dev: CognitoSyncClient) -> None:
    h = handle(dev)
    await h.put({"a": "1"})
    await h.put({"b": "1"})  # count 2: a caller current to 1 has not seen it
    result = await h.put({"c": "1"}, since=1)
    assert result.dataset_sync_count == 3 and result.cursor == 1
    assert set((await h.pull(since=result.cursor)).changed) == {"b", "c"}


async def test_no_since_no_cursor(dev: CognitoSyncClient) -> None:
    assert (await handle(dev).put({"a": "1"})).cursor is None


@pytest.mark.parametrize("bad", [-1, 1.0, "1", True])
async def test_bad_since(dev: CognitoSyncClient, bad: Any) -> None:
    from cognitosync_async import ParamValidationError

    with pytest.raises(ParamValidationError, match="since"):
        await handle(dev).put({"a": "1"}, since=bad)


async def test_two_concurrent_writers_mirrors_converge(svc: LocalCognitoSync) -> None:
    """Two writers, each keeping a mirror with pull(since=) and put(since=) at once,
    on one dataset: each mirror ends equal to the dataset (nothing skipped)."""

    async def writer(client: CognitoSyncClient, me: str) -> tuple[dict[str, str], int]:
        h = handle(client)
        mirror: dict[str, str] = {}
        cursor = 0
        for i in range(12):
            pulled = await h.pull(since=cursor)
            apply(mirror, pulled)
            cursor = pulled.dataset_sync_count or 0
            result = await h.put({f"{me}{i}": str(i), "last": me}, since=cursor)
            apply_put(mirror, result)
            assert result.cursor is not None
            cursor = result.cursor
        return mirror, cursor

    async with make(svc) as one, make(svc) as two:
        done = await asyncio.gather(writer(one, "a"), writer(two, "b"))
        truth = await handle(one).get()
        for mirror, cursor in done:
            apply(mirror, await handle(one).pull(since=cursor))
            assert mirror == truth
    assert len(truth) == 25


# ---------------------------------------------------------------- what put reports


async def test_put_reports_what_a_sync_trigger_changed_or_dropped(
    svc: LocalCognitoSync, dev: CognitoSyncClient, user: CognitoSyncClient
) -> None:
    await handle(dev).put({"old": "1"})

    async def rewrite(event: dict[str, Any]) -> dict[str, Any]:
        records = event["datasetRecords"]
        records["score"]["newValue"] += "!"  # changed
        del records["spam"]  # dropped: not stored
        records["badge"] = {"newValue": "gold", "op": "replace"}  # added
        records["keep"]["op"] = "remove"  # the trigger removed what was written
        records["old"]["newValue"] = "2"  # a record the write did not touch
        return event

    await trigger(svc, dev, rewrite)
    result = await handle(user).put({"score": "10", "spam": "x", "keep": "k", "same": "s"})
    assert result.altered == {"score": "10!", "badge": "gold", "keep": None, "old": "2"}
    assert result.dropped == ["spam"]
    assert {r.key for r in result.records} == {"score", "badge", "keep", "old", "same"}
    assert await handle(dev).get() == {"score": "10!", "badge": "gold", "old": "2", "same": "s"}


async def test_put_without_a_trigger_reports_nothing_altered(dev: CognitoSyncClient) -> None:
    result = await handle(dev).put({"a": "1", "b": None, "c": ""})
    assert result.altered == {} and result.dropped == []


async def test_patches_carry_device_last_modified_date(dev: CognitoSyncClient) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    result = await handle(dev).put({"a": "1"})
    after = datetime.now(timezone.utc)
    [record] = result.records
    assert record.device_last_modified_date is not None
    assert before <= record.device_last_modified_date <= after
    [listed] = [r async for r in dev.iter_records(
        identity_pool_id=POOL, identity_id=ID, dataset_name="shared")]
    assert listed.device_last_modified_date == record.device_last_modified_date
