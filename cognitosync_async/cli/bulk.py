"""The export/import engine: identities' datasets to JSON Lines and back, resumably.

The export writes one JSON object per dataset per line::

    {"identity_pool_id": "...", "identity_id": "...", "dataset_name": "...",
     "dataset_sync_count": 3, "creation_date": "...", "last_modified_date": "...",
     "last_modified_by": "...", "records": [{"key": "k", "value": "v",
     "sync_count": 3, "last_modified_date": "...", "last_modified_by": "...",
     "device_last_modified_date": null}, ...]}

Records include tombstones (``"value": null``), so an import re-applies
removals too. Timestamps are ISO 8601 UTC.

Exactly-once across interruptions: an identity's datasets are written as
one block, flushed and fsynced, and only then is a checkpoint line
``{"identity_id": ..., "datasets": n, "offset": <output size>}`` appended
(and fsynced). A resumed export truncates the output to the last
checkpointed offset (dropping any block or partial line written after it,
even after SIGKILL) and skips checkpointed identities. The import
checkpoints the input line numbers it has applied; re-applying a line is
harmless anyway (equal values are not written).
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from typing import IO, TYPE_CHECKING, Any

import attrs

from .._dataset import DATASETS_PAGE_SIZE, RECORDS_PAGE_SIZE, ConflictPolicy, SyncConflictError
from .._exceptions import ParamValidationError, ResourceConflictException
from .._fanout import fan_out
from .._models import ListRecordsResponse, records_reader
from .._operations import LIST_RECORDS
from .._paginate import RecordPaginator
from .checkpoint import Checkpoint, CheckpointMismatch
from .inputs import lines_of
from .progress import Progress
from .serialize import dataset_json, records_json_raw

if TYPE_CHECKING:
    from .._client import CognitoSyncClient


# ---------------------------------------------------------------------- export


@attrs.define
class Summary:
    """What an export or import did (printed at the end, ``--json`` as is)."""

    command: str
    done: int = 0  # identities exported / lines imported, this run
    skipped: int = 0  # already in the checkpoint
    failed: int = 0
    conflicts: int = 0
    datasets: int = 0
    records: int = 0
    elapsed: float = 0.0
    output: str | None = None
    errors: list[dict[str, str]] = attrs.field(factory=list)
    interrupted: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data["elapsed"] = round(self.elapsed, 3)
        data["errors"] = self.errors[:100]
        return data

    def text(self) -> str:
        unit = "identities" if self.command == "export" else "datasets"
        rate = self.done / self.elapsed if self.elapsed > 0 else 0.0
        lines = [
            f"{self.command}: {self.done} {unit} done, {self.skipped} skipped (checkpoint), "
            f"{self.failed} failed{f' ({self.conflicts} conflicts)' if self.conflicts else ''}",
            f"  {self.datasets} datasets, {self.records} records in {self.elapsed:.1f}s "
            f"({rate:.1f} {unit}/s)",
        ]
        if self.output:
            lines.append(f"  output: {self.output}")
        for err in self.errors[:10]:
            lines.append(f"  failed {err['item']}: {err['error']}")
        if len(self.errors) > 10:
            lines.append(f"  ... and {len(self.errors) - 10} more")
        if self.interrupted:
            lines.append("  interrupted: run the same command again to resume")
        return "\n".join(lines)


async def export_identity(
    client: CognitoSyncClient, identity_pool_id: str, identity_id: str
) -> list[dict[str, Any]]:
    """Every dataset of one identity, each with all its records (tombstones included)."""
    out: list[dict[str, Any]] = []
    async for dataset in client.iter_datasets(
        identity_pool_id=identity_pool_id, identity_id=identity_id, page_size=DATASETS_PAGE_SIZE
    ):
        name = dataset.dataset_name
        if name is None:
            continue
        pager = _export_records(client, identity_pool_id, identity_id, name)
        records: list[dict[str, Any]] = []
        async for page in pager.pages():
            records += page.records  # type: ignore[arg-type]  # export dicts (see below)
        if pager.dataset_exists is False:
            continue  # deleted between the listing and the read
        line: dict[str, Any] = {
            "identity_pool_id": identity_pool_id,
            "identity_id": identity_id,
            **dataset_json(dataset),
            "dataset_sync_count": pager.dataset_sync_count,
            "merged_dataset_names": list(pager.merged_dataset_names or []),
            "records": records,
        }
        out.append(line)
    return out


#: ListRecords answers as the export needs them: ``records`` holds the records'
#: export dicts (``record_json``'s, made straight from the JSON)
_export_page = records_reader(records_json_raw)


def _export_records(
    client: CognitoSyncClient, identity_pool_id: str, identity_id: str, dataset_name: str
) -> RecordPaginator:
    """``client.iter_records`` over the raw page path: the same request loop
    (validation, signing, retries, hooks, error answers) and pagination
    (``PaginationError`` on a repeated token), pages of export dicts."""

    async def list_records(**values: Any) -> ListRecordsResponse:
        page: ListRecordsResponse = await client._call_raw(LIST_RECORDS, values, _export_page)
        return page

    return RecordPaginator(
        list_records,
        {
            "identity_pool_id": identity_pool_id,
            "identity_id": identity_id,
            "dataset_name": dataset_name,
            "last_sync_count": None,
            "sync_session_token": None,
        },
        page_size=RECORDS_PAGE_SIZE,
    )


class _Output:
    """The JSON Lines output: a file (truncated to the checkpoint on resume) or stdout."""

    def __init__(self, path: str | None, *, durable: bool) -> None:
        self.path = path
        self.durable = durable  # fsync every block (when a checkpoint refers to it)
        self._file: IO[bytes] | None = None

    def open(self, resume_offset: int | None) -> None:
        if self.path is None:
            self._file = sys.stdout.buffer
            return
        if resume_offset is None:
            self._file = open(self.path, "wb")  # noqa: SIM115
            return
        if not os.path.exists(self.path):
            if resume_offset:
                raise CheckpointMismatch(
                    f"the checkpoint says {resume_offset} bytes were written to {self.path}, "
                    "which does not exist"
                )
            self._file = open(self.path, "wb")  # noqa: SIM115
            return
        size = os.path.getsize(self.path)
        if size < resume_offset:
            raise CheckpointMismatch(
                f"{self.path} is shorter ({size} bytes) than the checkpoint says "
                f"({resume_offset} bytes)"
            )
        self._file = open(self.path, "r+b")  # noqa: SIM115
        self._file.truncate(resume_offset)
        self._file.seek(resume_offset)

    def write_block(self, lines: list[dict[str, Any]]) -> int:
        """Write and flush (and fsync when durable); returns the output size after it."""
        assert self._file is not None
        data = b"".join(
            json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
            for line in lines
        )
        self._file.write(data)
        self._file.flush()
        if self.path is None:
            return 0
        if self.durable:
            os.fsync(self._file.fileno())
        return self._file.tell()

    def close(self) -> None:
        if self._file is not None and self.path is not None:
            self._file.close()
        self._file = None


def _export_checkpoint(path: str, identity_pool_id: str, output: str) -> Checkpoint:
    header = {"command": "export", "identity_pool_id": identity_pool_id,
              "output": os.path.abspath(output)}
    return Checkpoint(path, header)


async def run_export(
    client: CognitoSyncClient,
    *,
    identity_pool_id: str,
    identities: AsyncIterator[str],
    output: str | None,
    checkpoint: str | None,
    concurrency: int = 8,
    rate: float | None = None,
    progress: Progress | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Export the datasets of ``identities`` to ``output`` (None: stdout), resumably."""
    summary = summary if summary is not None else Summary("export")
    summary.output = output or "-"
    start = time.monotonic()
    ckpt: Checkpoint | None = None
    done_ids: set[str] = set()
    offset: int | None = None
    if checkpoint is not None:
        if output is None:
            raise ParamValidationError("checkpoint", "needs output= a file (not stdout)")
        ckpt = _export_checkpoint(checkpoint, identity_pool_id, output)
        entries = await asyncio.to_thread(ckpt.open)
        try:
            done_ids = {str(e["identity_id"]) for e in entries}
            offset = int(entries[-1]["offset"]) if entries else 0
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointMismatch(f"checkpoint {checkpoint} is not an export's") from exc
    out = _Output(output, durable=ckpt is not None)
    try:
        await asyncio.to_thread(out.open, offset)
        seen: set[str] = set()

        async def todo() -> AsyncIterator[str]:
            async for ident in identities:
                if ident in seen:
                    continue  # listed twice: exported once
                seen.add(ident)
                if ident in done_ids:
                    summary.skipped += 1
                    continue
                yield ident

        async def one(ident: str) -> list[dict[str, Any]]:
            return await export_identity(client, identity_pool_id, ident)

        def commit(ident: str, lines: list[dict[str, Any]]) -> None:
            end = out.write_block(lines)
            if ckpt is not None:
                ckpt.append({"identity_id": ident, "datasets": len(lines), "offset": end})

        async with fan_out(todo(), one, concurrency=concurrency, rate=rate) as results:
            async for result in results:
                if result.ok:
                    lines = result.unwrap()
                    await asyncio.to_thread(commit, result.item, lines)
                    summary.done += 1
                    summary.datasets += len(lines)
                    summary.records += sum(len(line["records"]) for line in lines)
                else:
                    summary.failed += 1
                    summary.errors.append({"item": result.item, "error": str(result.error)})
                if progress is not None:
                    progress.update(
                        summary.done + summary.skipped, summary.failed,
                        f"identities, {summary.datasets} datasets",
                    )
    finally:
        summary.elapsed = time.monotonic() - start
        out.close()
        if ckpt is not None:
            ckpt.close()
        if progress is not None:
            progress.finish()
    return summary


