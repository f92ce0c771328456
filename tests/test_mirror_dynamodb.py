"""``mirror``/``verify`` into DynamoDB: moto's server on 127.0.0.1 is the table, the local
service the source; botocore seeds and changes the source and reads the table back."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.config
import botocore.session
import pytest
from support.cli import CLI, cli_env
from support.extras import need
from support.local_service import (
    POOL,
    Caller,
    make_client,
    replace,
)
from support.mirror import current, ids, sdk_client, seed, write
from support.moto import moto_url_fixture  # noqa: F401  (the moto_url fixture)

from cognitosync_async.local import LocalCognitoSync
from cognitosync_async.mirror import MirrorSummary, RecordRow, mirror, verify

need("aiobotocore", "dynamodb")

from cognitosync_async.mirror.dynamodb import INDEX, DynamoDBTarget  # noqa: E402


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The standard chain finds moto's test credentials and nothing of this machine's."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                 "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


@pytest.fixture(name="ddb")
def ddb_fixture(moto_url: str) -> Iterator[Any]:
    """botocore on moto: the independent reader of the table."""
    client = botocore.session.get_session().create_client(
        "dynamodb", region_name="us-east-1", endpoint_url=moto_url,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=botocore.config.Config(retries={"max_attempts": 1}))
    yield client
    client.close()


def fresh_table() -> str:
    return f"mirror-{uuid.uuid4().hex[:12]}"


def target(moto_url: str, table: str, create: bool = True) -> DynamoDBTarget:
    return DynamoDBTarget(table, create_table=create, endpoint_url=moto_url)


async def run(svc: LocalCognitoSync, tgt: DynamoDBTarget, identities: list[str]
              ) -> MirrorSummary:
    async with sdk_client(svc) as client, tgt:
        return await mirror(client, identity_pool_id=POOL, target=tgt, identities=identities)


async def differences(svc: LocalCognitoSync, tgt: DynamoDBTarget, identities: list[str]
                      ) -> list[str]:
    async with sdk_client(svc) as client, tgt:
        report = await verify(client, identity_pool_id=POOL, target=tgt, identities=identities)
    assert report.failed == 0, report.errors
    return [d.text() for d in report.first_differences]


def items(ddb: Any, table: str, pk: str) -> dict[str, dict[str, Any]]:
    got = ddb.query(TableName=table, KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": pk}}, ConsistentRead=True)
    return {i["sk"]["S"]: i for i in got["Items"]}


async def test_copy_rerun_changes_deletes_and_verify(
    svc: LocalCognitoSync, dev: Caller, moto_url: str, ddb: Any
) -> None:
    a, b, c, d = people = ids(4, salt=0xDD)
    await seed(dev, people)
    table = fresh_table()
    tgt = target(moto_url, table)
    first = await run(svc, tgt, people)
    assert first.failed == 0, first.errors
    assert first.datasets_changed == 6 and first.records_written == 4 * 3 + 2 * 5
    assert await differences(svc, tgt, people) == []
    async with tgt:  # the identities verify and a whole-pool mirror visit (the index)
        assert {i async for i in tgt.identities()} == set(people)
        assert set(await tgt.datasets(a)) == {"settings", "progress"}

    # the layout, read back by botocore
    got = items(ddb, table, f"{a}/settings")
    src = await current(dev, a, "settings")
    assert set(got) == {"D", "R#theme", "R#lang", "R#gone"}
    row = got["D"]
    assert row["identity_pool_id"] == {"S": POOL} and row["identity_id"] == {"S": a}
    assert row["dataset_name"] == {"S": "settings"} and row["deleted"] == {"BOOL": False}
    assert row["dataset_sync_count"] == {"N": "2"} and "N" in row["creation_date"]
    assert got["R#theme"]["value"] == {"S": "t0"} and got["R#theme"]["key"] == {"S": "theme"}
    assert got["R#theme"]["sync_count"] == {"N": str(src["theme"][1])}
    tomb = got["R#gone"]
    assert tomb["deleted"] == {"BOOL": True} and "value" not in tomb
    assert tomb["sync_count"] == {"N": str(src["gone"][1])}

    again = await run(svc, tgt, people)
    assert (again.datasets_changed, again.records_written) == (0, 0)

    # a: new, changed and removed records; b: dataset deleted; c: deleted and re-created
    await write(dev, a, "settings", {"new": "n", "theme": "changed", "lang": None})
    await dev("delete_dataset", IdentityPoolId=POOL, IdentityId=b, DatasetName="settings")
    await dev("delete_dataset", IdentityPoolId=POOL, IdentityId=c, DatasetName="progress")
    await write(dev, c, "progress", {"fresh": "1"})
    changed = await run(svc, tgt, people)
    assert changed.failed == 0, changed.errors
    assert changed.datasets_changed == 2 and changed.datasets_deleted == 1
    assert changed.records_removed == 3 + 5
    assert set(items(ddb, table, f"{b}/settings")) == {"D"}
    assert items(ddb, table, f"{b}/settings")["D"]["deleted"] == {"BOOL": True}
    assert set(items(ddb, table, f"{c}/progress")) == {"D", "R#fresh"}
    assert "value" not in items(ddb, table, f"{a}/settings")["R#lang"]
    assert await differences(svc, tgt, people) == []

    # a planted difference fails verify, naming identity, dataset and key
    ddb.put_item(TableName=table, Item={
        "pk": {"S": f"{d}/settings"}, "sk": {"S": "R#theme"}, "identity_id": {"S": d},
        "dataset_name": {"S": "settings"}, "key": {"S": "theme"}, "value": {"S": "planted"},
        "deleted": {"BOOL": False}, "sync_count": {"N": "1"}})
    found = await differences(svc, tgt, people)
    assert len(found) == 1 and found[0].startswith(f"{d} settings 'theme'")


async def test_an_older_write_never_replaces_a_newer_one(moto_url: str, ddb: Any) -> None:
    table = fresh_table()
    async with target(moto_url, table) as tgt:
        r = await tgt.write_records("i:1", "d", [RecordRow("k", "new", 5)])
        assert r.written == 1
        r = await tgt.write_records("i:1", "d", [RecordRow("k", "old", 3),
                                                  RecordRow("k2", None, 1)])
        assert r.written == 1  # k2 only: k holds a newer sync count
        r = await tgt.write_records("i:1", "d", [RecordRow("k", "same count", 5)])
        assert r.written == 0  # an equal sync count is not a newer record
        got = {x.key: (x.value, x.sync_count) for x in await tgt.records("i:1", "d")}
        assert got == {"k": ("new", 5), "k2": (None, 1)}
        assert items(ddb, table, "i:1/d")["R#k"]["value"] == {"S": "new"}
        # exact: the dataset's records become exactly these, whatever their counts
        r = await tgt.write_records("i:1", "d", [RecordRow("k", "again", 1)], exact=True)
        assert (r.written, r.removed) == (1, 1)
        assert [(x.key, x.value) for x in await tgt.records("i:1", "d")] == [("k", "again")]


def cli(svc: LocalCognitoSync, tmp_path: Path, moto_url: str, *args: str
        ) -> subprocess.CompletedProcess[str]:
    env = cli_env(svc, tmp_path)
    env["AWS_ENDPOINT_URL_DYNAMODB"] = moto_url  # the standard chain's endpoint setting
    return subprocess.run(
        [*CLI, args[0], "--endpoint-url", svc.endpoint_url, "--identity-pool-id", POOL,
         *args[1:]], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(name="svc_thread")
def svc_thread_fixture() -> Iterator[LocalCognitoSync]:
    with LocalCognitoSync() as svc:
        yield svc


def test_cli_create_table_mirror_and_verify(
    svc_thread: LocalCognitoSync, tmp_path: Path, moto_url: str, ddb: Any
) -> None:
    svc = svc_thread
    people = ids(3, salt=0xDE)
    boto = make_client(svc)
    for n, ident in enumerate(people):
        svc.seed_identity(POOL, ident)
        listed = boto.list_records(IdentityPoolId=POOL, IdentityId=ident, DatasetName="s")
        boto.update_records(IdentityPoolId=POOL, IdentityId=ident, DatasetName="s",
                            RecordPatches=[replace("k", f"v{n}", 0)],
                            SyncSessionToken=listed["SyncSessionToken"])
    boto.close()
    ids_path = tmp_path / "ids.txt"
    ids_path.write_text("\n".join(people) + "\n")
    table = fresh_table()
    spec = f"dynamodb:{table}"
    r = cli(svc, tmp_path, moto_url, "mirror", "--target", spec, "--identities", str(ids_path))
    assert r.returncode == 2 and "does not exist" in r.stderr and "--create-table" in r.stderr
    r = cli(svc, tmp_path, moto_url, "mirror", "--target", spec, "--create-table",
            "--identities", str(ids_path), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    desc = ddb.describe_table(TableName=table)["Table"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [(k["AttributeName"], k["KeyType"]) for k in desc["KeySchema"]] == [
        ("pk", "HASH"), ("sk", "RANGE")]
    (index,) = desc["GlobalSecondaryIndexes"]
    assert index["IndexName"] == INDEX
    assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [
        ("identity_id", "HASH"), ("identity_pool_id", "RANGE")]
    assert '"records_written": 3' in r.stdout
    assert set(items(ddb, table, f"{people[0]}/s")) == {"D", "R#k"}
    r = cli(svc, tmp_path, moto_url, "verify", "--target", spec, "--identities", str(ids_path))
    assert r.returncode == 0 and "identical" in r.stdout, r.stdout + r.stderr


def test_cli_refuses_a_table_without_the_layouts_keys(
    svc_thread: LocalCognitoSync, tmp_path: Path, moto_url: str, ddb: Any
) -> None:
    svc = svc_thread
    (ident,) = ids(1, salt=0xDF)
    svc.seed_identity(POOL, ident)
    ids_path = tmp_path / "ids.txt"
    ids_path.write_text(ident + "\n")
    table = fresh_table()
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    for extra in ((), ("--create-table",)):
        r = cli(svc, tmp_path, moto_url, "mirror", "--target", f"dynamodb:{table}",
                "--identities", str(ids_path), *extra)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "does not have the mirror's layout" in r.stderr
        assert "(pk S HASH, sk S RANGE)" in r.stderr
    assert ddb.scan(TableName=table)["Count"] == 0  # nothing written
