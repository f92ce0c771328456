"""The command line's exit codes, through the real entry point: 2 (one line,
no traceback) for a usage error or a bad option value, input file or checkpoint;
1 for a network failure or an internal error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import CLI, env_fixture, threaded_service_fixture  # noqa: F401  (fixtures)

from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:00000000-0000-0000-0000-0000000000d1"

IDENT = "us-east-1:00000001-0000-0000-0000-0000000000d1"


def ident(i: int) -> str:
    return f"us-east-1:{i:08x}-0000-0000-0000-0000000000e1"


def cli(env: dict[str, str], *args: str, stdin: bytes | None = None) -> tuple[int, str]:
    r = subprocess.run([*CLI, *args], env=env, input=stdin, capture_output=True, timeout=60)
    return r.returncode, r.stderr.decode("utf-8", "replace")


def cli_process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60)


def assert_usage_error(code: int, stderr: str, *words: str) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("cognitosync-async: error: "), stderr
    for word in words:
        assert word in lines[0], stderr

def where() -> list[str]:
    return ["--identity-pool-id", POOL, "--identity-id", IDENT, "--dataset", "d"]


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
    r = cli_process(env, "import", "--endpoint-url", svc.endpoint_url, "-i", str(data), *args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and word in r.stderr

@pytest.mark.parametrize(
    ("args", "word"),
    [(["--throttle-rate", "nan"], "--throttle-rate"), (["--throttle-rate", "0"], "--throttle-rate"),
     (["--identities", "0"], "--identities")],
)
def test_cli_bad_demo_options_exit_2(env: dict[str, str], args: list[str], word: str) -> None:
    r = cli_process(env, "demo", *args)
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
