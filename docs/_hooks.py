"""MkDocs hook: the CLI reference is the CLI's own ``--help``, generated at build time.

A page holding the marker ``<!-- cli-help -->`` gets one section per subcommand of
``cognitosync-async`` with the text that ``cognitosync-async COMMAND --help`` prints,
so the reference cannot drift from the code.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
from typing import Any

MARKER = "<!-- cli-help -->"


def _help(argv: list[str]) -> str:
    from cognitosync_async.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main(argv)
    return out.getvalue().rstrip()


def _commands() -> list[str]:
    from cognitosync_async.cli import build_parser

    for action in build_parser()._actions:  # argparse keeps subcommands in a choices map
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    raise RuntimeError("cognitosync-async has no subcommands")


def cli_reference() -> str:
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width: make it fixed
    try:
        parts = ["## cognitosync-async", "", "```text", _help(["--help"]), "```", ""]
        for command in _commands():
            parts += [f"## {command}", "", "```text", _help([command, "--help"]), "```", ""]
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, cli_reference())
    return markdown
