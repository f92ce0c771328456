"""``cognitosync-async demo``: the README's first command works, honestly.

How long it takes is reported by the demo itself, not asserted here: these
machines are shared and wall-clock time is noise (the subprocess timeouts only
bound a hang)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cognitosync_async import EndpointConnectionError, ResponseEvent
from cognitosync_async.cli.demo import run_demo
from cognitosync_async.mirror import CallCounter


def test_demo_subprocess_small_job(tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    r = subprocess.run(
        [sys.executable, "-m", "cognitosync_async.cli", "demo", "--identities", "40",
         "--throttle-rate", "150", "--outfile", str(out), "--json"],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert report["ok"] is True
    assert report["datasets_written"] == 80 and report["datasets_read"] == 80
    assert report["mismatches"] == 0 and report["failures"] == 0
    assert report["conflict"]["resolved"] is True
    assert report["throttled"] > 0 and report["retries"] >= report["throttled"]
    assert report["calls"] >= 40 * 11  # writes, reads and export: ~12 calls an identity
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 80 == report["exported_datasets"]


def test_demo_default_via_console_script(tmp_path: Path) -> None:
    """The README's first command, as is: no options, exit 0."""
    script = Path(sys.executable).parent / "cognitosync-async"
    r = subprocess.run([str(script), "demo"], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "wrote     400 datasets for 200 identities" in r.stdout
    assert "result    OK" in r.stdout


async def test_demo_text_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = await run_demo(identities=10, throttle_rate=1000.0,
                          output=str(tmp_path / "e.jsonl"))
    text = capsys.readouterr().out
    assert code == 0, text
    assert "wrote     20 datasets for 10 identities" in text
    assert "every value as written" in text and "result    OK" in text
    assert str(tmp_path / "e.jsonl") in text


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
