"""Identifiers, scenario sizes and canned payloads shared by the server and the drivers."""

from __future__ import annotations

import json

REGION = "us-east-1"
ACCESS_KEY_ID = "AKIDBENCHMARK0000000"
SECRET_ACCESS_KEY = "benchmark-secret-access-key-0000000000000"
ACCOUNT = "123456789012"

POOL = "us-east-1:0000aaaa-0000-4000-8000-000000000000"
IDENTITY = "us-east-1:1111bbbb-0000-4000-8000-000000000000"
DATASET = "settings"
SYNC_TOKEN = "c2Vzc2lvbi10b2tlbi1iZW5jaG1hcms"

LIST_PAGES = 50  # list_records scenario: pages ...
LIST_PAGE_SIZE = 100  # ... of this many records
UPDATE_PATCHES = 100
FANOUT_IDENTITIES = 1000
FANOUT_CONCURRENCY = 32
CONCURRENCY = 64
MEMORY_RECORDS = 100_000
MEMORY_PAGE_SIZE = 1000


def fanout_identity(i: int) -> str:
    return f"us-east-1:{i:08x}-0000-4000-8000-000000000000"


def records_dataset(total: int) -> str:
    """The canned server serves ``total`` records for a dataset named this way."""
    return f"records-{total}"


def ts(seconds: float) -> str:
    """An epoch timestamp printed as the real service printed it (``1.412974057151E9``)."""
    text = f"{seconds / 1e9:.12f}".rstrip("0")
    return text + "E9"


BASE_TS = 1_700_000_000.0


#: ``True`` (the canned server's ``--ts distinct``): every record carries its
#: own ``LastModifiedDate`` and ``DeviceLastModifiedDate``, none shared or null.
DISTINCT_TIMESTAMPS = False


def record_json(i: int, sync_count: int, device_dates: bool = True) -> str:
    """One record as the service sends it: explicit nulls, Java-style timestamps.

    ``LastModifiedDate`` is the server's write time, so the records written by
    one sync (same ``SyncCount``) share it, as they do in the service;
    ``DeviceLastModifiedDate`` is each device's own (``null`` for every 3rd
    record, or for all when the patches carried none). Every 10th record is a
    tombstone (``"Value": null``). With ``DISTINCT_TIMESTAMPS`` each record has
    its own two timestamps.
    """
    value = "null" if i % 10 == 9 else json.dumps(f"value-{i:06d}-" + "x" * 24)
    if DISTINCT_TIMESTAMPS:
        return (
            f'{{"DeviceLastModifiedDate":{ts(BASE_TS + i * 0.731)},"Key":"key-{i:06d}",'
            f'"LastModifiedBy":"{ACCOUNT}","LastModifiedDate":{ts(BASE_TS + 17 + i * 1.013)},'
            f'"SyncCount":{sync_count},"Value":{value}}}'
        )
    dlmd = "null" if not device_dates or i % 3 == 2 else ts(BASE_TS + i * 0.731)
    return (
        f'{{"DeviceLastModifiedDate":{dlmd},"Key":"key-{i:06d}",'
        f'"LastModifiedBy":"{ACCOUNT}","LastModifiedDate":{ts(BASE_TS + 17 + sync_count * 60.013)},'
        f'"SyncCount":{sync_count},"Value":{value}}}'
    )


def export_identity(total: int) -> str:
    """An identity whose one dataset (ListDatasets) is ``records-{total}``."""
    return f"us-east-1:eeee0000-0000-4000-8000-{total:012d}"


def list_datasets_body(identity_id: str) -> bytes:
    total = int(identity_id.rpartition("-")[2])
    name = records_dataset(total)
    return (
        f'{{"Count":1,"Datasets":[{{"CreationDate":{ts(BASE_TS - 86400.123)},'
        f'"DataStorage":4096,"DatasetName":"{name}","IdentityId":{json.dumps(identity_id)},'
        f'"LastModifiedBy":"{ACCOUNT}","LastModifiedDate":{ts(BASE_TS + 0.5)},'
        f'"NumRecords":{total}}}],"NextToken":null}}'
    ).encode()


def describe_dataset_body(identity_id: str = IDENTITY, name: str = DATASET) -> bytes:
    return (
        f'{{"Dataset":{{"CreationDate":{ts(BASE_TS - 86400.123)},"DataStorage":4096,'
        f'"DatasetName":{json.dumps(name)},"IdentityId":{json.dumps(identity_id)},'
        f'"LastModifiedBy":"{ACCOUNT}","LastModifiedDate":{ts(BASE_TS + 0.5)},'
        f'"NumRecords":100}}}}'
    ).encode()


def next_token_for(offset: int) -> str:
    # opaque, with characters that need percent-encoding in the query (=, +, /)
    return f"eyJvIjog{offset}fQ+/=="


def offset_of(token: str) -> int:
    return int(token[len("eyJvIjog") : -len("fQ+/==")])


def list_records_body(total: int, offset: int, size: int) -> bytes:
    end = min(total, offset + size)
    recs = ",".join(record_json(i, i // 10 + 1) for i in range(offset, end))  # syncs of 10
    nxt = json.dumps(next_token_for(end)) if end < total else "null"
    return (
        f'{{"Count":{end - offset},"DatasetDeletedAfterRequestedSyncCount":false,'
        f'"DatasetExists":true,"DatasetSyncCount":{total // 10 + 1},'
        f'"LastModifiedBy":"{ACCOUNT}","MergedDatasetNames":null,"NextToken":{nxt},'
        f'"Records":[{recs}],"SyncSessionToken":"{SYNC_TOKEN}"}}'
    ).encode()


def update_records_body(n: int = UPDATE_PATCHES) -> bytes:
    recs = ",".join(record_json(i, 7, device_dates=False) for i in range(n))
    return f'{{"Records":[{recs}]}}'.encode()


def patch_value(i: int, round_no: int) -> str:
    return f"value-{i:06d}-{round_no:08d}"
