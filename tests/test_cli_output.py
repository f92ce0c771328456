"""``--output json|text|table`` of ``datasets``, ``records`` and ``get``: golden outputs
(tests/data/cli/) of small fixed data from the local service, through the real CLI
subprocess; and ``... | head -1`` through a real pipe.

The data is written through the SDK; then its dates, which the service takes from
the clock, are pinned in the service's SQLite file, so every run prints the same bytes.
Set ``CLI_GOLDEN_UPDATE=1`` to rewrite the golden files (and read the diff).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cli import CLI, cli_env

from cognitosync_async import CognitoSyncClient
from cognitosync_async.local import LocalCognitoSync

GOLDEN = Path(__file__).parent / "data" / "cli"
POOL = "us-east-1:00000000-0000-4000-8000-00000000601d"
IDENT = "us-east-1:00000001-0000-4000-8000-00000000601d"
PINNED_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
COMMANDS = {
    "datasets": ["--identity-pool-id", POOL, "--identity-id", IDENT],
    "records": ["--identity-pool-id", POOL, "--identity-id", IDENT, "--dataset", "settings"],
    "get": ["--identity-pool-id", POOL, "--identity-id", IDENT, "--dataset", "settings"],
}


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCognitoSync]:
    db = tmp_path_factory.mktemp("golden") / "sync.sqlite3"
    with LocalCognitoSync(db_path=str(db)) as service:

        async def seed() -> None:
            async with CognitoSyncClient(service.region, credentials=service.credentials,
                                         endpoint_url=service.endpoint_url) as client:
                def ds(name: str):  # type: ignore[no-untyped-def]
                    return client.dataset(identity_pool_id=POOL, identity_id=IDENT,
                                          dataset_name=name)

                await ds("settings").put({"theme": "dark", "lang": "fr", "nickname": "",
                                          "note": "two\tcells?\nno: one", "old": "x"})
                await ds("settings").put({"old": None, "lang": "français"})
                await ds("progress").put({"level": "3"})

        asyncio.run(seed())
        conn = sqlite3.connect(db)
        with conn:
            conn.execute("UPDATE datasets SET created_ms = ?, last_modified_ms = ?",
                         (PINNED_MS, PINNED_MS + 60_000))
            conn.execute("UPDATE records SET last_modified_ms = ? + sync_count * 1000, "
                         "device_last_modified_ms = ? + sync_count * 500",
                         (PINNED_MS, PINNED_MS))
        conn.close()
        yield service


def cli(svc: LocalCognitoSync, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, args[0], "--endpoint-url", svc.endpoint_url, *args[1:]],
                          env=cli_env(svc, tmp_path), capture_output=True, text=True,
                          encoding="utf-8", timeout=60)


@pytest.mark.parametrize("fmt", ["json", "text", "table", None])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_output_matches_the_golden_file(
    svc: LocalCognitoSync, tmp_path: Path, command: str, fmt: str | None
) -> None:
    extra = ["--output", fmt] if fmt else []
    r = cli(svc, tmp_path, command, *COMMANDS[command], *extra)
    assert r.returncode == 0, r.stderr
    golden = GOLDEN / f"{command}.{fmt or 'json'}"  # no --output: json, as aws prints
    if os.environ.get("CLI_GOLDEN_UPDATE") and fmt:
        golden.write_text(r.stdout, encoding="utf-8")
    assert r.stdout == golden.read_text(encoding="utf-8")


def test_json_flag_is_output_json(svc: LocalCognitoSync, tmp_path: Path) -> None:
    r = cli(svc, tmp_path, "get", *COMMANDS["get"], "--json")
    assert r.stdout == (GOLDEN / "get.json").read_text(encoding="utf-8")


def test_an_output_file_name_is_refused_with_a_hint(
    svc: LocalCognitoSync, tmp_path: Path
) -> None:
    r = cli(svc, tmp_path, "export", "--identity-pool-id", POOL, "--output", "out.jsonl")
    assert r.returncode == 2
    assert "invalid choice: 'out.jsonl'" in r.stderr and "--outfile FILE" in r.stderr


def test_records_piped_to_head_exits_quietly(svc: LocalCognitoSync, tmp_path: Path) -> None:
    """``records | head -1`` through a real pipe: more output than the pipe holds, so
    the writes after head's exit meet EPIPE; no message, and the SIGPIPE status."""
    many = "us-east-1:00000002-0000-4000-8000-00000000601d"

    async def seed() -> None:
        async with CognitoSyncClient(svc.region, credentials=svc.credentials,
                                     endpoint_url=svc.endpoint_url) as client:
            await client.dataset(identity_pool_id=POOL, identity_id=many,
                                 dataset_name="big").put(
                {f"key-{i:04d}": "v" * 200 for i in range(800)})

    asyncio.run(seed())
    read_end, write_end = os.pipe()
    head = subprocess.Popen(["head", "-1"], stdin=read_end, stdout=subprocess.PIPE)
    proc = subprocess.Popen(
        [*CLI, "records", "--endpoint-url", svc.endpoint_url, "--identity-pool-id", POOL,
         "--identity-id", many, "--dataset", "big", "--output", "text"],
        env=cli_env(svc, tmp_path), stdout=write_end, stderr=subprocess.PIPE,
    )
    os.close(read_end)  # head and the CLI hold the only ends
    os.close(write_end)
    first, _ = head.communicate(timeout=60)
    _, err = proc.communicate(timeout=60)
    assert first.startswith(b"SYNC_COUNT\tKEY\tVALUE")
    assert err == b"", err.decode()
    assert proc.returncode == 141