# ---------------------------------------------------------------------- import


def _digest(line: str) -> str:
    """What identifies an imported line in the checkpoint: its content."""
    return hashlib.sha256(line.strip().encode("utf-8", "surrogateescape")).hexdigest()


@attrs.define
class _ImportLine:
    number: int
    text: str


async def run_import(
    client: CognitoSyncClient,
    *,
    source: IO[str],
    input_name: str,
    checkpoint: str | None,
    identity_pool_id: str | None = None,
    on_conflict: ConflictPolicy = "overwrite",
    concurrency: int = 8,
    rate: float | None = None,
    progress: Progress | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Apply an export's lines with ``DatasetHandle.put`` (tombstones remove), resumably."""
    summary = summary if summary is not None else Summary("import")
    start = time.monotonic()
    ckpt: Checkpoint | None = None
    # digest -> how many lines of that content were applied: a later line
    # with the same content as an applied one is skipped only as many times
    done: collections.Counter[str] = collections.Counter()
    if checkpoint is not None:
        ckpt = Checkpoint(
            checkpoint, {"command": "import", "input": input_name,
                         "identity_pool_id": identity_pool_id}
        )
        entries = await asyncio.to_thread(ckpt.open)
        try:
            done = collections.Counter(str(e["sha256"]) for e in entries)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointMismatch(f"checkpoint {checkpoint} is not an import's") from exc

    async def todo() -> AsyncIterator[_ImportLine]:
        async for number, text in lines_of(source):
            if not text.strip():
                continue
            digest = _digest(text)
            if done[digest] > 0:  # by content: an input edited since still resumes right
                done[digest] -= 1
                summary.skipped += 1
                continue
            yield _ImportLine(number, text)

    async def one(line: _ImportLine) -> int:
        try:
            data = json.loads(line.text)
            pool = identity_pool_id or data["identity_pool_id"]
            values: dict[str, str | None] = {
                str(r["key"]): r.get("value") for r in data.get("records") or []
            }
            handle = client.dataset(
                identity_pool_id=pool,
                identity_id=data["identity_id"],
                dataset_name=data["dataset_name"],
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {line.number}: not a dataset line ({exc})") from exc
        await handle.put(values, on_conflict=on_conflict)
        return len(values)

    try:
        async with fan_out(todo(), one, concurrency=concurrency, rate=rate) as results:
            async for result in results:
                if result.ok:
                    if ckpt is not None:
                        await asyncio.to_thread(
                            ckpt.append,
                            {"line": result.item.number, "sha256": _digest(result.item.text)},
                        )
                    summary.done += 1
                    summary.datasets += 1
                    summary.records += result.unwrap()
                else:
                    summary.failed += 1
                    if isinstance(result.error, (SyncConflictError, ResourceConflictException)):
                        summary.conflicts += 1
                    summary.errors.append(
                        {"item": f"line {result.item.number}", "error": str(result.error)}
                    )
                if progress is not None:
                    progress.update(summary.done + summary.skipped, summary.failed, "datasets")
    finally:
        summary.elapsed = time.monotonic() - start
        if ckpt is not None:
            ckpt.close()
        if progress is not None:
            progress.finish()
    return summary
