"""Export and import (``cognitosync_async.cli``: bulk, checkpoint, inputs): the job
checkpoint, the line reader for files and pipes, and import resumed by content
through the CLI."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from support.cli import CLI, env_fixture, threaded_service_fixture  # noqa: F401  (fixtures)

from cognitosync_async import CognitoSyncClient
from cognitosync_async.cli.checkpoint import Checkpoint, CheckpointMismatch
from cognitosync_async.cli.inputs import lines_of
from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:00000000-0000-0000-0000-0000000000e1"


def ident(i: int) -> str:
    return f"us-east-1:{i:08x}-0000-0000-0000-0000000000e1"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60)

def values_of(svc: LocalCognitoSync, identity_id: str, dataset: str = "d") -> dict[str, str]:
    async def get() -> dict[str, str]:
        async with CognitoSyncClient(
            svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url
        ) as client:
            return await client.dataset(
                identity_pool_id=POOL, identity_id=identity_id, dataset_name=dataset
            ).get()

    return asyncio.run(get())

def line(identity_id: str, value: str) -> str:
    return json.dumps({"identity_pool_id": POOL, "identity_id": identity_id,
                       "dataset_name": "d", "records": [{"key": "A", "value": value}]}) + "\n"


def test_checkpoint_open_new_resume_and_partial_line(tmp_path: Path) -> None:
    path = str(tmp_path / "c.ckpt")
    c = Checkpoint(path, {"command": "t"})
    assert c.open() == []
    c.append({"n": 1})
    c.close()
    with open(path, "a") as f:
        f.write('{"n": 2')  # killed mid-line
    c = Checkpoint(path, {"command": "t"})
    assert c.open() == [{"n": 1}]
    c.append({"n": 3})
    c.close()
    lines = Path(path).read_text().splitlines()
    assert [json.loads(x) for x in lines[1:]] == [{"n": 1}, {"n": 3}]
    assert json.loads(lines[0]) == {"kind": "cognitosync-async-checkpoint", "command": "t"}
    Path(path).write_text('{"n": 1')  # only a partial header: starts over
    c = Checkpoint(path, {"command": "t"})
    assert c.open() == []
    c.close()
    assert len(Path(path).read_text().splitlines()) == 1
    with pytest.raises(CheckpointMismatch):
        Checkpoint(path, {"command": "other"}).open()
    Path(path).write_text(lines[0] + "\n[1]\n")
    with pytest.raises(CheckpointMismatch):
        Checkpoint(path, {"command": "t"}).open()


def test_import_resume_skips_only_as_many_copies_as_were_applied(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "in.jsonl"
    # a clean import of L1..L3 ends with the last line's value
    clean = ident(1)
    data.write_text(line(clean, "1") + line(clean, "2") + line(clean, "1"))
    r = cli(env, "import", "--endpoint-url", svc.endpoint_url, "-i", str(data),
            "--concurrency", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert values_of(svc, clean) == {"A": "1"}
    # L1..L2 with a checkpoint, then L1..L3: only L3 is applied (L1 and L2 skipped)
    resumed = ident(2)
    ckpt = tmp_path / "job.ckpt"
    data.write_text(line(resumed, "1") + line(resumed, "2"))
    args = ["import", "--endpoint-url", svc.endpoint_url, "-i", str(data),
            "--concurrency", "1", "--checkpoint", str(ckpt), "--json"]
    r = cli(env, *args)
    assert r.returncode == 0, r.stderr
    assert values_of(svc, resumed) == {"A": "2"}
    data.write_text(line(resumed, "1") + line(resumed, "2") + line(resumed, "1"))
    r = cli(env, *args)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert (summary["skipped"], summary["done"]) == (2, 1), summary
    assert values_of(svc, resumed) == {"A": "1"}
    # a third run applies nothing more: all three copies are in the checkpoint
    r = cli(env, *args)
    summary = json.loads(r.stdout)
    assert (summary["skipped"], summary["done"]) == (3, 0), summary


async def test_lines_of_numbers_lines_exactly_across_batches() -> None:
    count = 20_000  # well over one 64 KiB batch
    text = "".join(f"line {i:07d} {'x' * (i % 13)}\n" for i in range(1, count + 1))
    got = [(n, line) async for n, line in lines_of(io.StringIO(text))]
    assert len(got) == count
    assert all(line.startswith(f"line {n:07d} ") for n, line in got)
    assert [n for n, _ in got] == list(range(1, count + 1))


async def test_lines_of_a_file_numbers_lines_exactly(tmp_path: Path) -> None:
    path = tmp_path / "many.txt"
    text = "".join(f"{i:0100d}\n" for i in range(1, 2001))  # > 64 KiB
    await asyncio.to_thread(path.write_text, text)
    f = await asyncio.to_thread(open, path, encoding="utf-8")
    try:
        got = [(n, int(text)) async for n, text in lines_of(f)]
    finally:
        f.close()
    assert got == [(i, i) for i in range(1, 2001)]


async def test_lines_of_reads_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    hops = 0
    real = asyncio.to_thread

    async def counting(func, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal hops
        hops += 1
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)
    text = "x\n" * 10_000
    assert len([n async for n, _ in lines_of(io.StringIO(text))]) == 10_000
    assert hops <= 3


async def test_lines_of_a_pipe_yields_each_line_as_it_arrives() -> None:
    r, w = os.pipe()
    reader = os.fdopen(r, encoding="utf-8")
    writer = os.fdopen(w, "w", encoding="utf-8")
    try:
        lines = lines_of(reader)
        writer.write("one\n")
        writer.flush()
        assert await asyncio.wait_for(lines.__anext__(), 5) == (1, "one\n")
        writer.write("two\nthree\n")
        writer.flush()
        assert await asyncio.wait_for(lines.__anext__(), 5) == (2, "two\n")
        assert await asyncio.wait_for(lines.__anext__(), 5) == (3, "three\n")
        writer.close()
        assert [x async for x in lines] == []
    finally:
        if not writer.closed:
            writer.close()  # unblocks a reader thread waiting for EOF
        reader.close()

def test_cli_import_from_a_pipe_applies_lines_before_eof(
    svc: LocalCognitoSync, env: dict[str, str]
) -> None:
    who = ident(3)
    proc = subprocess.Popen(
        [*CLI, "import", "--endpoint-url", svc.endpoint_url, "--concurrency", "1", "--json"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(line(who, "first"))
        proc.stdin.flush()
        deadline = time.monotonic() + 20
        while values_of(svc, who) != {"A": "first"}:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the line was not applied before EOF"
            time.sleep(0.1)
        out, err = proc.communicate(line(who, "second"), timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert json.loads(out)["done"] == 2
    assert values_of(svc, who) == {"A": "second"}
