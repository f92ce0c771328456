"""``cognitosync_async.mirror`` into SQLite, against the local service; botocore seeds
and changes the source as an independent client, and reads it back as the oracle."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import pytest
from support.local_service import (
    POOL,
    Caller,
)
from support.mirror import current, ids, sdk_client, seed, sync_sessions, table, write

from cognitosync_async.local import LocalCognitoSync
from cognitosync_async.mirror import (
    DatasetRow,
    MirrorSummary,
    SqliteTarget,
    mirror,
    verify,
)


async def run(svc: LocalCognitoSync, db: Path, identities: list[str], **kw: Any
              ) -> MirrorSummary:
    async with sdk_client(svc) as client:
        return await mirror(client, identity_pool_id=POOL, target=f"sqlite:{db}",
                            identities=identities, **kw)


async def assert_identical(svc: LocalCognitoSync, db: Path, identities: list[str]) -> None:
    async with sdk_client(svc) as client:
        report = await verify(client, identity_pool_id=POOL, target=f"sqlite:{db}",
                              identities=identities)
    assert report.identical, report.text()


def records_of(db: Path, ident: str, ds: str) -> dict[str, tuple[Any, int, int]]:
    rows = table(db, "SELECT key, value, deleted, sync_count FROM records "
                 "WHERE identity_id=? AND dataset_name=?", ident, ds)
    return {r["key"]: (r["value"], r["deleted"], r["sync_count"]) for r in rows}


def dataset_of(db: Path, ident: str, ds: str) -> sqlite3.Row | None:
    rows = table(db, "SELECT * FROM datasets WHERE identity_id=? AND dataset_name=?", ident, ds)
    return rows[0] if rows else None


def list_records_lines(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records  # type: ignore[misc]
               if r.name == "cognitosync_async" and str(r.msg).startswith("%s status=")
               and r.args and r.args[0] == "ListRecords")  # type: ignore[index]


async def test_first_copy_is_exact_in_the_layout(
    svc: LocalCognitoSync, dev: Caller, tmp_path: Path
) -> None:
    people = ids(6)
    await seed(dev, people)
    db = tmp_path / "copy.db"
    summary = await run(svc, db, people)
    assert summary.failed == 0 and summary.identities == 6
    assert summary.datasets == summary.datasets_changed == 9  # 6 settings + 3 progress
    # every record (3 settings incl. the tombstone, 5 progress) written once
    assert summary.records_written == 6 * 3 + 3 * 5
    for ident in people:
        listed = await dev("list_datasets", IdentityPoolId=POOL, IdentityId=ident)
        for ds in listed["Datasets"]:
            name = ds["DatasetName"]
            src = await dev("list_records", IdentityPoolId=POOL, IdentityId=ident,
                            DatasetName=name)
            row = dataset_of(db, ident, name)
            assert row is not None
            assert row["identity_pool_id"] == POOL and row["deleted"] == 0
            assert row["dataset_sync_count"] == src["DatasetSyncCount"]
            assert row["num_records"] == ds["NumRecords"]
            assert row["data_storage"] == ds["DataStorage"]
            assert row["creation_date"] == round(ds["CreationDate"].timestamp() * 1000)
            assert row["last_modified_date"] == round(ds["LastModifiedDate"].timestamp() * 1000)
            assert row["last_modified_by"] == ds["LastModifiedBy"]
            got = table(db, "SELECT * FROM records WHERE identity_id=? AND dataset_name=?",
                        ident, name)
            want = {r["Key"]: r for r in src["Records"]}
            assert {r["key"] for r in got} == set(want)
            for r in got:
                w = want[r["key"]]
                assert r["value"] == w.get("Value")  # NULL on a tombstone
                assert r["deleted"] == (0 if "Value" in w else 1)
                assert r["sync_count"] == w["SyncCount"]
                assert r["last_modified_date"] == round(w["LastModifiedDate"].timestamp() * 1000)
                assert r["last_modified_by"] == w["LastModifiedBy"]
    assert records_of(db, people[0], "settings")["gone"] == (None, 1, 2)
    await assert_identical(svc, db, people)


async def test_noop_rerun_reads_no_records(
    svc: LocalCognitoSync, dev: Caller, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    people = ids(5)
    await seed(dev, people)
    db = tmp_path / "copy.db"
    await run(svc, db, people)
    before = await sync_sessions(dev)
    caplog.set_level(logging.DEBUG, logger="cognitosync_async")
    caplog.clear()
    summary = await run(svc, db, people)
    assert list_records_lines(caplog) == 0  # the SDK's own per-attempt log lines
    assert await sync_sessions(dev) == before  # and the service's own count
    assert summary.calls == 5  # one ListDatasets an identity, nothing else
    assert (summary.datasets_changed, summary.records_written, summary.records_removed) \
        == (0, 0, 0)
    assert summary.datasets == 8


async def test_every_kind_of_change(
    svc: LocalCognitoSync, dev: Caller, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a, b, c, d = ids(4)
    await seed(dev, [a, b, c, d])
    db = tmp_path / "copy.db"
    await run(svc, db, [a, b, c, d])

    # a: new record, changed record, removed record; b: dataset deleted; c: deleted and
    # re-created with other keys; d untouched
    await write(dev, a, "settings", {"new": "n", "theme": "changed", "lang": None})
    await dev("delete_dataset", IdentityPoolId=POOL, IdentityId=b, DatasetName="settings")
    old_c = records_of(db, c, "progress")
    await dev("delete_dataset", IdentityPoolId=POOL, IdentityId=c, DatasetName="progress")
    await write(dev, c, "progress", {"fresh": "1"})
    caplog.set_level(logging.DEBUG, logger="cognitosync_async")
    caplog.clear()
    summary = await run(svc, db, [a, b, c, d])
    assert summary.failed == 0
    assert summary.datasets_changed == 2  # a/settings and c/progress were read
    assert list_records_lines(caplog) == 2
    assert summary.datasets_deleted == 1
    got = records_of(db, a, "settings")
    src = await current(dev, a, "settings")
    assert got["new"][:2] == ("n", 0) and got["theme"][:2] == ("changed", 0)
    assert got["lang"][:2] == (None, 1)  # a tombstone, with its sync count
    assert {k: (v[0], v[2]) for k, v in got.items()} == src
    row_b = dataset_of(db, b, "settings")
    assert row_b is not None and row_b["deleted"] == 1
    assert records_of(db, b, "settings") == {}
    # re-created: the old incarnation's records are gone
    assert len(old_c) == 5
    assert set(records_of(db, c, "progress")) == {"fresh"}
    assert summary.records_removed == 3 + 5  # b's three records, c's old five
    row_c = dataset_of(db, c, "progress")
    assert row_c is not None and row_c["deleted"] == 0
    await assert_identical(svc, db, [a, b, c, d])

    # the deleted dataset comes back: a full read, deleted false again
    await write(dev, b, "settings", {"back": "1"})
    await run(svc, db, [a, b, c, d])
    row_b = dataset_of(db, b, "settings")
    assert row_b is not None and row_b["deleted"] == 0
    assert set(records_of(db, b, "settings")) == {"back"}
    await assert_identical(svc, db, [a, b, c, d])


async def test_merged_identities(svc: LocalCognitoSync, dev: Caller, tmp_path: Path) -> None:
    old, survivor = ids(2, salt=0xCD)
    await write(dev, old, "settings", {"theme": "dark"})
    await write(dev, survivor, "settings", {"theme": "light"})
    await write(dev, survivor, "settings.v2", {"own": "dataset"})  # a name, not a merge
    db = tmp_path / "copy.db"
    await run(svc, db, [old, survivor])
    assert dataset_of(db, survivor, "settings.v2") is not None
    merged = svc.merge(POOL, old, survivor)
    assert merged == [f"settings.{old}"]
    summary = await run(svc, db, [old, survivor])
    assert summary.failed == 0
    row = dataset_of(db, survivor, f"settings.{old}")
    assert row is not None and row["deleted"] == 0
    assert records_of(db, survivor, f"settings.{old}")["theme"][0] == "dark"
    gone = dataset_of(db, old, "settings")
    assert gone is not None and gone["deleted"] == 1
    assert records_of(db, old, "settings") == {}
    assert dataset_of(db, survivor, "settings.v2")["deleted"] == 0  # type: ignore[index]
    await assert_identical(svc, db, [old, survivor])


async def test_sync_count_going_backwards_is_a_full_reread(
    svc: LocalCognitoSync, dev: Caller, tmp_path: Path
) -> None:
    """A service that restarted a re-created dataset's count at 0 (the emulator keeps
    counts monotonic, so the target's cursor is planted above the source's): the read
    from the cursor is refused, and the mirror re-reads everything and drops what the
    source no longer has, although its sync count is higher."""
    (a,) = ids(1)
    await write(dev, a, "settings", {"k": "v"})
    db = tmp_path / "copy.db"
    await run(svc, db, [a])
    async with SqliteTarget(str(db)) as target:
        row = (await target.datasets(a))["settings"]
        await target.write_dataset(attrs.evolve(row, dataset_sync_count=40,
                                                last_modified_date=0))
        from cognitosync_async.mirror import RecordRow

        await target.write_records(a, "settings", [RecordRow("ghost", "old", 39)])
    summary = await run(svc, db, [a])
    assert summary.failed == 0, summary.errors
    assert set(records_of(db, a, "settings")) == {"k"}
    assert dataset_of(db, a, "settings")["dataset_sync_count"] == 1  # type: ignore[index]
    await assert_identical(svc, db, [a])


async def test_records_are_never_replaced_by_older_ones(tmp_path: Path) -> None:
    from cognitosync_async.mirror import RecordRow

    async with SqliteTarget(str(tmp_path / "t.db")) as target:
        r = await target.write_records("i:1", "d", [RecordRow("k", "new", 5)])
        assert r.written == 1
        r = await target.write_records("i:1", "d", [RecordRow("k", "old", 3),
                                                     RecordRow("k2", "x", 1)])
        assert r.written == 1  # k2 only
        r = await target.write_records("i:1", "d", [RecordRow("k", "new", 5)])
        assert r.written == 0  # idempotent
        got = {x.key: (x.value, x.sync_count) for x in await target.records("i:1", "d")}
        assert got == {"k": ("new", 5), "k2": ("x", 1)}
        r = await target.write_records("i:1", "d", [RecordRow("k", "again", 1)], exact=True)
        assert (r.written, r.removed) == (1, 1)
        assert [x.value for x in await target.records("i:1", "d")] == ["again"]


async def test_delete_dataset_removes_records_and_keeps_the_row(tmp_path: Path) -> None:
    async with SqliteTarget(str(tmp_path / "t.db")) as target:
        from cognitosync_async.mirror import RecordRow

        await target.write_records("i:1", "d", [RecordRow("k", "v", 1)])
        row = DatasetRow("p:1", "i:1", "d", 1)
        await target.write_dataset(row)
        assert await target.delete_dataset(attrs.evolve(row, deleted=True)) == 1
        rows = await target.datasets("i:1")
        assert rows["d"].deleted and rows["d"].dataset_sync_count == 1
        assert await target.records("i:1", "d") == []
        assert [i async for i in target.identities()] == ["i:1"]


async def test_existing_table_of_another_layout_is_refused(tmp_path: Path) -> None:
    from cognitosync_async.mirror import TargetLayoutError

    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE datasets(id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(TargetLayoutError, match="datasets"):
        await SqliteTarget(str(db)).open()


async def test_records_without_their_row_are_redone_exactly(
    svc: LocalCognitoSync, dev: Caller, tmp_path: Path
) -> None:
    """A run killed between a dataset's records and its row leaves records without a
    row (possibly of an old incarnation, with higher sync counts): a rerun re-reads the
    dataset in full and makes its records exactly the source's."""
    (a,) = ids(1)
    await write(dev, a, "settings", {"k": "v"})
    db = tmp_path / "copy.db"
    from cognitosync_async.mirror import RecordRow

    async with SqliteTarget(str(db)) as target:
        await target.write_records(a, "settings", [RecordRow("k", "stale", 9),
                                                   RecordRow("old", "x", 8)])
    summary = await run(svc, db, [a])
    assert (summary.records_written, summary.records_removed) == (1, 1)
    assert records_of(db, a, "settings") == {"k": ("v", 0, 1)}
    await assert_identical(svc, db, [a])


