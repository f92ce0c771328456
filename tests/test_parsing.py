"""Reading answers, with botocore's ``RestJSONParser`` as the oracle.

Hypothesis builds response bodies from each operation's output shape in
botocore's model (explicit ``null``s, unknown members, unknown enum values,
timestamps as integers, floats such as ``1.412974057151E9``, numeric and ISO
strings, non-ASCII text) and error answers (status 400-599, with or without
``x-amzn-ErrorType``, ``__type``/``code``/``message`` in any casing, non-JSON,
empty and HTML bodies). A recording ``aiohttp.web`` server on 127.0.0.1
serves each one to the SDK, and botocore parses the same bytes.
"""

from __future__ import annotations

import asyncio
import json
import string
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import attrs
import botocore.session
import pytest
from botocore import xform_name
from botocore.parsers import RestJSONParser
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_wire import RecordingServer

import cognitosync_async
from cognitosync_async import CognitoSyncClient, Credentials, ServiceError
from cognitosync_async._exceptions import ERROR_CLASSES
from cognitosync_async._operations import OPERATIONS

SERVICE_MODEL = botocore.session.get_session().get_service_model("cognito-sync")
POOL = "us-east-1:00000000-0000-0000-0000-000000000001"
IDENTITY = "us-east-1:11111111-1111-1111-1111-111111111111"
# the 13 error codes of Cognito Sync's model (ERROR_CLASSES also holds Cognito Identity's)
MODELLED = sorted(
    {
        shape.name
        for name in SERVICE_MODEL.operation_names
        for shape in SERVICE_MODEL.operation_model(name).error_shapes
    }
)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)


@pytest.fixture(scope="module")
def server() -> Iterator[RecordingServer]:
    srv = RecordingServer().start()
    try:
        yield srv
    finally:
        srv.stop()


# --------------------------------------------------------------------------- JSON text


@attrs.frozen
class Raw:
    """A JSON value written exactly as given (e.g. ``1.412974057151E9``)."""

    text: str


