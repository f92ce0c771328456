"""``mirror`` and ``verify`` (the engine: :mod:`cognitosync_async.mirror`)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import IO, Any

from .._client import CognitoSyncClient
from .._credential_chain import DefaultCredentialsProvider
from .._exceptions import ParamValidationError
from .connection import check_bulk_options, credentials_of, make_client
from .errors import EXIT_ERROR, EXIT_OK, UsageError
from .inputs import count_lines, identities_from, identities_of_pool, open_input
from .output import emit_object
from .progress import Progress


def _mirror_inputs(args: argparse.Namespace) -> tuple[Any, Any, IO[str] | None]:
    """Shard, target (not opened) and identities file, each checked before anything
    is written or sent: a bad one is a usage error (exit 2)."""
    from ..mirror import Shard, TargetError, make_target

    check_bulk_options(args)
    try:
        shard = Shard.parse(args.shard) if args.shard is not None else None
        target = make_target(args.target, create_table=getattr(args, "create_table", False),
                             existing=args.command == "verify")
    except (ParamValidationError, TargetError) as exc:
        raise UsageError(str(exc)) from None
    source = open_input(args.identities) if args.identities is not None else None
    return shard, target, source


async def _mirror_identities(
    args: argparse.Namespace, client: CognitoSyncClient, source: IO[str] | None,
    credentials: DefaultCredentialsProvider,
) -> AsyncIterator[str]:
    if source is not None:
        return identities_from(source)
    return identities_of_pool(
        args.identity_pool_id, region=client.region_name, credentials=credentials,
        endpoint_url=args.identity_endpoint_url or args.endpoint_url,
    )


async def _open_target(target: Any) -> None:
    from ..mirror import TargetError

    try:
        await target.open()
    except TargetError as exc:
        raise UsageError(str(exc)) from None


@asynccontextmanager
async def _connected(
    args: argparse.Namespace, target: Any, source: IO[str] | None
) -> AsyncIterator[tuple[CognitoSyncClient, DefaultCredentialsProvider]]:
    """The client and its credentials with ``target`` open, for one mirror or verify
    run; the target, and the identities file (not stdin), closed after."""
    credentials = credentials_of(args)
    try:
        client = make_client(args, adaptive=True, credentials=credentials)
        await _open_target(target)
        try:
            async with client:
                yield client, credentials
        finally:
            await target.close()
    finally:
        if source is not None and source is not sys.stdin:
            source.close()


async def cmd_mirror(args: argparse.Namespace) -> int:
    from ..mirror import MirrorSummary, mirror

    if args.engine == "ray":
        return await _mirror_on_ray(args)
    if args.shards is not None or args.ray_address is not None:
        raise UsageError("--shards and --ray-address go with --engine ray "
                         "(with --engine local, run one process per --shard K/N)")
    shard, target, source = _mirror_inputs(args)
    summary = MirrorSummary()
    total = None
    if source is not None and args.identities != "-" and shard is None:
        total = await asyncio.to_thread(count_lines, args.identities)
    progress = Progress.on_stderr("mirror", total, args.quiet)
    async with _connected(args, target, source) as (client, credentials):
        try:
            await mirror(
                client, identity_pool_id=args.identity_pool_id, target=target,
                identities=await _mirror_identities(args, client, source, credentials),
                shard=shard, concurrency=args.concurrency, rate=args.rate,
                whole_pool=source is None, progress=progress, summary=summary,
            )
        except (KeyboardInterrupt, asyncio.CancelledError):
            summary.interrupted = True
            _report_mirror(summary, args)
            raise
    _report_mirror(summary, args)
    return EXIT_OK if summary.failed == 0 else EXIT_ERROR


async def _mirror_on_ray(args: argparse.Namespace) -> int:
    """``mirror --engine ray --shards N``: the shards as Ray actors (the 'ray' extra)."""
    from ..mirror import MirrorSummary

    if args.shards is None or args.shards < 1:
        raise UsageError("--engine ray needs --shards N (N >= 1)")
    if args.shard is not None:
        raise UsageError("--shard K/N goes with --engine local (--engine ray runs all "
                         "--shards N)")
    try:
        from ..mirror.ray import ClientOptions, mirror_on_ray
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "ray":
            raise
        raise UsageError("--engine ray needs the 'ray' extra: pip install "
                         "'cognitosync-async[ray]'") from None
    if args.max_attempts is not None and args.max_attempts < 1:
        raise UsageError("--max-attempts must be >= 1")
    _, target, source = _mirror_inputs(args)
    async with make_client(args) as probe:  # the region, as the library resolves it
        region = probe.region_name
    await _open_target(target)  # the layout checked (or the table created) once, here
    await target.close()
    total = None
    if source is not None and args.identities != "-":
        total = await asyncio.to_thread(count_lines, args.identities)
    identities = identities_from(source) if source is not None else identities_of_pool(
        args.identity_pool_id, region=region, credentials=credentials_of(args),
        endpoint_url=args.identity_endpoint_url or args.endpoint_url)
    summary = MirrorSummary()
    try:
        await mirror_on_ray(
            ClientOptions(region, endpoint_url=args.endpoint_url,
                          max_attempts=args.max_attempts or 5, profile=args.profile),
            identity_pool_id=args.identity_pool_id, target=args.target,
            identities=identities, shards=args.shards, address=args.ray_address,
            concurrency=args.concurrency, rate=args.rate,
            whole_pool=source is None, summary=summary,
            progress=Progress.on_stderr("mirror", total, args.quiet),
        )
    except (KeyboardInterrupt, asyncio.CancelledError):
        summary.interrupted = True
        _report_mirror(summary, args)
        raise
    finally:
        if source is not None and source is not sys.stdin:
            source.close()
    _report_mirror(summary, args)
    return EXIT_OK if summary.failed == 0 else EXIT_ERROR


def _report_mirror(summary: Any, args: argparse.Namespace) -> None:
    emit_object(args.output, summary.as_dict(), summary.text())
    if args.output != "text":
        for err in summary.errors[:10]:
            print(f"failed {err['identity_id']}: {err['error']}", file=sys.stderr)


async def cmd_verify(args: argparse.Namespace) -> int:
    from ..mirror import VerifySummary, verify

    shard, target, source = _mirror_inputs(args)
    summary = VerifySummary()
    async with _connected(args, target, source) as (client, credentials):
        await verify(
            client, identity_pool_id=args.identity_pool_id, target=target,
            identities=await _mirror_identities(args, client, source, credentials),
            shard=shard, concurrency=args.concurrency, rate=args.rate,
            whole_pool=source is None, summary=summary,
        )
    emit_object(args.output, summary.as_dict(), summary.text())
    return EXIT_OK if summary.identical else EXIT_ERROR
