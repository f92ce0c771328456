"""Review fixes: CLI exit codes for bad option values (through the real entry point),
the demo's call counter and temporary files, and the export's checkpoint and reader."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import CLI, cli_env

from cognitosync_async import EndpointConnectionError, ResponseEvent
from cognitosync_async.cli.checkpoint import Checkpoint, CheckpointMismatch
from cognitosync_async.cli.demo import run_demo
from cognitosync_async.cli.inputs import lines_of
from cognitosync_async.local import LocalCognitoSync
from cognitosync_async.mirror import CallCounter

POOL = "us-east-1:00000000-0000-0000-0000-0000000000d1"
IDENT = "us-east-1:00000001-0000-0000-0000-0000000000d1"


@pytest.fixture(scope="module")
def svc() -> Iterator[LocalCognitoSync]:
    with LocalCognitoSync() as service:
        yield service


@pytest.fixture
def env(svc: LocalCognitoSync, tmp_path: Path) -> dict[str, str]:
    e = cli_env(svc, tmp_path)
    return e


def cli(env: dict[str, str], *args: str, stdin: bytes | None = None) -> tuple[int, str]:
    r = subprocess.run([*CLI, *args], env=env, input=stdin, capture_output=True, timeout=60)
    return r.returncode, r.stderr.decode("utf-8", "replace")


def assert_usage_error(code: int, stderr: str, *words: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("cognitosync-async: error: "), stderr
    for word in words:
        assert word in lines[0], stderr


def where() -> list[str]:
    return ["--identity-pool-id", POOL, "--identity-id", IDENT, "--dataset", "d"]


# ---------------------------------------------------------------------- exit codes


def test_max_rounds_0_exits_2(svc: LocalCognitoSync, env: dict[str, str]) -> None:
    code, err = cli(env, "put", "--endpoint-url", svc.endpoint_url, *where(), "a=b",
                    "--max-rounds", "0")
    assert_usage_error(code, err, "max_rounds")


def test_bad_endpoint_url_exits_2(env: dict[str, str]) -> None:
    code, err = cli(env, "get", "--endpoint-url", "ftp//bad", *where())
    assert_usage_error(code, err, "endpoint_url", "must be an absolute http(s) URL")
    assert "ftp//bad" not in err  # not echoed: an endpoint URL may carry user:password@


def test_rate_0_exits_2(svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(IDENT + "\n")
    code, err = cli(env, "export", "--endpoint-url", svc.endpoint_url, "--identity-pool-id",
                    POOL, "--identities", str(ids), "-o", str(tmp_path / "out.jsonl"),
                    "--rate", "0")
    assert_usage_error(code, err, "rate")


def test_undecodable_input_exits_2(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\xff\xfe not utf-8\n")
    code, err = cli(env, "import", "--endpoint-url", svc.endpoint_url, "-i", str(bad))
    assert_usage_error(code, err, "UTF-8")
    # the same bytes on a strict UTF-8 stdin (read in the import's loop, not counted
    # up front; under a C locale stdin decodes with surrogateescape instead)
    strict = {**env, "PYTHONIOENCODING": "utf-8:strict"}
    code, err = cli(strict, "import", "--endpoint-url", svc.endpoint_url, stdin=b"\xff\xfe\n")
    assert_usage_error(code, err, "UTF-8")


@pytest.mark.parametrize(
    "content",
    [b"{not json\n", b"\xff\xff\n", b'{"kind": "cognitosync-async-checkpoint"'],
    ids=["not-json", "not-utf8", "header-of-another-job"],
)
def test_corrupt_checkpoint_exits_2(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path, content: bytes
) -> None:
    ckpt = tmp_path / "job.ckpt"
    ckpt.write_bytes(content + (b"\n" if not content.endswith(b"\n") else b""))
    data = tmp_path / "in.jsonl"
    data.write_text("")
    code, err = cli(env, "import", "--endpoint-url", svc.endpoint_url, "-i", str(data),
                    "--checkpoint", str(ckpt))
    assert_usage_error(code, err, str(ckpt))
    assert ckpt.read_bytes().startswith(content[:5])  # left as it was


def test_checkpoint_entries_of_another_shape_exit_2(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(IDENT + "\n")
    out = tmp_path / "out.jsonl"
    ckpt = tmp_path / "job.ckpt"
    header = {"kind": "cognitosync-async-checkpoint", "command": "export",
              "identity_pool_id": POOL, "output": str(out)}
    ckpt.write_text(json.dumps(header) + "\n" + json.dumps({"line": 1}) + "\n")
    code, err = cli(env, "export", "--endpoint-url", svc.endpoint_url, "--identity-pool-id",
                    POOL, "--identities", str(ids), "-o", str(out), "--checkpoint", str(ckpt))
    assert_usage_error(code, err, str(ckpt))


def test_network_error_still_exits_1(env: dict[str, str]) -> None:
    code, err = cli(env, "get", "--endpoint-url", "http://127.0.0.1:9", "--max-attempts", "1",
                    *where())
    assert code == 1, err
    assert "Traceback" not in err


# ---------------------------------------------------------------------- the demo


def _attempt(attempt: int, status: int | None) -> ResponseEvent:
    error = EndpointConnectionError("refused") if status is None else None
    return ResponseEvent("cognito-sync", "ListRecords", "us-east-1", attempt, status,
                         None if status is None else f"r{attempt}", 0.0035, error)


def test_call_counter_counts_network_errors() -> None:
    """The counter reads the request loop's response events (no log text)."""
    counter = CallCounter()
    counter(_attempt(1, 200))
    counter(_attempt(1, 429))
    counter(_attempt(2, 200))
    counter(_attempt(1, None))  # no answer: a network error
    counter(_attempt(2, 500))
    assert (counter.calls, counter.retries, counter.throttled, counter.errors) == (5, 2, 1, 2)


def test_demo_removes_its_database_and_keeps_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code = asyncio.run(run_demo(identities=4, throttle_rate=1000.0, as_json=True))
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    export = Path(report["export_path"])
    assert export.parent.parent == tmp_path and export.is_file()
    assert not os.path.exists(report["database"])
    assert not Path(report["database"]).parent.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [export.parent.name]


# ---------------------------------------------------------------------- export


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


async def test_lines_of_numbers_lines_exactly_across_batches() -> None:
    count = 20_000  # well over one 64 KiB batch
    text = "".join(f"line {i:07d} {'x' * (i % 13)}\n" for i in range(1, count + 1))
    got = [(n, line) async for n, line in lines_of(io.StringIO(text))]
    assert len(got) == count
    assert all(line.startswith(f"line {n:07d} ") for n, line in got)
    assert [n for n, _ in got] == list(range(1, count + 1))


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
