"""``cognitosync-async demo``: a realistic job against the local service, in seconds.

It starts ``LocalCognitoSync`` in this process on a temporary SQLite file,
with throttling on, and plays a backend's day: write two datasets for a few
hundred identities concurrently (``fan_out`` + ``DatasetHandle.put``; the
429s are absorbed by retries and the adaptive rate limiter), page them back
and check every value, let a phone and the backend write the same key at
the same moment (one of them conflicts and resolves it), export everything
to JSON Lines; then move off Cognito Sync: mirror the pool into a SQLite
file (``cognitosync_async.mirror``), let a few old apps change their
settings, mirror again (only the changed datasets are read) and ``verify``
the copy; and print a short report.

Calls and retries are counted honestly, from the request loop's ``response``
event hooks: one event per attempt (``mirror.counting_calls``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs

from .._client import CognitoSyncClient
from .._fanout import fan_out
from .._models import Record, UpdateRecordsResponse
from ..mirror import MirrorSummary, VerifySummary, counting_calls, mirror, verify
from .bulk import Summary, run_export
from .output import emit_object

POOL = "us-east-1:dea00000-0000-4000-8000-00000000de70"
THEMES = ("light", "dark", "solarized", "high-contrast")


def identity_ids(count: int) -> list[str]:
    return [f"us-east-1:{uuid.UUID(int=0xC0FFEE << 64 | i)}" for i in range(count)]


def settings_for(i: int) -> dict[str, str | None]:
    return {
        "theme": THEMES[i % len(THEMES)],
        "language": ("en", "fr", "de", "ja")[i % 4],
        "notifications": "on" if i % 3 else "off",
        "nickname": "",  # an empty string is a value, not a removal
    }


def progress_for(i: int) -> dict[str, str | None]:
    values: dict[str, str | None] = {f"level-{n:02d}": str((i * 7 + n) % 1000) for n in range(20)}
    values["high-score"] = str(i * 131 % 100_000)
    return values


APP_CHANGES = 3  # old apps that change their settings between the two mirror runs


@attrs.define
class DemoReport:
    endpoint_url: str = ""
    database: str = ""
    identities: int = 0
    datasets_written: int = 0
    records_written: int = 0
    write_seconds: float = 0.0
    datasets_read: int = 0
    pages_read: int = 0
    read_seconds: float = 0.0
    mismatches: int = 0
    failures: int = 0
    conflict: dict[str, Any] = attrs.field(factory=dict)
    export_path: str = ""
    exported_datasets: int = 0
    export_seconds: float = 0.0
    mirror_path: str = ""
    mirror_first: dict[str, Any] = attrs.field(factory=dict)
    app_changes: int = 0
    mirror_second: dict[str, Any] = attrs.field(factory=dict)
    verify: dict[str, Any] = attrs.field(factory=dict)
    calls: int = 0
    retries: int = 0
    throttled: int = 0
    error_answers: int = 0
    limiter_throttles: int = 0
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.mismatches == 0
            and self.failures == 0
            and self.exported_datasets == self.datasets_written
            and bool(self.conflict.get("resolved"))
            and self.mirror_first.get("failed") == 0
            and self.mirror_first.get("datasets") == self.datasets_written
            and self.mirror_second.get("datasets_changed") == self.app_changes
            and bool(self.verify.get("identical"))
        )

    def text(self) -> str:
        rate = self.calls / self.elapsed if self.elapsed else 0.0
        c = self.conflict
        conflict = (
            f"the phone set {c.get('key')!r} between the backend's read and write; the "
            f"backend's put got a conflict, re-read, and its resolver kept "
            f"{c.get('final')!r} ({c.get('rounds')} rounds)"
            if c.get("resolved")
            else "the conflict was NOT resolved as expected"
        )
        return "\n".join([
            f"cognitosync-async demo: local service at {self.endpoint_url}",
            f"  (SQLite {self.database}, removed at the end; throttling on)",
            f"  wrote     {self.datasets_written} datasets for {self.identities} identities "
            f"({self.records_written} records) in {self.write_seconds:.1f}s",
            f"  read back {self.datasets_read} datasets in {self.pages_read} pages in "
            f"{self.read_seconds:.1f}s: "
            + ("every value as written" if not self.mismatches else
               f"{self.mismatches} MISMATCHES"),
            f"  conflict  {conflict}",
            f"  exported  {self.exported_datasets} datasets in {self.export_seconds:.1f}s "
            f"to {self.export_path}",
            *self._mirror_lines(),
            f"  calls     {self.calls} requests, {self.retries} retries; the service answered "
            f"{self.throttled} with 429 (throttled), {self.error_answers} with other errors; "
            f"{self.failures} operations failed; the adaptive rate limiter slowed the "
            f"backend after {self.limiter_throttles} throttle(s)",
            f"  throughput {rate:.0f} requests/s over {self.elapsed:.1f}s",
            "  result    " + ("OK" if self.ok else "FAILED"),
        ])

    def _mirror_lines(self) -> list[str]:
        first, second, v = self.mirror_first, self.mirror_second, self.verify
        if not first:
            return []
        idents = max(1, int(second.get("identities", 0)))
        return [
            f"  mirrored  {first.get('datasets')} datasets ({first.get('records_written')} "
            f"records) into SQLite {self.mirror_path} with {first.get('calls')} calls in "
            f"{first.get('seconds', 0):.1f}s",
            f"  old apps  {self.app_changes} phones changed their settings (identity "
            "credentials, ListRecords + UpdateRecords, as the mobile SDKs sync)",
            f"  re-mirror {second.get('datasets_changed')} changed datasets copied with "
            f"{second.get('calls')} calls ({int(second.get('calls', 0)) / idents:.2f} an "
            f"identity: ListDatasets, and ListRecords only where something changed) in "
            f"{second.get('seconds', 0):.1f}s",
            "  verify    " + (
                f"identical: {v.get('datasets')} datasets, {v.get('records')} records "
                f"compared with {v.get('calls')} calls"
                if v.get("identical") else f"{v.get('differences')} DIFFERENCES"),
        ]


async def _write(
    client: CognitoSyncClient, ids: list[str], concurrency: int, report: DemoReport
) -> None:
    async def one(index: int) -> int:
        ident = ids[index]
        written = 0
        for name, values in (("settings", settings_for(index)), ("progress", progress_for(index))):
            ds = client.dataset(identity_pool_id=POOL, identity_id=ident, dataset_name=name)
            result = await ds.put(values)
            written += len(result.records)
        return written

    async with fan_out(range(len(ids)), one, concurrency=concurrency) as results:
        async for res in results:
            if res.ok:
                report.datasets_written += 2
                report.records_written += res.unwrap()
            else:
                report.failures += 1


async def _read(
    client: CognitoSyncClient, ids: list[str], concurrency: int, report: DemoReport
) -> None:
    async def one(index: int) -> tuple[int, int, int]:
        ident = ids[index]
        expected = {"settings": settings_for(index), "progress": progress_for(index)}
        datasets = pages = bad = 0
        async for dataset in client.iter_datasets(identity_pool_id=POOL, identity_id=ident):
            name = dataset.dataset_name or ""
            datasets += 1
            got: dict[str, str | None] = {}
            pager = client.iter_records(
                identity_pool_id=POOL, identity_id=ident, dataset_name=name, page_size=16
            )
            async for page in pager.pages():
                pages += 1
                got.update((r.key or "", r.value) for r in page.records or [])
            if got != expected.get(name):
                bad += 1
        return datasets, pages, bad

    async with fan_out(range(len(ids)), one, concurrency=concurrency) as results:
        async for res in results:
            if res.ok:
                datasets, pages, bad = res.unwrap()
                report.datasets_read += datasets
                report.pages_read += pages
                report.mismatches += bad
            else:
                report.failures += 1


class _Backend(CognitoSyncClient):
    """The backend's client, with the phone's write landing between its read and write.

    Real conflicts need two writers at the same moment; the demo makes the
    moment certain: before the backend's first UpdateRecords, the phone writes.
    """

    phone_write: Callable[[], Awaitable[object]] | None = None

    async def update_records(self, **kwargs: Any) -> UpdateRecordsResponse:
        write, self.phone_write = self.phone_write, None
        if write is not None:
            await write()
        return await super().update_records(**kwargs)


async def _conflict(
    backend: _Backend, phone: CognitoSyncClient, ident: str, report: DemoReport
) -> None:
    """The phone sets ``theme`` while the backend is writing it; the backend's put
    conflicts, re-reads, and its resolver lets the user's own choice (the phone's) win."""
    key = "theme"
    resolved: list[tuple[str | None, str | None]] = []

    def user_choice_wins(k: str, local: str | None, remote: Record | None) -> str | None:
        remote_value = remote.value if remote is not None else None
        resolved.append((local, remote_value))
        return remote_value if k == key else local

    device = phone.dataset(identity_pool_id=POOL, identity_id=ident, dataset_name="settings")
    backend.phone_write = lambda: device.put({key: "dark (set on the phone)"})
    ds = backend.dataset(identity_pool_id=POOL, identity_id=ident, dataset_name="settings")
    result = await ds.put({key: "light (backend default)", "migrated": "yes"},
                          on_conflict=user_choice_wins)
    final = await ds.get()
    report.conflict = {
        "key": key,
        "identity_id": ident,
        "backend_value": resolved[0][0] if resolved else None,
        "phone_value": resolved[0][1] if resolved else None,
        "final": final.get(key),
        "rounds": result.rounds,
        "resolved": bool(resolved) and result.conflicts == [key]
        and final.get("migrated") == "yes",
    }


async def _migrate(
    svc: Any, client: CognitoSyncClient, ids: list[str], concurrency: int,
    options: dict[str, Any], report: DemoReport,
) -> None:
    """Mirror the pool into SQLite, let old apps change a few records, mirror again
    (only the changed datasets are read), and verify the copy."""
    target = f"sqlite:{report.mirror_path}"
    first = await mirror(client, identity_pool_id=POOL, target=target, identities=ids,
                         concurrency=concurrency, summary=MirrorSummary())
    report.mirror_first = first.as_dict()
    changed = ids[1: 1 + APP_CHANGES]
    for index, ident in enumerate(changed, start=1):
        creds = svc.mint_identity_credentials(POOL, ident)
        async with CognitoSyncClient(svc.region, credentials=creds,
                                     **{**options, "adaptive_rate_limit": False}) as app:
            ds = app.dataset(identity_pool_id=POOL, identity_id=ident, dataset_name="settings")
            # another theme than settings_for(index)'s, and the nickname removed
            await ds.put({"theme": THEMES[(index + 1) % len(THEMES)], "nickname": None})
    report.app_changes = len(changed)
    second = await mirror(client, identity_pool_id=POOL, target=target, identities=ids,
                          concurrency=concurrency, summary=MirrorSummary())
    report.mirror_second = second.as_dict()
    checked = await verify(client, identity_pool_id=POOL, target=target, identities=ids,
                           concurrency=concurrency, summary=VerifySummary())
    report.verify = {k: v for k, v in checked.as_dict().items() if k != "first_differences"}


def _mirror_path(export_path: str) -> str:
    """The mirror's SQLite file, next to the export (a previous demo's copy is replaced:
    it mirrored another, now gone, local service)."""
    path = os.path.splitext(export_path)[0] + ".mirror.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


def _export_path(output: str | None) -> str:
    """``output``, or a file in a new directory that is kept (the report says where)."""
    if output:
        return os.path.abspath(output)
    return os.path.join(tempfile.mkdtemp(prefix="cognitosync-demo-"), "export.jsonl")


async def run_demo(
    *,
    identities: int = 200,
    concurrency: int = 32,
    throttle_rate: float = 250.0,
    output: str | None = None,
    as_json: bool = False,
    output_format: str = "text",
) -> int:
    """Play the demo job; prints the report and returns the exit code (0 when all checks pass)."""
    from ..local import Faults, LocalCognitoSync

    counting = contextlib.ExitStack()  # closed in the finally below
    counter = counting.enter_context(counting_calls())
    export_path = _export_path(output)
    # the database lives in its own directory, removed at the end (the export is kept)
    dbdir = tempfile.TemporaryDirectory(prefix="cognitosync-demo-db-", ignore_cleanup_errors=True)
    database = os.path.join(dbdir.name, "local.sqlite3")
    report = DemoReport(identities=identities, database=database, export_path=export_path)
    faults = Faults(throttle_rate=throttle_rate, throttle_burst=max(5, int(throttle_rate / 10)))
    ids = identity_ids(identities)
    start = time.monotonic()
    try:
        # the demo's database is thrown away: no fsync after every commit
        async with LocalCognitoSync(db_path=database, faults=faults, durable=False) as svc:
            report.endpoint_url = svc.endpoint_url
            options: dict[str, Any] = dict(
                endpoint_url=svc.endpoint_url,
                max_attempts=15,
                retry_base_delay=0.02,
                retry_max_delay=0.25,
                adaptive_rate_limit=True,
            )
            phone_creds = svc.mint_identity_credentials(POOL, ids[0]) if ids else None
            async with CognitoSyncClient(
                svc.region, credentials=svc.credentials, **options
            ) as client, CognitoSyncClient(
                svc.region,
                credentials=phone_creds or svc.credentials,
                **{**options, "adaptive_rate_limit": False},  # a phone sends one at a time
            ) as phone:
                t = time.monotonic()
                await _write(client, ids, concurrency, report)
                report.write_seconds = time.monotonic() - t

                t = time.monotonic()
                await _read(client, ids, concurrency, report)
                report.read_seconds = time.monotonic() - t

                if ids:
                    async with _Backend(svc.region, credentials=svc.credentials,
                                        **options) as backend:
                        await _conflict(backend, phone, ids[0], report)

                async def all_ids() -> AsyncIterator[str]:
                    for ident in ids:
                        yield ident

                t = time.monotonic()
                summary = await run_export(
                    client,
                    identity_pool_id=POOL,
                    identities=all_ids(),
                    output=export_path,
                    checkpoint=None,
                    concurrency=concurrency,
                    summary=Summary("export"),
                )
                report.export_seconds = time.monotonic() - t
                report.exported_datasets = summary.datasets
                report.failures += summary.failed

                report.mirror_path = _mirror_path(export_path)
                await _migrate(svc, client, ids, concurrency, options, report)
                limiter = client.rate_limiter
                report.limiter_throttles = limiter.throttles if limiter is not None else 0
    finally:
        counting.close()
        dbdir.cleanup()
    report.elapsed = time.monotonic() - start
    report.calls = counter.calls
    report.retries = counter.retries
    report.throttled = counter.throttled
    report.error_answers = counter.errors
    emit_object("json" if as_json else output_format,
                {**attrs.asdict(report), "ok": report.ok}, report.text())
    return 0 if report.ok else 1
