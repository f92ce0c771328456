"""DatasetHandle against the local service: get/put/pull/delete, conflicts, sharp edges."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from support.httpserver import IDENTITY

from cognitosync_async import (
    CognitoSyncClient,
    LimitExceededException,
    ParamValidationError,
    Record,
    ResourceNotFoundException,
    SyncConflictError,
    UpdateRecordsResponse,
)
from cognitosync_async import _dataset as dataset_mod
from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:00000000-0000-0000-0000-0000000000d5"
ID = "us-east-1:11111111-1111-1111-1111-1111111111d5"
OTHER_ID = "us-east-1:22222222-2222-2222-2222-2222222222d5"


class RacyClient(CognitoSyncClient):
    """Runs ``before`` (another writer) just before its next UpdateRecords: a deterministic race.

    ``times`` is how many UpdateRecords calls it intercepts (each runs ``before``).
    """

    before: Callable[[], Awaitable[None]] | None = None
    times = 1
    updates = 0

    async def update_records(self, **kwargs: Any) -> UpdateRecordsResponse:
        self.updates += 1
        if self.before is not None and self.times > 0:
            self.times -= 1
            await self.before()
        return await super().update_records(**kwargs)


def _make(svc: LocalCognitoSync, cls: type[CognitoSyncClient] = CognitoSyncClient) -> Any:
    return cls(
        svc.region,
        credentials=svc.credentials,
        endpoint_url=svc.endpoint_url,
        retry_base_delay=0.001,
        retry_max_delay=0.01,
    )


@pytest.fixture
async def other(local_sync: LocalCognitoSync) -> AsyncIterator[CognitoSyncClient]:
    """A second, independent writer."""
    async with _make(local_sync) as c:
        yield c


@pytest.fixture
async def racy(local_sync: LocalCognitoSync) -> AsyncIterator[RacyClient]:
    async with _make(local_sync, RacyClient) as c:
        yield c


def ds(client: CognitoSyncClient, name: str = "settings", identity: str = ID) -> Any:
    return client.dataset(identity_pool_id=POOL, identity_id=identity, dataset_name=name)


# ---------------------------------------------------------------------- get / put basics


async def test_get_empty_and_missing_dataset(client: CognitoSyncClient) -> None:
    assert await ds(client).get() == {}


async def test_put_then_get_tombstones_left_out_and_empty_string_kept(
    client: CognitoSyncClient,
) -> None:
    h = ds(client)
    first = await h.put({"a": "1", "b": "2", "empty": ""})
    assert first.dataset_sync_count == 1 and first.rounds == 1 and first.calls == 2
    assert await h.get() == {"a": "1", "b": "2", "empty": ""}
    second = await h.put({"b": None, "empty": ""})  # remove b; "" is a value, unchanged
    assert [r.key for r in second.records] == ["b"]
    assert await h.get() == {"a": "1", "empty": ""}
    # the tombstone is there, with a count, but get leaves it out
    records = [r async for r in client.iter_records(
        identity_pool_id=POOL, identity_id=ID, dataset_name="settings")]
    tomb = [r for r in records if r.key == "b"]
    assert tomb and tomb[0].value is None and tomb[0].sync_count == 2


async def test_equal_values_cause_no_write(client: CognitoSyncClient) -> None:
    h = ds(client)
    await h.put({"a": "1", "gone": "x"})
    await h.put({"gone": None})
    result = await h.put({"a": "1", "gone": None, "never": None})
    assert result.records == [] and result.calls == 1  # one ListRecords, no UpdateRecords
    assert result.dataset_sync_count == 2
    assert (await h.describe()).dataset.num_records == 1


async def test_none_vs_empty_string_distinct(client: CognitoSyncClient) -> None:
    h = ds(client)
    await h.put({"k": ""})
    assert await h.get() == {"k": ""}
    await h.put({"k": None})
    assert await h.get() == {}
    pulled = await h.pull()
    assert pulled.removed == ["k"] and pulled.changed == {}


async def test_put_validates_values(client: CognitoSyncClient) -> None:
    with pytest.raises(ParamValidationError):
        await ds(client).put({"k": 5})
    with pytest.raises(ParamValidationError):
        await ds(client).put({"": "x"})
    with pytest.raises(ValueError):
        await ds(client).put({"k": "v"}, on_conflict="merge")


async def test_long_key_warns(client: CognitoSyncClient) -> None:
    with pytest.warns(UserWarning, match="128"):
        await ds(client).put({"k" * 129: "v"})
    assert await ds(client).get() == {"k" * 129: "v"}


async def test_describe_and_delete(client: CognitoSyncClient) -> None:
    h = ds(client)
    await h.put({"a": "1"})
    described = await h.describe()
    assert described.dataset.dataset_name == "settings" and described.dataset.num_records == 1
    deleted = await h.delete()
    assert deleted.dataset.dataset_name == "settings"
    with pytest.raises(ResourceNotFoundException):
        await h.describe()
    with pytest.raises(ResourceNotFoundException):
        await h.delete()
    assert await h.get() == {}


async def test_get_reads_all_pages(
    client: CognitoSyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = ds(client)
    await h.put({f"k{i:03d}": str(i) for i in range(30)})
    monkeypatch.setattr(dataset_mod, "RECORDS_PAGE_SIZE", 7)
    values = await h.get()
    snap = await h._snapshot()
    assert len(values) == 30 and snap.pages == 5


# ---------------------------------------------------------------------- pull


async def test_pull_incremental_mirror(client: CognitoSyncClient) -> None:
    h = ds(client)
    await h.put({"a": "1", "b": "2"})
    first = await h.pull()
    assert first.changed == {"a": "1", "b": "2"} and first.removed == []
    assert first.dataset_sync_count == 1 and first.dataset_exists is True and not first.reset
    mirror = dict(first.changed)
    await h.put({"a": "10", "b": None, "c": "3"})
    await h.put({"c": "30"})
    nxt = await h.pull(since=first.dataset_sync_count)
    assert nxt.changed == {"a": "10", "c": "30"} and nxt.removed == ["b"]
    assert nxt.dataset_sync_count == 3 and not nxt.reset
    for key in nxt.removed:
        mirror.pop(key, None)
    mirror.update(nxt.changed)
    assert mirror == await h.get()
    nothing = await h.pull(since=3)
    assert nothing.changed == {} and nothing.removed == [] and nothing.dataset_sync_count == 3


async def test_pull_after_delete_and_recreate_asks_for_reset(client: CognitoSyncClient) -> None:
    h = ds(client)
    await h.put({"old": "1", "kept": "x"})
    await h.put({"old": "2"})
    since = (await h.pull()).dataset_sync_count
    assert since == 2
    await h.delete()
    gone = await h.pull(since=since)
    assert gone.reset and gone.dataset_exists is False
    await h.put({"new": "1"})
    back = await h.pull(since=since)
    assert back.reset and back.dataset_deleted_after_requested_sync_count is True
    assert back.changed == {"new": "1"}  # the mirror drops "old"/"kept", then applies this
    assert back.dataset_sync_count is not None and back.dataset_sync_count > since


async def test_pull_reports_merged_datasets(
    client: CognitoSyncClient, local_sync: LocalCognitoSync
) -> None:
    await ds(client, identity=OTHER_ID).put({"theme": "dark"})
    await ds(client).put({"theme": "light"})
    names = local_sync.merge(POOL, OTHER_ID, ID)
    assert names == [f"settings.{OTHER_ID}"]
    pulled = await ds(client).pull()
    assert pulled.merged_dataset_names == names
    # the application merges: read the merged dataset, apply its values, delete it
    merged = ds(client, name=names[0])
    assert await merged.get() == {"theme": "dark"}
    await ds(client).put(await merged.get(), on_conflict="keep_remote")
    await merged.delete()
    after = await ds(client).pull()
    assert after.merged_dataset_names == [] and after.changed == {"theme": "dark"}


# ---------------------------------------------------------------------- conflicts


async def test_real_conflict_overwrite(
    racy: RacyClient, other: CognitoSyncClient
) -> None:
    await ds(other).put({"k": "base", "z": "0"})

    async def meanwhile() -> None:
        await ds(other).put({"k": "theirs"})

    racy.before = meanwhile
    result = await ds(racy).put({"k": "ours", "j": "new"})
    assert result.rounds == 2 and result.conflicts == ["k"]
    assert await ds(other).get() == {"k": "ours", "j": "new", "z": "0"}
    # history: theirs landed at 2, ours at 3
    history = await ds(other).pull(since=1)
    assert history.dataset_sync_count == 3 == result.dataset_sync_count
    assert {r.key: r.sync_count for r in history.records} == {"k": 3, "j": 3}


async def test_real_conflict_keep_remote(racy: RacyClient, other: CognitoSyncClient) -> None:
    await ds(other).put({"k": "base"})

    async def meanwhile() -> None:
        await ds(other).put({"k": "theirs"})

    racy.before = meanwhile
    result = await ds(racy).put({"k": "ours", "j": "mine"}, on_conflict="keep_remote")
    assert result.conflicts == ["k"] and [r.key for r in result.records] == ["j"]
    assert await ds(other).get() == {"k": "theirs", "j": "mine"}


@pytest.mark.parametrize("is_async", [False, True])
async def test_real_conflict_resolver(
    racy: RacyClient, other: CognitoSyncClient, is_async: bool
) -> None:
    await ds(other).put({"tags": "a", "gone": "x"})

    async def meanwhile() -> None:
        await ds(other).put({"tags": "a,b", "gone": None})

    seen: list[tuple[str, str | None, str | None, int | None]] = []

    def merge(key: str, local: str | None, remote: Record | None) -> str | None:
        assert remote is not None
        seen.append((key, local, remote.value, remote.sync_count))
        if key == "tags":
            return ",".join(sorted(set((remote.value or "").split(",")) | {"c"}))
        return local  # "gone": our value wins

    async def amerge(key: str, local: str | None, remote: Record | None) -> str | None:
        await asyncio.sleep(0)
        return merge(key, local, remote)

    racy.before = meanwhile
    result = await ds(racy).put(
        {"tags": "a,c", "gone": "back"}, on_conflict=amerge if is_async else merge
    )
    assert sorted(seen) == [("gone", "back", None, 2), ("tags", "a,c", "a,b", 2)]
    assert sorted(result.conflicts) == ["gone", "tags"]
    assert await ds(other).get() == {"tags": "a,b,c", "gone": "back"}


async def test_resolver_that_writes_through_another_client_first_time(
    client: CognitoSyncClient, racy: RacyClient, other: CognitoSyncClient
) -> None:
    """The resolver itself races: a third write lands while the conflict is being resolved."""
    await ds(other).put({"k": "0"})

    async def meanwhile() -> None:
        await ds(other).put({"k": "1"})

    calls: list[str | None] = []

    async def resolver(key: str, local: str | None, remote: Record | None) -> str | None:
        calls.append(remote.value if remote else None)
        if len(calls) == 1:
            await ds(other).put({"k": "2"})  # changes k again before our next write
        return f"{local}+{remote.value if remote else ''}"

    racy.before = meanwhile
    result = await ds(racy).put({"k": "ours"}, on_conflict=resolver)
    assert calls == ["1", "2"] and result.rounds == 3
    # the second time, "local" is the value the first resolution chose
    assert await ds(client).get() == {"k": "ours+1+2"}


async def test_conflict_with_equal_value_is_no_conflict(
    racy: RacyClient, other: CognitoSyncClient
) -> None:
    await ds(other).put({"k": "base"})

    async def meanwhile() -> None:
        await ds(other).put({"k": "same", "x": "1"})

    def never(key: str, local: str | None, remote: Record | None) -> str | None:
        raise AssertionError("no conflict expected")

    racy.before = meanwhile
    result = await ds(racy).put({"k": "same"}, on_conflict=never)
    assert result.conflicts == [] and result.records == [] and result.rounds == 2


async def test_bounded_rounds_raise_sync_conflict_error(
    racy: RacyClient, other: CognitoSyncClient
) -> None:
    await ds(other).put({"k": "0", "quiet": "q"})
    n = 0

    async def meanwhile() -> None:
        nonlocal n
        n += 1
        await ds(other).put({"k": f"theirs-{n}"})

    racy.before = meanwhile
    racy.times = 100
    with pytest.raises(SyncConflictError) as info:
        await ds(racy).put({"k": "ours", "quiet": "mine"}, max_rounds=3)
    assert info.value.keys == ["k"] and info.value.rounds == 3
    assert info.value.code == "ResourceConflictException"
    assert racy.updates == 3
    assert await ds(other).get() == {"k": "theirs-3", "quiet": "q"}  # nothing of ours landed


async def test_dataset_deleted_between_read_and_write(
    racy: RacyClient, other: CognitoSyncClient
) -> None:
    await ds(other).put({"k": "0", "other": "x"})

    async def meanwhile() -> None:
        await ds(other).delete()

    racy.before = meanwhile
    result = await ds(racy).put({"k": "ours"})
    assert result.rounds == 2 and result.conflicts == ["k"]
    assert await ds(other).get() == {"k": "ours"}  # the re-created dataset holds only ours


async def test_concurrent_puts_disjoint_keys_both_applied(
    client: CognitoSyncClient, other: CognitoSyncClient
) -> None:
    await ds(client).put({"seed": "0"})
    a, b = await asyncio.gather(
        ds(client).put({f"a{i}": str(i) for i in range(5)}),
        ds(other).put({f"b{i}": str(i) for i in range(5)}),
    )
    values = await ds(client).get()
    assert len(values) == 11
    assert {a.dataset_sync_count, b.dataset_sync_count} == {2, 3}


async def test_concurrent_puts_same_keys_one_wins_other_overwritten(
    client: CognitoSyncClient, other: CognitoSyncClient
) -> None:
    await ds(client).put({"k": "0", "j": "0"})
    a, b = await asyncio.gather(
        ds(client).put({"k": "A", "j": "A"}),
        ds(other).put({"k": "B", "j": "B"}),
    )
    final = await ds(client).get()
    assert final in ({"k": "A", "j": "A"}, {"k": "B", "j": "B"})
    # both were applied: two writes after the seed; the later one is the final value
    assert sorted([a.dataset_sync_count, b.dataset_sync_count]) == [2, 3]
    last = a if a.dataset_sync_count == 3 else b
    assert {r.key: r.value for r in last.records} == final
    assert (await ds(client).pull(since=1)).dataset_sync_count == 3


# ---------------------------------------------------------------------- limits


BIG = "v" * 600_000


# A body over 1 MiB makes aiohttp warn when it is given as bytes (reported to the
# transport's owner: pass io.BytesIO for large bodies).
@pytest.mark.filterwarnings("ignore:Sending a large body:ResourceWarning")
async def test_single_request_over_limit_is_refused_whole(client: CognitoSyncClient) -> None:
    with pytest.raises(LimitExceededException):
        await ds(client).put({"a": BIG, "b": BIG})
    assert await ds(client).get() == {}


async def test_split_put_orders_removals_first(
    client: CognitoSyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = ds(client)
    await h.put({"old": BIG})
    monkeypatch.setattr(dataset_mod, "MAX_PATCHES_PER_REQUEST", 1)
    # one request each: adding "new" before removing "old" would be over 1 MB
    result = await h.put({"new": BIG, "old": None})
    assert [r.key for r in result.records] == ["old", "new"] and result.calls == 3
    assert await h.get() == {"new": BIG}


async def test_split_put_over_limit_refused_before_writing(
    client: CognitoSyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset_mod, "MAX_PATCHES_PER_REQUEST", 1)
    with pytest.raises(LimitExceededException, match="before writing"):
        await ds(client).put({"a": BIG, "b": BIG})
    assert await ds(client).get() == {}


async def test_many_patches_are_batched(
    client: CognitoSyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset_mod, "MAX_PATCHES_PER_REQUEST", 10)
    result = await ds(client).put({f"k{i:02d}": str(i) for i in range(25)})
    assert result.calls == 1 + 3 and len(result.records) == 25
    assert len(await ds(client).get()) == 25


async def test_full_dataset_in_one_request(client: CognitoSyncClient) -> None:
    values = {f"k{i:04d}": "x" * 100 for i in range(1024)}
    result = await ds(client).put(values)
    assert result.calls == 2 and result.dataset_sync_count == 1
    assert await ds(client).get() == values
    with pytest.raises(LimitExceededException):
        await ds(client).put({"one-too-many": "x"})


async def test_handles_on_one_dataset_share_the_lock(client: CognitoSyncClient) -> None:
    def handle(name: str = "settings") -> Any:
        return client.dataset(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=name)

    first, second = handle(), handle()
    assert first is not second and first._lock is second._lock
    assert handle("other")._lock is not first._lock
    results = await asyncio.gather(first.put({"k": "a"}), second.put({"k": "b"}))
    assert [r.rounds for r in results] == [1, 1]
    assert await first.get() == {"k": "b"}
