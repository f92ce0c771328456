"""The mirror and verify engines (one process; shards select identities).

Per identity, ``mirror``:

1. lists the datasets (``ListDatasets``, ``maxResults`` 64) and reads the
   target's rows for the identity;
2. skips a dataset whose listed metadata (creation and modification dates,
   record count, storage, last writer) equals its row: no ``ListRecords``;
3. reads a changed one with ``ListRecords`` from the row's cursor
   (``maxResults`` 1024) and writes the records conditionally (never an
   older sync count over a newer one), then the row, whose cursor is the
   first page's ``DatasetSyncCount`` (the read's snapshot, never the
   highest count written: SERVICE.md C9);
4. re-reads a dataset in full (``lastSyncCount`` 0) and makes its records
   exactly the source's (``exact``: the old incarnation's records go, even
   with higher sync counts) when the target has no row for it, the row is
   marked deleted, the listed creation date differs from the row's (the
   dataset was deleted and re-created), or the read from the cursor shows a
   reset (``DatasetDeletedAfterRequestedSyncCount``, a ``DatasetSyncCount``
   below the cursor, or the service refusing the cursor as a sync count
   that does not exist);
5. marks deleted (records removed, row kept with ``deleted`` true) a row
   whose dataset is no longer listed, or that ``ListRecords`` reports as not
   existing.

Merged datasets (SERVICE.md C3) are datasets like any other: after a merge
the surviving identity lists ``<name>.<old identity id>`` and the mirror
copies it; the old identity lists nothing any more and its rows are marked
deleted. No name is ever read as a merge.

The target is the only state: a run stopped anywhere leaves rows whose
cursors are at most what their records hold, so a rerun converges.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from .._exceptions import InvalidParameterException, ResourceNotFoundException
from .._fanout import fan_out
from .._models import Dataset, ListRecordsResponse, Record, _records, records_reader, usual_records
from .._operations import LIST_RECORDS
from .._ratelimit import TokenBucket
from ._calls import counting_calls
from ._shard import Shard
from ._target import DatasetRow, RecordRow, Target, make_target

if TYPE_CHECKING:
    from .._client import CognitoSyncClient


class ProgressSink(Protocol):
    """Where ``mirror`` reports after each identity (the CLI's progress line, or a
    Ray driver gathering its shards' progress)."""

    def update(self, done: int, failed: int, extra: str = "", *, force: bool = False) -> None:
        ...

    def finish(self) -> None:
        ...

DATASETS_PAGE = 64  # what the mobile SDKs send (SERVICE.md C8)
RECORDS_PAGE = 1024


def epoch_ms(value: datetime | None) -> int | None:
    """An aware datetime as integer epoch milliseconds (None stays None)."""
    return round(value.timestamp() * 1000) if value is not None else None


def record_row(record: Record) -> RecordRow:
    return RecordRow(
        key=str(record.key),
        value=record.value,
        sync_count=int(record.sync_count or 0),
        last_modified_date=epoch_ms(record.last_modified_date),
        last_modified_by=record.last_modified_by,
        device_last_modified_date=epoch_ms(record.device_last_modified_date),
    )


_modf = math.modf


def ms_of_epoch(value: float) -> int:
    """``epoch_ms(datetime.fromtimestamp(value, timezone.utc))`` for epoch seconds in
    ``datetime``'s range, without the datetime: microseconds rounded half to even
    as ``fromtimestamp`` rounds them, then ``timestamp()``'s correctly rounded
    division of the whole microseconds (in floats while they are exact: below 2**53)."""
    whole = int(value)
    if -9_000_000_000 < whole < 9_000_000_000:
        return round((whole * 1e6 + round((value - whole) * 1e6)) / 1e6 * 1000)
    frac, w = _modf(value)
    return round((int(w) * 1_000_000 + round(frac * 1e6)) / 1_000_000 * 1000)


# A RecordRow made without its attrs ``__init__`` (a frozen class sets each field
# through ``object.__setattr__``): the slots' own setters, for the mirror's hot path.
# Only for a class whose fields are exactly these, with no validator or converter.
assert [(f.name, f.validator, f.converter) for f in attrs.fields(RecordRow)] == [
    (name, None, None) for name in ("key", "value", "sync_count", "last_modified_date",
                                    "last_modified_by", "device_last_modified_date")]
_new = object.__new__
_set_key, _set_value, _set_count, _set_lmd, _set_by, _set_dlmd = (
    getattr(RecordRow, f.name).__set__ for f in attrs.fields(RecordRow))


def _rows_maker() -> Callable[[str, str | None, int, float, str | None, float | None],
                              RecordRow]:
    """``usual_records``' maker of RecordRows for one page; the server's write time
    (shared by the records of one sync) converted once a page."""
    seen: dict[float, int] = {}
    get, ms = seen.get, ms_of_epoch

    def row(k: str, v: str | None, n: int, lmd: float, by: str | None,
            dlmd: float | None) -> RecordRow:
        t = get(lmd)
        if t is None:
            t = seen[lmd] = ms(lmd)
        r = _new(RecordRow)
        _set_key(r, k)
        _set_value(r, v)
        _set_count(r, n)
        _set_lmd(r, t)
        _set_by(r, by)
        _set_dlmd(r, None if dlmd is None else ms(dlmd))
        return r

    return row


def record_rows(value: Any) -> list[RecordRow]:
    """``[record_row(r) for r in records if r.key is not None]`` from a ListRecords
    page's parsed ``Records`` member: straight from the JSON for the usual shape
    (``usual_records``), else through the typed parser (its conversions, its errors)."""
    rows = usual_records(value, _rows_maker())
    if rows is None:
        rows = [record_row(r) for r in _records(value) if r.key is not None]
    return rows


#: ListRecords answers as the mirror reads them: ``records`` holds ``RecordRow``s
_rows_page = records_reader(record_rows)


def dataset_row(pool: str, identity_id: str, ds: Dataset, sync_count: int) -> DatasetRow:
    return DatasetRow(
        identity_pool_id=pool,
        identity_id=identity_id,
        dataset_name=str(ds.dataset_name),
        dataset_sync_count=sync_count,
        num_records=ds.num_records,
        data_storage=ds.data_storage,
        creation_date=epoch_ms(ds.creation_date),
        last_modified_date=epoch_ms(ds.last_modified_date),
        last_modified_by=ds.last_modified_by,
    )


def unchanged(row: DatasetRow | None, ds: Dataset) -> bool:
    """Whether the listed metadata equals the row's (then the dataset is skipped)."""
    return (
        row is not None
        and not row.deleted
        and row.creation_date == epoch_ms(ds.creation_date)
        and row.last_modified_date == epoch_ms(ds.last_modified_date)
        and row.num_records == ds.num_records
        and row.data_storage == ds.data_storage
        and row.last_modified_by == ds.last_modified_by
    )


@attrs.define
class MirrorSummary:
    """What a ``mirror`` run did; ``as_dict()`` is the ``--json`` summary.

    ``records_written`` counts record rows written (tombstones included);
    ``records_removed`` counts record rows removed from the target (datasets
    deleted at the source, and records of a re-created dataset's old
    incarnation); ``failed`` counts identities that failed (``errors`` says
    why, at most 100 kept).
    """

    identities: int = 0
    datasets: int = 0
    datasets_changed: int = 0
    records_written: int = 0
    records_removed: int = 0
    datasets_deleted: int = 0
    calls: int = 0
    retries: int = 0
    throttled: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[dict[str, str]] = attrs.field(factory=list)
    interrupted: bool = False

    FIELDS = ("identities", "datasets", "datasets_changed", "records_written",
              "records_removed", "datasets_deleted", "calls", "retries", "throttled",
              "failed", "seconds")

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.FIELDS}
        data["seconds"] = round(self.seconds, 3)
        return data

    def add(self, other: MirrorSummary) -> None:
        """Fold another shard's summary into this one (``seconds``: the longest)."""
        for name in self.FIELDS:
            if name != "seconds":
                setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds = max(self.seconds, other.seconds)
        self.errors.extend(other.errors[: max(0, 100 - len(self.errors))])

    def text(self) -> str:
        rate = self.identities / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"mirror: {self.identities} identities, {self.datasets} datasets "
            f"({self.datasets_changed} changed, {self.datasets_deleted} deleted), "
            f"{self.failed} failed",
            f"  {self.records_written} records written, {self.records_removed} removed; "
            f"{self.calls} calls, {self.retries} retries, {self.throttled} throttled; "
            f"{self.seconds:.1f}s ({rate:.1f} identities/s)",
        ]
        for err in self.errors[:10]:
            lines.append(f"  failed {err['identity_id']}: {err['error']}")
        if len(self.errors) > 10:
            lines.append(f"  ... and {len(self.errors) - 10} more")
        if self.interrupted:
            lines.append("  interrupted: run the same command again to bring the copy up to date")
        return "\n".join(lines)


