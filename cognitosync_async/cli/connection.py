"""The client a command talks through, from its connection options
(``--endpoint-url``, ``--region``, ``--profile``, ``--max-attempts``), and the
checks of the bulk options (``--concurrency``, ``--rate``)."""

from __future__ import annotations

import argparse
import math

from .._client import CognitoSyncClient
from .._credential_chain import DefaultCredentialsProvider
from .errors import UsageError


def credentials_of(args: argparse.Namespace) -> DefaultCredentialsProvider:
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
        credentials=credentials if credentials is not None else credentials_of(args),
        endpoint_url=args.endpoint_url,
        max_attempts=args.max_attempts,
        adaptive_rate_limit=adaptive,
        user_agent_extra="cli",
    )


def check_bulk_options(args: argparse.Namespace) -> None:
    """--concurrency and --rate, refused here as usage errors."""
    if args.concurrency < 1:
        raise UsageError("--concurrency must be >= 1")
    if args.rate is not None and not (math.isfinite(args.rate) and args.rate > 0):
        raise UsageError("--rate must be a finite number > 0")
