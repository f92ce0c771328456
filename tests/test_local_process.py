"""Durability across kill -9, the command line, threaded mode and concurrent writers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import pytest
from support.local_service import (
    IDENTITY,
    POOL,
    Caller,
    code_of,
    make_client,
    put,
    replace,
)

from cognitosync_async._credentials import Credentials
from cognitosync_async.local import LocalCognitoSync

DS = {"IdentityPoolId": POOL, "IdentityId": IDENTITY, "DatasetName": "d"}


class _Endpoint:
    def __init__(self, url: str, region: str) -> None:
        self.endpoint_url = url
        self.region = region
        self.credentials = Credentials("AKIDLOCALDEVELOPER", "local-developer-secret")


def _start(db: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cognitosync_async.local", "serve", "--port", "0",
         "--db", str(db), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(5)
        raise AssertionError(proc.stderr.read() if proc.stderr else "no output")
    return proc, json.loads(line)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _client(info: dict[str, str], creds: Credentials | None = None) -> Caller:
    endpoint = _Endpoint(info["endpoint_url"], info["region"])
    return Caller(make_client(endpoint, creds))  # type: ignore[arg-type]


async def test_update_survives_kill_9(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    db = tmp_path / "sync.sqlite3"
    proc, info = await asyncio.to_thread(_start, db)
    processes.append(proc)
    assert info["endpoint_url"].startswith("http://127.0.0.1:")
    assert info["access_key_id"] == "AKIDLOCALDEVELOPER"
    caller = _client(info)
    try:
        r = await put(caller, "d", [replace("durable", "yes")])
        assert r["Records"][0]["SyncCount"] == 1
    finally:
        caller.close()
    os.kill(proc.pid, signal.SIGKILL)
    await asyncio.to_thread(proc.wait, 10)

    proc2, info2 = await asyncio.to_thread(_start, db)
    processes.append(proc2)
    caller = _client(info2)
    try:
        listed = await caller("list_records", **DS)
        assert [(x["Key"], x["Value"], x["SyncCount"]) for x in listed["Records"]] == [
            ("durable", "yes", 1)]
    finally:
        caller.close()
    proc2.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(proc2.wait, 10) == 0


async def test_cli_mint_credentials_shares_the_db(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    db = tmp_path / "sync.sqlite3"
    proc, info = await asyncio.to_thread(_start, db)
    processes.append(proc)
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cognitosync_async.local", "mint-credentials", "--db", str(db),
         "--identity-pool-id", POOL, "--identity-id", IDENTITY],
        capture_output=True, text=True, check=True,
    )
    data = json.loads(out.stdout)
    assert data["Version"] == 1 and data["Expiration"].endswith("Z")
    creds = Credentials(data["AccessKeyId"], data["SecretAccessKey"], data["SessionToken"])
    caller = _client(info, creds)
    try:
        r = await put(caller, "d", [replace("k", "v")])
        assert r["Records"][0]["LastModifiedBy"] == IDENTITY
    finally:
        caller.close()


def test_threaded_mode_from_sync_code() -> None:
    with LocalCognitoSync() as svc_:
        assert svc_.endpoint_url.startswith("http://127.0.0.1:")
        client = make_client(svc_, svc_.mint_identity_credentials(POOL, IDENTITY))
        try:
            token = client.list_records(**DS)["SyncSessionToken"]
            r = client.update_records(**DS, RecordPatches=[replace("a", "1")],
                                      SyncSessionToken=token)
            assert r["Records"][0]["SyncCount"] == 1
            svc_.faults.script = [500]
            with pytest.raises(botocore.exceptions.ClientError):
                client.list_records(**DS)
        finally:
            client.close()
    svc2 = LocalCognitoSync().start_in_thread()
    try:
        assert svc2.running
    finally:
        svc2.stop()


async def test_concurrent_writers_exactly_one_wins(svc: LocalCognitoSync, dev: Caller) -> None:
    await put(dev, "d", [replace("a", "0")])
    token = (await dev("list_records", **DS))["SyncSessionToken"]
    callers = [Caller(make_client(svc)) for _ in range(2)]
    try:
        for round_ in range(5):
            count = round_ + 1
            results = await asyncio.gather(
                *(c("update_records", **DS, RecordPatches=[replace("a", f"{i}", count)],
                    SyncSessionToken=token) for i, c in enumerate(callers)),
                return_exceptions=True,
            )
            ok = [r for r in results if isinstance(r, dict)]
            errors = [r for r in results if isinstance(r, botocore.exceptions.ClientError)]
            assert len(ok) == 1 and len(errors) == 1, results
            assert code_of(errors[0]) == "ResourceConflictException"
        assert (await dev("list_records", **DS))["DatasetSyncCount"] == 6
    finally:
        for c in callers:
            c.close()
