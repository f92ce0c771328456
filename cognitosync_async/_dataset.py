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
  written;
* pages are asked for explicitly as the mobile SDKs ask (SERVICE.md C8):
  ``maxResults`` 1024 for ListRecords (and 64 for ListDatasets, in export);
* cursors (SERVICE.md C9): ``pull``'s ``dataset_sync_count`` and ``put``'s
  ``cursor`` never pass over another writer's change; ``put`` advances the
  caller's cursor (``since``) only when the read found the dataset at exactly
  ``since`` and each write got the next sync count, as the mobile SDKs do;
* a SyncTrigger may change or drop what was written: ``PutResult`` compares
  what the service stored with what ``put`` sent (``altered``, ``dropped``).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import warnings
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
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
#: ``maxResults`` the mobile SDKs always send (SERVICE.md C8); the service's own
#: default is undocumented, so the helpers never rely on it.
RECORDS_PAGE_SIZE = 1024
DATASETS_PAGE_SIZE = 64


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

    ``dataset_sync_count`` is the highest sync count the service gave the
    records written (the count ``put`` read when it wrote nothing). It is
    *not* a ``pull(since=)`` cursor: another writer's change may have a lower
    count that this caller never saw. ``cursor`` is one: with ``put(...,
    since=N)`` it is the written count when the read found the dataset at
    exactly ``N`` and each ``UpdateRecords`` got the next sync count (nobody
    else wrote in between), else ``N`` again (pull from there; you will also
    get your own records back). None when ``since`` was not given.

    ``conflicts`` are the keys another writer changed while ``put`` ran
    (each resolved by the policy); ``calls`` counts requests (pages included).
    ``merged_dataset_names`` are as in ``pull``. ``altered`` maps each key
    whose stored value is not what ``put`` sent (a SyncTrigger changed it,
    removed it: None, or added the key) to the stored value; ``dropped`` lists
    the keys ``put`` sent that the service did not store.
    """

    records: list[Record]
    dataset_sync_count: int | None
    rounds: int
    calls: int
    conflicts: list[str] = attrs.field(factory=list)
    cursor: int | None = None
    merged_dataset_names: list[str] = attrs.field(factory=list)
    altered: dict[str, str | None] = attrs.field(factory=dict)
    dropped: list[str] = attrs.field(factory=list)


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
    merged_dataset_names: list[str] = attrs.field(factory=list)


def _utf8(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _patch_bytes(patch: RecordPatch) -> int:
    """Approximately the bytes a patch takes in the JSON body."""
    body = {"Op": patch.op, "Key": patch.key, "SyncCount": patch.sync_count, "Value": patch.value}
    # + ', "DeviceLastModifiedDate": 1700000000.123'
    return len(json.dumps(body)) + 2 + (40 if patch.device_last_modified_date else 0)


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
    if not isinstance(values, Mapping):
        raise ParamValidationError(
            "values", f"must be a mapping of keys to values, got {type(values).__name__}"
        )
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


def _compare(
    sent: list[RecordPatch],
    stored: list[Record],
    altered: dict[str, str | None],
    dropped: dict[str, None],
) -> None:
    """Note in ``altered``/``dropped`` where what the service stored differs from
    what was sent (a SyncTrigger's doing); a key stored as sent is cleared."""
    returned = {r.key: r.value for r in stored if r.key is not None}
    for patch in sent:
        if patch.key not in returned:
            altered.pop(patch.key, None)
            dropped[patch.key] = None
            continue
        dropped.pop(patch.key, None)
        value = returned.pop(patch.key)
        if value == (patch.value if patch.op == "replace" else None):
            altered.pop(patch.key, None)
        else:
            altered[patch.key] = value
    for key, value in returned.items():  # keys the trigger added
        dropped.pop(key, None)
        altered[key] = value


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
            page_size=RECORDS_PAGE_SIZE,
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
        return _Snapshot(
            records,
            token,
            pager.dataset_sync_count,
            pages,
            list(pager.merged_dataset_names or []),
        )

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
        # The cursor is the lowest DatasetSyncCount any page reported: were a
        # page's count to move on while paging, a change to a key already
        # paged past could sit below the last page's count, unseen.
        cursor: int | None = None
        async for page in pager.pages():
            count = page.dataset_sync_count
            if count is not None and (cursor is None or count < cursor):
                cursor = count
            for record in page.records or []:
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
            dataset_sync_count=cursor,
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
        since: int | None = None,
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

        ``since``: the sync count your copy of the dataset is current to (the
        ``dataset_sync_count`` of your last ``pull``, or the ``cursor`` of your
        last ``put``); the result's ``cursor`` is then where to ``pull`` from
        next without missing another writer's change (see ``PutResult``).
        Each patch carries ``DeviceLastModifiedDate``: the time ``put`` was
        called.
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
        if since is not None and (
            isinstance(since, bool) or not isinstance(since, int) or since < 0
        ):
            raise ParamValidationError("since", "must be None or an integer >= 0")
        # milliseconds, as the service keeps it: the date read back equals the one sent
        now = datetime.now(timezone.utc)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        intent = _validate_values(values)
        async with self._lock:
            return await self._put(intent, on_conflict, rounds_allowed, since, now)

    async def _put(
        self,
        intent: dict[str, str | None],
        policy: ConflictPolicy,
        rounds_allowed: int,
        since: int | None,
        now: datetime,
    ) -> PutResult:
        calls = 0
        altered: dict[str, str | None] = {}
        dropped: dict[str, None] = {}
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
                    patches.append(RecordPatch("remove", key, count, None, now))
                else:
                    if remote is not None and remote.value == value:
                        continue  # already so
                    patches.append(RecordPatch("replace", key, count, value, now))
            batches = _batches(_order(patches, snap.records))
            if len(batches) > 1:
                _check_limits(snap.records, patches)
            # the mobile SDKs' rule: each write must take the next sync count
            count_now = snap.sync_count
            consecutive = True
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
                    stored = resp.records or []
                    written.extend(stored)
                    _compare(batch, stored, altered, dropped)
                    for patch in batch:  # accepted, whatever a SyncTrigger made of it
                        intent.pop(patch.key, None)
                    top = max((r.sync_count for r in stored if r.sync_count is not None),
                              default=None)
                    if count_now is None or top != count_now + 1:
                        consecutive = False
                    count_now = top
                sync_count = max(
                    (r.sync_count for r in written if r.sync_count is not None),
                    default=snap.sync_count,
                )
                cursor = since
                if since is not None and consecutive and snap.sync_count == since:
                    cursor = count_now
                return PutResult(
                    written,
                    sync_count,
                    round_no,
                    calls,
                    conflicts,
                    cursor=cursor,
                    merged_dataset_names=snap.merged_dataset_names,
                    altered=altered,
                    dropped=list(dropped),
                )
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
