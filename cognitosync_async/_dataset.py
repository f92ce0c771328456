"""A dataset handle: read-modify-write with conflict handling, on the raw API.

``client.dataset(identity_pool_id=..., identity_id=..., dataset_name=...)``
returns a ``DatasetHandle``. ``put`` does the dance every backend otherwise
re-implements: list the records to learn their sync counts and a sync
session token, patch what changed, and on ``ResourceConflictException``
read again and re-apply according to a conflict policy, a bounded number
of rounds.

The sharp edges (docs/service-behaviour.md#sync-rules and #sdk-sync) and how
they are met:

* tombstones (a removed key keeps a record with no value and a count):
  ``get`` leaves them out, ``pull`` reports them as ``removed``, ``put``
  patches them with their own count;
* ``None`` removes a key, ``""`` is a value: the two are never confused;
* a value equal to the remote one is not written, and a conflict whose
  remote value already equals the caller's is no conflict;
* a dataset deleted (and perhaps re-created) after our read makes the write
  conflict; the next round starts from what exists now;
* one ``UpdateRecords`` call when the service's limits allow it; when a
  change needs several (over 1,024 patches, or a body over
  ``MAX_REQUEST_BYTES``), removals and shrinking values go first, so no
  intermediate state is over a limit the final state respects, and a final
  state over the 1 MB / 1,024 records limits is refused before anything is
  written.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import attrs

from . import _validation as val
from ._exceptions import (
    LimitExceededException,
    ParamValidationError,
    ResourceConflictException,
    ResponseParseError,
)
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
#: a dataset holds at most 1,024 records, so a request rarely needs more.
MAX_PATCHES_PER_REQUEST = 1024
#: Request body size per UpdateRecords call (the JSON, as sent). The service
#: documents none; 1 MB of data fits in one request unless heavily escaped.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
#: The service's dataset limits (docs/service-behaviour.md#limits).
MAX_DATASET_BYTES = 1024 * 1024
MAX_RECORDS_PER_DATASET = 1024
#: The mobile SDKs refuse keys longer than this many UTF-8 bytes.
PORTABLE_KEY_BYTES = 128


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
    """What ``put`` wrote: the records the service returned, and how it went.

    ``conflicts`` are the keys another writer changed while ``put`` ran
    (each resolved by the policy); ``calls`` counts requests (pages included).
    """

    records: list[Record]
    dataset_sync_count: int | None
    rounds: int
    calls: int
    conflicts: list[str] = attrs.field(factory=list)


@attrs.define
class PullResult:
    """Changes after sync count ``since``, for mirroring a dataset incrementally.

    Apply ``removed`` and ``changed`` to the mirror and keep
    ``dataset_sync_count`` for the next pull. When ``reset`` is true the
    dataset was deleted after ``since`` (and maybe re-created): drop the
    mirror first, then apply ``changed``.
    """

    changed: dict[str, str]
    removed: list[str]
    dataset_sync_count: int | None
    dataset_exists: bool | None
    dataset_deleted_after_requested_sync_count: bool | None
    merged_dataset_names: list[str]
    records: list[Record]
    since: int = 0

    @property
    def reset(self) -> bool:
        """The mirror must be dropped: the dataset was deleted after ``since``."""
        return bool(self.dataset_deleted_after_requested_sync_count) or (
            self.since != 0 and self.dataset_exists is False
        )


@attrs.define
class _Snapshot:
    records: dict[str, Record]
    token: str
    sync_count: int | None
    pages: int


def _utf8(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _patch_bytes(patch: RecordPatch) -> int:
    """Approximately the bytes a patch takes in the JSON body."""
    body = {"Op": patch.op, "Key": patch.key, "SyncCount": patch.sync_count, "Value": patch.value}
    return len(json.dumps(body)) + 2


def _order(patches: list[RecordPatch], remote: Mapping[str, Record]) -> list[RecordPatch]:
    """Removals, then values that shrink or keep their size, then values that grow."""

    def growth(p: RecordPatch) -> tuple[int, int]:
        if p.op == "remove":
            return (0, 0)
        old = remote.get(p.key)
        before = _utf8(p.key) + _utf8(old.value) if old and old.value is not None else 0
        delta = _utf8(p.key) + _utf8(p.value or "") - before
        return (1 if delta <= 0 else 2, delta)

    return sorted(patches, key=growth)


def _batches(patches: list[RecordPatch]) -> list[list[RecordPatch]]:
    out: list[list[RecordPatch]] = []
    current: list[RecordPatch] = []
    size = 0
    for patch in patches:
        n = _patch_bytes(patch)
        if current and (
            len(current) >= MAX_PATCHES_PER_REQUEST or size + n > MAX_REQUEST_BYTES
        ):
            out.append(current)
            current, size = [], 0
        current.append(patch)
        size += n
    if current:
        out.append(current)
    return out


def _check_limits(remote: Mapping[str, Record], patches: list[RecordPatch]) -> None:
    """Refuse, before writing, a change whose final state is over the dataset limits."""
    live: dict[str, str | None] = {
        k: r.value for k, r in remote.items() if r.value is not None
    }
    for p in patches:
        if p.op == "remove":
            live.pop(p.key, None)
        else:
            live[p.key] = p.value
    size = sum(_utf8(k) + _utf8(v or "") for k, v in live.items())
    problem = None
    if len(live) > MAX_RECORDS_PER_DATASET:
        problem = f"{len(live)} records; the limit is {MAX_RECORDS_PER_DATASET}"
    elif size > MAX_DATASET_BYTES:
        problem = f"{size} bytes; the limit is {MAX_DATASET_BYTES}"
    if problem:
        raise LimitExceededException(
            f"Dataset would hold {problem} (refused before writing)",
            code="LimitExceededException",
            status_code=400,
            operation="UpdateRecords",
        )


_VALUE_OR_NONE = val.optional(val.RECORD_VALUE)


def _validate_values(values: Mapping[str, str | None]) -> dict[str, str | None]:
    """The caller's changes, checked against the model's record rules before any I/O."""
    intent: dict[str, str | None] = {}
    attribute = val.param("values")
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            got = "an empty str" if isinstance(key, str) else type(key).__name__
            raise ParamValidationError("values", f"each key must be a non-empty str, got {got}")
        if value is not None and not isinstance(value, str):
            raise ParamValidationError(
                "values", f"each value must be a str or None, got {type(value).__name__}"
            )
        val.RECORD_KEY(None, attribute, key)
        _VALUE_OR_NONE(None, attribute, value)
        if _utf8(key) > PORTABLE_KEY_BYTES:
            warnings.warn(
                f"a record key ({_utf8(key)} UTF-8 bytes) is over {PORTABLE_KEY_BYTES}: "
                "the AWS mobile SDKs refuse such keys",
                UserWarning,
                stacklevel=4,
            )
        intent[key] = value
    return intent


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
        lock: asyncio.Lock | None = None,
    ) -> None:
        self._client = client
        self.identity_pool_id = identity_pool_id
        self.identity_id = identity_id
        self.dataset_name = dataset_name
        self.max_rounds = max_rounds
        self.device_id = device_id
        # serialises ``put`` on this dataset; ``client.dataset`` passes the one
        # all handles on the same dataset share
        self._lock = lock if lock is not None else asyncio.Lock()

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
        pages = 0
        async for page in pager.pages():
            pages += 1
            for record in page.records or []:
                if record.key is not None:
                    records[record.key] = record
        token = pager.sync_session_token
        if token is None:
            raise ResponseParseError("ListRecords returned no SyncSessionToken")
        return _Snapshot(records, token, pager.dataset_sync_count, pages)

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
        """What changed after sync count ``since`` (0: everything), across all pages.

        Keep the result's ``dataset_sync_count`` and pass it as ``since`` next
        time; check ``reset`` (the dataset was deleted after ``since``) and
        ``merged_dataset_names`` (identities were linked: ``<name>.<identity>``
        datasets wait to be merged by the application).
        """
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
            since=since,
        )

    async def describe(self) -> DescribeDatasetResponse:
        """The dataset's metadata (``ResourceNotFoundException`` when it does not exist)."""
        return await self._client.describe_dataset(
            identity_pool_id=self.identity_pool_id,
            identity_id=self.identity_id,
            dataset_name=self.dataset_name,
        )

    async def delete(self) -> DeleteDatasetResponse:
        """Delete the dataset (``ResourceNotFoundException`` when it does not exist)."""
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
        """Set keys to values and remove keys mapped to None (``""`` is a value).

        Reads the dataset (all pages) for fresh sync counts and a session
        token, then writes only what differs, in as few ``UpdateRecords``
        calls as the limits allow. On ``ResourceConflictException`` it reads
        again; a key another writer changed since the previous read is a
        conflict, settled by ``on_conflict``:

        * ``"overwrite"`` (default): the caller's value wins;
        * ``"keep_remote"``: the other writer's value stays, the key is dropped;
        * a callable ``(key, local_value, remote_record) -> value | None``
          (sync or async; ``remote_record`` is None when the key is gone, its
          ``value`` None for a tombstone): its answer is written (None removes).

        A key whose remote value already equals the caller's is no conflict.
        After ``max_rounds`` rounds (the handle's, default 5) it raises
        ``SyncConflictError`` with the ``keys`` still conflicting.
        """
        if on_conflict not in ("overwrite", "keep_remote") and not callable(on_conflict):
            raise ParamValidationError(
                "on_conflict", "must be 'overwrite', 'keep_remote' or a callable"
            )
        rounds_allowed = max_rounds if max_rounds is not None else self.max_rounds
        if isinstance(rounds_allowed, bool) or not isinstance(rounds_allowed, int):
            raise ParamValidationError(
                "max_rounds", f"must be of type int, got {type(rounds_allowed).__name__}"
            )
        if rounds_allowed < 1:
            raise ParamValidationError("max_rounds", "must be >= 1")
        intent = _validate_values(values)
        async with self._lock:
            return await self._put(intent, on_conflict, rounds_allowed)

    async def _put(
        self, intent: dict[str, str | None], policy: ConflictPolicy, rounds_allowed: int
    ) -> PutResult:
        calls = 0
        seen: dict[str, int | None] = {}  # key -> sync count the intent was based on
        written: list[Record] = []
        last_error: ResourceConflictException | None = None
        conflicts: list[str] = []
        snap: _Snapshot | None = None
        for round_no in range(1, rounds_allowed + 1):
            snap = await self._snapshot()
            calls += snap.pages
            if round_no > 1:
                intent, conflicting = await self._reconcile(intent, seen, snap, policy)
                conflicts.extend(k for k in conflicting if k not in conflicts)
            patches: list[RecordPatch] = []
            for key, value in intent.items():
                remote = snap.records.get(key)
                count = remote.sync_count if remote and remote.sync_count is not None else 0
                seen[key] = remote.sync_count if remote else None
                if value is None:
                    if remote is None or remote.value is None:
                        continue  # nothing to remove
                    patches.append(RecordPatch("remove", key, count))
                else:
                    if remote is not None and remote.value == value:
                        continue  # already so
                    patches.append(RecordPatch("replace", key, count, value))
            batches = _batches(_order(patches, snap.records))
            if len(batches) > 1:
                _check_limits(snap.records, patches)
            try:
                for batch in batches:
                    calls += 1
                    resp = await self._client.update_records(
                        identity_pool_id=self.identity_pool_id,
                        identity_id=self.identity_id,
                        dataset_name=self.dataset_name,
                        record_patches=batch,
                        sync_session_token=snap.token,
                        device_id=self.device_id,
                    )
                    for rec in resp.records or []:
                        written.append(rec)
                        if rec.key is not None:
                            intent.pop(rec.key, None)
                sync_count = max(
                    (r.sync_count for r in written if r.sync_count is not None),
                    default=snap.sync_count,
                )
                return PutResult(written, sync_count, round_no, calls, conflicts)
            except ResourceConflictException as exc:
                last_error = exc
        assert last_error is not None and snap is not None
        # Which keys still conflict: those changed since the last read (one more read).
        keys: list[str] = []
        try:
            final = await self._snapshot()
            keys = sorted(
                k
                for k, local in intent.items()
                if (final.records[k].sync_count if k in final.records else None) != seen.get(k)
                and (final.records[k].value if k in final.records else None) != local
            )
        except ResourceConflictException:  # pragma: no cover - a read never conflicts
            pass
        raise SyncConflictError(keys or sorted(intent), last_error, rounds_allowed)

    async def _reconcile(
        self,
        intent: dict[str, str | None],
        seen: Mapping[str, int | None],
        snap: _Snapshot,
        policy: ConflictPolicy,
    ) -> tuple[dict[str, str | None], list[str]]:
        """Re-apply the intent to a fresh snapshot; returns (new intent, conflicting keys)."""
        out: dict[str, str | None] = {}
        conflicting: list[str] = []
        for key, local in intent.items():
            remote = snap.records.get(key)
            now = remote.sync_count if remote else None
            remote_value = remote.value if remote else None
            if now == seen.get(key) or remote_value == local:
                out[key] = local  # untouched, or already what we want: no conflict
                continue
            conflicting.append(key)
            if policy == "overwrite":
                out[key] = local
            elif policy == "keep_remote":
                continue
            else:
                assert callable(policy)
                result: Any = policy(key, local, remote)
                if inspect.isawaitable(result):
                    result = await result
                if result is not None and not isinstance(result, str):
                    raise ParamValidationError(
                        "on_conflict",
                        f"the resolver returned {type(result).__name__} for a key; "
                        "it must return a str or None",
                    )
                out[key] = result
        return out, conflicting
