"""What the bulk commands read: lines of a file or a pipe, identity ids (from a
file or a pool's Cognito Identity listing), and the input files themselves."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import IO, TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from .._credentials import Credentials, CredentialsProvider


async def lines_of(stream: IO[str]) -> AsyncIterator[tuple[int, str]]:
    """``(line number, line)``, read off the loop: from a regular file about
    64 KiB of lines a thread hop; from a pipe or terminal one line a hop, so
    each line is yielded as soon as it arrives (``readlines`` would wait for
    64 KiB or EOF)."""
    try:
        seekable = stream.seekable()
    except (OSError, ValueError):
        seekable = False
    number = 0
    while True:
        if seekable:
            batch = await asyncio.to_thread(stream.readlines, 1 << 16)
        else:
            line = await asyncio.to_thread(stream.readline)
            batch = [line] if line else []
        if not batch:
            return
        for line in batch:
            number += 1
            yield number, line


async def identities_from(stream: IO[str]) -> AsyncIterator[str]:
    """Identity ids, one a line; blank lines and ``#`` comments are skipped."""
    async for _, line in lines_of(stream):
        text = line.strip()
        if text and not text.startswith("#"):
            yield text


async def identities_of_pool(
    identity_pool_id: str,
    *,
    region: str,
    credentials: Credentials | CredentialsProvider | None,
    endpoint_url: str | None,
) -> AsyncIterator[str]:
    """Every identity of a pool, enumerated through Amazon Cognito Identity."""
    from .._identity import CognitoIdentityClient

    async with CognitoIdentityClient(
        region, credentials=credentials, endpoint_url=endpoint_url
    ) as ci:
        async for ident in ci.iter_identities(identity_pool_id=identity_pool_id):
            yield str(ident.identity_id)


def open_input(path: str) -> IO[str]:
    """``path`` opened as UTF-8 text (``-``: stdin); unreadable is a usage error."""
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


def input_name(path: str) -> str:
    return os.path.abspath(path) if path != "-" else "-"


def count_lines(path: str) -> int | None:
    """Lines that are not blank or ``#`` comments (the progress bar's total); None for stdin."""
    if path == "-":
        return None
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip() and not line.lstrip().startswith("#"))
