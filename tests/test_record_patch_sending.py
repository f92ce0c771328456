"""What a call sends for its ``RecordPatch``es: the wire form each patch made when
it was built, or, when a field was assigned since (or the patch is a copy), the
patch checked again and its form made from the new values.

Over a real loopback server recording the body; the wire form itself is compared
with botocore in test_wire.py."""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from support.httpserver import DATASET, IDENTITY, POOL, Server, reply, serve

from cognitosync_async import ParamValidationError, RecordPatch

WHEN = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        s.handler = reply(200, {"Records": []})
        yield s


async def sent(server: Server, patches: list[Any]) -> list[dict[str, Any]]:
    """The ``RecordPatches`` of one update_records call, as the server received them."""
    before = server.count
    async with server.client() as client:
        await client.update_records(
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET,
            record_patches=patches, sync_session_token="token",
        )
    assert server.count == before + 1
    body = json.loads(server.seen[-1].body)
    patches_sent: list[dict[str, Any]] = body["RecordPatches"]
    return patches_sent


def expected(p: RecordPatch) -> dict[str, Any]:
    out: dict[str, Any] = {"Op": p.op, "Key": p.key}
    if p.value is not None:
        out["Value"] = p.value
    out["SyncCount"] = p.sync_count
    if p.device_last_modified_date is not None:
        out["DeviceLastModifiedDate"] = p.device_last_modified_date.timestamp()
    return out


async def test_patches_as_built(server: Server) -> None:
    patches = [
        RecordPatch("replace", "a", 0, "1"),
        RecordPatch("remove", "b", 7),
        RecordPatch("replace", "c", 2, "", WHEN),
        RecordPatch("remove", "d", 3, None, WHEN + timedelta(microseconds=250_000)),
    ]
    assert await sent(server, patches) == [expected(p) for p in patches]
    assert (await sent(server, patches)) == [expected(p) for p in patches]  # sent again


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("op", "remove"),
        ("key", "other-key"),
        ("sync_count", 41),
        ("value", "new value"),
        ("value", None),
        ("device_last_modified_date", WHEN),
        ("device_last_modified_date", None),
    ],
)
async def test_a_field_assigned_after_building_is_sent(
    server: Server, field: str, value: Any
) -> None:
    patch = RecordPatch("replace", "k", 5, "old", WHEN - timedelta(days=1))
    await sent(server, [patch])  # its form was used once
    setattr(patch, field, value)
    assert await sent(server, [patch]) == [expected(patch)]
    assert await sent(server, [patch]) == [expected(patch)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("op", "REPLACE"),
        ("key", ""),
        ("key", 5),
        ("sync_count", True),  # == 1, but not an integer sync count
        ("sync_count", 1.0),
        ("sync_count", "1"),
        ("value", "v" * 1_048_576),
        ("value", "\ud800"),
        ("device_last_modified_date", "2024-05-01"),
    ],
)
async def test_a_field_assigned_a_bad_value_is_refused_before_the_network(
    server: Server, field: str, value: Any
) -> None:
    patch = RecordPatch("replace", "k", 1, "v")
    setattr(patch, field, value)
    with pytest.raises(ParamValidationError) as info:
        await sent(server, [patch])
    assert info.value.param == field
    assert server.count == 0


async def test_a_bad_value_assigned_back_to_a_good_one_is_sent(server: Server) -> None:
    patch = RecordPatch("replace", "k", 1, "v")
    patch.sync_count = True
    with pytest.raises(ParamValidationError):
        await sent(server, [patch])
    patch.sync_count = 1
    assert await sent(server, [patch]) == [expected(patch)]


@pytest.mark.parametrize(
    "make",
    [copy.copy, copy.deepcopy, lambda p: pickle.loads(pickle.dumps(p)), attrs.evolve],
    ids=["copy", "deepcopy", "pickle", "evolve"],
)
async def test_copies_are_sent_with_their_values(server: Server, make: Any) -> None:
    patch = RecordPatch("replace", "k", 3, "v", WHEN)
    twin = make(patch)
    assert twin == patch and repr(twin) == repr(patch)
    assert await sent(server, [twin, patch]) == [expected(patch), expected(patch)]
    twin.value = "changed"
    assert await sent(server, [twin]) == [expected(twin)]


def test_the_wire_form_is_no_field() -> None:
    patch = RecordPatch("replace", "k", 3, "v")
    assert [f.name for f in attrs.fields(RecordPatch)] == [
        "op", "key", "sync_count", "value", "device_last_modified_date",
    ]
    assert repr(patch) == "RecordPatch(op='replace', key='k', sync_count=3, value='v', " \
        "device_last_modified_date=None)"
    assert attrs.asdict(patch) == {
        "op": "replace", "key": "k", "sync_count": 3, "value": "v",
        "device_last_modified_date": None,
    }
    assert attrs.evolve(patch, value="w") == RecordPatch("replace", "k", 3, "w")
    assert RecordPatch(op="remove", key="k", sync_count=3) == RecordPatch("remove", "k", 3)


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"op": "delete", "key": "k", "sync_count": 0}, "op"),
        ({"op": "replace", "key": "k" * 1025, "sync_count": 0}, "key"),
        ({"op": "replace", "key": "k", "sync_count": False}, "sync_count"),
        ({"op": "replace", "key": "k", "sync_count": 0, "value": 5}, "value"),
        ({"op": "replace", "key": "k", "sync_count": 0,
          "device_last_modified_date": 1714566600}, "device_last_modified_date"),
    ],
)
def test_building_with_a_bad_value_names_the_parameter(
    kwargs: dict[str, Any], param: str
) -> None:
    with pytest.raises(ParamValidationError) as info:
        RecordPatch(**kwargs)
    assert info.value.param == param
