"""The demo's migration part: mirror, old apps change a few records, mirror again, verify."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cognitosync_async.cli.demo import APP_CHANGES, run_demo


async def test_demo_mirrors_remirrors_cheaply_and_verifies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "e.jsonl"
    (tmp_path / "e.mirror.sqlite3").write_text("a previous demo's copy")  # replaced
    code = await run_demo(identities=12, throttle_rate=1000.0, output=str(out), as_json=True)
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"] is True, report
    first, second = report["mirror_first"], report["mirror_second"]
    assert first["identities"] == 12 and first["datasets"] == 24 == first["datasets_changed"]
    assert first["failed"] == 0
    # the rerun: one ListDatasets an identity, one ListRecords a changed dataset
    assert second["datasets_changed"] == APP_CHANGES == report["app_changes"]
    assert second["calls"] == 12 + APP_CHANGES
    assert second["records_written"] == 2 * APP_CHANGES  # theme changed, nickname removed
    assert report["verify"]["identical"] is True and report["verify"]["datasets"] == 24
    path = Path(report["mirror_path"])
    assert path == tmp_path / "e.mirror.sqlite3"
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM datasets WHERE deleted=0").fetchone()[0] == 24
        assert conn.execute("SELECT COUNT(*) FROM records WHERE key='nickname' AND deleted=1"
                            ).fetchone()[0] == APP_CHANGES
    finally:
        conn.close()


async def test_demo_text_shows_the_migration(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = await run_demo(identities=6, throttle_rate=1000.0, output=str(tmp_path / "e.jsonl"))
    text = capsys.readouterr().out
    assert code == 0, text
    assert "mirrored  12 datasets" in text
    assert f"re-mirror {APP_CHANGES} changed datasets copied with {6 + APP_CHANGES} calls" in text
    assert "verify    identical: 12 datasets" in text
