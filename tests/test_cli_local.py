"""The local service's commands on ``cognitosync-async``: every ``serve`` fault option
against a real ``serve`` subprocess, and ``seed-pool`` / ``seed-identity`` on its
``--db`` file."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _cli import CLI

from cognitosync_async import CognitoSyncClient, CognitoSyncError, ResourceNotFoundException
from cognitosync_async._credentials import Credentials

POOL = "us-east-1:00000000-0000-4000-8000-0000000005e1"
IDENT = "us-east-1:00000001-0000-4000-8000-0000000005e1"
WHERE = ["--identity-pool-id", POOL, "--identity-id", IDENT, "--dataset", "d"]


class Served:
    def __init__(self, proc: subprocess.Popen[str], info: dict[str, Any], tmp: Path) -> None:
        self.proc, self.info, self.tmp = proc, info, tmp

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.info["access_key_id"],
            "AWS_SECRET_ACCESS_KEY": self.info["secret_access_key"],
            "AWS_REGION": self.info["region"],
            "AWS_SHARED_CREDENTIALS_FILE": str(self.tmp / "none"),
            "AWS_CONFIG_FILE": str(self.tmp / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        import os

        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return subprocess.run(
            [*CLI, args[0], "--endpoint-url", self.info["endpoint_url"], "--max-attempts", "1",
             *args[1:]],
            env={**env, **self.env()}, capture_output=True, text=True, timeout=60,
        )

    def client(self, **options: Any) -> CognitoSyncClient:
        return CognitoSyncClient(
            self.info["region"], endpoint_url=self.info["endpoint_url"], max_attempts=1,
            credentials=Credentials(self.info["access_key_id"], self.info["secret_access_key"]),
            **options,
        )


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[str]] = []

    def start(*options: str) -> Served:
        proc = subprocess.Popen([*CLI, "serve", "--port", "0", "--json", *options],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.communicate(timeout=10)
        return Served(proc, json.loads(line), tmp_path)

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
        assert proc.returncode == 0


def test_error_rate_answers_500(serve: Any) -> None:
    served = serve("--error-rate", "1")
    assert served.info["faults"]["error_rate"] == 1.0
    r = served.cli("get", *WHERE)
    assert r.returncode == 1 and "InternalErrorException" in r.stderr, r.stderr


def test_drop_rate_resets_connections(serve: Any) -> None:
    served = serve("--drop-rate", "1", "--fault-seed", "7")
    assert served.info["faults"]["drop_rate"] == 1.0
    r = served.cli("get", *WHERE)
    assert r.returncode == 1, r.stderr
    assert "InternalErrorException" not in r.stderr and "Traceback" not in r.stderr


async def test_latency_delays_every_answer(serve: Any) -> None:
    served = await asyncio.to_thread(serve, "--latency", "4")
    assert served.info["faults"]["latency"] == 4.0
    # an answer 4 s late cannot beat a 0.5 s deadline; without the latency it would
    async with served.client(timeout=0.5) as client:
        with pytest.raises(CognitoSyncError, match="(?i)time"):
            await client.list_datasets(identity_pool_id=POOL, identity_id=IDENT)


def test_fault_script_answers_the_next_requests_in_order(serve: Any, tmp_path: Path) -> None:
    script = tmp_path / "faults.txt"
    script.write_text("# the next three answers\nConcurrentModificationException\n\n"
                      "503  # unavailable\nok\n")
    served = serve("--fault-script", str(script))
    assert served.info["faults"]["script"] == ["ConcurrentModificationException", 503, "ok"]
    first, second, third, fourth = (served.cli("get", *WHERE) for _ in range(4))
    assert first.returncode == 1 and "ConcurrentModificationException" in first.stderr
    assert second.returncode == 1 and "ServiceUnavailableException" in second.stderr
    assert (third.returncode, fourth.returncode) == (0, 0), third.stderr + fourth.stderr


@pytest.mark.parametrize(
    ("options", "content", "word"),
    [(["--error-rate", "1.5"], None, "--error-rate"),
     (["--drop-rate", "-0.1"], None, "--drop-rate"),
     (["--latency", "-1"], None, "--latency"),
     (["--fault-script"], "429\nsometimes\n", "line 2"),
     (["--fault-script"], "200\n", "line 1"),
     (["--fault-script", "/nonexistent/faults.txt"], None, "cannot read")],
)
def test_bad_fault_options_exit_2(
    tmp_path: Path, options: list[str], content: str | None, word: str
) -> None:
    if content is not None:
        (tmp_path / "script").write_text(content)
        options = [*options, str(tmp_path / "script")]
    r = subprocess.run([*CLI, "serve", "--port", "0", *options], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and word in r.stderr and "Traceback" not in r.stderr, r.stderr


async def test_seed_pool_and_seed_identity_on_a_strict_service(
    serve: Any, tmp_path: Path
) -> None:
    db = tmp_path / "strict.sqlite3"
    served = await asyncio.to_thread(serve, "--strict", "--db", str(db))

    def admin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args, "--db", str(db), "--identity-pool-id", POOL],
                              capture_output=True, text=True, timeout=60)

    async with served.client() as client:
        with pytest.raises(ResourceNotFoundException):
            await client.describe_identity_pool_usage(identity_pool_id=POOL)
        r = await asyncio.to_thread(admin, "seed-pool")
        assert r.returncode == 0 and r.stdout == "", r.stderr
        await client.describe_identity_pool_usage(identity_pool_id=POOL)
        with pytest.raises(ResourceNotFoundException):
            await client.list_datasets(identity_pool_id=POOL, identity_id=IDENT)
        r = await asyncio.to_thread(admin, "seed-identity", "--identity-id", IDENT)
        assert r.returncode == 0, r.stderr
        page = await client.list_datasets(identity_pool_id=POOL, identity_id=IDENT)
        assert page.datasets == []


def test_local_module_is_an_alias_of_the_same_parser() -> None:
    import sys

    r = subprocess.run([sys.executable, "-m", "cognitosync_async.local", "seed-pool", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("usage: cognitosync-async seed-pool")
