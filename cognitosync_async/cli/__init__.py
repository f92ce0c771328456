"""``cognitosync-async``: the command line.

Exit codes (stable, for scripts)::

    0    success
    1    service or network error (or some items of an export/import failed)
    2    usage error: bad arguments or option values, invalid parameters, no region
         or credentials, an unreadable or non-UTF-8 input file, or a checkpoint of
         another job (or not a checkpoint at all)
    3    conflict: a put/import still conflicted after its last round
    130  interrupted (Ctrl+C); an export/import with --checkpoint resumes when re-run
    141  stdout closed before all was written (``... | head -1``): quiet, the status
         a shell shows for a Unix tool ended by SIGPIPE

Credentials come from the standard chain (environment, shared credentials
and config files); ``--profile`` selects a profile of the shared files and
then takes precedence over ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
as in the AWS CLI. ``demo`` and the local service's commands need none.

The package: :mod:`.parser` (every command's options and help), :mod:`.data`
(datasets, records, get, put, delete), :mod:`.export_import` and :mod:`.bulk`
(the bulk jobs and their engine), :mod:`.checkpoint`, :mod:`.mirror` (mirror,
verify), :mod:`.local` (serve, mint-credentials, seed-pool, seed-identity),
:mod:`.demo`, :mod:`.output` (``--output json|text|table``), :mod:`.progress`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence

from .._dataset import SyncConflictError
from .._exceptions import (
    CognitoSyncError,
    InvalidConfigError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ProfileNotFound,
    ResourceConflictException,
)
from .checkpoint import CheckpointMismatch
from .data import cmd_datasets, cmd_delete, cmd_get, cmd_put, cmd_records
from .errors import (
    EXIT_CONFLICT,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PIPE,
    EXIT_USAGE,
    UsageError,
)
from .export_import import cmd_export, cmd_import
from .mirror import cmd_mirror, cmd_verify
from .parser import PROG, build_parser

__all__ = ["COMMANDS", "EXIT_OK", "UsageError", "build_parser", "main"]


async def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

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
        output=args.outfile,
        output_format=args.output,
    )


# the local service's commands load the service (aiohttp.web) only when run
async def cmd_serve(args: argparse.Namespace) -> int:
    from .local import cmd_serve as serve

    return await serve(args)


async def cmd_mint_credentials(args: argparse.Namespace) -> int:
    from .local import cmd_mint_credentials as mint

    return await mint(args)


async def cmd_seed_pool(args: argparse.Namespace) -> int:
    from .local import cmd_seed_pool as seed

    return await seed(args)


async def cmd_seed_identity(args: argparse.Namespace) -> int:
    from .local import cmd_seed_identity as seed

    return await seed(args)


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
    "serve": cmd_serve,
    "mint-credentials": cmd_mint_credentials,
    "seed-pool": cmd_seed_pool,
    "seed-identity": cmd_seed_identity,
}


async def _run(args: argparse.Namespace) -> int:
    code = await COMMANDS[args.command](args)
    sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    return code


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _stdout_gone() -> None:
    """The reader of stdout went away (``| head``): point stdout at /dev/null so
    that nothing more, not even the interpreter's last flush, reports it."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (in-process use)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """The ``cognitosync-async`` entry point; returns the exit code."""
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _stdout_gone()
        return EXIT_PIPE
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
