"""Second review: import resume by content counts copies, import streams from a
pipe, model-typed integer bounds and lone surrogates refused, the CLI's exit 2
kept for usage errors, fan_out/put option checks, no record keys in messages."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _cli import CLI, cli_env

from cognitosync_async import (
    CognitoSyncClient,
    ParamValidationError,
    UpdateRecordsResponse,
    fan_out,
)
from cognitosync_async import _validation as val
from cognitosync_async._identity import CognitoIdentityClient
from cognitosync_async._models import RecordPatch
from cognitosync_async.cli.inputs import lines_of
from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:00000000-0000-0000-0000-0000000000e1"
SSN = "ssn-123-45-6789"


def ident(i: int) -> str:
    return f"us-east-1:{i:08x}-0000-0000-0000-0000000000e1"


@pytest.fixture(scope="module")
def svc() -> Iterator[LocalCognitoSync]:
    with LocalCognitoSync() as service:
        yield service


@pytest.fixture
def env(svc: LocalCognitoSync, tmp_path: Path) -> dict[str, str]:
    e = cli_env(svc, tmp_path)
    return e


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


# ---------------------------------------------------------------------- 1. resume by content


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


# ---------------------------------------------------------------------- 2. streaming


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


# ---------------------------------------------------------------------- 3. validation


def test_integers_are_bounded_by_the_model_types() -> None:
    long_ = val.param("sync_count")
    val.LONG(None, long_, 2**63 - 1)
    val.LONG(None, long_, -(2**63))
    val.INTEGER(None, val.param("max_results"), 2**31 - 1)
    for bad in (2**63, -(2**63) - 1, 10**5000):
        with pytest.raises(ParamValidationError, match="sync_count: must be"):
            val.LONG(None, long_, bad)
    for bad in (2**31, -(2**31) - 1, 10**5000):
        with pytest.raises(ParamValidationError, match="max_results: must be"):
            val.INTEGER(None, val.param("max_results"), bad)
    with pytest.raises(ParamValidationError, match="sync_count"):
        RecordPatch("replace", "k", 10**5000)
    RecordPatch("replace", "k", 2**63 - 1)


async def test_huge_ints_and_surrogates_refused_before_any_call(
    client: CognitoSyncClient,
) -> None:
    where = {"identity_pool_id": POOL, "identity_id": ident(4), "dataset_name": "d"}
    with pytest.raises(ParamValidationError, match="max_results"):
        await client.list_records(**where, max_results=10**5000)
    with pytest.raises(ParamValidationError, match="last_sync_count"):
        await client.list_records(**where, last_sync_count=2**63)
    with pytest.raises(ParamValidationError, match="no lone surrogates") as info:
        await client.list_records(**where, next_token="zq\ud800")
    assert "\ud800" not in str(info.value) and "zq" not in str(info.value)
    with pytest.raises(ParamValidationError, match="device_id: must be valid Unicode"):
        await client.update_records(**where, device_id="\ud800", sync_session_token="t")
    with pytest.raises(ParamValidationError, match="key: must be valid Unicode"):
        RecordPatch("replace", "é\udc80", 0)
    with pytest.raises(ParamValidationError, match="value: must be valid Unicode"):
        RecordPatch("replace", "k", 0, "ok\ud83d")  # half a surrogate pair
    handle = client.dataset(**where)
    for values in ({"\ud800": "x"}, {"k": "\udfff"}):
        with pytest.raises(ParamValidationError, match="no lone surrogates"):
            await handle.put(values)
    # valid non-ASCII text, astral characters included, goes through
    await handle.put({"clé": "✓ 😀"})
    assert await handle.get() == {"clé": "✓ 😀"}


async def test_identity_logins_with_lone_surrogates_refused() -> None:
    async with CognitoIdentityClient("us-east-1", endpoint_url="http://127.0.0.1:9") as ci:
        for logins in ({"graph.facebook.com": "tok\ud800"}, {"\udc00": "tok"}):
            with pytest.raises(ParamValidationError, match=r"logins: each .*no lone surrogates"):
                await ci.get_id(identity_pool_id=POOL, logins=logins)


# ---------------------------------------------------------------------- 4. CLI exit codes


@pytest.mark.parametrize(
    ("args", "word"),
    [(["--rate", "nan"], "--rate"), (["--rate", "inf"], "--rate"),
     (["--rate", "-1"], "--rate"), (["--concurrency", "0"], "--concurrency")],
)
def test_cli_bad_bulk_options_exit_2(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path, args: list[str], word: str
) -> None:
    data = tmp_path / "in.jsonl"
    data.write_text("")
    r = cli(env, "import", "--endpoint-url", svc.endpoint_url, "-i", str(data), *args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and word in r.stderr


@pytest.mark.parametrize(
    ("args", "word"),
    [(["--throttle-rate", "nan"], "--throttle-rate"), (["--throttle-rate", "0"], "--throttle-rate"),
     (["--identities", "0"], "--identities")],
)
def test_cli_bad_demo_options_exit_2(env: dict[str, str], args: list[str], word: str) -> None:
    r = cli(env, "demo", *args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and word in r.stderr


def test_cli_internal_value_error_is_not_a_usage_error(
    svc: LocalCognitoSync, env: dict[str, str], tmp_path: Path
) -> None:
    """A ValueError the CLI did not mean (a bug) exits 1, not 2 'usage error'."""
    code = (
        "import sys\n"
        "from cognitosync_async import cli\n"
        "async def boom(args):\n"
        "    raise ValueError('an internal bug')\n"
        "cli.COMMANDS['get'] = boom\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, "get", "--identity-pool-id", POOL, "--identity-id",
         ident(5), "--dataset", "d"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 1, r.stderr
    assert "ValueError" in r.stderr and "internal error" in r.stderr


# ---------------------------------------------------------------------- 5. fan_out / put options


async def _echo(x: int) -> int:
    return x


@pytest.mark.parametrize(
    "rate", ["5", float("nan"), float("inf"), -1.0, 0, True, 10**400, [1]]
)
def test_fan_out_rate_must_be_a_finite_positive_number(rate: Any) -> None:
    with pytest.raises(ParamValidationError, match="rate"):
        fan_out(range(3), _echo, concurrency=2, rate=rate)


@pytest.mark.parametrize("concurrency", [0, -1, True, 1.5, "3", None])
def test_fan_out_concurrency_must_be_a_positive_int(concurrency: Any) -> None:
    with pytest.raises(ParamValidationError, match="concurrency"):
        fan_out(range(3), _echo, concurrency=concurrency)


async def test_fan_out_accepts_int_and_float_rates() -> None:
    for rate in (1000, 1000.0, None):
        got = sorted([r.unwrap() async for r in fan_out(range(3), _echo, concurrency=2, rate=rate)])
        assert got == [0, 1, 2]


@pytest.mark.parametrize("max_rounds", ["3", True, 2.0, 0])
async def test_put_max_rounds_must_be_a_positive_int(
    client: CognitoSyncClient, max_rounds: Any
) -> None:
    handle = client.dataset(identity_pool_id=POOL, identity_id=ident(6), dataset_name="d")
    with pytest.raises(ParamValidationError, match="max_rounds"):
        await handle.put({"k": "v"}, max_rounds=max_rounds)


# ---------------------------------------------------------------------- 6. no keys in messages


async def test_put_messages_do_not_echo_keys(client: CognitoSyncClient) -> None:
    handle = client.dataset(identity_pool_id=POOL, identity_id=ident(7), dataset_name="d")
    with pytest.raises(ParamValidationError) as info:
        await handle.put({SSN.encode(): "x"})  # type: ignore[dict-item]
    assert "each key must be a non-empty str, got bytes" in str(info.value)
    assert "ssn" not in str(info.value)
    with pytest.raises(ParamValidationError) as info:
        await handle.put({SSN: 5})  # type: ignore[dict-item]
    assert "each value must be a str or None, got int" in str(info.value)
    assert "ssn" not in str(info.value)
    with pytest.raises(ParamValidationError, match="got an empty str"):
        await handle.put({"": "x"})


class RacyClient(CognitoSyncClient):
    """Another writer changes the key just before the first UpdateRecords: one conflict."""

    other: CognitoSyncClient | None = None

    async def update_records(self, **kwargs: Any) -> UpdateRecordsResponse:
        other, self.other = self.other, None
        if other is not None:
            await other.dataset(
                identity_pool_id=POOL, identity_id=ident(8), dataset_name="d"
            ).put({SSN: "theirs"})
        return await super().update_records(**kwargs)


async def test_resolver_error_does_not_echo_the_key(
    local_sync: LocalCognitoSync, client: CognitoSyncClient
) -> None:
    async with RacyClient(
        local_sync.region, credentials=local_sync.credentials,
        endpoint_url=local_sync.endpoint_url,
    ) as racy:
        racy.other = client
        handle = racy.dataset(identity_pool_id=POOL, identity_id=ident(8), dataset_name="d")
        with pytest.raises(ParamValidationError) as info:
            await handle.put({SSN: "mine"}, on_conflict=lambda key, local, remote: 5)  # type: ignore[arg-type,return-value,unused-ignore]
    message = str(info.value)
    assert "the resolver returned int for a key; it must return a str or None" in message
    assert "ssn" not in message
