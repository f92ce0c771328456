"""``cognitosync_async.mirror.verify``: an independent read of both sides."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from support.local_service import (
    POOL,
    Caller,
)
from support.mirror import ids, sdk_client, seed, write

from cognitosync_async import ParamValidationError
from cognitosync_async.local import LocalCognitoSync
from cognitosync_async.mirror import (
    Shard,
    VerifySummary,
    make_target,
    mirror,
    parse_target,
    shard_of,
    verify,
)


async def check(svc: LocalCognitoSync, db: Path, people: list[str]) -> VerifySummary:
    async with sdk_client(svc) as client:
        return await verify(client, identity_pool_id=POOL, target=f"sqlite:{db}",
                            identities=people)


async def test_verify_identical_copy_then_each_kind_of_difference(
    svc: LocalCognitoSync, dev: Caller, tmp_path: Path
) -> None:
    people = ids(4)
    await seed(dev, people)
    db = tmp_path / "copy.db"
    async with sdk_client(svc) as client:
        await mirror(client, identity_pool_id=POOL, target=f"sqlite:{db}", identities=people)
    report = await check(svc, db, people)
    assert report.identical and report.differences == 0
    assert report.identities == 4 and report.datasets == 6
    assert report.records == 4 * 3 + 2 * 5  # tombstones are compared too
    assert report.calls == 4 + 6  # ListDatasets an identity, ListRecords a dataset

    conn = sqlite3.connect(db)
    # a tombstone turned back into a value, a sync count off by one, a dataset gone,
    # a dataset that the source never had
    conn.execute("UPDATE records SET value='x', deleted=0 WHERE identity_id=? AND key='gone'",
                 (people[0],))
    conn.execute("UPDATE records SET sync_count=sync_count+1 WHERE identity_id=? AND key='lang'",
                 (people[1],))
    conn.execute("DELETE FROM datasets WHERE identity_id=? AND dataset_name='progress'",
                 (people[2],))
    conn.execute("INSERT INTO datasets(identity_pool_id, identity_id, dataset_name, "
                 "dataset_sync_count, deleted) VALUES (?,?,?,?,0)", (POOL, people[3], "extra", 1))
    conn.commit()
    conn.close()
    await write(dev, people[3], "settings", {"theme": "moved on"})  # the source changed
    report = await check(svc, db, people)
    assert not report.identical
    found = {(d.identity_id, d.dataset_name, d.key) for d in report.first_differences}
    assert found == {
        (people[0], "settings", "gone"),
        (people[1], "settings", "lang"),
        (people[2], "progress", None),
        (people[3], "extra", None),
        (people[3], "settings", "theme"),
        (people[3], "settings", None),  # the dataset sync count
    }
    assert report.differences == 6
    text = report.text()
    assert "6 differences" in text and "(tombstone)" in text
    assert report.as_dict()["identical"] is False


async def test_a_deleted_dataset_marked_deleted_in_the_target_is_no_difference(
    svc: LocalCognitoSync, dev: Caller, tmp_path: Path
) -> None:
    people = ids(1)
    await seed(dev, people)
    await dev("delete_dataset", IdentityPoolId=POOL, IdentityId=people[0],
              DatasetName="settings")
    db = tmp_path / "copy.db"
    async with sdk_client(svc) as client:
        s = await mirror(client, identity_pool_id=POOL, target=f"sqlite:{db}",
                         identities=people)
    assert s.datasets == 1  # only progress is left at the source
    assert (await check(svc, db, people)).identical


def test_shard_function_is_the_contracts() -> None:
    for n in (1, 2, 3, 7, 1000):
        for ident in ids(50):
            want = int(hashlib.sha256(ident.encode()).hexdigest()[:16], 16) % n
            assert shard_of(ident, n) == want
            assert Shard(want, n).holds(ident)
    # every identity in exactly one shard
    people = ids(200)
    assert sorted(sum(([i for i in people if Shard(k, 5).holds(i)] for k in range(5)), [])) \
        == sorted(people)


@pytest.mark.parametrize("text", ["3/2", "-1/2", "0/0", "2/2", "junk", "1", "1/", "/2", "a/b",
                                  "1/2/3", "", "1.0/2"])
def test_impossible_shards_are_refused(text: str) -> None:
    with pytest.raises(ParamValidationError, match="shard"):
        Shard.parse(text)


def test_shard_parse() -> None:
    assert Shard.parse("0/1") == Shard(0, 1)
    assert str(Shard.parse(" 3/8 ")) == "3/8"


@pytest.mark.parametrize("spec", ["postgres:x", "sqlite", "sqlite:", ":x", "SQLITE:x", "x"])
def test_unknown_target_schemes_are_refused(spec: str, tmp_path: Path) -> None:
    with pytest.raises(ParamValidationError, match="target"):
        make_target(spec)


def test_parse_target() -> None:
    assert parse_target("sqlite:a:b.db") == ("sqlite", "a:b.db")
    assert parse_target("dynamodb:table") == ("dynamodb", "table")
