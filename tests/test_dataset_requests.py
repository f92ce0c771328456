"""What the sync helpers send (SERVICE.md C8) and report, seen on the wire by
a scripted server: explicit maxResults, DeviceLastModifiedDate on every patch,
merged datasets in PutResult; and the inputs ``put`` refuses before any I/O."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import attrs
import pytest
from _httpserver import IDENTITY, POOL, Seen, Server, serve
from aiohttp import web

from cognitosync_async import ParamValidationError, RecordPatch
from cognitosync_async.cli.bulk import export_identity


class Dataset:
    """ListDatasets: one dataset; ListRecords: one record and merged names;
    UpdateRecords: the patches back, each with SyncCount 2."""

    async def __call__(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        if seen.method == "GET" and seen.path.endswith("/datasets"):
            body: dict[str, Any] = {"Datasets": [{"DatasetName": "settings"}], "Count": 1}
        elif seen.method == "GET":
            body = {"Records": [{"Key": "k", "Value": "v", "SyncCount": 1}],
                    "SyncSessionToken": "tok", "DatasetSyncCount": 1, "DatasetExists": True,
                    "MergedDatasetNames": ["settings.us-east-1:0000"]}
        else:
            patches = json.loads(seen.body)["RecordPatches"]
            body = {"Records": [{"Key": p["Key"], "Value": p.get("Value"), "SyncCount": 2,
                                 "DeviceLastModifiedDate": p.get("DeviceLastModifiedDate")}
                                for p in patches]}
        return web.Response(body=json.dumps(body), content_type="application/json")


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        s.handler = Dataset()
        yield s


def max_results(server: Server) -> list[tuple[str, str | None]]:
    out = []
    for seen in server.seen:
        if seen.method == "GET":
            op = "ListDatasets" if seen.path.endswith("/datasets") else "ListRecords"
            out.append((op, dict(parse_qsl(seen.query)).get("maxResults")))
    return out


async def test_dataset_handle_sends_max_results(server: Server) -> None:
    async with server.client() as client:
        h = client.dataset(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="settings")
        await h.get()
        await h.pull(since=0)
        await h.put({"k": "w"})
    assert max_results(server) == [("ListRecords", "1024")] * 3


async def test_export_sends_max_results(server: Server) -> None:
    async with server.client() as client:
        lines = await export_identity(client, POOL, IDENTITY)
    assert [line["dataset_name"] for line in lines] == ["settings"]
    assert max_results(server) == [("ListDatasets", "64"), ("ListRecords", "1024")]


async def test_put_sends_device_last_modified_date_and_reports_merges(server: Server) -> None:
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    async with server.client() as client:
        h = client.dataset(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="settings")
        result = await h.put({"k": None, "new": "1"})
    after = datetime.now(timezone.utc)
    [update] = [s for s in server.seen if s.method == "POST"]
    patches = json.loads(update.body)["RecordPatches"]
    assert {p["Key"]: p["Op"] for p in patches} == {"k": "remove", "new": "replace"}
    dates = {p["DeviceLastModifiedDate"] for p in patches}
    assert len(dates) == 1  # one time for one put
    [sent] = dates
    assert before.timestamp() <= sent <= after.timestamp()
    assert round(sent * 1000) == sent * 1000  # milliseconds, as the service keeps it
    assert result.merged_dataset_names == ["settings.us-east-1:0000"]


@pytest.mark.parametrize(
    "values", [["k", "v"], "kv", None, 5, [("k", "v")], {"k", "v"}],
    ids=["list", "str", "None", "int", "pairs", "set"],
)
async def test_put_refuses_a_non_mapping(server: Server, values: Any) -> None:
    async with server.client() as client:
        h = client.dataset(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="settings")
        with pytest.raises(ParamValidationError, match="values.*mapping"):
            await h.put(values)
    assert server.count == 0


@pytest.mark.parametrize(
    "when",
    [
        datetime.min.replace(tzinfo=timezone(timedelta(hours=5))),  # before year 1 in UTC
        datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))),  # after 9999 in UTC
    ],
    ids=["min-at-plus-5", "max-at-minus-5"],
)
def test_record_dates_out_of_range_are_refused(when: datetime) -> None:
    """A date with no UTC equivalent cannot be sent: refused when the patch is made
    (it was an OverflowError while the request was being built)."""
    with pytest.raises(ParamValidationError, match="device_last_modified_date"):
        RecordPatch("replace", "k", 0, "v", device_last_modified_date=when)
    patch = RecordPatch("replace", "k", 0, "v")
    with pytest.raises(ParamValidationError, match="device_last_modified_date"):
        attrs.evolve(patch, device_last_modified_date=when)


@pytest.mark.parametrize(
    "when",
    [datetime(1, 1, 2, tzinfo=timezone.utc), datetime(9999, 12, 30, tzinfo=timezone.utc),
     datetime.min.replace(tzinfo=timezone.utc), datetime.max.replace(tzinfo=timezone.utc)],
)
def test_dates_in_range_are_accepted(when: datetime) -> None:
    assert RecordPatch("replace", "k", 0, "v", device_last_modified_date=when)
