"""The Ray engine (the ``ray`` extra): ``mirror --engine ray --shards N``.

Each of the N shards is a Ray async actor holding one client in its event
loop and running the ordinary :func:`~cognitosync_async.mirror.mirror` with
``shard=Shard(k, N)``. An actor that dies is restarted by Ray
(``max_restarts``) and its run retried (``max_task_retries``): it starts
over, and since the target is the mirror's whole state, what the dead
attempt wrote costs the retry only a ``ListDatasets`` an identity. The
driver enumerates the identities once, hands each actor its own, shows the
progress of all shards on its :class:`~cognitosync_async.mirror.ProgressSink`
and folds their summaries into one (``MirrorSummary.add``; a shard that was
restarted reports its last attempt).

``rate`` is per actor (each has its own adaptive rate limiter too): for a
pool whose budget is B calls a second, give ``rate=B / N``.

Actors ask for no CPU (they wait on the network) and are spread over the
cluster's nodes. Each builds its client and its target on its node, from
that node's standard chain (region, credentials, ``AWS_ENDPOINT_URL_*``): on
a cluster, install ``cognitosync-async[ray,dynamodb]`` on every node and use
a ``dynamodb:TABLE`` target; a ``sqlite:PATH`` target is one file, which only
the actors of one machine can share (fine there: WAL mode).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, Iterable
from typing import Any

import attrs

from .._client import CognitoSyncClient
from .._credential_chain import DefaultCredentialsProvider
from .._credentials import Credentials
from .._exceptions import ParamValidationError
from ._engine import MirrorSummary, ProgressSink, mirror
from ._shard import Shard, shard_of
from ._target import make_target, parse_target

try:
    import ray
except ImportError as exc:  # without the extra: the caller says what to install
    raise ModuleNotFoundError("ray is not installed", name="ray") from exc

POLL = 0.5  # seconds between progress polls


@attrs.frozen
class ClientOptions:
    """How each actor builds its client (on its own node, in its own loop).

    ``credentials`` None: the node's standard chain (``profile``: that profile
    of its shared files). Explicit credentials travel to the actors pickled:
    prefer the chain on a real cluster.
    """

    region_name: str
    endpoint_url: str | None = None
    max_attempts: int = 5
    profile: str | None = None
    credentials: Credentials | None = attrs.field(default=None, repr=False)
    adaptive_rate_limit: bool = True

    def make_client(self) -> CognitoSyncClient:
        environ: dict[str, str] | None = None
        if self.profile is not None:
            environ = {k: v for k, v in os.environ.items() if k not in (
                "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
            environ["AWS_PROFILE"] = self.profile
        return CognitoSyncClient(
            self.region_name,
            credentials=self.credentials or DefaultCredentialsProvider(environ),
            endpoint_url=self.endpoint_url, max_attempts=self.max_attempts,
            adaptive_rate_limit=self.adaptive_rate_limit, user_agent_extra="mirror-ray",
        )


class _Counts:
    """An actor's progress sink: the driver polls it."""

    def __init__(self) -> None:
        self.done = 0
        self.failed = 0

    def update(self, done: int, failed: int, extra: str = "", *, force: bool = False) -> None:
        self.done, self.failed = done, failed

    def finish(self) -> None:
        pass


class ShardActor:
    """One shard, as a Ray async actor (see the module docstring)."""

    def __init__(self, options: ClientOptions, index: int, count: int) -> None:
        self.options = options
        self.shard = Shard(index, count)
        self.counts = _Counts()

    async def run(self, identity_pool_id: str, target: str, identities: list[str],
                  concurrency: int, rate: float | None, whole_pool: bool) -> MirrorSummary:
        self.counts = _Counts()
        async with self.options.make_client() as client:
            return await mirror(
                client, identity_pool_id=identity_pool_id, target=target,
                identities=identities, shard=self.shard, concurrency=concurrency, rate=rate,
                whole_pool=whole_pool, progress=self.counts)

    async def status(self) -> tuple[int, int]:
        """``(identities done, failed)`` of the current attempt."""
        return self.counts.done, self.counts.failed


def _absolute(spec: str) -> str:
    """A ``sqlite:`` path made absolute (actors do not share the driver's directory)."""
    scheme, rest = parse_target(spec)
    return f"sqlite:{os.path.abspath(rest)}" if scheme == "sqlite" else spec


