"""A dataset handle: read-modify-write with conflict handling, on the raw API.

``client.dataset(identity_pool_id=..., identity_id=..., dataset_name=...)``
returns a ``DatasetHandle``. ``put`` does the dance every backend otherwise
re-implements: list the records to learn their sync counts and a sync
session token, patch what changed, and on ``ResourceConflictException``
read again and re-apply according to a conflict policy, a bounded number
of rounds.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ._exceptions import ResourceConflictException
from ._models import (
    DeleteDatasetResponse,
    DescribeDatasetResponse,
    Record,
    RecordPatch,
)

if TYPE_CHECKING:
    from ._client import CognitoSyncClient
    from ._paginate import RecordPaginator

#: ``(key, local_value, remote_record) -> value`` to write (None removes the key).
#: ``remote_record`` is None when the key is gone remotely. May be async.
ConflictResolver = Callable[
    [str, str | None, Record | None], str | None | Awaitable[str | None]
]
ConflictPolicy = Literal["overwrite", "keep_remote"] | ConflictResolver

#: Patches per UpdateRecords call. The service documents no limit per request;
#: a dataset holds at most 1,024 records, so one request never needs more.
MAX_PATCHES_PER_REQUEST = 1024


class SyncConflictError(ResourceConflictException):
    """``put`` still met conflicts after its last round; ``keys`` were involved."""

    def __init__(self, keys: list[str], last: ResourceConflictException, rounds: int) -> None:
        super().__init__(
            f"conflict on {len(keys)} key(s) after {rounds} round(s): "
            f"{', '.join(sorted(keys)[:10])}{'...' if len(keys) > 10 else ''} "
            f"(last answer: {last.message})",
            code=last.code,
            status_code=last.status_code,
            request_id=last.request_id,
            operation=last.operation,
        )
        self.keys = keys
        self.rounds = rounds


@attrs.define
class PutResult:
    """What ``put`` wrote: the records the service returned, and how it went."""

    records: list[Record]
    dataset_sync_count: int | None
    rounds: int
    calls: int


@attrs.define
class PullResult:
    """Changes since a sync count, for mirroring a dataset incrementally."""

    changed: dict[str, str]
    removed: list[str]
    dataset_sync_count: int | None
    dataset_exists: bool | None
    dataset_deleted_after_requested_sync_count: bool | None
    merged_dataset_names: list[str]
    records: list[Record]


@attrs.define
class _Snapshot:
    records: dict[str, Record]
    token: str
    sync_count: int | None


class DatasetHandle:
    """One identity's dataset. Made by ``CognitoSyncClient.dataset``."""

    def __init__(
        self,
        client: CognitoSyncClient,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        max_rounds: int = 5,
        device_id: str | None = None,
    ) -> None:
        self._client = client
        self.identity_pool_id = identity_pool_id
        self.identity_id = identity_id
        self.dataset_name = dataset_name
        self.max_rounds = max_rounds
        self.device_id = device_id
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return (
            f"DatasetHandle(identity_pool_id={self.identity_pool_id!r}, "
            f"identity_id={self.identity_id!r}, dataset_name={self.dataset_name!r})"
        )

    def _records(self, since: int | None = None) -> RecordPaginator:
        return self._client.iter_records(
            identity_pool_id=self.identity_pool_id,
            identity_id=self.identity_id,
            dataset_name=self.dataset_name,
            last_sync_count=since,
        )

    async def _snapshot(self) -> _Snapshot:
        pager = self._records()
        records: dict[str, Record] = {}
        async for record in pager:
            if record.key is not None:
                records[record.key] = record
        token = pager.sync_session_token
        if token is None:
            raise ResourceConflictException(
                "ListRecords returned no SyncSessionToken",
                code="ResourceConflictException",
                status_code=200,
                operation="ListRecords",
            )
        return _Snapshot(records, token, pager.dataset_sync_count)

    async def get(self) -> dict[str, str]:
        """The live records (tombstones left out), read across all pages."""
        out: dict[str, str] = {}
        async for record in self._records():
            if record.key is None:
                continue
            if record.value is None:
                out.pop(record.key, None)
            else:
                out[record.key] = record.value
        return out

    async def pull(self, since: int = 0) -> PullResult:
        """What changed after sync count ``since`` (0: everything)."""
        pager = self._records(since)
        changed: dict[str, str] = {}
        removed: dict[str, None] = {}
        records: list[Record] = []
        async for record in pager:
            records.append(record)
            if record.key is None:
                continue
            if record.value is None:
                changed.pop(record.key, None)
                removed[record.key] = None
            else:
                removed.pop(record.key, None)
                changed[record.key] = record.value
        return PullResult(
            changed=changed,
            removed=list(removed),
            dataset_sync_count=pager.dataset_sync_count,
            dataset_exists=pager.dataset_exists,
            dataset_deleted_after_requested_sync_count=(
                pager.dataset_deleted_after_requested_sync_count
            ),
            merged_dataset_names=list(pager.merged_dataset_names or []),
            records=records,
        )

    async def describe(self) -> DescribeDatasetResponse:
        return await self._client.describe_dataset(
            identity_pool_id=self.identity_pool_id,
            identity_id=self.identity_id,
            dataset_name=self.dataset_name,
        )

    async def delete(self) -> DeleteDatasetResponse:
        return await self._client.delete_dataset(
            identity_pool_id=self.identity_pool_id,
            identity_id=self.identity_id,
            dataset_name=self.dataset_name,
        )

    async def put(
        self,
        values: Mapping[str, str | None],
        *,
        on_conflict: ConflictPolicy = "overwrite",
        max_rounds: int | None = None,
    ) -> PutResult:
        """Set keys to values and remove keys mapped to None.

        Unchanged keys are not written. On ``ResourceConflictException`` the
        dataset is read again and the change re-applied per ``on_conflict``:
        ``"overwrite"`` (the caller's values win), ``"keep_remote"`` (a key
        changed remotely since it was read keeps the remote value), or a
        resolver ``(key, local_value, remote_record) -> value | None``.
        After ``max_rounds`` rounds, raises ``SyncConflictError``.
        """
        if on_conflict not in ("overwrite", "keep_remote") and not callable(on_conflict):
            raise ValueError("on_conflict must be 'overwrite', 'keep_remote' or a callable")
        rounds_allowed = max_rounds if max_rounds is not None else self.max_rounds
        intent: dict[str, str | None] = dict(values)
        async with self._lock:
            return await self._put(intent, on_conflict, rounds_allowed)

    async def _put(
        self, intent: dict[str, str | None], policy: ConflictPolicy, rounds_allowed: int
    ) -> PutResult:
        calls = 0
        seen: dict[str, int | None] = {}  # key -> sync count the intent was based on
        written: list[Record] = []
        last_error: ResourceConflictException | None = None
        conflicted: set[str] = set()
        for round_no in range(1, rounds_allowed + 1):
            snap = await self._snapshot()
            calls += 1
            if round_no > 1:
                intent, conflicted_now = await self._reconcile(intent, seen, snap, policy)
                conflicted |= conflicted_now
            patches: list[RecordPatch] = []
            for key, value in intent.items():
                remote = snap.records.get(key)
                count = remote.sync_count if remote and remote.sync_count is not None else 0
                seen[key] = count if remote else None
                if value is None:
                    if remote is None or remote.value is None:
                        continue  # nothing to remove
                    patches.append(RecordPatch("remove", key, count))
                else:
                    if remote is not None and remote.value == value:
                        continue  # already so
                    patches.append(RecordPatch("replace", key, count, value))
            try:
                for start in range(0, len(patches), MAX_PATCHES_PER_REQUEST):
                    batch = patches[start : start + MAX_PATCHES_PER_REQUEST]
                    resp = await self._client.update_records(
                        identity_pool_id=self.identity_pool_id,
                        identity_id=self.identity_id,
                        dataset_name=self.dataset_name,
                        record_patches=batch,
                        sync_session_token=snap.token,
                        device_id=self.device_id,
                    )
                    calls += 1
                    written.extend(resp.records or [])
                    for rec in resp.records or []:
                        if rec.key is not None:
                            intent.pop(rec.key, None)
                sync_count = max(
                    (r.sync_count for r in written if r.sync_count is not None),
                    default=snap.sync_count,
                )
                return PutResult(written, sync_count, round_no, calls)
            except ResourceConflictException as exc:
                calls += 1
                last_error = exc
                conflicted |= {p.key for p in patches}
        assert last_error is not None
        raise SyncConflictError(sorted(conflicted & set(intent)) or sorted(conflicted),
                                last_error, rounds_allowed)

    async def _reconcile(
        self,
        intent: dict[str, str | None],
        seen: Mapping[str, int | None],
        snap: _Snapshot,
        policy: ConflictPolicy,
    ) -> tuple[dict[str, str | None], set[str]]:
        """Re-apply the intent to a fresh snapshot; returns (new intent, conflicting keys)."""
        out: dict[str, str | None] = {}
        conflicting: set[str] = set()
        for key, local in intent.items():
            remote = snap.records.get(key)
            now = remote.sync_count if remote else None
            if now == seen.get(key):
                out[key] = local
                continue
            conflicting.add(key)
            if policy == "overwrite":
                out[key] = local
            elif policy == "keep_remote":
                continue
            else:
                assert callable(policy)
                result: Any = policy(key, local, remote)
                if inspect.isawaitable(result):
                    result = await result
                out[key] = result
        return out, conflicting
