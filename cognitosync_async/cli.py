"""``cognitosync-async``: the command line.

Exit codes (stable, for scripts)::

    0    success
    1    service or network error (or some items of an export/import failed)
    2    usage error: bad arguments or option values, invalid parameters, no region
         or credentials, an unreadable or non-UTF-8 input file, or a checkpoint of
         another job (or not a checkpoint at all)
    3    conflict: a put/import still conflicted after its last round
    130  interrupted (Ctrl+C); an export/import with --checkpoint resumes when re-run

Credentials come from the standard chain (environment, shared credentials
and config files); ``--profile`` selects a profile of the shared files and
then takes precedence over ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
as in the AWS CLI. ``demo`` needs none: it runs the local service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import IO, Any

from ._client import CognitoSyncClient
from ._credential_chain import DefaultCredentialsProvider
from ._dataset import SyncConflictError
from ._exceptions import (
    CognitoSyncError,
    InvalidConfigError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ProfileNotFound,
    ResourceConflictException,
)
from ._export import (
    CheckpointMismatch,
    Progress,
    Summary,
    dataset_json,
    identities_from,
    identities_of_pool,
    record_json,
    run_export,
    run_import,
)
from ._version import __version__

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONFLICT = 3
EXIT_INTERRUPTED = 130

PROG = "cognitosync-async"
DELEGATED = {
    "serve": "run the local Cognito Sync service (see 'serve --help')",
    "mint-credentials": "mint identity credentials on a 'serve --db' file "
    "(credential_process JSON)",
}

EPILOG = """\
datasets, records, get, put, delete, export, import, mirror and verify take --endpoint-url,
--region, --profile, --max-attempts and --json; demo takes --json (it runs its
own local service); serve and mint-credentials take the options of the local
service's command line: run 'cognitosync-async serve --help' or
'cognitosync-async mint-credentials --help'.

