"""The export's raw page path (``cli.bulk.export_identity`` over ``_call_raw``):
the same lines as the typed records give, epoch seconds formatted as
``datetime.isoformat`` does, and the request loop's retries, hooks and answer
checks unchanged (on MockTransport, no socket)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.records import records_member

from cognitosync_async import (
    CognitoSyncClient,
    Credentials,
    HTTPRequest,
    HTTPResponse,
    MockTransport,
    PaginationError,
    ResponseParseError,
)
from cognitosync_async._models import _MAX_EPOCH, _MIN_EPOCH, _records
from cognitosync_async.cli.bulk import export_identity
from cognitosync_async.cli.serialize import _iso, iso_of_epoch, record_json, records_json_raw

POOL = "us-east-1:00000000-0000-0000-0000-0000000000ee"
IDENTITY = "us-east-1:00000000-0000-4000-8000-0000000000ee"


@given(st.floats(min_value=_MIN_EPOCH, max_value=_MAX_EPOCH - 1))
def test_iso_of_epoch_is_isoformat(value: float) -> None:
    want = _iso(datetime.fromtimestamp(value, timezone.utc))
    assert iso_of_epoch(value) == want


@pytest.mark.parametrize("value", [0.0, -0.5, -1e-7, 1700000000.9999995, 1700000000.0000005,
                                   _MIN_EPOCH, _MAX_EPOCH, 1.0000015, 951782400.25])
def test_iso_of_epoch_edges(value: float) -> None:
    assert iso_of_epoch(value) == _iso(datetime.fromtimestamp(value, timezone.utc))




def _typed(page: Any) -> Any:
    try:
        return [record_json(r) for r in _records(page)]
    except Exception as exc:  # the typed parser's error, to compare
        return (type(exc), str(exc))


def _raw(page: Any) -> Any:
    try:
        return records_json_raw(page)
    except Exception as exc:
        return (type(exc), str(exc))


@given(records_member)
def test_raw_records_are_the_typed_records_json(page: Any) -> None:
    """Same dicts for every page, same error (type and message) for a bad one."""
    assert _raw(page) == _typed(page)


def _answer(body: dict[str, Any], status: int = 200, **headers: str) -> HTTPResponse:
    return HTTPResponse(status, {"x-amzn-RequestId": f"rid-{status}", **headers},
                        json.dumps(body).encode())


def _record(i: int) -> dict[str, Any]:
    return {"Key": f"k{i}", "Value": None if i == 2 else f"v{i}", "SyncCount": i,
            "LastModifiedDate": 1700000000.5 + i, "LastModifiedBy": "123456789012",
            "DeviceLastModifiedDate": None if i % 2 else 1700000000.0 + i}


DATASETS = _answer({"Count": 1, "Datasets": [{
    "DatasetName": "d", "CreationDate": 1600000000.0, "LastModifiedDate": 1700000000.25,
    "LastModifiedBy": "123456789012", "DataStorage": 10, "NumRecords": 4,
    "IdentityId": IDENTITY}], "NextToken": None})


def _client(answers: list[HTTPResponse], seen: list[HTTPRequest], **kw: Any) -> CognitoSyncClient:
    def handler(request: HTTPRequest) -> HTTPResponse:
        seen.append(request)
        return answers.pop(0)

    return CognitoSyncClient(
        "us-east-1", credentials=Credentials("AKIDRAW", "secret"), retry_base_delay=0,
        retry_max_delay=0, endpoint_url="http://127.0.0.1:9", transport=MockTransport(handler),
        **kw,
    )


async def test_export_lines_through_retries_hooks_and_pages() -> None:
    page1 = _answer({"Records": [_record(0), _record(1)], "NextToken": "t1",
                     "DatasetSyncCount": 4})
    page2 = _answer({"Records": [_record(2), _record(3)], "NextToken": None,
                     "DatasetSyncCount": 4, "MergedDatasetNames": ["m"], "DatasetExists": True})
    throttled = HTTPResponse(429, {"x-amzn-ErrorType": "TooManyRequestsException"},
                             b'{"message":"slow down"}')
    seen: list[HTTPRequest] = []
    events: list[Any] = []
    hooks = {"response": [events.append], "retry": [events.append]}
    async with _client([DATASETS, page1, throttled, page2], seen, event_hooks=hooks) as c:
        lines = await export_identity(c, POOL, IDENTITY)
    assert len(seen) == 4 and all("Authorization" in r.headers for r in seen)
    assert "nextToken=t1" in seen[3].url
    assert [type(e).__name__ for e in events] == [
        "ResponseEvent", "ResponseEvent", "ResponseEvent", "RetryEvent", "ResponseEvent"]
    assert lines == [{
        "identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d",
        "creation_date": "2020-09-13T12:26:40Z",
        "last_modified_date": "2023-11-14T22:13:20.250000Z",
        "last_modified_by": "123456789012", "data_storage": 10, "num_records": 4,
        "dataset_sync_count": 4, "merged_dataset_names": ["m"],
        "records": [
            {"key": "k0", "value": "v0", "sync_count": 0,
             "last_modified_date": "2023-11-14T22:13:20.500000Z",
             "last_modified_by": "123456789012",
             "device_last_modified_date": "2023-11-14T22:13:20Z"},
            {"key": "k1", "value": "v1", "sync_count": 1,
             "last_modified_date": "2023-11-14T22:13:21.500000Z",
             "last_modified_by": "123456789012", "device_last_modified_date": None},
            {"key": "k2", "value": None, "sync_count": 2,
             "last_modified_date": "2023-11-14T22:13:22.500000Z",
             "last_modified_by": "123456789012",
             "device_last_modified_date": "2023-11-14T22:13:22Z"},
            {"key": "k3", "value": "v3", "sync_count": 3,
             "last_modified_date": "2023-11-14T22:13:23.500000Z",
             "last_modified_by": "123456789012", "device_last_modified_date": None},
        ],
    }]


async def test_a_bad_record_is_a_response_parse_error_of_list_records() -> None:
    bad = _answer({"Records": [_record(0), {**_record(1), "SyncCount": "1"}]})
    async with _client([DATASETS, bad], []) as c:
        with pytest.raises(ResponseParseError, match=r"ListRecords.*Records\[1\]\.SyncCount"):
            await export_identity(c, POOL, IDENTITY)


async def test_a_bad_page_member_is_checked_as_the_typed_path_checks_it() -> None:
    bad = _answer({"Records": [], "DatasetSyncCount": "4"})
    async with _client([DATASETS, bad], []) as c:
        with pytest.raises(ResponseParseError, match="DatasetSyncCount"):
            await export_identity(c, POOL, IDENTITY)


async def test_a_repeated_token_is_a_pagination_error() -> None:
    again = _answer({"Records": [_record(0)], "NextToken": "same"})
    async with _client([DATASETS, again, again], []) as c:
        with pytest.raises(PaginationError):
            await export_identity(c, POOL, IDENTITY)
