"""The data commands: ``datasets``, ``records``, ``get``, ``put``, ``delete``."""

from __future__ import annotations

import argparse

from .._client import CognitoSyncClient
from .._dataset import DatasetHandle
from .connection import make_client
from .errors import EXIT_OK, UsageError
from .output import emit_object, emit_rows
from .serialize import dataset_json, record_json

DATASET_COLUMNS = ("dataset_name", "num_records", "data_storage", "creation_date",
                   "last_modified_date", "last_modified_by")
RECORD_COLUMNS = ("sync_count", "key", "value", "last_modified_date", "last_modified_by",
                  "device_last_modified_date")
REMOVED = "(removed)"  # a tombstone's value in text and table (JSON: null)


def _handle(client: CognitoSyncClient, args: argparse.Namespace) -> DatasetHandle:
    """The dataset named by the command's --identity-pool-id, --identity-id, --dataset."""
    return client.dataset(
        identity_pool_id=args.identity_pool_id,
        identity_id=args.identity_id,
        dataset_name=args.dataset,
    )


def _header(columns: tuple[str, ...]) -> list[str]:
    return [c.upper() for c in columns]


async def cmd_datasets(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        items = [
            dataset_json(d)
            async for d in client.iter_datasets(
                identity_pool_id=args.identity_pool_id, identity_id=args.identity_id
            )
        ]
    emit_rows(args.output, items, _header(DATASET_COLUMNS),
              [[d[c] for c in DATASET_COLUMNS] for d in items])
    return EXIT_OK


async def cmd_records(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        pager = client.iter_records(
            identity_pool_id=args.identity_pool_id,
            identity_id=args.identity_id,
            dataset_name=args.dataset,
            last_sync_count=args.since,
        )
        records = [record_json(r) async for r in pager]
    data = {
        "dataset_sync_count": pager.dataset_sync_count,
        "dataset_exists": pager.dataset_exists,
        "merged_dataset_names": pager.merged_dataset_names or [],
        "records": records,
    }
    rows = [[REMOVED if c == "value" and r["value"] is None else r[c] for c in RECORD_COLUMNS]
            for r in records]
    emit_rows(args.output, data, _header(RECORD_COLUMNS), rows)
    return EXIT_OK


async def cmd_get(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        values = await _handle(client, args).get()
    ordered = dict(sorted(values.items()))
    emit_rows(args.output, ordered, ["KEY", "VALUE"], list(ordered.items()))
    return EXIT_OK


def _put_values(args: argparse.Namespace) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for pair in args.pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, got {pair!r}")
        values[key] = value
    for key, value in args.set:
        values[key] = value
    for key in args.remove:
        if key in values:
            raise UsageError(f"key {key!r} is both set and removed")
        values[key] = None
    if not values:
        raise UsageError("nothing to put: give KEY=VALUE pairs, --set or --remove")
    return values


async def cmd_put(args: argparse.Namespace) -> int:
    values = _put_values(args)
    async with make_client(args) as client:
        result = await _handle(client, args).put(
            values, on_conflict=args.on_conflict, max_rounds=args.max_rounds
        )
    written = [r.key for r in result.records]
    report = (f"wrote {len(written)} record(s), {len(values) - len(written)} unchanged; "
              f"dataset sync count {result.dataset_sync_count}"
              + (f"; conflicts resolved on: {', '.join(result.conflicts)}"
                 if result.conflicts else ""))
    emit_object(args.output, {
        "written": written,
        "unchanged": sorted(set(values) - set(written)),
        "dataset_sync_count": result.dataset_sync_count,
        "rounds": result.rounds,
        "conflicts": result.conflicts,
    }, report)
    return EXIT_OK


async def cmd_delete(args: argparse.Namespace) -> int:
    async with make_client(args) as client:
        resp = await _handle(client, args).delete()
    emit_object(args.output, dataset_json(resp.dataset) if resp.dataset else {},
                f"deleted dataset {args.dataset}")
    return EXIT_OK
