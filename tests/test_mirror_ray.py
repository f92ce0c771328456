"""``mirror`` on Ray: a local cluster (the machine's two cores, started once for the
module), the local service in a thread as the source, a SQLite file as the target; one
actor is killed mid-run and the copy still converges and verifies."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import CLI, cli_env
from support.extras import need
from support.local_service import POOL, make_client, replace
from support.mirror import ids, sdk_client

from cognitosync_async.local import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_SECRET_ACCESS_KEY,
    LocalCognitoSync,
)
from cognitosync_async.mirror import verify

ray = need("ray", "ray")

from cognitosync_async.mirror.ray import ClientOptions, RayMirror  # noqa: E402


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One local Ray cluster for the module, on loopback only; its workers inherit this
    environment, so their standard chain finds the local service's developer
    credentials. Ray's token authentication (on by default) gets a token of the
    module's own through the environment, which the CLI's subprocesses inherit too
    (the tests' HOME is a fresh directory, so ~/.ray/auth_token is no use)."""
    empty = tmp_path_factory.mktemp("aws")
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "RAY_ADDRESS"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
        mp.setenv("AWS_SECRET_ACCESS_KEY", DEFAULT_SECRET_ACCESS_KEY)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty / "credentials"))
        mp.setenv("AWS_CONFIG_FILE", str(empty / "config"))
        token = empty / "ray_auth_token"
        token.write_text(secrets.token_hex(32))
        mp.delenv("RAY_AUTH_TOKEN", raising=False)
        mp.setenv("RAY_AUTH_TOKEN_PATH", str(token))
        context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                           _node_ip_address="127.0.0.1")
        try:
            yield str(context.address_info["address"])
        finally:
            ray.shutdown()


@pytest.fixture(name="svc")
def svc_fixture() -> Iterator[LocalCognitoSync]:
    with LocalCognitoSync() as svc:
        yield svc


def seed(svc: LocalCognitoSync, people: list[str]) -> None:
    boto = make_client(svc)
    try:
        for n, ident in enumerate(people):
            listed = boto.list_records(IdentityPoolId=POOL, IdentityId=ident, DatasetName="s")
            boto.update_records(IdentityPoolId=POOL, IdentityId=ident, DatasetName="s",
                                RecordPatches=[replace("k", f"v{n}", 0), replace("n", "x", 0)],
                                SyncSessionToken=listed["SyncSessionToken"])
    finally:
        boto.close()


class Sink:
    """A progress sink on the driver, recording what it is told."""

    def __init__(self) -> None:
        self.updates: list[tuple[int, int]] = []
        self.finished = False

    def update(self, done: int, failed: int, extra: str = "", *, force: bool = False) -> None:
        self.updates.append((done, failed))

    def finish(self) -> None:
        self.finished = True


async def assert_identical(svc: LocalCognitoSync, db: Path, people: list[str]) -> None:
    async with sdk_client(svc) as client:
        report = await verify(client, identity_pool_id=POOL, target=f"sqlite:{db}",
                              identities=people)
    assert report.identical, report.text()
    assert report.identities == len(people)


async def test_an_actor_killed_mid_run_is_restarted_and_the_copy_converges(
    cluster: str, svc: LocalCognitoSync, tmp_path: Path
) -> None:
    people = ids(40, salt=0xEA)
    await asyncio.to_thread(seed, svc, people)
    db = tmp_path / "copy.db"
    job = RayMirror(ClientOptions(svc.region, endpoint_url=svc.endpoint_url),
                    identity_pool_id=POOL, target=f"sqlite:{db}", identities=people,
                    shards=2, concurrency=2, rate=12.0)  # slow: ~2 calls an identity
    await job.start()
    victim = job.actors[0]
    for _ in range(600):  # until the shard has mirrored a few identities (bounded)
        status = (await job.status())[0]
        if status is not None and status[0] >= 3:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("shard 0 made no progress")
    ray.kill(victim, no_restart=False)
    sink = Sink()
    summary = await job.wait(sink)
    assert sink.finished and sink.updates[-1] == (40, 0)  # both shards, on the driver
    assert summary.failed == 0, summary.errors
    assert summary.identities == 40  # the restarted shard ran its identities again...
    # ... and found those its dead attempt had written already in the target
    assert 3 <= 40 - summary.datasets_changed < 20
    await assert_identical(svc, db, people)


def test_cli_engine_ray_on_a_cluster(cluster: str, svc: LocalCognitoSync, tmp_path: Path
                                     ) -> None:
    people = ids(6, salt=0xEB)
    seed(svc, people)
    path = tmp_path / "ids.txt"
    path.write_text("\n".join(people) + "\n")
    db = tmp_path / "copy.db"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, args[0], "--endpoint-url", svc.endpoint_url, "--identity-pool-id", POOL,
             "--target", f"sqlite:{db}", "--identities", str(path), *args[1:]],
            env=cli_env(svc, tmp_path), capture_output=True, text=True, timeout=300)

    r = cli("mirror", "--engine", "ray")
    assert r.returncode == 2 and "--shards" in r.stderr
    assert not db.exists()  # refused before anything was created
    r = cli("mirror", "--engine", "ray", "--shards", "3", "--ray-address", cluster, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert (data["identities"], data["datasets_changed"], data["records_written"]) == (6, 6, 12)
    assert data["calls"] == 6 * 2  # one ListDatasets and one ListRecords an identity
    r = cli("verify")
    assert r.returncode == 0 and "identical" in r.stdout, r.stdout + r.stderr