@attrs.define
class Difference:
    """One difference ``verify`` found (``key`` None: about the dataset itself)."""

    identity_id: str
    dataset_name: str
    key: str | None
    source: str
    target: str

    def text(self) -> str:
        where = f"{self.identity_id} {self.dataset_name}" + (
            f" {self.key!r}" if self.key is not None else "")
        return f"{where}: source {self.source}, target {self.target}"


@attrs.define
class VerifySummary:
    """What ``verify`` compared and found; ``identical`` when ``differences`` is 0."""

    identities: int = 0
    datasets: int = 0
    records: int = 0
    differences: int = 0
    first_differences: list[Difference] = attrs.field(factory=list)
    calls: int = 0
    retries: int = 0
    throttled: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[dict[str, str]] = attrs.field(factory=list)

    LIMIT = 100  # differences kept in first_differences

    @property
    def identical(self) -> bool:
        return self.differences == 0 and self.failed == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "identities": self.identities, "datasets": self.datasets, "records": self.records,
            "differences": self.differences,
            "first_differences": [attrs.asdict(d) for d in self.first_differences],
            "calls": self.calls, "retries": self.retries, "throttled": self.throttled,
            "failed": self.failed, "seconds": round(self.seconds, 3),
            "identical": self.identical,
        }

    def text(self) -> str:
        head = (f"verify: {self.identities} identities, {self.datasets} datasets, "
                f"{self.records} records compared in {self.seconds:.1f}s ({self.calls} calls): ")
        head += "identical" if self.identical else (
            f"{self.differences} differences" + (f", {self.failed} failed" if self.failed else ""))
        lines = [head]
        lines += ["  " + d.text() for d in self.first_differences[:20]]
        if self.differences > 20:
            lines.append(f"  ... and {self.differences - 20} more")
        for err in self.errors[:10]:
            lines.append(f"  failed {err['identity_id']}: {err['error']}")
        return "\n".join(lines)


