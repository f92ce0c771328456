"""The command line, end to end: real subprocesses against the local service (in a thread)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from support.cli import CLI, env_fixture, threaded_service_fixture  # noqa: F401  (fixtures)

from cognitosync_async import cli
from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:00000000-0000-0000-0000-0000000000c1"
POOL2 = "us-east-1:00000000-0000-0000-0000-0000000000c2"
SCRIPT = str(Path(sys.executable).parent / "cognitosync-async")


def ident(i: int) -> str:
    return f"us-east-1:{i:08x}-0000-0000-0000-0000000000c1"


def run(svc: LocalCognitoSync, env: dict[str, str], *args: str, stdin: str | None = None,
        exe: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI with ``--endpoint-url``: in a subprocess when ``exe`` is given, else
    in-process through ``main()`` (a subprocess costs a second of imports)."""
    argv = [args[0], "--endpoint-url", svc.endpoint_url, *args[1:]]
    if exe is not None:
        return subprocess.run([*exe, *argv], env=env, input=stdin, capture_output=True,
                              text=True, timeout=60)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.StringIO()
    with mock.patch.dict(os.environ, env, clear=True), \
            mock.patch.object(sys, "stdin", io.StringIO(stdin or "")), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
        out.flush()
    stdout = out.buffer.getvalue().decode("utf-8")
    return subprocess.CompletedProcess(argv, code, stdout, err.getvalue())


def where(i: int, dataset: str = "settings") -> list[str]:
    return ["--identity-pool-id", POOL, "--identity-id", ident(i), "--dataset", dataset]


def test_put_get_records_datasets_delete(svc: LocalCognitoSync, env: dict[str, str]) -> None:
    r = run(svc, env, "put", *where(1), "theme=dark", "empty=", "--set", "a=b", "c", "--json",
            exe=CLI)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert sorted(out["written"]) == ["a=b", "empty", "theme"] and out["dataset_sync_count"] == 1

    r = run(svc, env, "put", *where(1), "theme=dark", "--remove", "empty", "--output", "text")
    assert r.returncode == 0 and "wrote 1 record(s), 1 unchanged" in r.stdout

    r = run(svc, env, "get", *where(1), "--json", exe=CLI)
    assert json.loads(r.stdout) == {"theme": "dark", "a=b": "c"}
    r = run(svc, env, "get", *where(1), "--output", "text")
    assert r.stdout.splitlines() == ["KEY\tVALUE", "a=b\tc", "theme\tdark"]

    r = run(svc, env, "records", *where(1), "--json")
    data = json.loads(r.stdout)
    assert data["dataset_sync_count"] == 2
    assert {x["key"]: x["value"] for x in data["records"]}["empty"] is None  # tombstone
    r = run(svc, env, "records", *where(1), "--since", "1", "--output", "text")
    header, row = r.stdout.splitlines()
    assert header.startswith("SYNC_COUNT\tKEY\tVALUE\t")
    assert row.split("\t")[:3] == ["2", "empty", "(removed)"]

    r = run(svc, env, "datasets", "--identity-pool-id", POOL, "--identity-id", ident(1), "--json")
    assert [d["dataset_name"] for d in json.loads(r.stdout)] == ["settings"]

    assert run(svc, env, "delete", *where(1)).returncode == 0
    r = run(svc, env, "delete", *where(1))
    assert r.returncode == 1 and "ResourceNotFoundException" in r.stderr


