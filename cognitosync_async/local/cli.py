"""Command line for the local service.

``serve`` runs the service until SIGINT/SIGTERM and prints the endpoint URL and
the developer credentials it accepts. ``mint-credentials``, ``seed-pool`` and
``seed-identity`` work on the same SQLite file (``--db``) as a running
``serve``; ``mint-credentials`` prints JSON in the AWS ``credential_process``
shape (``Version``, ``AccessKeyId``, ``SecretAccessKey``, ``SessionToken``,
``Expiration``) plus ``IdentityPoolId`` and ``IdentityId``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Sequence

from ._errors import ServiceException
from ._service import LocalCognitoSync
from .context import DEFAULT_ACCESS_KEY_ID, DEFAULT_REGION, DEFAULT_SECRET_ACCESS_KEY
from .faults import Faults
from .storage import DEFAULT_CREDENTIALS_TTL, Storage, mint_credentials


def _serve_parser(prog: str = "serve") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Run the local Cognito Sync service.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8910, help="0 picks a free port (default 8910)")
    p.add_argument("--db", default=None, help="SQLite file (default: in memory)")
    p.add_argument("--access-key-id", default=DEFAULT_ACCESS_KEY_ID)
    p.add_argument("--secret-access-key", default=DEFAULT_SECRET_ACCESS_KEY)
    p.add_argument("--region", default=DEFAULT_REGION)
    p.add_argument("--strict", action="store_true", help="unknown pools/identities are 404")
    p.add_argument("--throttle-rate", type=float, default=None, help="requests/s per bucket")
    p.add_argument("--throttle-burst", type=int, default=10)
    p.add_argument("--sync-session-ttl", type=float, default=900.0)
    p.add_argument("--bulk-publish-delay", type=float, default=0.0)
    p.add_argument("--json", action="store_true", help="print the endpoint as one JSON line")
    return p


async def _serve(args: argparse.Namespace) -> None:
    svc = LocalCognitoSync(
        db_path=args.db,
        host=args.host,
        port=args.port,
        strict=args.strict,
        access_key_id=args.access_key_id,
        secret_access_key=args.secret_access_key,
        region=args.region,
        faults=Faults(throttle_rate=args.throttle_rate, throttle_burst=args.throttle_burst),
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
        if args.json:
            print(json.dumps(info), flush=True)
        else:
            print(f"Local Cognito Sync listening on {svc.endpoint_url}", flush=True)
            for key, value in info.items():
                print(f"  {key}: {value if value is not None else '(in memory)'}", flush=True)
            print("Press Ctrl+C to stop.", flush=True)
        await stop.wait()


def serve_main(argv: Sequence[str] | None = None) -> int:
    """``serve [--host H] [--port N] [--db PATH] [--access-key-id ID --secret-access-key KEY]
    [--strict] [--throttle-rate R]``: serve until SIGINT/SIGTERM."""
    args = _serve_parser().parse_args(list(argv) if argv is not None else None)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:  # pragma: no cover - signal handler normally wins
        pass
    return 0


def _admin_parser(prog: str, needs_identity: bool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog)
    p.add_argument("--db", required=True, help="the SQLite file a 'serve --db' uses")
    p.add_argument("--identity-pool-id", required=True)
    if needs_identity:
        p.add_argument("--identity-id", required=True)
    return p


def mint_credentials_main(argv: Sequence[str] | None = None) -> int:
    p = _admin_parser("mint-credentials", True)
    p.add_argument("--ttl", type=float, default=DEFAULT_CREDENTIALS_TTL, help="seconds")
    p.add_argument("--strict", action="store_true", help="the pool and identity must exist")
    args = p.parse_args(list(argv) if argv is not None else None)
    storage = Storage(args.db)
    try:
        creds = mint_credentials(
            storage, args.identity_pool_id, args.identity_id, strict=args.strict, ttl=args.ttl
        )
    except ServiceException as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
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
    return 0


def seed_main(argv: Sequence[str] | None, *, identity: bool) -> int:
    p = _admin_parser("seed-identity" if identity else "seed-pool", identity)
    args = p.parse_args(list(argv) if argv is not None else None)
    storage = Storage(args.db)
    try:
        if identity:
            storage.seed_identity(args.identity_pool_id, args.identity_id)
        else:
            storage.seed_pool(args.identity_pool_id)
    finally:
        storage.close()
    return 0


COMMANDS = ("serve", "mint-credentials", "seed-pool", "seed-identity")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m cognitosync_async.local COMMAND ...``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        print(f"usage: python -m cognitosync_async.local {{{','.join(COMMANDS)}}} ...",
              file=sys.stderr)
        return 0 if args[:1] in (["-h"], ["--help"]) else 2
    command, rest = args[0], args[1:]
    if command == "serve":
        return serve_main(rest)
    if command == "mint-credentials":
        return mint_credentials_main(rest)
    return seed_main(rest, identity=command == "seed-identity")
