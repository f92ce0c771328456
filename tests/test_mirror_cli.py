"""``cognitosync-async mirror`` / ``verify`` as real subprocesses against the local service
(in a thread of the test process), botocore seeding and changing the source."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.cli import CLI, cli_env, run_on_a_terminal
from support.local_service import POOL, make_client, remove, replace

from cognitosync_async.local import LocalCognitoSync
from cognitosync_async.mirror import shard_of


class Seeder:
    """botocore, synchronously (the service runs in its own thread)."""

    def __init__(self, svc: LocalCognitoSync) -> None:
        self.client = make_client(svc)

    def write(self, ident: str, dataset: str, values: dict[str, str | None]) -> None:
        listed = self.client.list_records(IdentityPoolId=POOL, IdentityId=ident,
                                          DatasetName=dataset)
        now = {r["Key"]: r["SyncCount"] for r in listed["Records"]}
        patches = [replace(k, v, now.get(k, 0)) if v is not None else remove(k, now.get(k, 0))
                   for k, v in values.items()]
        self.client.update_records(IdentityPoolId=POOL, IdentityId=ident, DatasetName=dataset,
                                   RecordPatches=patches,
                                   SyncSessionToken=listed["SyncSessionToken"])


@pytest.fixture(name="svc")
def svc_thread(tmp_path: Path) -> Iterator[LocalCognitoSync]:
    with LocalCognitoSync() as svc:
        yield svc


@pytest.fixture(name="seeder")
def seeder_fixture(svc: LocalCognitoSync) -> Iterator[Seeder]:
    s = Seeder(svc)
    yield s
    s.client.close()


def people(n: int) -> list[str]:
    return [f"us-east-1:{i:08x}-0000-4000-8000-{i:012x}" for i in range(n)]


def seed(seeder: Seeder, svc: LocalCognitoSync, idents: list[str]) -> None:
    for n, ident in enumerate(idents):
        svc.seed_identity(POOL, ident)
        seeder.write(ident, "settings", {"theme": f"t{n}", "lang": "en"})


def ids_file(tmp_path: Path, idents: list[str], name: str = "ids.txt") -> Path:
    path = tmp_path / name
    path.write_text("# identities\n" + "\n".join(idents) + "\n")
    return path


def cli(svc: LocalCognitoSync, tmp_path: Path, *args: str, timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, args[0], "--endpoint-url", svc.endpoint_url, "--identity-pool-id", POOL,
         *args[1:]],
        env=cli_env(svc, tmp_path), capture_output=True, text=True, timeout=timeout,
    )


def target_identities(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT DISTINCT identity_id FROM datasets")}
    finally:
        conn.close()


def summary_of(r: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert r.returncode == 0, r.stdout + r.stderr
    data: dict[str, Any] = json.loads(r.stdout)
    return data


def test_mirror_then_verify_with_the_pool_enumerated(
    svc: LocalCognitoSync, seeder: Seeder, tmp_path: Path
) -> None:
    idents = people(12)
    seed(seeder, svc, idents)
    db = tmp_path / "copy.db"
    data = summary_of(cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}", "--json"))
    assert list(data) == ["identities", "datasets", "datasets_changed", "records_written",
                          "records_removed", "datasets_deleted", "calls", "retries",
                          "throttled", "failed", "seconds"]
    assert data["identities"] == 12 and data["datasets_changed"] == 12
    assert data["records_written"] == 24 and data["failed"] == 0
    assert target_identities(db) == set(idents)
    again = summary_of(cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}", "--json"))
    assert again["datasets_changed"] == 0 and again["records_written"] == 0
    # ListIdentities (1 page of 60) + one ListDatasets an identity
    assert again["calls"] == 1 + 12
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "identical" in r.stdout


def test_verify_lists_and_counts_planted_differences(
    svc: LocalCognitoSync, seeder: Seeder, tmp_path: Path
) -> None:
    idents = people(4)
    seed(seeder, svc, idents)
    db = tmp_path / "copy.db"
    ids = ids_file(tmp_path, idents)
    summary_of(cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}", "--identities",
                   str(ids), "--json"))
    conn = sqlite3.connect(db)
    conn.execute("UPDATE records SET value='planted' WHERE identity_id=? AND key='theme'",
                 (idents[1],))
    conn.execute("DELETE FROM records WHERE identity_id=? AND key='lang'", (idents[2],))
    conn.commit()
    conn.close()
    seeder.write(idents[3], "settings", {"later": "1"})  # the source moved on
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--identities", str(ids),
            "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["identical"] is False
    assert report["differences"] == 4  # value, missing record, new record, sync count
    where = {(d["identity_id"], d["dataset_name"], d["key"]) for d in report["first_differences"]}
    assert where == {(idents[1], "settings", "theme"), (idents[2], "settings", "lang"),
                     (idents[3], "settings", "later"), (idents[3], "settings", None)}
    text = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--identities", str(ids))
    assert text.returncode == 1 and "4 differences" in text.stdout
    assert f"{idents[1]} settings 'theme'" in text.stdout
    # planted values are never printed, only their shape
    assert "planted" not in text.stdout
    # the next mirror brings idents[3] up to date; the planted damage has sync counts
    # the cursor already covers, so it stays until those datasets are copied afresh:
    # dropping their rows makes the next run re-read them in full
    summary_of(cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}", "--identities",
                   str(ids), "--json"))
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--identities", str(ids),
            "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["differences"] == 2
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM datasets WHERE identity_id IN (?, ?)", (idents[1], idents[2]))
    conn.commit()
    conn.close()
    data = summary_of(cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}", "--identities",
                          str(ids), "--json"))
    assert data["datasets_changed"] == 2 and data["records_written"] == 2
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--identities", str(ids))
    assert r.returncode == 0, r.stdout + r.stderr


def test_kill_9_halfway_then_rerun_converges(
    svc: LocalCognitoSync, seeder: Seeder, tmp_path: Path
) -> None:
    idents = people(80)
    seed(seeder, svc, idents)
    db = tmp_path / "copy.db"
    ids = ids_file(tmp_path, idents)
    proc = subprocess.Popen(
        [*CLI, "mirror", "--endpoint-url", svc.endpoint_url, "--identity-pool-id", POOL,
         "--target", f"sqlite:{db}", "--identities", str(ids), "--concurrency", "2",
         "--rate", "40", "--json"],
        env=cli_env(svc, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        done = 0
        while time.monotonic() < deadline:
            if db.exists():
                try:
                    done = len(target_identities(db))
                except sqlite3.OperationalError:  # tables not created yet
                    done = 0
                if done >= 15:
                    break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    partial = target_identities(db)
    assert 15 <= len(partial) < 80
    # the source changes meanwhile, too
    seeder.write(idents[0], "settings", {"theme": None, "after": "kill"})
    data = summary_of(cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}", "--identities",
                          str(ids), "--json"))
    assert data["failed"] == 0 and data["identities"] == 80
    assert data["datasets_changed"] <= 80 - len(partial) + 2  # what was done stays done
    assert target_identities(db) == set(idents)
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--identities", str(ids))
    assert r.returncode == 0, r.stdout + r.stderr


def test_two_shards_at_once_into_one_target(
    svc: LocalCognitoSync, seeder: Seeder, tmp_path: Path
) -> None:
    idents = people(40)
    seed(seeder, svc, idents)
    db = tmp_path / "copy.db"
    ids = ids_file(tmp_path, idents)
    env = cli_env(svc, tmp_path)
    procs = [
        subprocess.Popen(
            [*CLI, "mirror", "--endpoint-url", svc.endpoint_url, "--identity-pool-id", POOL,
             "--target", f"sqlite:{db}", "--identities", str(ids), "--shard", f"{k}/2",
             "--json"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for k in (0, 1)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, out + err
    counts = [json.loads(out)["identities"] for out, _ in outs]
    assert counts == [sum(1 for i in idents if shard_of(i, 2) == k) for k in (0, 1)]
    assert sum(counts) == 40 and min(counts) > 0
    assert target_identities(db) == set(idents)
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--identities", str(ids))
    assert r.returncode == 0, r.stdout + r.stderr


def test_one_shard_holds_exactly_its_identities(
    svc: LocalCognitoSync, seeder: Seeder, tmp_path: Path
) -> None:
    idents = people(30)
    seed(seeder, svc, idents)
    db = tmp_path / "copy.db"
    data = summary_of(cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}",
                          "--shard", "1/3", "--json"))
    mine = {i for i in idents if shard_of(i, 3) == 1}
    assert 0 < len(mine) < 30
    assert target_identities(db) == mine and data["identities"] == len(mine)
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--shard", "1/3")
    assert r.returncode == 0, r.stdout + r.stderr
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--shard", "0/3")
    assert r.returncode == 1  # the other shards' identities are not in this copy


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "postgres:db"], "target"),
        (["--target", "copy.db"], "target"),
        (["--target", "sqlite:"], "target"),
        (["--shard", "3/2"], "shard"),
        (["--shard", "-1/2"], "shard"),
        (["--shard", "0/0"], "shard"),
        (["--shard", "junk"], "shard"),
        (["--shard", "1/2/3"], "shard"),
        (["--identities", "MISSING"], "cannot read"),
        (["--identities", "DIR"], "cannot read"),
        (["--concurrency", "0"], "--concurrency"),
        (["--rate", "nan"], "--rate"),
        (["--engine", "ray"], "ray"),
        (["--shards", "2"], "--engine ray"),
    ],
)
@pytest.mark.parametrize("command", ["mirror", "verify"])
def test_bad_input_is_exit_2_and_nothing_written(
    svc: LocalCognitoSync, tmp_path: Path, command: str, args: list[str], message: str
) -> None:
    if command == "verify" and args[0] in ("--engine", "--shards"):
        pytest.skip("mirror-only options")
    args = [str(tmp_path / "missing.txt") if a == "MISSING" else str(tmp_path) if a == "DIR"
            else a for a in args]
    db = tmp_path / "copy.db"
    full = [*args] if "--target" in args else ["--target", f"sqlite:{db}", *args]
    r = cli(svc, tmp_path, command, *full)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert not db.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing created anywhere


def test_verify_against_a_missing_copy_is_exit_2_and_creates_nothing(
    svc: LocalCognitoSync, tmp_path: Path
) -> None:
    db = tmp_path / "never-mirrored.db"
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--identities", "-")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "no such file" in r.stderr and "Traceback" not in r.stderr
    assert not db.exists()


def test_dynamodb_target_says_what_it_needs(svc: LocalCognitoSync, tmp_path: Path) -> None:
    if importlib.util.find_spec("aiobotocore") is not None:
        pytest.skip("the dynamodb target is installed (its own tests cover it)")
    r = cli(svc, tmp_path, "mirror", "--target", "dynamodb:copy")
    assert r.returncode == 2 and "dynamodb' extra" in r.stderr


def test_ray_engine_says_what_it_needs(svc: LocalCognitoSync, tmp_path: Path) -> None:
    if importlib.util.find_spec("ray") is not None:
        pytest.skip("the ray engine is installed (tests/test_mirror_ray.py covers it)")
    db = tmp_path / "copy.db"
    r = cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}", "--engine", "ray",
            "--shards", "2")
    assert r.returncode == 2 and "ray' extra" in r.stderr, r.stderr
    assert not db.exists()


def test_table_of_another_layout_is_exit_2(svc: LocalCognitoSync, tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE records(id INTEGER PRIMARY KEY, v TEXT)")
    conn.commit()
    conn.close()
    r = cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}", "--identities", "-")
    assert r.returncode == 2 and "layout" in r.stderr
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0
    finally:
        conn.close()


def test_identities_from_stdin(svc: LocalCognitoSync, seeder: Seeder, tmp_path: Path) -> None:
    idents = people(3)
    seed(seeder, svc, idents)
    db = tmp_path / "copy.db"
    r = subprocess.run(
        [*CLI, "mirror", "--endpoint-url", svc.endpoint_url, "--identity-pool-id", POOL,
         "--target", f"sqlite:{db}", "--identities", "-", "--json"],
        env=cli_env(svc, tmp_path), input="\n".join(idents[:2]) + "\n", capture_output=True,
        text=True, timeout=60,
    )
    assert summary_of(r)["identities"] == 2
    assert target_identities(db) == set(idents[:2])
    assert sys.executable  # (the CLI runs under this interpreter)


def test_identities_only_in_the_target_are_visited_when_the_pool_is_enumerated(
    svc: LocalCognitoSync, seeder: Seeder, tmp_path: Path
) -> None:
    idents = people(3)
    seed(seeder, svc, idents)
    db = tmp_path / "copy.db"
    summary_of(cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}", "--json"))
    gone = "us-east-1:99999999-0000-4000-8000-000000000000"  # not in the pool
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO datasets(identity_pool_id, identity_id, dataset_name, "
                 "dataset_sync_count, deleted) VALUES (?,?,?,?,0)", (POOL, gone, "settings", 3))
    conn.execute("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?)",
                 (gone, "settings", "k", "v", 0, 3, 0, "x", None))
    conn.commit()
    conn.close()
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert [(d["identity_id"], d["key"]) for d in report["first_differences"]] == [(gone, None)]
    # with a list of identities, the others in the target are not its business
    ids = ids_file(tmp_path, idents)
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}", "--identities", str(ids))
    assert r.returncode == 0, r.stdout + r.stderr
    data = summary_of(cli(svc, tmp_path, "mirror", "--target", f"sqlite:{db}", "--json"))
    assert data["identities"] == 4 and data["datasets_deleted"] == 1
    assert data["records_removed"] == 1
    r = cli(svc, tmp_path, "verify", "--target", f"sqlite:{db}")
    assert r.returncode == 0, r.stdout + r.stderr


def test_progress_line_on_a_terminal_only(
    svc: LocalCognitoSync, seeder: Seeder, tmp_path: Path
) -> None:
    idents = people(5)
    seed(seeder, svc, idents)
    ids = ids_file(tmp_path, idents)
    r, text = run_on_a_terminal(
        [*CLI, "mirror", "--endpoint-url", svc.endpoint_url, "--identity-pool-id", POOL,
         "--target", f"sqlite:{tmp_path / 'copy.db'}", "--identities", str(ids), "--json"],
        cli_env(svc, tmp_path),
    )
    assert r.returncode == 0
    assert "mirror [" in text and "5/5" in text and "identities/s" not in text
    assert "datasets changed" in text
    # not on a pipe: stderr stays empty with --json
    r = cli(svc, tmp_path, "mirror", "--target", f"sqlite:{tmp_path / 'copy.db'}",
            "--identities", str(ids), "--json")
    assert r.returncode == 0 and r.stderr == ""