# ---------------------------------------------------------------------- reading the source


class _Source:
    """The source side: the client's calls, each behind the optional ``rate`` bucket."""

    def __init__(self, client: CognitoSyncClient, pool: str, rate: float | None) -> None:
        self.client = client
        self.pool = pool
        self.bucket = TokenBucket(rate, burst=1.0) if rate else None

    async def _wait(self) -> None:
        if self.bucket is not None:
            await self.bucket.acquire()

    async def datasets(self, identity_id: str) -> dict[str, Dataset]:
        """The identity's datasets by name ({} for an identity the service does not know)."""
        out: dict[str, Dataset] = {}
        token: str | None = None
        while True:
            await self._wait()
            try:
                page = await self.client.list_datasets(
                    identity_pool_id=self.pool, identity_id=identity_id,
                    next_token=token, max_results=DATASETS_PAGE)
            except ResourceNotFoundException:
                return {}
            for ds in page.datasets or []:
                if ds.dataset_name is not None:
                    out[ds.dataset_name] = ds
            token = page.next_token
            if not token:
                return out

    async def records(
        self, identity_id: str, dataset_name: str, since: int
    ) -> tuple[ListRecordsResponse, list[RecordRow]]:
        """``(first page, every record's row)`` changed after ``since``, all pages
        (read through the client's raw page path: its request loop, no ``Record``s)."""
        first: ListRecordsResponse | None = None
        rows: list[RecordRow] = []
        token: str | None = None
        session: str | None = None
        while True:
            await self._wait()
            page: ListRecordsResponse = await self.client._call_raw(LIST_RECORDS, {
                "identity_pool_id": self.pool, "identity_id": identity_id,
                "dataset_name": dataset_name, "last_sync_count": since, "next_token": token,
                "max_results": RECORDS_PAGE, "sync_session_token": session,
            }, _rows_page)
            if first is None:
                first = page
                session = page.sync_session_token
            rows += page.records  # type: ignore[arg-type]  # RecordRows (see _rows_page)
            token = page.next_token
            if not token:
                return first, rows