async def test_retries_and_throttles_are_counted_and_a_failed_identity_reported(
    svc: LocalCognitoSync, dev: Caller, tmp_path: Path
) -> None:
    from cognitosync_async import CognitoSyncClient
    from cognitosync_async.local import Faults

    a, b = ids(2)
    await write(dev, a, "settings", {"k": "v"})
    await write(dev, b, "settings", {"k": "w"})
    db = tmp_path / "copy.db"
    svc.faults = Faults(script=[429, 500])  # a's ListDatasets: throttled, 500, then ok
    async with CognitoSyncClient(svc.region, credentials=svc.credentials,
                                 endpoint_url=svc.endpoint_url, retry_base_delay=0.001,
                                 retry_max_delay=0.01, max_attempts=3) as client:
        s = await mirror(client, identity_pool_id=POOL, target=f"sqlite:{db}",
                         identities=[a], concurrency=1)
        assert (s.calls, s.retries, s.throttled, s.failed) == (4, 2, 1, 0)
        svc.faults = Faults(script=[500, 500, 500])  # b's first call fails 3 times
        s = await mirror(client, identity_pool_id=POOL, target=f"sqlite:{db}",
                         identities=[b, a], concurrency=1)
    assert s.failed == 1 and s.identities == 2
    assert s.errors[0]["identity_id"] == b and "InternalError" in s.errors[0]["error"]
    assert dataset_of(db, b, "settings") is None  # nothing half-done
    s = await run(svc, db, [a, b])  # the rerun converges
    assert s.failed == 0 and s.datasets_changed == 1
    await assert_identical(svc, db, [a, b])


