"""``cognitosync_async.mirror``: a live copy of an identity pool outside Cognito Sync.

Run ``mirror`` once for a full copy and again (a cron job, a Kubernetes
CronJob...) to bring the copy up to date with only what changed; ``verify``
compares both sides and is the cutover gate::

    from cognitosync_async import CognitoSyncClient
    from cognitosync_async.mirror import mirror, verify

    async with CognitoSyncClient("us-east-1", adaptive_rate_limit=True) as client:
        summary = await mirror(client, identity_pool_id=POOL, target="sqlite:copy.db",
                               identities=ids)          # any (async) iterable of ids
        print(summary.as_dict())                        # the CLI's --json summary
        report = await verify(client, identity_pool_id=POOL, target="sqlite:copy.db",
                              identities=ids)
        assert report.identical, report.text()

Targets are named ``scheme:rest`` (``sqlite:PATH``; ``dynamodb:TABLE`` with
the ``dynamodb`` extra) or passed as objects implementing :class:`Target`.
``shard="K/N"`` (or :class:`Shard`) limits a run to the identities of one
shard (:func:`shard_of`), so N processes can share a pool;
``cognitosync_async.mirror.ray.mirror_on_ray`` (the ``ray`` extra) runs N
shards as Ray actors. ``cognitosync_async.mirror.dynamodb.DynamoDBTarget``
(the ``dynamodb`` extra) is the DynamoDB target; neither is imported here.
"""

from __future__ import annotations

from ._calls import CallCounter, counting_calls
from ._engine import (
    Difference,
    MirrorSummary,
    ProgressSink,
    VerifySummary,
    mirror,
    mirror_identity,
    pool_identities,
    verify,
    verify_identity,
)
from ._shard import Shard, shard_of
from ._target import (
    SCHEMES,
    DatasetRow,
    RecordRow,
    Target,
    TargetError,
    TargetLayoutError,
    TargetUnavailable,
    WriteResult,
    make_target,
    parse_target,
)
from .sqlite import SqliteTarget

__all__ = [
    "SCHEMES",
    "CallCounter",
    "DatasetRow",
    "Difference",
    "MirrorSummary",
    "ProgressSink",
    "RecordRow",
    "Shard",
    "SqliteTarget",
    "Target",
    "TargetError",
    "TargetLayoutError",
    "TargetUnavailable",
    "VerifySummary",
    "WriteResult",
    "counting_calls",
    "make_target",
    "mirror",
    "mirror_identity",
    "parse_target",
    "pool_identities",
    "shard_of",
    "verify",
    "verify_identity",
]