def dump(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dump(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------- bodies


def _scientific(seconds: int, millis: int) -> str:
    """``1412974057`` and ``151`` as ``1.412974057151E9``, as the real service wrote it."""
    digits = f"{seconds}{millis:03d}"
    return f"{digits[0]}.{digits[1:]}E{len(str(seconds)) - 1}"


_seconds = st.integers(0, 4_102_444_800)  # 1970 .. 2100
_millis = st.integers(0, 999)
timestamps = st.one_of(
    _seconds.map(lambda s: Raw(str(s))),
    st.builds(lambda s, m: Raw(f"{s}.{m:03d}"), _seconds, _millis),
    st.builds(lambda s, m: Raw(_scientific(s, m)), st.integers(10**9, 2 * 10**9), _millis),
    st.just(Raw("1.412974057151E9")),
    st.builds(lambda s, m: f"{s}.{m:03d}", _seconds, _millis),  # numeric strings
    _seconds.map(str),
    st.builds(
        lambda s, m, form: datetime.fromtimestamp(s, timezone.utc).strftime(form).replace(
            "MMM", f"{m:03d}"
        ),
        _seconds,
        _millis,
        st.sampled_from(
            ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.MMMZ", "%Y-%m-%dT%H:%M:%S+00:00"]
        ),
    ),
)
text = st.text(max_size=12) | st.sampled_from(["é", "中文", "😀", "a\u0000b", "\\/\""])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
_ENUM_EXTRA = ["PAUSED", "", "enabled", "SOMETHING_NEW"]


def shape_values(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values botocore's model allows for ``shape``, as JSON (Raw for exact numbers)."""
    kind = shape.type_name
    if kind == "structure":
        return structures(shape, depth)
    if kind == "list":
        item = shape_values(shape.member, depth + 1)
        return st.lists(st.one_of(item, st.none()) if depth < 1 else item, max_size=3)
    if kind == "map":
        return st.dictionaries(text, st.one_of(text, st.none()), max_size=3)
    if kind == "string":
        if shape.enum:
            return st.sampled_from(list(shape.enum) + _ENUM_EXTRA)
        return text
    if kind in ("integer", "long"):
        return st.integers(-(2**63), 2**63 - 1)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return timestamps
    raise AssertionError(f"no strategy for {kind}")


def structures(shape: Any, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    names = list(shape.members)
    members = {
        shape.members[name].serialization.get("name", name): st.one_of(
            st.none(), shape_values(shape.members[name], depth + 1)
        )
        for name in names
    }
    unknown = st.dictionaries(
        text.filter(lambda k: k not in members), json_values, max_size=2
    )

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        present = draw(st.lists(st.sampled_from(list(members)), unique=True)) if members else []
        out = {name: draw(members[name]) for name in present}  # None: an explicit null
        out.update(draw(unknown))
        return out

    return build()


def bodies(op_name: str) -> st.SearchStrategy[bytes]:
    shape = SERVICE_MODEL.operation_model(op_name).output_shape
    if shape is None:
        return st.sampled_from([b"", b"{}"]) | st.dictionaries(text, json_values).map(
            lambda d: dump(d).encode()
        )
    return st.one_of(st.just(b""), structures(shape).map(lambda d: dump(d).encode("utf-8")))


# --------------------------------------------------------------------------- calls


def _arguments(op_name: str) -> dict[str, Any]:
    """Valid arguments for an operation (the answer, not the input, is under test)."""
    values = {
        "identity_pool_id": POOL,
        "identity_id": IDENTITY,
        "dataset_name": "settings",
        "device_id": "device",
        "sync_session_token": "token",
        "platform": "GCM",
        "token": "push",
        "events": {},
    }
    op = OPERATIONS[op_name]
    return {m.name: values[m.name] for m in op.members if m.required}


async def _call(url: str, op_name: str) -> Any:
    creds = Credentials("AKIDEXAMPLE", "secret")
    async with CognitoSyncClient(
        "us-east-1", credentials=creds, endpoint_url=url, max_attempts=1
    ) as client:
        return await getattr(client, xform_name(op_name))(**_arguments(op_name))


def call(server: RecordingServer, op_name: str, status: int, headers: dict[str, str],
         body: bytes) -> Any:
    server.respond = (status, headers, body)
    return asyncio.run(_call(server.url, op_name))


def botocore_parse(op_name: str, status: int, headers: dict[str, str], body: bytes) -> Any:
    shape = SERVICE_MODEL.operation_model(op_name).output_shape
    response = {
        "status_code": status,
        "headers": {k.lower(): v for k, v in headers.items()},
        "body": body,
    }
    parsed = RestJSONParser().parse(response, shape)
    parsed.pop("ResponseMetadata", None)
    if status < 300 and shape is not None:  # the contract: a list left out is [], never None
        for name, member in shape.members.items():
            if member.type_name == "list":
                parsed.setdefault(name, [])
    return parsed


def to_wire_dict(value: Any) -> Any:
    """An SDK answer as botocore's dict: wire names, None members left out."""
    if attrs.has(type(value)):
        out = {}
        for field in attrs.fields(type(value)):
            if field.name == "response_metadata":
                continue  # boto3's ResponseMetadata (popped from botocore's result too)
            item = getattr(value, field.name)
            if item is not None:
                out[field.metadata["wire"]] = to_wire_dict(item)
        return out
    if isinstance(value, list):
        return [to_wire_dict(item) for item in value]
    if isinstance(value, dict):
        return {k: to_wire_dict(v) for k, v in value.items()}
    if isinstance(value, datetime):
        assert value.tzinfo is not None and value.utcoffset() == timezone.utc.utcoffset(None)
    return value


def assert_same(ours: Any, theirs: Any) -> None:
    """Equal, and of the same kinds (True is not 1); datetimes as instants."""
    assert ours == theirs
    if isinstance(theirs, dict):
        for key in theirs:
            assert_same(ours[key], theirs[key])
    elif isinstance(theirs, list):
        for a, b in zip(ours, theirs, strict=True):
            assert_same(a, b)
    elif isinstance(theirs, datetime):
        assert isinstance(ours, datetime)
    else:
        assert type(ours) is type(theirs), (ours, theirs)


# --------------------------------------------------------------------------- answers


def test_every_operation_is_covered() -> None:
    assert set(OPERATIONS) == set(SERVICE_MODEL.operation_names)
    assert len(OPERATIONS) == 17


@pytest.mark.parametrize("op_name", sorted(OPERATIONS))
@SETTINGS
@given(data=st.data())
def test_answer_parses_as_botocore_parses_it(
    server: RecordingServer, op_name: str, data: st.DataObject
) -> None:
    body = data.draw(bodies(op_name), label="body")
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": "req-1"}
    ours = call(server, op_name, 200, headers, body)
    theirs = botocore_parse(op_name, 200, headers, body)
    assert type(ours).__name__ == f"{op_name}Response"
    assert_same(to_wire_dict(ours), theirs)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.412974057151E9", datetime(2014, 10, 10, 20, 47, 37, 151000, timezone.utc)),
        ("1412974057.151", datetime(2014, 10, 10, 20, 47, 37, 151000, timezone.utc)),
        ("1412974057", datetime(2014, 10, 10, 20, 47, 37, tzinfo=timezone.utc)),
        ('"1412974057"', datetime(2014, 10, 10, 20, 47, 37, tzinfo=timezone.utc)),
        ('"2014-10-10T20:47:37.151Z"',
         datetime(2014, 10, 10, 20, 47, 37, 151000, timezone.utc)),
    ],
)
def test_timestamp_forms(server: RecordingServer, raw: str, expected: datetime) -> None:
    body = f'{{"Records": [{{"Key": "k", "LastModifiedDate": {raw}}}], "NextToken": null}}'
    ours = call(server, "UpdateRecords", 200, {}, body.encode())
    theirs = botocore_parse("UpdateRecords", 200, {}, body.encode())
    assert ours.records[0].last_modified_date == expected
    assert theirs["Records"][0]["LastModifiedDate"] == expected
    assert ours.records[0].last_modified_date.tzinfo is not None


def test_unknown_enum_is_kept(server: RecordingServer) -> None:
    body = b'{"CognitoStreams": {"StreamingStatus": "PAUSED", "DisabledReason": "x"}}'
    ours = call(server, "GetIdentityPoolConfiguration", 200, {}, body)
    assert ours.cognito_streams.streaming_status == "PAUSED"
    assert ours.push_sync is None


# --------------------------------------------------------------------------- errors

_OTHER_CODES = [
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "LambdaSocketTimeoutException",
    "ValidationException",
    "Throttling",
]
codes = st.one_of(
    st.sampled_from(MODELLED + _OTHER_CODES),
    st.text(string.ascii_letters + string.digits + "._-", max_size=20),
)
decorated_codes = st.builds(
    lambda prefix, code, suffix: prefix + code + suffix,
    st.sampled_from(["", "com.amazonaws.cognitosync#", "a#b#", "#"]),
    codes,
    st.sampled_from(
        ["", ":http://internal.amazon.com/coral/com.amazonaws.cognito.sync.model/", ":", ":x:y"]
    ),
)
_str_or_null = st.one_of(st.none(), text, decorated_codes)


@st.composite
def error_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "json", "json", "text", "empty", "blank", "html"]))
    if kind == "empty":
        return b""
    if kind == "blank":
        return draw(st.sampled_from([b" ", b"\n", b" \r\n\t"]))
    if kind == "html":
        return draw(
            st.sampled_from(
                [
                    b"<html><body><b>Http/1.1 Service Unavailable</b></body></html>",
                    b"  <html><body>Bad Gateway</body></html>\n",
                    b"<!DOCTYPE html><html><body>Forbidden</body></html>",
                ]
            )
        )
    if kind == "text":
        return draw(
            st.one_of(
                st.sampled_from(["Rate exceeded", "oops {", "Internal Server Error", "\ufeff{}"]),
                st.text(max_size=30).filter(lambda t: not _is_json(t)),
            )
        ).encode("utf-8")
    keys = draw(
        st.lists(
            st.sampled_from(["__type", "code", "Code", "message", "Message", "other"]),
            unique=True,
        )
    )
    body = {}
    for key in keys:
        if key == "__type":
            body[key] = draw(st.one_of(decorated_codes, st.none(), st.just("")))
        elif key in ("code", "Code"):
            body[key] = draw(st.one_of(decorated_codes, st.none(), st.just("")))
        elif key == "other":
            body[key] = draw(json_values)
        else:
            body[key] = draw(st.one_of(text, st.none()))
    return dump(body).encode("utf-8")


