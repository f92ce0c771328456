"""Each command's help is its own (it names only options that command takes), the
progress bar on a terminal (a pty) and off it, and shell completion from the parser."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support.cli import CLI, cli_env, run_on_a_terminal

from cognitosync_async.cli import build_parser
from cognitosync_async.cli.parser import DATA_COMMANDS, JOB_COMMANDS, LOCAL_COMMANDS
from cognitosync_async.cli.progress import render
from cognitosync_async.local import LocalCognitoSync

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def subparsers() -> dict[str, argparse.ArgumentParser]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_every_command_is_registered_on_one_parser() -> None:
    assert set(subparsers()) == {*DATA_COMMANDS, *JOB_COMMANDS, *LOCAL_COMMANDS}


@pytest.mark.parametrize("command", sorted(subparsers()))
def test_help_names_only_the_commands_own_options(command: str) -> None:
    parser = subparsers()[command]
    own = {s for a in parser._actions for s in a.option_strings}
    text = parser.format_help()
    named = set(OPTION.findall(text))
    assert named <= own, f"{command} --help names {sorted(named - own)}"
    for action in parser._actions:  # and every option has a help text of its own
        if action.option_strings and action.dest != "help":
            assert action.help, f"{command} {action.option_strings[0]} has no help"


def test_shared_options_say_what_they_do_in_each_command() -> None:
    helps: dict[str, dict[str, Any]] = {name: {a.option_strings[0][2:]: a.help for a in p._actions
              if a.option_strings} for name, p in subparsers().items()}
    assert "--outfile" in helps["export"]["checkpoint"]
    assert "applied" in helps["import"]["checkpoint"]
    concurrency = {helps[c]["concurrency"] for c in ("export", "import", "mirror", "verify")}
    assert len(concurrency) == 4
    assert helps["get"]["output"] != helps["datasets"]["output"]


def test_progress_line_has_total_percent_rate_and_eta() -> None:
    assert render("export", 31, 100, 2.5, extra="identities, 41 datasets") == (
        "export [#########.....................] 31/100  31% 12.4/s ETA 0:00:06 "
        "identities, 41 datasets")
    assert render("import", 0, 10, 0.0) == (
        "import [..............................] 0/10   0% 0.0/s ETA -:--:--")
    assert render("export", 7, None, 3700.0, failed=2) == (
        "export 7 done 0.0/s 1:01:40, 2 failed")


def test_export_progress_on_a_terminal_and_not_on_a_pipe(tmp_path: Path) -> None:
    pool = "us-east-1:00000000-0000-4000-8000-0000000000b7"
    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"us-east-1:{i:08x}-0000-4000-8000-0000000000b7\n" for i in range(3)))
    with LocalCognitoSync() as svc:
        args = [*CLI, "export", "--endpoint-url", svc.endpoint_url, "--identity-pool-id", pool,
                "--identities", str(ids), "--outfile", str(tmp_path / "out.jsonl")]
        r, text = run_on_a_terminal(args, cli_env(svc, tmp_path))
        assert r.returncode == 0
        assert "export [" in text and "3/3 100%" in text and "/s ETA " in text, text
        piped = subprocess.run(args, env=cli_env(svc, tmp_path), capture_output=True,
                               text=True, timeout=60)
        assert piped.returncode == 0 and piped.stderr == ""


def test_shell_completion_script_from_the_parser() -> None:
    """The documented way: shtab (the 'completion' extra) writes a script from
    ``cognitosync_async.cli.build_parser``."""
    pytest.importorskip("shtab")
    shtab = shutil.which("shtab")
    assert shtab is not None
    r = subprocess.run([shtab, "--shell=bash", "cognitosync_async.cli.build_parser"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for word in ("seed-identity", "--fault-script", "--outfile", "json text table"):
        assert word in r.stdout, word