def _no_such_sync_count(exc: InvalidParameterException) -> bool:
    return "synccount" in str(exc).lower()


@attrs.define
class _Counts:
    datasets: int = 0
    changed: int = 0
    written: int = 0
    removed: int = 0
    deleted: int = 0


async def mirror_identity(
    source: _Source, target: Target, identity_id: str
) -> _Counts:
    """Bring one identity's datasets in ``target`` up to date (see the module docstring)."""
    counts = _Counts()
    listed = await source.datasets(identity_id)
    rows = await target.datasets(identity_id)
    pool = source.pool
    for name in sorted(listed):
        ds, row = listed[name], rows.get(name)
        counts.datasets += 1
        if unchanged(row, ds):
            continue
        counts.changed += 1
        full = row is None or row.deleted or row.creation_date != epoch_ms(ds.creation_date)
        while True:
            since = 0 if full or row is None else row.dataset_sync_count
            try:
                first, records = await source.records(identity_id, name, since)
            except InvalidParameterException as exc:
                if full or not _no_such_sync_count(exc):
                    raise
                full = True  # the cursor is above the dataset's count: it was reset
                continue
            snapshot = int(first.dataset_sync_count or 0)
            if not full and (first.dataset_deleted_after_requested_sync_count
                             or snapshot < since):
                full = True  # deleted and re-created since the cursor
                continue
            break
        if first.dataset_exists is False:  # deleted between the listing and the read
            if row is not None and not row.deleted:
                counts.removed += await target.delete_dataset(attrs.evolve(row, deleted=True))
                counts.deleted += 1
            continue
        result = await target.write_records(
            identity_id, name, records,
            exact=full,
        )
        counts.written += result.written
        counts.removed += result.removed
        # the cursor: the read's snapshot, written only now that the records are durable
        await target.write_dataset(dataset_row(pool, identity_id, ds, snapshot))
    for name, row in rows.items():
        if name not in listed and not row.deleted:
            counts.removed += await target.delete_dataset(attrs.evolve(row, deleted=True))
            counts.deleted += 1
    return counts


# ---------------------------------------------------------------------- mirror


async def _unique(
    identities: Iterable[str] | AsyncIterable[str], shard: Shard | None,
    target: Target | None = None,
) -> AsyncIterator[str]:
    """Each identity once (those of ``shard``); with ``target``, then every identity the
    target holds that the enumeration did not yield (gone from the pool, or never in it)."""
    seen: set[str] = set()

    def fresh(ident: str) -> bool:
        if ident in seen or (shard is not None and not shard.holds(ident)):
            return False
        seen.add(ident)
        return True

    if isinstance(identities, AsyncIterable):
        async for ident in identities:
            if fresh(ident):
                yield ident
    else:
        for ident in identities:
            if fresh(ident):
                yield ident
    if target is not None:
        async for ident in target.identities():
            if fresh(ident):
                yield ident