def _is_json(value: str) -> bool:
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("op_name", ["ListRecords", "UpdateRecords", "BulkPublish"])
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
@given(
    status=st.integers(400, 599),
    error_type=st.none() | decorated_codes | st.just(""),
    request_id=st.none() | st.uuids().map(str),
    body=error_bodies(),
)
def test_error_reads_as_botocore_reads_it(
    server: RecordingServer,
    op_name: str,
    status: int,
    error_type: str | None,
    request_id: str | None,
    body: bytes,
) -> None:
    headers = {"Content-Type": "application/json"}
    if error_type is not None:
        headers["x-amzn-ErrorType"] = error_type
    if request_id is not None:
        headers["x-amzn-RequestId"] = request_id
    expected = botocore_parse(op_name, status, headers, body)["Error"]

    with pytest.raises(ServiceError) as info:
        call(server, op_name, status, headers, body)
    err = info.value

    assert err.code == expected["Code"]
    # botocore keeps an explicit null message as None; the SDK's message is a str
    assert err.message == ("" if expected["Message"] is None else expected["Message"])
    assert err.status_code == status
    assert err.request_id == request_id
    if err.code in MODELLED:
        assert type(err).__name__ == err.code
        assert type(err) is getattr(cognitosync_async, err.code)
    elif err.code not in ERROR_CLASSES:
        assert type(err) is ServiceError


@pytest.mark.parametrize("code", MODELLED)
def test_modelled_code_has_its_class(server: RecordingServer, code: str) -> None:
    headers = {
        "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazonaws.cognito.sync/",
        "x-amzn-RequestId": "rid",
    }
    with pytest.raises(ServiceError) as info:
        call(server, "ListRecords", 400, headers, b'{"message": "m\\u00e9"}')
    err = info.value
    assert type(err).__name__ == code and type(err) is getattr(cognitosync_async, code)
    assert (err.code, err.message, err.status_code, err.request_id) == (code, "mé", 400, "rid")
    assert len(MODELLED) == 13