exit codes: 0 ok, 1 service/network error (or some items failed), 2 usage error,
3 conflict, 130 interrupted.
"""


class UsageError(Exception):
    """A problem with the command line or its inputs (exit code 2)."""


# ---------------------------------------------------------------------- parser


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection")
    g.add_argument("--endpoint-url", help="service URL (e.g. http://127.0.0.1:8910, the local one)")
    g.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, or "
                   "the profile's region in the shared config file)")
    g.add_argument("--profile", help="profile of the shared credentials/config files (its keys "
                   "take precedence over AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    g.add_argument("--max-attempts", type=int, default=None,
                   help="attempts per call (default: AWS_MAX_ATTEMPTS, the profile's, or 5)")
    p.add_argument("--json", action="store_true",
                   help="machine-readable JSON output (export/import: the summary)")
    return p


def _identity(p: argparse.ArgumentParser, dataset: bool) -> None:
    p.add_argument("--identity-pool-id", required=True)
    p.add_argument("--identity-id", required=True)
    if dataset:
        p.add_argument("--dataset", required=True, help="dataset name")


def _policy(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--on-conflict",
        choices=("overwrite", "keep_remote"),
        default="overwrite",
        help="when another writer changed a key meanwhile: our value wins (overwrite, "
        "default) or theirs stays (keep_remote)",
    )


def _bulk(p: argparse.ArgumentParser) -> None:
    p.add_argument("--concurrency", type=int, default=8, help="identities at once (default 8)")
    p.add_argument("--rate", type=float, default=None, help="cap on items started a second")
    p.add_argument("--checkpoint", metavar="FILE",
                   help="checkpoint file: re-run the same command to resume (export: needs "
                   "--output)")
    p.add_argument("--quiet", action="store_true", help="no progress line")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Amazon Cognito Sync from the command line (and a local service to try it).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common()

    p = sub.add_parser("datasets", parents=[common], help="list an identity's datasets")
    _identity(p, dataset=False)

    p = sub.add_parser(
        "records", parents=[common], help="list a dataset's records, tombstones included"
    )
    _identity(p, dataset=True)
    p.add_argument("--since", type=int, default=None, help="only records after this sync count")

    p = sub.add_parser("get", parents=[common], help="a dataset's live values")
    _identity(p, dataset=True)

    p = sub.add_parser("put", parents=[common], help="set and remove keys of a dataset")
    _identity(p, dataset=True)
    p.add_argument("pairs", nargs="*", metavar="KEY=VALUE", help="set KEY to VALUE")
    p.add_argument("--set", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                   help="set KEY to VALUE (for keys containing '=')")
    p.add_argument("--remove", action="append", default=[], metavar="KEY", help="remove KEY")
    p.add_argument("--max-rounds", type=int, default=5, help="conflict rounds (default 5)")
    _policy(p)

    p = sub.add_parser("delete", parents=[common], help="delete a dataset")
    _identity(p, dataset=True)

    p = sub.add_parser(
        "export", parents=[common], help="export identities' datasets to JSON Lines",
        description="Export every dataset of the given identities, one JSON object per "
        "dataset per line. Identities come from --identities FILE (or - for stdin), one "
        "per line; without it, the pool's identities are enumerated through Cognito "
        "Identity. With --checkpoint, an interrupted export resumes where it stopped when "
        "the same command is run again, with every dataset exactly once in the output.",
    )
    p.add_argument("--identity-pool-id", required=True)
    p.add_argument("--identities", metavar="FILE", help="identity ids, one a line ('-': stdin)")
    p.add_argument("--identity-endpoint-url",
                   help="Cognito Identity URL for enumerating the pool (default: --endpoint-url)")
    p.add_argument("--output", "-o", metavar="FILE", help="JSON Lines output (default: stdout)")
    _bulk(p)

    p = sub.add_parser(
        "import", parents=[common], help="import JSON Lines (an export) into a pool",
        description="Write each line's records back with the conflict policy of put "
        "(removed records, value null, are removed). With --checkpoint, an interrupted "
        "import resumes when the same command is run again.",
    )
    p.add_argument("--input", "-i", metavar="FILE", default="-", help="JSON Lines ('-': stdin)")
    p.add_argument("--identity-pool-id", help="write into this pool instead of each line's")
    _policy(p)
    _bulk(p)

    p = sub.add_parser(
        "demo", help="play a realistic job against a local service (no setup needed)",
        description="Starts the local service in-process on a temporary SQLite file "
        "(removed at the end), with throttling on, and runs a job: concurrent writes for a "
        "few hundred identities, paging them back, a conflict resolved, an export to JSON "
        "Lines (kept), and a report. Needs no credentials, region or endpoint.",
    )
    p.add_argument("--identities", type=int, default=200, help="identities to write (200)")
    p.add_argument("--concurrency", type=int, default=32,
                   help="identities written, read and exported at once (32)")
    p.add_argument("--throttle-rate", type=float, default=250.0,
                   help="the local service's requests/s before it answers 429 (250)")
    p.add_argument("--output", "-o", metavar="FILE", help="where the export goes (default: a "
                   "new temporary directory)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    _mirror_parsers(sub, common)

    for name, text in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)
    return parser


def _mirror_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """``mirror`` and ``verify`` (cognitosync_async.mirror)."""
    targets = "sqlite:PATH (created if missing) or dynamodb:TABLE (the dynamodb extra)"
    p = sub.add_parser(
        "mirror", parents=[common], help="copy a pool into a target, then keep it current",
        description="Make TARGET equal to the pool as read in this run: the first run copies "
        "everything, later runs read only datasets that changed (from the target's cursor). "
        "Stopped at any point, the same command converges when run again. Identities come "
        "from --identities or Cognito Identity ListIdentities; --shard K/N mirrors only "
        "shard K of N (run N at once, e.g. a job array).",
    )
    _mirror_common(p, targets)
    p.add_argument("--create-table", action="store_true",
                   help="dynamodb: create the table (on-demand billing) if missing")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (this process, default) or ray (--shards actors on a cluster)")
    p.add_argument("--shards", type=int, default=None, help="ray: number of shards")
    p.add_argument("--ray-address", help="ray: cluster address (default: a local one)")
    p.add_argument("--concurrency", type=int, default=8, help="identities at once (default 8)")
    p.add_argument("--rate", type=float, default=None,
                   help="cap on calls this process starts a second (divide a pool's budget "
                   "by the number of shards running at once)")
    p.add_argument("--quiet", action="store_true", help="no progress line")

    p = sub.add_parser(
        "verify", parents=[common], help="compare a pool with its mirror (exit 1 on a difference)",
        description="Read both sides afresh (the source from sync count 0) and compare every "
        "dataset's records (key, value or tombstone, sync count) and dataset sync counts. "
        "Exit 0 when identical, 1 with the first differences listed and counted.",
    )
    _mirror_common(p, targets)
    p.add_argument("--concurrency", type=int, default=8, help="identities at once (default 8)")
    p.add_argument("--rate", type=float, default=None, help="cap on calls started a second")


def _mirror_common(p: argparse.ArgumentParser, targets: str) -> None:
    p.add_argument("--identity-pool-id", required=True)
    p.add_argument("--target", required=True, help=targets)
    p.add_argument("--identities", metavar="FILE", help="identity ids, one a line ('-': stdin)")
    p.add_argument("--identity-endpoint-url",
                   help="Cognito Identity URL for enumerating the pool (default: --endpoint-url)")
    p.add_argument("--shard", metavar="K/N", help="only the identities of shard K of N")


# ---------------------------------------------------------------------- helpers


def _credentials(args: argparse.Namespace) -> DefaultCredentialsProvider:
    """The default chain for ``--profile``, shared by every client of one command."""
    return DefaultCredentialsProvider(profile_name=args.profile)


def make_client(
    args: argparse.Namespace,
    *,
    adaptive: bool = False,
    credentials: DefaultCredentialsProvider | None = None,
) -> CognitoSyncClient:
    if args.max_attempts is not None and args.max_attempts < 1:
        raise UsageError("--max-attempts must be >= 1")
    return CognitoSyncClient(
        args.region,
        profile_name=args.profile,
        credentials=credentials if credentials is not None else _credentials(args),
        endpoint_url=args.endpoint_url,
        max_attempts=args.max_attempts,
        adaptive_rate_limit=adaptive,
        user_agent_extra="cli",
    )


def _check_bulk_options(args: argparse.Namespace) -> None:
    """--concurrency and --rate, refused here as usage errors."""
    if args.concurrency < 1:
        raise UsageError("--concurrency must be >= 1")
    if args.rate is not None and not (math.isfinite(args.rate) and args.rate > 0):
        raise UsageError("--rate must be a finite number > 0")


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


# ---------------------------------------------------------------------- commands


async def cmd_datasets(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        items = [
            dataset_json(d)
            async for d in client.iter_datasets(
                identity_pool_id=args.identity_pool_id, identity_id=args.identity_id
            )
        ]
    if args.json:
        _print_json(items)
    else:
        for d in items:
            print(f"{d['dataset_name']}\t{d['num_records']} records\t{d['data_storage']} bytes"
                  f"\t{d['last_modified_date']}")
    return EXIT_OK


async def cmd_records(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        pager = client.iter_records(
            identity_pool_id=args.identity_pool_id,
            identity_id=args.identity_id,
            dataset_name=args.dataset,
            last_sync_count=args.since,
        )
        records = [record_json(r) async for r in pager]
    if args.json:
        _print_json({
            "dataset_sync_count": pager.dataset_sync_count,
            "dataset_exists": pager.dataset_exists,
            "merged_dataset_names": pager.merged_dataset_names or [],
            "records": records,
        })
    else:
        for r in records:
            value = "(removed)" if r["value"] is None else r["value"]
            print(f"{r['sync_count']}\t{r['key']}\t{value}")
    return EXIT_OK


async def cmd_get(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        values = await client.dataset(
            identity_pool_id=args.identity_pool_id,
            identity_id=args.identity_id,
            dataset_name=args.dataset,
        ).get()
    if args.json:
        _print_json(values)
    else:
        for key, value in values.items():
            print(f"{key}={value}")
    return EXIT_OK


def _put_values(args: argparse.Namespace) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for pair in args.pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, got {pair!r}")
        values[key] = value
    for key, value in args.set:
        values[key] = value
    for key in args.remove:
        if key in values:
            raise UsageError(f"key {key!r} is both set and removed")
        values[key] = None
    if not values:
        raise UsageError("nothing to put: give KEY=VALUE pairs, --set or --remove")
    return values


async def cmd_put(args: argparse.Namespace) -> int:
    values = _put_values(args)
    async with make_client(args) as client:
        result = await client.dataset(
            identity_pool_id=args.identity_pool_id,
            identity_id=args.identity_id,
            dataset_name=args.dataset,
        ).put(values, on_conflict=args.on_conflict, max_rounds=args.max_rounds)
    written = [r.key for r in result.records]
    if args.json:
        _print_json({
            "written": written,
            "unchanged": sorted(set(values) - set(written)),
            "dataset_sync_count": result.dataset_sync_count,
            "rounds": result.rounds,
            "conflicts": result.conflicts,
        })
    else:
        print(f"wrote {len(written)} record(s), {len(values) - len(written)} unchanged; "
              f"dataset sync count {result.dataset_sync_count}"
              + (f"; conflicts resolved on: {', '.join(result.conflicts)}"
                 if result.conflicts else ""))
    return EXIT_OK


async def cmd_delete(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        resp = await client.dataset(
            identity_pool_id=args.identity_pool_id,
            identity_id=args.identity_id,
            dataset_name=args.dataset,
        ).delete()
    if args.json:
        _print_json(dataset_json(resp.dataset) if resp.dataset else {})
    else:
        print(f"deleted dataset {args.dataset}")
    return EXIT_OK


def _open_input(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


def _input_name(path: str) -> str:
    return os.path.abspath(path) if path != "-" else "-"


def _count_lines(path: str) -> int | None:
    if path == "-":
        return None
    with open(path, encoding="utf-8") as f:
        return sum(1 for line in f if line.strip() and not line.lstrip().startswith("#"))


def _report(summary: Summary, args: argparse.Namespace, to_stdout: bool) -> None:
    stream = sys.stdout if to_stdout else sys.stderr
    if args.json:
        print(json.dumps(summary.as_dict()), file=stream)
    else:
        print(summary.text(), file=stream)


def _bulk_exit(summary: Summary) -> int:
    if summary.failed == 0:
        return EXIT_OK
    return EXIT_CONFLICT if summary.conflicts == summary.failed else EXIT_ERROR


async def cmd_export(args: argparse.Namespace) -> int:
    _check_bulk_options(args)
    if args.checkpoint and not args.output:
        raise UsageError("--checkpoint needs --output FILE")
    source: IO[str] | None = None
    total: int | None = None
    if args.identities is not None:
        source = _open_input(args.identities)
        if args.identities != "-":
            total = await asyncio.to_thread(_count_lines, args.identities)
    summary = Summary("export")
    to_stdout = bool(args.output)
    progress = Progress("export", total, sys.stderr.isatty() and not args.quiet)
    credentials = _credentials(args)
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
            try:
                await run_export(
                    client,
                    identity_pool_id=args.identity_pool_id,
                    identities=identities,
                    output=args.output,
                    checkpoint=args.checkpoint,
                    concurrency=args.concurrency,
                    rate=args.rate,
                    progress=progress,
                    summary=summary,
                )
            except (KeyboardInterrupt, asyncio.CancelledError):
                summary.interrupted = True
                _report(summary, args, to_stdout)
                raise
    finally:
        if source is not None and source is not sys.stdin:
            source.close()
    _report(summary, args, to_stdout)
    return _bulk_exit(summary)


async def cmd_import(args: argparse.Namespace) -> int:
    _check_bulk_options(args)
    source = _open_input(args.input)
    total = await asyncio.to_thread(_count_lines, args.input)
    summary = Summary("import")
    progress = Progress("import", total, sys.stderr.isatty() and not args.quiet)
    try:
        async with make_client(args, adaptive=True) as client:
            try:
                await run_import(
                    client,
                    source=source,
                    input_name=_input_name(args.input),
                    checkpoint=args.checkpoint,
                    identity_pool_id=args.identity_pool_id,
                    on_conflict=args.on_conflict,
                    concurrency=args.concurrency,
                    rate=args.rate,
                    progress=progress,
                    summary=summary,
                )
            except (KeyboardInterrupt, asyncio.CancelledError):
                summary.interrupted = True
                _report(summary, args, True)
                raise
    finally:
        if source is not sys.stdin:
            source.close()
    _report(summary, args, True)
    return _bulk_exit(summary)


async def cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    if args.identities < 1:
        raise UsageError("--identities must be >= 1")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be >= 1")
    if not (math.isfinite(args.throttle_rate) and args.throttle_rate > 0):
        raise UsageError("--throttle-rate must be a finite number > 0")
    return await run_demo(
        identities=args.identities,
        concurrency=args.concurrency,
        throttle_rate=args.throttle_rate,
        output=args.output,
        as_json=args.json,
    )


def _mirror_inputs(args: argparse.Namespace) -> tuple[Any, Any, IO[str] | None]:
    """Shard, target (not opened) and identities file, each checked before anything
    is written or sent: a bad one is a usage error (exit 2)."""
    from .mirror import Shard, TargetError, make_target

    _check_bulk_options(args)
    try:
        shard = Shard.parse(args.shard) if args.shard is not None else None
        target = make_target(args.target, create_table=getattr(args, "create_table", False))
    except (ParamValidationError, TargetError) as exc:
        raise UsageError(str(exc)) from None
    source = _open_input(args.identities) if args.identities is not None else None
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
    from .mirror import TargetError

    try:
        await target.open()
    except TargetError as exc:
        raise UsageError(str(exc)) from None


async def cmd_mirror(args: argparse.Namespace) -> int:
    from .mirror import MirrorSummary, mirror

    if args.engine == "ray":
        return await _mirror_on_ray(args)
    if args.shards is not None or args.ray_address is not None:
        raise UsageError("--shards and --ray-address go with --engine ray "
                         "(with --engine local, run one process per --shard K/N)")
    shard, target, source = _mirror_inputs(args)
    summary = MirrorSummary()
    total = None
    if source is not None and args.identities != "-" and shard is None:
        total = await asyncio.to_thread(_count_lines, args.identities)
    progress = Progress("mirror", total, sys.stderr.isatty() and not args.quiet)
    credentials = _credentials(args)
    try:
        client = make_client(args, adaptive=True, credentials=credentials)
        await _open_target(target)
        try:
            async with client:
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
        finally:
            await target.close()
    finally:
        if source is not None and source is not sys.stdin:
            source.close()
    _report_mirror(summary, args)
    return EXIT_OK if summary.failed == 0 else EXIT_ERROR


async def _mirror_on_ray(args: argparse.Namespace) -> int:
    """``mirror --engine ray --shards N``: the shards as Ray actors (the 'ray' extra)."""
    from .mirror import MirrorSummary

    if args.shards is None or args.shards < 1:
        raise UsageError("--engine ray needs --shards N (N >= 1)")
    if args.shard is not None:
        raise UsageError("--shard K/N goes with --engine local (--engine ray runs all "
                         "--shards N)")
    try:
        from .mirror.ray import ClientOptions, mirror_on_ray
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "ray":
            raise
        raise UsageError("--engine ray needs the 'ray' extra: pip install "
                         "'cognitosync-async[ray]'") from None
    if args.max_attempts < 1:
        raise UsageError("--max-attempts must be >= 1")
    _, target, source = _mirror_inputs(args)
    region = _region(args)
    await _open_target(target)  # the layout checked (or the table created) once, here
    await target.close()
    total = None
    if source is not None and args.identities != "-":
        total = await asyncio.to_thread(_count_lines, args.identities)
    identities = identities_from(source) if source is not None else identities_of_pool(
        args.identity_pool_id, region=region, credentials=_credentials(args),
        endpoint_url=args.identity_endpoint_url or args.endpoint_url)
    summary = MirrorSummary()
    try:
        await mirror_on_ray(
            ClientOptions(region, endpoint_url=args.endpoint_url,
                          max_attempts=args.max_attempts, profile=args.profile),
            identity_pool_id=args.identity_pool_id, target=args.target,
            identities=identities, shards=args.shards, address=args.ray_address,
            concurrency=args.concurrency, rate=args.rate,
            whole_pool=source is None, summary=summary,
            progress=Progress("mirror", total, sys.stderr.isatty() and not args.quiet),
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
    if args.json:
        print(json.dumps(summary.as_dict()))
        for err in summary.errors[:10]:
            print(f"failed {err['identity_id']}: {err['error']}", file=sys.stderr)
    else:
        print(summary.text())


async def cmd_verify(args: argparse.Namespace) -> int:
    from .mirror import VerifySummary, verify

    shard, target, source = _mirror_inputs(args)
    summary = VerifySummary()
    credentials = _credentials(args)
    try:
        client = make_client(args, adaptive=True, credentials=credentials)
        await _open_target(target)
        try:
            async with client:
                await verify(
                    client, identity_pool_id=args.identity_pool_id, target=target,
                    identities=await _mirror_identities(args, client, source, credentials),
                    shard=shard, concurrency=args.concurrency, rate=args.rate,
                    whole_pool=source is None, summary=summary,
                )
        finally:
            await target.close()
    finally:
        if source is not None and source is not sys.stdin:
            source.close()
    print(json.dumps(summary.as_dict()) if args.json else summary.text())
    return EXIT_OK if summary.identical else EXIT_ERROR


COMMANDS: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {
    "datasets": cmd_datasets,
    "records": cmd_records,
    "get": cmd_get,
    "put": cmd_put,
    "delete": cmd_delete,
    "export": cmd_export,
    "import": cmd_import,
    "demo": cmd_demo,
    "mirror": cmd_mirror,
    "verify": cmd_verify,
}


async def _run(args: argparse.Namespace) -> int:
    return await COMMANDS[args.command](args)


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``cognitosync-async`` entry point; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in DELEGATED:
        from .local.cli import mint_credentials_main, serve_main

        delegate = serve_main if args_list[0] == "serve" else mint_credentials_main
        try:
            return delegate(args_list[1:])
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
    args = build_parser().parse_args(args_list)
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except (UsageError, CheckpointMismatch, NoCredentialsError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    except UnicodeDecodeError as exc:  # an input file that is not UTF-8
        _error(f"input is not UTF-8 text: {exc}")
        return EXIT_USAGE
    except json.JSONDecodeError as exc:  # an input that is not JSON
        _error(f"input is not JSON: {exc}")
        return EXIT_USAGE
    except (ParamValidationError, NoRegionError, ProfileNotFound, InvalidConfigError) as exc:
        # bad option values the library refuses (max_rounds, since, endpoint_url, no
        # region: they are CognitoSyncErrors, so this comes before the -> 1 below).
        # Any other ValueError is a bug: it reaches the last handler, not exit 2.
        _error(str(exc))
        return EXIT_USAGE
    except (SyncConflictError, ResourceConflictException) as exc:
        _error(str(exc))
        return EXIT_CONFLICT
    except CognitoSyncError as exc:
        _error(str(exc))
        return EXIT_ERROR
    except OSError as exc:
        _error(str(exc))
        return EXIT_ERROR
    except Exception as exc:  # a bug: show where, exit 1
        traceback.print_exc()
        _error(f"internal error: {type(exc).__name__} (please report it)")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