async def _opened(
    target: Target | str, create_table: bool, existing: bool = False
) -> tuple[Target, bool]:
    if isinstance(target, str):
        made = make_target(target, create_table=create_table, existing=existing)
        await made.open()
        return made, True
    await target.open()
    return target, False


async def mirror(
    client: CognitoSyncClient,
    *,
    identity_pool_id: str,
    target: Target | str,
    identities: Iterable[str] | AsyncIterable[str],
    shard: Shard | str | None = None,
    concurrency: int = 8,
    rate: float | None = None,
    create_table: bool = False,
    whole_pool: bool = False,
    progress: ProgressSink | None = None,
    summary: MirrorSummary | None = None,
) -> MirrorSummary:
    """Make ``target`` equal to the source for ``identities`` (those of ``shard``).

    ``target`` is a :class:`Target` or a spec such as ``"sqlite:copy.db"``
    (opened and closed here). ``identities`` is any (async) iterable of
    identity ids, e.g. :func:`pool_identities`. ``concurrency`` identities
    are mirrored at once; ``rate`` caps the calls this run starts a second
    (the client's adaptive rate limiter, when on, slows further on
    throttling). Calls, retries and throttles are counted from the request
    loop's response events (see ``counting_calls``). Returns the summary; an identity that
    fails is counted in ``failed`` and does not stop the others.

    ``whole_pool``: ``identities`` is the whole pool (as ``ListIdentities``
    gives it), so identities the target holds that it did not list are
    visited too, after it (their datasets, gone from the source, are marked
    deleted). Leave it False for a partial list.
    """
    summary = summary if summary is not None else MirrorSummary()
    if isinstance(shard, str):
        shard = Shard.parse(shard)
    start = time.monotonic()
    opened, owned = await _opened(target, create_table)
    source = _Source(client, identity_pool_id, rate)

    async def one(ident: str) -> _Counts:
        return await mirror_identity(source, opened, ident)

    try:
        with counting_calls() as counter:
            try:
                todo = _unique(identities, shard, opened if whole_pool else None)
                async with fan_out(todo, one, concurrency=concurrency) as results:
                    async for result in results:
                        summary.identities += 1
                        if result.ok:
                            c = result.unwrap()
                            summary.datasets += c.datasets
                            summary.datasets_changed += c.changed
                            summary.records_written += c.written
                            summary.records_removed += c.removed
                            summary.datasets_deleted += c.deleted
                        else:
                            summary.failed += 1
                            if len(summary.errors) < 100:
                                summary.errors.append({"identity_id": result.item,
                                                       "error": str(result.error)})
                        if progress is not None:
                            progress.update(
                                summary.identities, summary.failed,
                                f"identities, {summary.datasets_changed}/{summary.datasets} "
                                f"datasets changed, {summary.records_written} records",
                            )
            finally:
                summary.calls += counter.calls
                summary.retries += counter.retries
                summary.throttled += counter.throttled
    finally:
        summary.seconds = time.monotonic() - start
        if owned:
            await opened.close()
        if progress is not None:
            progress.finish()
    return summary


async def pool_identities(identity_client: Any, identity_pool_id: str) -> AsyncIterator[str]:
    """Every identity id of a pool, through a ``CognitoIdentityClient``'s ``iter_identities``."""
    async for ident in identity_client.iter_identities(identity_pool_id=identity_pool_id):
        yield str(ident.identity_id)


# ---------------------------------------------------------------------- verify


def _show(rec: RecordRow | None) -> str:
    if rec is None:
        return "absent"
    value = "(tombstone)" if rec.value is None else f"{len(rec.value)} chars"
    return f"{value} at sync count {rec.sync_count}"