class RayMirror:
    """``mirror`` over ``shards`` Ray actors. ``await start()``, then ``await wait()``;
    :func:`mirror_on_ray` does both. ``actors`` are the shards' actor handles."""

    def __init__(
        self, options: ClientOptions, *, identity_pool_id: str, target: str,
        identities: Iterable[str] | AsyncIterable[str], shards: int,
        address: str | None = None, concurrency: int = 8, rate: float | None = None,
        create_table: bool = False, whole_pool: bool = False, max_restarts: int = 3,
    ) -> None:
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ParamValidationError("shards", "must be an integer >= 1")
        if not isinstance(target, str):
            raise ParamValidationError("target", "must be a spec such as sqlite:PATH "
                                       "(each actor opens its own)")
        self.options = options
        self.identity_pool_id = identity_pool_id
        self.target = _absolute(target)
        self.identities = identities
        self.shards = shards
        self.address = address
        self.concurrency = concurrency
        self.rate = rate
        self.create_table = create_table
        self.whole_pool = whole_pool
        self.max_restarts = max_restarts
        self.actors: list[Any] = []
        self._runs: list[Any] = []
        self._started_ray = False

    async def _split(self) -> list[list[str]]:
        parts: list[list[str]] = [[] for _ in range(self.shards)]
        seen: set[str] = set()

        def add(ident: str) -> None:
            if ident not in seen:
                seen.add(ident)
                parts[shard_of(ident, self.shards)].append(ident)

        if isinstance(self.identities, AsyncIterable):
            async for ident in self.identities:
                add(ident)
        else:
            for ident in self.identities:
                add(ident)
        return parts

    async def start(self) -> None:
        """Check (or create) the target once, enumerate the identities, start the actors."""
        checked = make_target(self.target, create_table=self.create_table)
        await checked.open()
        await checked.close()
        parts = await self._split()
        if not ray.is_initialized():
            if self.address is None:  # a cluster of its own for the run: on loopback only
                ray.init(include_dashboard=False, log_to_driver=False,
                         _node_ip_address="127.0.0.1")
            else:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            self._started_ray = True
        actor_class = ray.remote(ShardActor).options(
            max_restarts=self.max_restarts, max_task_retries=self.max_restarts,
            num_cpus=0, scheduling_strategy="SPREAD")
        self.actors = [actor_class.remote(self.options, k, self.shards)
                       for k in range(self.shards)]
        self._runs = [
            actor.run.remote(self.identity_pool_id, self.target, part, self.concurrency,
                             self.rate, self.whole_pool)
            for actor, part in zip(self.actors, parts, strict=True)
        ]

    async def status(self) -> list[tuple[int, int] | None]:
        """Each shard's ``(done, failed)``; None for one not answering (restarting)."""
        async def one(actor: Any) -> tuple[int, int] | None:
            try:
                done, failed = await asyncio.wait_for(
                    asyncio.wrap_future(actor.status.remote().future()), POLL * 4)
                return int(done), int(failed)
            except Exception:  # dead, restarting, or slow to answer: no news
                return None

        return list(await asyncio.gather(*(one(a) for a in self.actors)))

    async def wait(self, progress: ProgressSink | None = None,
                   summary: MirrorSummary | None = None) -> MirrorSummary:
        """Gather the shards' progress and summaries (then shut down a Ray this started)."""
        summary = summary if summary is not None else MirrorSummary()
        futures = [asyncio.wrap_future(ref.future()) for ref in self._runs]
        last: list[tuple[int, int]] = [(0, 0)] * len(self.actors)
        try:
            pending: set[asyncio.Future[Any]] = set(futures)
            while pending:
                _, pending = await asyncio.wait(pending, timeout=POLL)
                if progress is not None:
                    for k, got in enumerate(await self.status()):
                        if got is not None:
                            last[k] = got
                    progress.update(sum(d for d, _ in last), sum(f for _, f in last),
                                    f"identities on {self.shards} shards")
            for k, fut in enumerate(futures):
                exc = fut.exception()
                if exc is not None:
                    summary.failed += 1
                    if len(summary.errors) < 100:
                        summary.errors.append({"identity_id": f"(shard {k}/{self.shards})",
                                               "error": str(exc).strip().splitlines()[-1]})
                else:
                    summary.add(fut.result())
        finally:
            if progress is not None:
                progress.finish()
            self.shutdown()
        return summary

    def shutdown(self) -> None:
        if self._started_ray:
            self._started_ray = False
            ray.shutdown()


async def mirror_on_ray(
    options: ClientOptions, *, identity_pool_id: str, target: str,
    identities: Iterable[str] | AsyncIterable[str], shards: int,
    address: str | None = None, concurrency: int = 8, rate: float | None = None,
    create_table: bool = False, whole_pool: bool = False,
    progress: ProgressSink | None = None, summary: MirrorSummary | None = None,
) -> MirrorSummary:
    """``mirror`` as ``shards`` Ray actors on the cluster at ``address`` (None: the one
    ``ray.init`` finds, or a local one for the run); one summary for all shards."""
    job = RayMirror(options, identity_pool_id=identity_pool_id, target=target,
                    identities=identities, shards=shards, address=address,
                    concurrency=concurrency, rate=rate, create_table=create_table,
                    whole_pool=whole_pool)
    try:
        await job.start()
    except BaseException:
        job.shutdown()
        raise
    return await job.wait(progress, summary)