async def test_a_write_during_the_read_is_not_skipped_by_the_next_run(
    svc: LocalCognitoSync, dev: Caller, tmp_path: Path
) -> None:
    """An old app writes right after the mirror's ListRecords snapshot (C9): the cursor
    and the row's metadata are those of the snapshot, so the next run reads the write."""
    from cognitosync_async import CognitoSyncClient, ResponseEvent

    (a,) = ids(1)
    await write(dev, a, "settings", {"k": "v"})

    async def app_writes_after_the_read(event: ResponseEvent) -> None:
        # the service has answered ListRecords (the snapshot); the mirror has not
        # written it yet
        if event.operation == "ListRecords":
            await write(dev, a, "settings", {"during": "read"})

    db = tmp_path / "copy.db"
    async with CognitoSyncClient(
        svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url,
        event_hooks={"response": [app_writes_after_the_read]},
    ) as client:
        await mirror(client, identity_pool_id=POOL, target=f"sqlite:{db}", identities=[a])
    assert set(records_of(db, a, "settings")) == {"k"}  # the snapshot's records only
    assert dataset_of(db, a, "settings")["dataset_sync_count"] == 1  # type: ignore[index]
    s = await run(svc, db, [a])
    assert s.datasets_changed == 1
    assert records_of(db, a, "settings")["during"] == ("read", 0, 2)
    await assert_identical(svc, db, [a])


async def test_shards_opening_one_new_file_at_once(tmp_path: Path) -> None:
    """Switching a fresh file to WAL takes an exclusive lock that SQLite's busy handler
    does not wait for: several shards opening a new copy at once all get it open."""
    for n in range(50):
        path = tmp_path / f"copy{n}.db"
        targets = [SqliteTarget(str(path)) for _ in range(4)]
        await asyncio.gather(*(t.open() for t in targets))
        await asyncio.gather(*(t.close() for t in targets))
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            conn.close()
