"""The ``dynamodb:TABLE`` target (the ``dynamodb`` extra: aiobotocore).

Layout, as the contract gives it: partition key ``pk`` (S) =
``{identity_id}/{dataset_name}``, sort key ``sk`` (S) = ``D`` for the dataset
item, ``R#{key}`` for a record item; the other attributes are named as the
SQLite columns (numbers as N, ``deleted`` as BOOL, ``value`` absent on a
tombstone, an unknown date or writer absent). Plus one global secondary index,
:data:`INDEX` (``by_identity``: partition key ``identity_id`` (S), sort key
``identity_pool_id`` (S), projection ALL), for ``datasets(identity)`` and
``identities()``. Only dataset items carry ``identity_pool_id``, so only they
are in the index (a sparse index: record items cost it nothing).

The index is eventually consistent; the engine stays exact with it: a row
read late (missing, or an older one) only makes the mirror read more (a full
re-read, or from a lower cursor), never skip a change, and the record items
themselves are read with consistent reads.

Writes:

* ``write_records`` (not ``exact``): one conditional ``PutItem`` per record
  (``attribute_not_exists(pk) OR sync_count < :sync_count``), a bounded
  number in flight. ``BatchWriteItem`` cannot be conditional, and a
  ``TransactWriteItems`` of 100 costs twice the write units and is cancelled
  whole by one stale record; atomicity across records is not needed (the
  cursor, written last, is the commit point).
* ``exact`` writes and deletes: ``BatchWriteItem`` (25 a call, unprocessed
  items retried with backoff, bounded).
* the dataset item (the cursor): ``PutItem``, after the records.

Region, credentials and endpoint come from botocore's standard chain
(``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_PROFILE``, the shared files, SSO,
``credential_process``, container and instance roles,
``AWS_ENDPOINT_URL_DYNAMODB``/``AWS_ENDPOINT_URL``). Throttling
(``ProvisionedThroughputExceededException``, ``ThrottlingException``...) is
retried by botocore's ``standard`` retry mode, 10 attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from ._target import DatasetRow, RecordRow, TargetError, TargetLayoutError, WriteResult

try:
    from aiobotocore.session import get_session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError as exc:  # without the extra: make_target says what to install
    raise ModuleNotFoundError("aiobotocore is not installed", name="aiobotocore") from exc

INDEX = "by_identity"
#: record writes in flight per ``write_records`` call
IN_FLIGHT = 16
BATCH = 25  # BatchWriteItem's limit
BATCH_ATTEMPTS = 8

KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"},
              {"AttributeName": "sk", "KeyType": "RANGE"}]
INDEX_SCHEMA = [{"AttributeName": "identity_id", "KeyType": "HASH"},
                {"AttributeName": "identity_pool_id", "KeyType": "RANGE"}]
ATTRIBUTES = [{"AttributeName": n, "AttributeType": "S"}
              for n in ("pk", "sk", "identity_id", "identity_pool_id")]

_DATASET_NUMBERS = ("dataset_sync_count", "num_records", "data_storage", "creation_date",
                    "last_modified_date")
_RECORD_NUMBERS = ("sync_count", "last_modified_date", "device_last_modified_date")


def _pk(identity_id: str, dataset_name: str) -> str:
    return f"{identity_id}/{dataset_name}"


def _put_opt(item: dict[str, Any], name: str, value: int | str | None) -> None:
    if value is None:
        return
    item[name] = {"N": str(value)} if isinstance(value, int) else {"S": value}


def dataset_item(row: DatasetRow) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": _pk(row.identity_id, row.dataset_name)}, "sk": {"S": "D"},
        "identity_pool_id": {"S": row.identity_pool_id}, "identity_id": {"S": row.identity_id},
        "dataset_name": {"S": row.dataset_name}, "deleted": {"BOOL": row.deleted},
    }
    for name in _DATASET_NUMBERS:
        _put_opt(item, name, getattr(row, name))
    _put_opt(item, "last_modified_by", row.last_modified_by)
    return item


def record_item(identity_id: str, dataset_name: str, r: RecordRow) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": _pk(identity_id, dataset_name)}, "sk": {"S": "R#" + r.key},
        "identity_id": {"S": identity_id}, "dataset_name": {"S": dataset_name},
        "key": {"S": r.key}, "deleted": {"BOOL": r.value is None},
    }
    if r.value is not None:
        item["value"] = {"S": r.value}
    for name in _RECORD_NUMBERS:
        _put_opt(item, name, getattr(r, name))
    _put_opt(item, "last_modified_by", r.last_modified_by)
    return item


def _num(item: dict[str, Any], name: str) -> int | None:
    v = item.get(name)
    return int(v["N"]) if v is not None else None


def _str(item: dict[str, Any], name: str) -> str | None:
    v = item.get(name)
    return str(v["S"]) if v is not None else None


def item_dataset(item: dict[str, Any]) -> DatasetRow:
    return DatasetRow(
        identity_pool_id=str(item["identity_pool_id"]["S"]),
        identity_id=str(item["identity_id"]["S"]),
        dataset_name=str(item["dataset_name"]["S"]),
        dataset_sync_count=_num(item, "dataset_sync_count") or 0,
        num_records=_num(item, "num_records"), data_storage=_num(item, "data_storage"),
        creation_date=_num(item, "creation_date"),
        last_modified_date=_num(item, "last_modified_date"),
        last_modified_by=_str(item, "last_modified_by"),
        deleted=bool(item.get("deleted", {}).get("BOOL", False)),
    )


def item_record(item: dict[str, Any]) -> RecordRow:
    deleted = bool(item.get("deleted", {}).get("BOOL", False))
    return RecordRow(
        key=str(item["key"]["S"]),
        value=None if deleted else _str(item, "value"),
        sync_count=_num(item, "sync_count") or 0,
        last_modified_date=_num(item, "last_modified_date"),
        last_modified_by=_str(item, "last_modified_by"),
        device_last_modified_date=_num(item, "device_last_modified_date"),
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class DynamoDBTarget:
    """``dynamodb:TABLE``: the copy in one DynamoDB table (see the module docstring).

    ``create_table``: create the table (on-demand billing, PAY_PER_REQUEST,
    with its index) when it does not exist. ``region_name``/``endpoint_url``
    override the standard chain (for tests and the Python API).
    """

    def __init__(self, table: str, *, spec: str | None = None, create_table: bool = False,
                 existing: bool = False, region_name: str | None = None,
                 endpoint_url: str | None = None) -> None:
        self.table = table
        self.spec = spec if spec is not None else f"dynamodb:{table}"
        self.create_table = create_table and not existing  # a missing table: TargetError
        self.region_name = region_name
        self.endpoint_url = endpoint_url
        self._stack: contextlib.AsyncExitStack | None = None
        self._client: Any = None

    def __repr__(self) -> str:
        return f"DynamoDBTarget({self.table!r})"

    def __getstate__(self) -> dict[str, Any]:  # picklable unopened (a Ray actor opens its own)
        state = dict(self.__dict__)
        state["_stack"] = state["_client"] = None
        return state

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        if self._client is not None:
            return
        session = get_session()
        region = (self.region_name or session.get_config_variable("region")
                  or os.environ.get("AWS_REGION"))
        if not region:
            raise TargetError(f"{self.spec}: no region for DynamoDB (set AWS_REGION or "
                              "AWS_DEFAULT_REGION, or the profile's region)")
        config = Config(retries={"mode": "standard", "max_attempts": 10},
                        max_pool_connections=64, connect_timeout=10, read_timeout=60)
        stack = contextlib.AsyncExitStack()
        try:
            self._client = await stack.enter_async_context(session.create_client(
                "dynamodb", region_name=region, endpoint_url=self.endpoint_url, config=config))
            await self._check_or_create()
        except BaseException as exc:
            self._client = None
            await stack.aclose()
            if isinstance(exc, (ClientError, BotoCoreError)):
                raise TargetError(f"{self.spec}: {exc}") from None
            raise
        self._stack = stack

    async def _check_or_create(self) -> None:
        try:
            desc = (await self._client.describe_table(TableName=self.table))["Table"]
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise
            if not self.create_table:
                raise TargetError(f"{self.spec}: table {self.table} does not exist "
                                  "(--create-table creates it)") from None
            await self._create()
            return
        self._check_layout(desc)

    async def _create(self) -> None:
        try:
            await self._client.create_table(
                TableName=self.table, KeySchema=KEY_SCHEMA, AttributeDefinitions=ATTRIBUTES,
                BillingMode="PAY_PER_REQUEST",
                GlobalSecondaryIndexes=[{"IndexName": INDEX, "KeySchema": INDEX_SCHEMA,
                                         "Projection": {"ProjectionType": "ALL"}}],
            )
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":  # created meanwhile (another shard)
                raise
        waiter = self._client.get_waiter("table_exists")
        await waiter.wait(TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        desc = (await self._client.describe_table(TableName=self.table))["Table"]
        self._check_layout(desc)

    def _check_layout(self, desc: dict[str, Any]) -> None:
        types = {a["AttributeName"]: a["AttributeType"]
                 for a in desc.get("AttributeDefinitions", [])}

        def keys(schema: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
            return [(k["AttributeName"], k["KeyType"], types.get(k["AttributeName"], "?"))
                    for k in schema]

        want = [("pk", "HASH", "S"), ("sk", "RANGE", "S")]
        have = keys(desc.get("KeySchema", []))
        if have != want:
            raise TargetLayoutError(
                f"{self.spec}: table {self.table} does not have the mirror's layout (keys "
                f"{_show(have)} instead of {_show(want)})")
        indexes = {i["IndexName"]: i for i in desc.get("GlobalSecondaryIndexes", [])}
        want_index = [("identity_id", "HASH", "S"), ("identity_pool_id", "RANGE", "S")]
        index = indexes.get(INDEX)
        if index is None or keys(index["KeySchema"]) != want_index or \
                index.get("Projection", {}).get("ProjectionType") != "ALL":
            raise TargetLayoutError(
                f"{self.spec}: table {self.table} does not have the mirror's index {INDEX} "
                f"(keys {_show(want_index)}, projection ALL)")

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        self._client = None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> DynamoDBTarget:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def client(self) -> Any:
        if self._client is None:
            raise TargetError(f"{self.spec}: not open")
        return self._client

    # ------------------------------------------------------------------ helpers

    async def _query(self, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        paginator = self.client.get_paginator("query")
        async for page in paginator.paginate(TableName=self.table, **kwargs):
            for item in page.get("Items", []):
                yield item

    async def _record_items(self, identity_id: str, dataset_name: str
                            ) -> list[dict[str, Any]]:
        return [item async for item in self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :r)",
            ExpressionAttributeValues={":pk": {"S": _pk(identity_id, dataset_name)},
                                       ":r": {"S": "R#"}},
            ConsistentRead=True)]

    async def _batch(self, requests: list[dict[str, Any]]) -> None:
        """``BatchWriteItem`` in chunks of 25, unprocessed items retried (bounded)."""
        for start in range(0, len(requests), BATCH):
            pending = {self.table: requests[start:start + BATCH]}
            for attempt in range(BATCH_ATTEMPTS):
                resp = await self.client.batch_write_item(RequestItems=pending)
                pending = resp.get("UnprocessedItems") or {}
                if not pending:
                    break
                await asyncio.sleep(min(5.0, 0.05 * 2 ** attempt) * random.random())
            else:
                raise TargetError(f"{self.spec}: DynamoDB left writes unprocessed after "
                                  f"{BATCH_ATTEMPTS} attempts (throttled)")

    @staticmethod
    async def _bounded(calls: Sequence[Callable[[], Awaitable[bool]]]) -> int:
        """Run the calls, ``IN_FLIGHT`` at once; the number that returned True."""
        sem = asyncio.Semaphore(IN_FLIGHT)

        async def one(call: Callable[[], Awaitable[bool]]) -> bool:
            async with sem:
                return await call()

        return sum(await asyncio.gather(*(one(c) for c in calls)))

    # ------------------------------------------------------------------ the protocol

    async def datasets(self, identity_id: str) -> dict[str, DatasetRow]:
        rows = [item_dataset(item) async for item in self._query(
            IndexName=INDEX, KeyConditionExpression="identity_id = :i",
            ExpressionAttributeValues={":i": {"S": identity_id}})]
        return {r.dataset_name: r for r in rows}

    async def write_records(
        self, identity_id: str, dataset_name: str, records: Sequence[RecordRow], *,
        exact: bool = False,
    ) -> WriteResult:
        if not exact:
            def put(r: RecordRow) -> Callable[[], Awaitable[bool]]:
                async def call() -> bool:
                    try:
                        await self.client.put_item(
                            TableName=self.table, Item=record_item(identity_id, dataset_name, r),
                            ConditionExpression="attribute_not_exists(pk) OR sync_count < :sc",
                            ExpressionAttributeValues={":sc": {"N": str(r.sync_count)}})
                    except ClientError as exc:
                        if _code(exc) == "ConditionalCheckFailedException":
                            return False  # the target holds this sync count or a newer one
                        raise
                    return True
                return call

            latest: dict[str, RecordRow] = {}
            for r in records:  # one write per key (the highest sync count)
                if r.key not in latest or r.sync_count > latest[r.key].sync_count:
                    latest[r.key] = r
            return WriteResult(written=await self._bounded([put(r) for r in latest.values()]))
        old = {item_record(i).key: item_record(i)
               for i in await self._record_items(identity_id, dataset_name)}
        new = {r.key: r for r in records}
        gone = [k for k in old if k not in new]
        changed = [r for r in new.values() if old.get(r.key) != r]
        await self._batch(
            [{"DeleteRequest": {"Key": {"pk": {"S": _pk(identity_id, dataset_name)},
                                        "sk": {"S": "R#" + k}}}} for k in gone]
            + [{"PutRequest": {"Item": record_item(identity_id, dataset_name, r)}}
               for r in changed])
        return WriteResult(written=len(changed), removed=len(gone))

    async def write_dataset(self, row: DatasetRow) -> None:
        await self.client.put_item(TableName=self.table, Item=dataset_item(row))

    async def delete_dataset(self, row: DatasetRow) -> int:
        pk = _pk(row.identity_id, row.dataset_name)
        items = await self._record_items(row.identity_id, row.dataset_name)
        await self._batch([{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": i["sk"]}}}
                           for i in items])
        await self.write_dataset(row)
        return len(items)

    async def records(self, identity_id: str, dataset_name: str) -> list[RecordRow]:
        rows = [item_record(i) for i in await self._record_items(identity_id, dataset_name)]
        return sorted(rows, key=lambda r: r.key)

    async def identities(self) -> AsyncIterator[str]:
        seen: set[str] = set()
        paginator = self.client.get_paginator("scan")
        async for page in paginator.paginate(TableName=self.table, IndexName=INDEX,
                                             ProjectionExpression="identity_id"):
            for item in page.get("Items", []):
                ident = str(item["identity_id"]["S"])
                if ident not in seen:
                    seen.add(ident)
                    yield ident


def _show(keys: list[tuple[str, str, str]]) -> str:
    return "(" + ", ".join(f"{n} {t} {k}" for n, k, t in keys) + ")" if keys else "(none)"
