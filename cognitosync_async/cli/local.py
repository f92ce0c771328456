"""The local service's commands: ``serve``, ``mint-credentials``, ``seed-pool``,
``seed-identity``.

``serve`` runs the service until SIGINT/SIGTERM and prints the endpoint URL and
the developer credentials it accepts (``--json``: one JSON line, with the faults
in force). ``mint-credentials``, ``seed-pool`` and ``seed-identity`` work on the
same SQLite file (``--db``) as a running ``serve``; ``mint-credentials`` prints
JSON in the AWS ``credential_process`` shape (``Version``, ``AccessKeyId``,
``SecretAccessKey``, ``SessionToken``, ``Expiration``) plus ``IdentityPoolId`` and
``IdentityId``.

A fault script (``serve --fault-script FILE``) holds the answers to the next
requests, one a line, each consumed by one request before any other fault:
an HTTP status (``429``, ``500``, ``503``...), an error code
(``ConcurrentModificationException``...), ``drop`` (the connection is reset
unanswered) or ``ok`` (the request goes through). Blank lines and ``#``
comments are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import sys

import attrs

from ..local._errors import ServiceException
from ..local._service import LocalCognitoSync
from ..local.context import DEFAULT_ACCESS_KEY_ID, DEFAULT_REGION, DEFAULT_SECRET_ACCESS_KEY
from ..local.faults import Faults, ScriptEntry
from ..local.storage import Storage, mint_credentials
from .errors import EXIT_ERROR, EXIT_OK, UsageError

_CODE = re.compile(r"[A-Z][A-Za-z]*Exception")


def read_fault_script(path: str) -> list[ScriptEntry | None]:
    """The entries of a fault script file (see the module's docstring)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    script: list[ScriptEntry | None] = []
    for number, line in enumerate(lines, start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if entry.isdigit() and 400 <= int(entry) <= 599:
            script.append(int(entry))
        elif entry in ("drop", "ok") or _CODE.fullmatch(entry):
            script.append(entry)
        else:
            raise UsageError(
                f"{path}, line {number}: {entry!r} is not a fault (an HTTP status 400-599, "
                "an error code such as ConcurrentModificationException, drop or ok)"
            )
    return script


def _fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"{name} must be between 0 and 1")


def faults_of(args: argparse.Namespace) -> Faults:
    """The ``Faults`` of ``serve``'s options, checked."""
    _fraction("--error-rate", args.error_rate)
    _fraction("--drop-rate", args.drop_rate)
    if not args.latency >= 0.0:
        raise UsageError("--latency must be >= 0 seconds")
    if args.throttle_rate is not None and not args.throttle_rate > 0:
        raise UsageError("--throttle-rate must be > 0")
    return Faults(
        throttle_rate=args.throttle_rate,
        throttle_burst=args.throttle_burst,
        error_rate=args.error_rate,
        drop_rate=args.drop_rate,
        latency=args.latency,
        script=read_fault_script(args.fault_script) if args.fault_script else [],
        seed=args.fault_seed,
    )


async def cmd_serve(args: argparse.Namespace) -> int:
    faults = faults_of(args)
    svc = LocalCognitoSync(
        db_path=args.db,
        host=args.host,
        port=args.port,
        strict=args.strict,
        access_key_id=args.access_key_id or DEFAULT_ACCESS_KEY_ID,
        secret_access_key=args.secret_access_key or DEFAULT_SECRET_ACCESS_KEY,
        region=args.region or DEFAULT_REGION,
        faults=faults,
        sync_session_ttl=args.sync_session_ttl,
        bulk_publish_delay=args.bulk_publish_delay,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop.set))
    async with svc:
        info = {
            "endpoint_url": svc.endpoint_url,
            "region": svc.region,
            "access_key_id": svc.credentials.access_key_id,
            "secret_access_key": svc.credentials.secret_access_key,
            "account_id": svc.account_id,
            "db": args.db,
        }
        in_force = attrs.asdict(faults, filter=lambda a, _: a.name not in ("rng", "seed"))
        if args.json:
            print(json.dumps({**info, "faults": in_force}), flush=True)
        else:
            print(f"Local Cognito Sync listening on {svc.endpoint_url}", flush=True)
            for key, value in info.items():
                print(f"  {key}: {value if value is not None else '(in memory)'}", flush=True)
            print("Press Ctrl+C to stop.", flush=True)
        await stop.wait()
    return EXIT_OK


async def cmd_mint_credentials(args: argparse.Namespace) -> int:
    storage = Storage(args.db)
    try:
        creds = mint_credentials(
            storage, args.identity_pool_id, args.identity_id, strict=args.strict, ttl=args.ttl
        )
    except ServiceException as exc:
        print(f"cognitosync-async: error: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        storage.close()
    assert creds.expiration is not None
    print(
        json.dumps(
            {
                "Version": 1,
                "AccessKeyId": creds.access_key_id,
                "SecretAccessKey": creds.secret_access_key,
                "SessionToken": creds.session_token,
                "Expiration": creds.expiration.isoformat().replace("+00:00", "Z"),
                "IdentityPoolId": args.identity_pool_id,
                "IdentityId": args.identity_id,
            }
        )
    )
    return EXIT_OK


async def cmd_seed_pool(args: argparse.Namespace) -> int:
    storage = Storage(args.db)
    try:
        storage.seed_pool(args.identity_pool_id)
    finally:
        storage.close()
    return EXIT_OK


async def cmd_seed_identity(args: argparse.Namespace) -> int:
    storage = Storage(args.db)
    try:
        storage.seed_identity(args.identity_pool_id, args.identity_id)
    finally:
        storage.close()
    return EXIT_OK
