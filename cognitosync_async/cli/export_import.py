"""The bulk jobs' commands: ``export`` and ``import`` (the engine: :mod:`.bulk`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable
from typing import IO

from .bulk import Summary, run_export, run_import
from .connection import check_bulk_options, credentials_of, make_client
from .errors import EXIT_CONFLICT, EXIT_ERROR, EXIT_OK, UsageError
from .inputs import count_lines, identities_from, identities_of_pool, input_name, open_input
from .output import emit_object
from .progress import Progress


def _report(summary: Summary, args: argparse.Namespace, to_stdout: bool) -> None:
    stream = sys.stdout if to_stdout else sys.stderr
    emit_object(args.output, summary.as_dict(), summary.text(), stream)


async def _reporting_interruption(
    job: Awaitable[object], summary: Summary, args: argparse.Namespace, to_stdout: bool
) -> None:
    """Await ``job``; interrupted (Ctrl-C, cancelled), report the summary so far (marked
    interrupted) before letting the interruption through."""
    try:
        await job
    except (KeyboardInterrupt, asyncio.CancelledError):
        summary.interrupted = True
        _report(summary, args, to_stdout)
        raise


def _bulk_exit(summary: Summary) -> int:
    if summary.failed == 0:
        return EXIT_OK
    return EXIT_CONFLICT if summary.conflicts == summary.failed else EXIT_ERROR


async def cmd_export(args: argparse.Namespace) -> int:
    check_bulk_options(args)
    if args.checkpoint and not args.outfile:
        raise UsageError("--checkpoint needs --outfile FILE")
    source: IO[str] | None = None
    total: int | None = None
    if args.identities is not None:
        source = open_input(args.identities)
        if args.identities != "-":
            total = await asyncio.to_thread(count_lines, args.identities)
    summary = Summary("export")
    to_stdout = bool(args.outfile)
    progress = Progress.on_stderr("export", total, args.quiet)
    credentials = credentials_of(args)
    client = make_client(args, adaptive=True, credentials=credentials)
    try:
        async with client:
            identities: AsyncIterator[str]
            if source is not None:
                identities = identities_from(source)
            else:
                identities = identities_of_pool(
                    args.identity_pool_id,
                    region=client.region_name,
                    credentials=credentials,
                    endpoint_url=args.identity_endpoint_url or args.endpoint_url,
                )
            job = run_export(
                client,
                identity_pool_id=args.identity_pool_id,
                identities=identities,
                output=args.outfile,
                checkpoint=args.checkpoint,
                concurrency=args.concurrency,
                rate=args.rate,
                progress=progress,
                summary=summary,
            )
            await _reporting_interruption(job, summary, args, to_stdout)
    finally:
        if source is not None and source is not sys.stdin:
            source.close()
    _report(summary, args, to_stdout)
    return _bulk_exit(summary)


async def cmd_import(args: argparse.Namespace) -> int:
    check_bulk_options(args)
    source = open_input(args.input)
    total = await asyncio.to_thread(count_lines, args.input)
    summary = Summary("import")
    progress = Progress.on_stderr("import", total, args.quiet)
    try:
        async with make_client(args, adaptive=True) as client:
            job = run_import(
                client,
                source=source,
                input_name=input_name(args.input),
                checkpoint=args.checkpoint,
                identity_pool_id=args.identity_pool_id,
                on_conflict=args.on_conflict,
                concurrency=args.concurrency,
                rate=args.rate,
                progress=progress,
                summary=summary,
            )
            await _reporting_interruption(job, summary, args, True)
    finally:
        if source is not sys.stdin:
            source.close()
    _report(summary, args, True)
    return _bulk_exit(summary)