async def verify_identity(source: _Source, target: Target, identity_id: str
                          ) -> tuple[int, int, list[Difference]]:
    """``(datasets, records, differences)`` of one identity: both sides read afresh."""
    diffs: list[Difference] = []
    listed = await source.datasets(identity_id)
    rows = {n: r for n, r in (await target.datasets(identity_id)).items() if not r.deleted}
    n_records = 0
    for name in sorted(set(listed) | set(rows)):
        row = rows.get(name)
        if name not in listed:
            diffs.append(Difference(identity_id, name, None, "no dataset",
                                    f"dataset at sync count {row.dataset_sync_count}"
                                    if row else "dataset"))
            continue
        first, records = await source.records(identity_id, name, 0)
        if first.dataset_exists is False:  # deleted since the listing
            if row is not None:
                diffs.append(Difference(identity_id, name, None, "no dataset", "dataset"))
            continue
        src_count = int(first.dataset_sync_count or 0)
        if row is None:
            diffs.append(Difference(identity_id, name, None,
                                    f"dataset at sync count {src_count}", "no dataset"))
            continue
        if row.dataset_sync_count != src_count:
            diffs.append(Difference(identity_id, name, None, f"dataset sync count {src_count}",
                                    f"dataset sync count {row.dataset_sync_count}"))
        src = {r.key: r for r in records}
        dst = {r.key: r for r in await target.records(identity_id, name)}
        n_records += len(src)
        for key in sorted(set(src) | set(dst)):
            a, b = src.get(key), dst.get(key)
            if a is None or b is None or (a.value, a.sync_count) != (b.value, b.sync_count):
                diffs.append(Difference(identity_id, name, key, _show(a), _show(b)))
    return len(set(listed) | set(rows)), n_records, diffs


async def verify(
    client: CognitoSyncClient,
    *,
    identity_pool_id: str,
    target: Target | str,
    identities: Iterable[str] | AsyncIterable[str],
    shard: Shard | str | None = None,
    concurrency: int = 8,
    rate: float | None = None,
    whole_pool: bool = False,
    summary: VerifySummary | None = None,
) -> VerifySummary:
    """Compare the source and ``target`` for ``identities`` (of ``shard``): every
    dataset's records (key, value or tombstone, sync count) and dataset sync
    counts, the source read from sync count 0. Returns the summary
    (``identical``; ``differences`` counted, the first 100 kept).

    ``whole_pool`` (``identities`` is the whole pool): the target's other
    identities are compared too, so a copy holding what the pool does not
    is a difference."""
    summary = summary if summary is not None else VerifySummary()
    if isinstance(shard, str):
        shard = Shard.parse(shard)
    start = time.monotonic()
    opened, owned = await _opened(target, False, existing=True)
    source = _Source(client, identity_pool_id, rate)

    async def one(ident: str) -> tuple[int, int, list[Difference]]:
        return await verify_identity(source, opened, ident)

    try:
        with counting_calls() as counter:
            try:
                todo = _unique(identities, shard, opened if whole_pool else None)
                async with fan_out(todo, one, concurrency=concurrency) as results:
                    async for result in results:
                        summary.identities += 1
                        if not result.ok:
                            summary.failed += 1
                            if len(summary.errors) < 100:
                                summary.errors.append({"identity_id": result.item,
                                                       "error": str(result.error)})
                            continue
                        datasets, records, diffs = result.unwrap()
                        summary.datasets += datasets
                        summary.records += records
                        summary.differences += len(diffs)
                        room = summary.LIMIT - len(summary.first_differences)
                        summary.first_differences.extend(diffs[: max(0, room)])
            finally:
                summary.calls += counter.calls
                summary.retries += counter.retries
                summary.throttled += counter.throttled
    finally:
        summary.seconds = time.monotonic() - start
        if owned:
            await opened.close()
    return summary