def test_usage_errors_exit_2(svc: LocalCognitoSync, env: dict[str, str]) -> None:
    assert run(svc, env, "put", *where(2)).returncode == 2  # nothing to put
    assert run(svc, env, "put", *where(2), "novalue").returncode == 2
    r = run(svc, env, "get", "--identity-pool-id", POOL, "--identity-id", ident(2),
            "--dataset", "bad name!")
    assert r.returncode == 2 and "dataset_name" in r.stderr
    with pytest.raises(SystemExit) as info:  # argparse: missing options
        run(svc, env, "get")
    assert info.value.code == 2
    r = run(svc, env, "export", "--identity-pool-id", POOL, "--identities", "/nonexistent")
    assert r.returncode == 2
    r = subprocess.run([*CLI, "nonsense"], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "invalid choice" in r.stderr
    no_region = {k: v for k, v in env.items() if k != "AWS_REGION"}
    r = run(svc, no_region, "get", *where(2))
    assert r.returncode == 2 and "region" in r.stderr


def test_profile_selects_credentials(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path
) -> None:
    creds = tmp_path / "credentials"
    creds.write_text(
        "[local]\n"
        f"aws_access_key_id = {svc.credentials.access_key_id}\n"
        f"aws_secret_access_key = {svc.credentials.secret_access_key}\n"
    )
    config = tmp_path / "config"
    config.write_text(f"[profile local]\nregion = {svc.region}\n")
    wrong = dict(env, AWS_ACCESS_KEY_ID="AKIAWRONGWRONGWRONG1", AWS_SHARED_CREDENTIALS_FILE=str(
        creds), AWS_CONFIG_FILE=str(config))
    del wrong["AWS_REGION"]
    r = run(svc, wrong, "get", *where(3), "--region", svc.region)
    assert r.returncode == 1  # the environment's (wrong) key is refused
    r = run(svc, wrong, "get", *where(3), "--profile", "local", "--json")  # region from profile
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {}


def test_missing_profile_and_endpoint_from_the_environment(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text(f"[profile local]\nregion = {svc.region}\n")
    base = dict(env, AWS_CONFIG_FILE=str(config))
    r = run(svc, base, "get", *where(3), "--profile", "ghost")
    assert r.returncode == 2 and "(ghost)" in r.stderr
    # the library's endpoint resolution: AWS_ENDPOINT_URL_COGNITO_SYNC, no --endpoint-url
    r = subprocess.run([*CLI, "get", *where(3), "--json"], capture_output=True, text=True,
                       env=dict(base, AWS_ENDPOINT_URL_COGNITO_SYNC=svc.endpoint_url))
    assert r.returncode == 0, r.stderr


def test_conflict_exit_3(svc: LocalCognitoSync, env: dict[str, str]) -> None:
    # every write answered 409 (scripted): the put gives up after its rounds
    svc.faults.script = ["ok", 409, "ok", 409, "ok"]
    r = run(svc, env, "put", *where(4), "k=v", "--max-rounds", "2", exe=CLI)
    assert r.returncode == 3, r.stderr
    assert "conflict on 1 key(s) after 2 round(s)" in r.stderr


def test_console_script_and_version(svc: LocalCognitoSync, env: dict[str, str]) -> None:
    assert os.path.exists(SCRIPT)
    r = subprocess.run([SCRIPT, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("cognitosync-async ")
    r = run(svc, env, "put", *where(5), "via=script", exe=[SCRIPT])
    assert r.returncode == 0, r.stderr
    r = run(svc, env, "get", *where(5), "--json", exe=[SCRIPT])
    assert json.loads(r.stdout) == {"via": "script"}
    r = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True)
    assert "exit codes" in r.stdout and "serve" in r.stdout and "export" in r.stdout


def _seed(svc: LocalCognitoSync, env: dict[str, str], ids: list[int]) -> None:
    for i in ids:
        r = run(svc, env, "put", *where(i), f"n={i}", "x=", "gone=1")
        assert r.returncode == 0, r.stderr
        run(svc, env, "put", *where(i), "--remove", "gone")
        if i % 2:
            run(svc, env, "put", *where(i, "progress"), f"level={i}")


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_export_then_import_round_trip(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path
) -> None:
    ids = list(range(100, 106))
    _seed(svc, env, ids)
    listing = tmp_path / "ids.txt"
    listing.write_text("# identities\n" + "\n".join(ident(i) for i in ids) + f"\n{ident(100)}\n")
    out = tmp_path / "export.jsonl"
    r = run(svc, env, "export", "--identity-pool-id", POOL, "--identities", str(listing),
            "--outfile", str(out), "--concurrency", "3", "--json", exe=CLI)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["done"] == 6 and summary["datasets"] == 9 and summary["failed"] == 0
    lines = _lines(out)
    assert sorted((x["identity_id"], x["dataset_name"]) for x in lines) == sorted(
        [(ident(i), "settings") for i in ids] + [(ident(i), "progress") for i in ids if i % 2]
    )
    one = next(x for x in lines if x["identity_id"] == ident(101) and x["dataset_name"] ==
               "settings")
    assert one["dataset_sync_count"] == 2
    assert {r["key"]: r["value"] for r in one["records"]} == {"n": "101", "x": "", "gone": None}

    # stdin works too
    r = run(svc, env, "export", "--identity-pool-id", POOL, "--identities", "-",
            stdin=ident(101) + "\n")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2
    assert "export: 1 identities done" in r.stderr

    # import into another pool, resumably; then again: nothing to write
    ckpt = tmp_path / "import.ckpt"
    r = run(svc, env, "import", "--input", str(out), "--identity-pool-id", POOL2,
            "--checkpoint", str(ckpt), "--json", exe=CLI)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["done"] == 9
    r = run(svc, env, "get", "--identity-pool-id", POOL2, "--identity-id", ident(101),
            "--dataset", "settings", "--json")
    assert json.loads(r.stdout) == {"n": "101", "x": ""}
    r = run(svc, env, "import", "--input", str(out), "--identity-pool-id", POOL2,
            "--checkpoint", str(ckpt), "--json")
    assert json.loads(r.stdout)["skipped"] == 9 and json.loads(r.stdout)["done"] == 0

    # the input edited between runs (a new dataset line first, moving every other
    # line down): the checkpoint goes by content, so only the new line is applied
    extra = dict(lines[0], dataset_name="added", records=[{"key": "k", "value": "v"}])
    out.write_text(json.dumps(extra) + "\n" + out.read_text())
    r = run(svc, env, "import", "--input", str(out), "--identity-pool-id", POOL2,
            "--checkpoint", str(ckpt), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["skipped"] == 9 and json.loads(r.stdout)["done"] == 1
    r = run(svc, env, "get", "--identity-pool-id", POOL2, "--identity-id",
            lines[0]["identity_id"], "--dataset", "added", "--json")
    assert json.loads(r.stdout) == {"k": "v"}

    # a tombstone in the input removes; keep_remote keeps nothing from a race (none here)
    (tmp_path / "rm.jsonl").write_text(json.dumps({
        "identity_pool_id": POOL2, "identity_id": ident(101), "dataset_name": "settings",
        "records": [{"key": "n", "value": None}, {"key": "new", "value": "1"}]}) + "\n\n")
    r = run(svc, env, "import", "--input", str(tmp_path / "rm.jsonl"),
            "--on-conflict", "keep_remote")
    assert r.returncode == 0, r.stderr
    r = run(svc, env, "get", "--identity-pool-id", POOL2, "--identity-id", ident(101),
            "--dataset", "settings", "--json")
    assert json.loads(r.stdout) == {"x": "", "new": "1"}

    # a broken line fails alone (exit 1), the others are applied
    (tmp_path / "bad.jsonl").write_text("{not json\n" + out.read_text().splitlines()[0] + "\n")
    r = run(svc, env, "import", "--input", str(tmp_path / "bad.jsonl"), "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["failed"] == 1 and json.loads(r.stdout)["done"] == 1


def test_export_killed_halfway_resumes_exactly_once(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path
) -> None:
    ids = list(range(200, 230))
    _seed_direct(svc, ids)
    listing = tmp_path / "ids.txt"
    listing.write_text("\n".join(ident(i) for i in ids) + "\n")
    out, ckpt = tmp_path / "out.jsonl", tmp_path / "out.ckpt"
    args = [*CLI, "export", "--endpoint-url", svc.endpoint_url, "--identity-pool-id", POOL,
            "--identities", str(listing), "--outfile", str(out), "--checkpoint", str(ckpt),
            "--concurrency", "1"]
    svc.faults.latency = 0.03  # ~60 ms an identity: the kill lands mid-way
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ckpt.exists() and len(ckpt.read_text().splitlines()) >= 8:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.stderr is not None
    proc.stderr.close()
    svc.faults.latency = 0.0
    done_before = len(ckpt.read_text().splitlines()) - 1
    assert 7 <= done_before < len(ids), "the kill should land mid-way"
    # whatever the kill left, plus a torn line as a crash mid-write would leave
    with open(out, "ab") as f:
        f.write(b'{"identity_pool_id": "torn')
    with open(ckpt, "ab") as f:
        f.write(b'{"identity_id": "us-ea')

    r = subprocess.run(args + ["--json"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["skipped"] == done_before and summary["done"] == len(ids) - done_before
    keys = [(x["identity_id"], x["dataset_name"]) for x in _lines(out)]
    expected = [(ident(i), "settings") for i in ids] + [(ident(i), "progress") for i in ids
                                                        if i % 2]
    assert sorted(keys) == sorted(expected)  # every dataset exactly once
    # a third run has nothing left to do
    r = subprocess.run(args + ["--json"], env=env, capture_output=True, text=True, timeout=60)
    assert json.loads(r.stdout)["done"] == 0 and len(_lines(out)) == len(expected)


def _seed_direct(svc: LocalCognitoSync, ids: list[int]) -> None:
    """Seed through the SDK in-process (faster than one subprocess per put)."""
    import asyncio

    from cognitosync_async import CognitoSyncClient

    async def main() -> None:
        async with CognitoSyncClient(svc.region, credentials=svc.credentials,
                                     endpoint_url=svc.endpoint_url) as c:
            for i in ids:
                h = c.dataset(identity_pool_id=POOL, identity_id=ident(i), dataset_name="settings")
                await h.put({"n": str(i)})
                if i % 2:
                    await c.dataset(identity_pool_id=POOL, identity_id=ident(i),
                                    dataset_name="progress").put({"level": str(i)})

    asyncio.run(main())


def test_export_interrupted_exits_130_and_resumes(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path
) -> None:
    ids = list(range(300, 320))
    _seed_direct(svc, ids)
    listing = tmp_path / "ids.txt"
    listing.write_text("\n".join(ident(i) for i in ids) + "\n")
    out, ckpt = tmp_path / "out.jsonl", tmp_path / "out.ckpt"
    args = [*CLI, "export", "--endpoint-url", svc.endpoint_url, "--identity-pool-id", POOL,
            "--identities", str(listing), "--outfile", str(out), "--checkpoint", str(ckpt),
            "--concurrency", "2"]
    svc.faults.latency = 0.2  # slow enough that the export cannot end before the SIGINT
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if ckpt.exists() and len(ckpt.read_text().splitlines()) >= 4:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    svc.faults.latency = 0.0
    assert proc.returncode == 130, stderr
    assert "interrupted" in stdout + stderr
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    keys = [(x["identity_id"], x["dataset_name"]) for x in _lines(out)]
    assert len(keys) == len(set(keys)) == len(ids) + len([i for i in ids if i % 2])


def test_export_enumerates_pool_through_cognito_identity(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path
) -> None:
    import asyncio

    from cognitosync_async import CognitoSyncClient

    pool = "us-east-1:00000000-0000-0000-0000-0000000000c9"
    members = [f"us-east-1:{i:08x}-0000-0000-0000-0000000000c9" for i in (1, 2, 3)]
    for member in members:
        svc.seed_identity(pool, member)

    async def seed() -> None:
        async with CognitoSyncClient(svc.region, credentials=svc.credentials,
                                     endpoint_url=svc.endpoint_url) as c:
            for i, member in enumerate(members):
                await c.dataset(identity_pool_id=pool, identity_id=member,
                                dataset_name="d").put({"i": str(i)})

    asyncio.run(seed())
    out = tmp_path / "pool.jsonl"
    r = run(svc, env, "export", "--identity-pool-id", pool, "--outfile", str(out), "--json",
            exe=CLI)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["done"] == 3
    assert sorted(x["records"][0]["value"] for x in _lines(out)) == ["0", "1", "2"]


def test_serve_and_mint_credentials_delegate(tmp_path: Path, env: dict[str, str]) -> None:
    db = tmp_path / "serve.sqlite3"
    proc = subprocess.Popen(
        [SCRIPT, "serve", "--port", "0", "--json", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["endpoint_url"].startswith("http://127.0.0.1:")
        r = subprocess.run(
            [*CLI, "get", "--endpoint-url", info["endpoint_url"], "--region", info["region"],
             *where(9), "--json"],
            env=dict(env, AWS_ACCESS_KEY_ID=info["access_key_id"],
                     AWS_SECRET_ACCESS_KEY=info["secret_access_key"]),
            capture_output=True, text=True, timeout=30,
        )
        assert r.returncode == 0 and json.loads(r.stdout) == {}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0
    r = subprocess.run(
        [*CLI, "mint-credentials", "--db", str(db), "--identity-pool-id", POOL,
         "--identity-id", ident(9)],
        capture_output=True, text=True, env=env, timeout=30,
    )
    assert r.returncode == 0, r.stderr
    minted = json.loads(r.stdout)
    assert minted["Version"] == 1 and minted["IdentityId"] == ident(9)
