"""Answers of the wrong shape, list members, ``response_metadata`` and lazy
record timestamps, against a loopback ``aiohttp.web`` server."""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest
from _httpserver import DATASET, IDENTITY, POOL, Server, reply, serve

from cognitosync_async import (
    ListRecordsResponse,
    Record,
    ResponseMetadata,
    ResponseParseError,
)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        yield s


async def _list_records(server: Server, body: Any) -> ListRecordsResponse:
    server.script(reply(200, body, headers={"x-amzn-RequestId": "req-7"}))
    async with server.client(max_attempts=1) as client:
        return await client.list_records(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
        )


@pytest.mark.parametrize(
    ("body", "member"),
    [
        ({"Records": [None]}, "Records[0]"),
        ({"Records": [{"Key": "a", "SyncCount": 1}, {"Key": 5, "SyncCount": 1}]},
         "Records[1].Key"),
        ({"Records": [{"Key": "a", "SyncCount": "3"}]}, "Records[0].SyncCount"),
        ({"Records": [{"Key": "a", "SyncCount": True}]}, "Records[0].SyncCount"),
        ({"Records": [{"Key": "a", "Value": {"x": 1}}]}, "Records[0].Value"),
        ({"Records": [{"Key": "a", "LastModifiedDate": [1]}]}, "Records[0].LastModifiedDate"),
        ({"Records": {"Key": "a"}}, "Records"),
        ({"NextToken": {"a": 1}}, "NextToken"),
        ({"Count": "12"}, "Count"),
        ({"DatasetExists": "true"}, "DatasetExists"),
        ({"MergedDatasetNames": ["a", 3]}, "MergedDatasetNames[1]"),
    ],
)
async def test_wrong_member_type_names_the_member(
    server: Server, body: Any, member: str
) -> None:
    with pytest.raises(ResponseParseError) as info:
        await _list_records(server, body)
    assert f"member {member}:" in str(info.value)
    assert "ListRecords" in str(info.value) and "req-7" in str(info.value)


async def test_wrong_nested_type_names_the_path(server: Server) -> None:
    server.script(reply(200, {"Dataset": {"DatasetName": "d", "NumRecords": "100"}}))
    async with server.client(max_attempts=1) as client:
        with pytest.raises(ResponseParseError, match=r"member Dataset\.NumRecords:"):
            await client.describe_dataset(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
            )
    server.script(reply(200, {"Datasets": [{"DatasetName": {"n": 1}}]}))
    async with server.client(max_attempts=1) as client:
        with pytest.raises(ResponseParseError, match=r"member Datasets\[0\]\.DatasetName:"):
            await client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)


async def test_unknown_members_and_enum_values_still_pass(server: Server) -> None:
    server.script(reply(200, {
        "CognitoStreams": {"StreamingStatus": "SOMETHING_NEW", "Extra": {"x": [1]}},
        "NewTopLevel": [None, 3],
    }))
    async with server.client(max_attempts=1) as client:
        resp = await client.get_identity_pool_configuration(identity_pool_id=POOL)
    assert resp.cognito_streams is not None
    assert resp.cognito_streams.streaming_status == "SOMETHING_NEW"


async def test_lists_left_out_are_empty(server: Server) -> None:
    resp = await _list_records(server, {"Records": None, "Count": 0})
    assert resp.records == [] and resp.merged_dataset_names == []
    server.script(reply(200, {}))
    async with server.client(max_attempts=1) as client:
        datasets = await client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
        usage = await client.list_identity_pool_usage()
        updated = await client.update_records(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET,
            sync_session_token="t",
        )
    assert datasets.datasets == [] and usage.identity_pool_usages == []
    assert updated.records == []


async def test_response_metadata_from_the_answer_and_attempts(server: Server) -> None:
    server.script(
        reply(503, error="InternalErrorException"),
        reply(200, {"Dataset": {"DatasetName": "d"}}, headers={"x-amzn-RequestId": "rid-2"}),
    )
    async with server.client(max_attempts=3, retry_base_delay=0.001,
                             retry_max_delay=0.01) as client:
        resp = await client.describe_dataset(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
        )
    assert resp.response_metadata == ResponseMetadata("rid-2", 200, 2)
    server.script(reply(200, {}, headers={"x-amzn-RequestId": "rid-3"}))
    async with server.client(max_attempts=1) as client:
        empty = await client.subscribe_to_dataset(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET, device_id="dev"
        )
    assert empty.response_metadata == ResponseMetadata("rid-3", 200, 1)
    # a keyword-only field left out of equality: answers with the same members compare equal
    assert attrs.fields_dict(type(resp))["response_metadata"].eq is False
    assert attrs.evolve(resp, response_metadata=ResponseMetadata("other", 200, 1)) == resp
    assert ListRecordsResponse().response_metadata == ResponseMetadata(None, 0, 0)


async def test_record_timestamps_are_aware_datetimes_when_read(server: Server) -> None:
    resp = await _list_records(server, {"Records": [
        {"Key": "a", "SyncCount": 1, "LastModifiedDate": 1412974057.151,
         "DeviceLastModifiedDate": 1412974000},
        {"Key": "b", "SyncCount": 2, "LastModifiedDate": "2014-10-10T20:47:37Z",
         "DeviceLastModifiedDate": None},
    ]})
    a, b = resp.records
    expected = datetime(2014, 10, 10, 20, 47, 37, 151000, timezone.utc)
    assert a.last_modified_date == expected and a.last_modified_date.tzinfo is not None
    assert a.device_last_modified_date == datetime(2014, 10, 10, 20, 46, 40, tzinfo=timezone.utc)
    assert b.last_modified_date == datetime(2014, 10, 10, 20, 47, 37, tzinfo=timezone.utc)
    assert b.device_last_modified_date is None
    same = Record("a", None, 1, expected, None, a.device_last_modified_date)
    assert a == same and repr(a) == repr(same)
    assert pickle.loads(pickle.dumps(a)) == same
    assert attrs.asdict(resp.records[1])["last_modified_date"] == b.last_modified_date
    fresh = (await _list_records(server, {"Records": [
        {"Key": "a", "SyncCount": 1, "LastModifiedDate": 1412974057.151}]})).records[0]
    assert fresh == same.__class__("a", None, 1, expected, None, None)  # eq converts too
    with pytest.raises(AttributeError):
        fresh.no_such_attribute  # noqa: B018


async def test_out_of_range_timestamp_fails_while_parsing(server: Server) -> None:
    with pytest.raises(ResponseParseError, match="ListRecords"):
        await _list_records(server, {"Records": [
            {"Key": "a", "SyncCount": 1, "LastModifiedDate": 1e300}]})


def test_import_loads_no_synchronous_http_library() -> None:
    code = (
        "import sys, cognitosync_async; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('requests', 'urllib3', 'httpx', 'aws_requests_auth')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
