"""The bytes on the wire, with botocore as the oracle.

A recording ``aiohttp.web`` server on 127.0.0.1 (in a background thread, so
that botocore's blocking client can reach it too) receives, for the same
hypothesis-generated input, one request from the SDK and one from botocore.
Method, raw path and query, JSON body, Content-Type, Content-Length and
``x-amz-Client-Context`` must be the same; the SDK's signature must be the
one botocore's ``SigV4Auth`` computes over exactly what the server received.
"""

from __future__ import annotations

import asyncio
import json
import re
import string
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from unittest import mock

import attrs
import botocore.auth
import botocore.session
import pytest
from aiohttp import web
from botocore import xform_name
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cognitosync_async import (
    CognitoStreams,
    CognitoSyncClient,
    Credentials,
    PushSync,
    RecordPatch,
)
from cognitosync_async._operations import OPERATIONS

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzE+/=token%20with spaces"
REGION = "us-east-1"
SERVICE_MODEL = botocore.session.get_session().get_service_model("cognito-sync")


# --------------------------------------------------------------------------- recording server


@attrs.define
class Seen:
    """One request as the server received it."""

    method: str
    raw_path: str  # path and query, exactly as on the request line
    raw_headers: list[tuple[bytes, bytes]]
    body: bytes

    @property
    def path(self) -> str:
        return self.raw_path.partition("?")[0]

    @property
    def query(self) -> str:
        return self.raw_path.partition("?")[2]

    def header(self, name: str) -> bytes | None:
        """The raw value of a header sent once (None when absent)."""
        values = self.header_all(name)
        assert len(values) <= 1, (name, values)
        return values[0] if values else None

    def header_all(self, name: str) -> list[bytes]:
        lname = name.lower().encode()
        return [v for k, v in self.raw_headers if k.lower() == lname]

    def header_names(self) -> set[str]:
        return {k.decode("latin-1").lower() for k, _ in self.raw_headers}


class RecordingServer:
    """An aiohttp.web server on 127.0.0.1:0, run by its own loop in a thread.

    It records every request in ``seen`` and answers with ``respond``
    (status, headers, body), ``200 {}`` by default.
    """

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.respond: tuple[int, dict[str, str], bytes] = (
            200,
            {"Content-Type": "application/json"},
            b"{}",
        )
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.ServerRunner | None = None

    async def _handle(self, request: web.BaseRequest) -> web.Response:
        body = await request.read()
        self.seen.append(Seen(request.method, request.raw_path, list(request.raw_headers), body))
        status, headers, payload = self.respond
        return web.Response(status=status, headers=headers, body=payload)

    async def _start(self) -> str:
        self._runner = web.ServerRunner(web.Server(self._handle))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    def start(self) -> RecordingServer:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[RecordingServer]:
    srv = RecordingServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def boto(server: RecordingServer) -> Iterator[dict[bool, Any]]:
    """botocore clients pointed at the server: ``{with_session_token: client}``."""
    session = botocore.session.get_session()
    clients = {
        with_token: session.create_client(
            "cognito-sync",
            region_name=REGION,
            endpoint_url=server.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            aws_session_token=SESSION_TOKEN if with_token else None,
        )
        for with_token in (False, True)
    }
    try:
        yield clients
    finally:
        for client in clients.values():
            client.close()


# --------------------------------------------------------------------------- inputs

_HEX = "0123456789abcdef-"
identity_ids = st.builds(
    lambda region, tail: f"{region}:{tail}",
    st.sampled_from(["us-east-1", "eu-west-1", "ap-northeast-1", "x_1"]),
    st.text(_HEX, min_size=1, max_size=40),
)
dataset_names = st.text(
    string.ascii_letters + string.digits + "_.:-", min_size=1, max_size=128
).filter(lambda s: s not in (".", ".."))
_ODD = list("+/=% &?#:;,@!$'()*[]~._-\"\\") + ["%2F", "%20", "é", "中", "😀", "\u00a0", "ß"]
odd_text = st.lists(
    st.one_of(st.sampled_from(_ODD), st.characters(exclude_categories=("Cs",))), max_size=20
).map("".join)
device_ids = st.one_of(
    odd_text,
    st.sampled_from(["a/b", "%2F", "a%2Fb c", "dev ice/ü", "./x", "../..", "...", "x/."]),
).filter(lambda s: 0 < len(s) <= 256 and s not in (".", ".."))
header_text = st.lists(
    st.one_of(
        st.sampled_from(_ODD),
        st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\u2028\u2029\x85"),
    ),
    max_size=20,
).map("".join)
ints = st.integers(-(2**31), 2**31 - 1)
longs = st.integers(-(2**63), 2**63 - 1)
_tz = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60)
)
datetimes = st.datetimes(  # naive (read as UTC) or with an offset
    min_value=datetime(1971, 1, 2, tzinfo=timezone.utc).replace(tzinfo=None),
    max_value=datetime(2100, 1, 1, tzinfo=timezone.utc).replace(tzinfo=None),
    timezones=st.none() | _tz,
)
# Lone surrogates (category Cs) are refused before the network (ParamValidationError,
# tests/test_validation.py), where botocore would send them: no wire to compare.
record_patches = st.lists(
    st.builds(
        RecordPatch,
        op=st.sampled_from(["replace", "remove"]),
        key=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20),
        sync_count=longs,
        value=st.none() | odd_text,
        device_last_modified_date=st.none() | datetimes,
    ),
    max_size=4,
)
_digits = st.text(string.digits, min_size=1, max_size=12)
role_arns = st.builds(
    lambda acct, name: f"arn:aws:iam::{acct}:role/{name}", _digits,
    st.text(st.characters(exclude_characters="\n", exclude_categories=("Cs",)), max_size=20),
)
application_arns = st.builds(
    lambda region, acct, platform, name: f"arn:aws:sns:{region}:{acct}:app/{platform}/{name}",
    st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12),
    _digits,
    st.sampled_from(["APNS", "APNS_SANDBOX", "GCM", "ADM", "X_Y"]),
    st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=20),
)
push_syncs = st.builds(
    PushSync,
    application_arns=st.none() | st.lists(application_arns, max_size=3),
    role_arn=st.none() | role_arns,
)
cognito_streams = st.builds(
    CognitoStreams,
    stream_name=st.none()
    | st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=128),
    role_arn=st.none() | role_arns,
    streaming_status=st.none() | st.sampled_from(["ENABLED", "DISABLED"]),
)


def _opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


_POOL = {"identity_pool_id": identity_ids}
_IDENT = {**_POOL, "identity_id": identity_ids}
_DS = {**_IDENT, "dataset_name": dataset_names}
ARGS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "BulkPublish": _POOL,
    "DeleteDataset": _DS,
    "DescribeDataset": _DS,
    "DescribeIdentityPoolUsage": _POOL,
    "DescribeIdentityUsage": _IDENT,
    "GetBulkPublishDetails": _POOL,
    "GetCognitoEvents": _POOL,
    "GetIdentityPoolConfiguration": _POOL,
    "ListDatasets": {**_IDENT, "next_token": _opt(odd_text), "max_results": _opt(ints)},
    "ListIdentityPoolUsage": {"next_token": _opt(odd_text), "max_results": _opt(ints)},
    "ListRecords": {
        **_DS,
        "last_sync_count": _opt(st.just(0) | longs),
        "next_token": _opt(odd_text),
        "max_results": _opt(ints),
        "sync_session_token": _opt(odd_text),
    },
    "RegisterDevice": {
        **_IDENT,
        "platform": st.sampled_from(["APNS", "APNS_SANDBOX", "GCM", "ADM"]),
        "token": odd_text,
    },
    "SetCognitoEvents": {
        **_POOL,
        "events": st.dictionaries(odd_text, odd_text, max_size=1),
    },
    "SetIdentityPoolConfiguration": {
        **_POOL,
        "push_sync": _opt(push_syncs),
        "cognito_streams": _opt(cognito_streams),
    },
    "SubscribeToDataset": {**_DS, "device_id": device_ids},
    "UnsubscribeFromDataset": {**_DS, "device_id": device_ids},
    "UpdateRecords": {
        **_DS,
        "device_id": _opt(device_ids),
        "record_patches": _opt(record_patches),
        "sync_session_token": odd_text,
        "client_context": _opt(header_text),
    },
}


def _to_boto(value: Any, shape: Any) -> Any:
    """The botocore form of an SDK input, structures in the model's member order."""
    if attrs.has(type(value)):
        out = {}
        for name, member in shape.members.items():
            item = getattr(value, xform_name(name))
            if item is not None:
                out[name] = _to_boto(item, member)
        return out
    if isinstance(value, list):
        return [_to_boto(item, shape.member) for item in value]
    return value


def boto_kwargs(op_name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """botocore keyword arguments for the SDK's, in the model's member order; None left out."""
    shape = SERVICE_MODEL.operation_model(op_name).input_shape
    out: dict[str, Any] = {}
    if shape is None:
        return out
    for name, member in shape.members.items():
        value = kwargs.get(xform_name(name))
        if value is not None:
            out[name] = _to_boto(value, member)
    return out


# --------------------------------------------------------------------------- checks

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<sig>[0-9a-f]{64})"
)


def signed_headers(seen: Seen) -> list[str]:
    auth = seen.header("Authorization")
    assert auth is not None
    match = _AUTH.fullmatch(auth.decode())
    assert match, auth
    return match["signed"].split(";")


def botocore_authorization(seen: Seen, base_url: str, token: str | None) -> str:
    """botocore's Authorization over exactly the request the server received."""
    names = signed_headers(seen)
    request = AWSRequest(method=seen.method, url=base_url + seen.raw_path, data=seen.body)
    for name in names:
        if name in ("x-amz-date", "x-amz-security-token"):
            continue  # botocore sets these itself, from the clock and the credentials
        for value in seen.header_all(name):
            request.headers[name] = value.decode("utf-8")
    date = seen.header("X-Amz-Date")
    assert date is not None
    when = datetime.strptime(date.decode(), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    auth = botocore.auth.SigV4Auth(
        BotoCredentials(ACCESS_KEY, SECRET_KEY, token), "cognito-sync", REGION
    )
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when):
        auth.add_auth(request)
    value: str = request.headers["Authorization"]
    return value


def assert_same_request(
    ours: Seen, theirs: Seen, *, base_url: str, token: str | None, body_bytes: bool = True
) -> None:
    assert ours.method == theirs.method
    assert ours.path == theirs.path
    assert ours.query == theirs.query
    # the JSON body: same value, and the same bytes (botocore got model order)
    assert (json.loads(ours.body) if ours.body else None) == (
        json.loads(theirs.body) if theirs.body else None
    )
    if body_bytes:
        assert ours.body == theirs.body
    assert ours.header("Content-Type") == theirs.header("Content-Type")
    assert ours.header("Content-Length") == theirs.header("Content-Length")
    if not ours.body and ours.method in ("POST", "DELETE", "PUT"):
        assert ours.header("Content-Length") == b"0"
    if ours.method == "GET":
        assert ours.body == b"" and ours.header("Content-Type") is None
    assert ours.header("x-amz-Client-Context") == theirs.header("x-amz-Client-Context")
    assert ours.header_all("Host") == theirs.header_all("Host")
    # the same headers as botocore, but its retry telemetry (values differ: User-Agent, date)
    assert ours.header_names() <= theirs.header_names()
    assert theirs.header_names() - ours.header_names() <= {
        "amz-sdk-invocation-id",
        "amz-sdk-request",
    }
    # an uncompressed answer, as botocore asks (the SDK reads the body undecoded)
    assert ours.header("Accept-Encoding") == theirs.header("Accept-Encoding") == b"identity"
    assert (ours.header("X-Amz-Security-Token") is None) is (token is None)
    assert ours.header("X-Amz-Security-Token") == theirs.header("X-Amz-Security-Token")

    # what is signed: host, date, content-type, token and every x-amz-* sent;
    # the same list botocore signs
    signed = signed_headers(ours)
    assert signed == sorted(set(signed))
    must = {"host", "x-amz-date"}
    must |= {n for n in ours.header_names() if n.startswith("x-amz-")}
    if ours.header("Content-Type") is not None:
        must.add("content-type")
    if token is not None:
        must.add("x-amz-security-token")
    assert must <= set(signed), (must, signed)
    assert signed == signed_headers(theirs)

    # and the signature is the one botocore computes over what arrived
    assert ours.header("Authorization") == botocore_authorization(ours, base_url, token).encode()


async def _sdk_call(url: str, token: str | None, method: str, kwargs: dict[str, Any]) -> Any:
    creds = Credentials(ACCESS_KEY, SECRET_KEY, session_token=token)
    async with CognitoSyncClient(REGION, credentials=creds, endpoint_url=url) as client:
        return await getattr(client, method)(**kwargs)


def exchange(
    server: RecordingServer,
    boto: dict[bool, Any],
    op_name: str,
    kwargs: dict[str, Any],
    *,
    with_token: bool,
    bkwargs: dict[str, Any] | None = None,
) -> tuple[Seen, Seen]:
    """Send the same input with the SDK, then botocore; return what each sent."""
    method = xform_name(op_name)
    token = SESSION_TOKEN if with_token else None
    server.seen.clear()
    asyncio.run(_sdk_call(server.url, token, method, kwargs))
    getattr(boto[with_token], method)(**(boto_kwargs(op_name, kwargs) if bkwargs is None
                                        else bkwargs))
    assert len(server.seen) == 2, server.seen
    return server.seen[0], server.seen[1]


# --------------------------------------------------------------------------- tests


def test_every_operation_has_inputs() -> None:
    assert set(ARGS) == set(OPERATIONS) == set(SERVICE_MODEL.operation_names)
    assert len(ARGS) == 17
    for name, strategies in ARGS.items():
        shape = SERVICE_MODEL.operation_model(name).input_shape
        members = {xform_name(m) for m in shape.members} if shape else set()
        assert set(strategies) == members, name


@pytest.mark.parametrize("op_name", sorted(ARGS))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
@given(data=st.data())
def test_request_matches_botocore(
    server: RecordingServer, boto: dict[bool, Any], op_name: str, data: st.DataObject
) -> None:
    kwargs = data.draw(st.fixed_dictionaries(ARGS[op_name]), label="kwargs")
    with_token = data.draw(st.booleans(), label="with_token")
    ours, theirs = exchange(server, boto, op_name, kwargs, with_token=with_token)
    assert_same_request(
        ours, theirs, base_url=server.url, token=SESSION_TOKEN if with_token else None
    )


POOL = "us-east-1:00000000-0000-0000-0000-000000000001"
IDENTITY = "us-east-1:11111111-1111-1111-1111-111111111111"


@pytest.mark.parametrize(
    ("op_name", "kwargs", "path", "query", "body"),
    [
        (
            "ListRecords",
            {"identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d",
             "last_sync_count": 0},
            f"/identitypools/us-east-1%3A{POOL[10:]}/identities/us-east-1%3A{IDENTITY[10:]}"
            "/datasets/d/records",
            "lastSyncCount=0",
            b"",
        ),
        (
            "ListRecords",
            {"identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d",
             "last_sync_count": None, "next_token": None, "max_results": None,
             "sync_session_token": None},
            f"/identitypools/us-east-1%3A{POOL[10:]}/identities/us-east-1%3A{IDENTITY[10:]}"
            "/datasets/d/records",
            "",
            b"",
        ),
        (
            "ListIdentityPoolUsage",
            {"next_token": "a b/c+=", "max_results": 0},
            "/identitypools",
            "nextToken=a%20b%2Fc%2B%3D&maxResults=0",
            b"",
        ),
        (
            "SetIdentityPoolConfiguration",
            {"identity_pool_id": POOL, "push_sync": None, "cognito_streams": None},
            f"/identitypools/us-east-1%3A{POOL[10:]}/configuration",
            "",
            b"{}",
        ),
        (
            "SetIdentityPoolConfiguration",
            {"identity_pool_id": POOL, "push_sync": PushSync(), "cognito_streams": None},
            f"/identitypools/us-east-1%3A{POOL[10:]}/configuration",
            "",
            b'{"PushSync": {}}',
        ),
        (
            "UpdateRecords",
            {"identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d",
             "device_id": None, "record_patches": [RecordPatch("remove", "k", 0)],
             "sync_session_token": "t", "client_context": None},
            f"/identitypools/us-east-1%3A{POOL[10:]}/identities/us-east-1%3A{IDENTITY[10:]}"
            "/datasets/d",
            "",
            b'{"RecordPatches": [{"Op": "remove", "Key": "k", "SyncCount": 0}], '
            b'"SyncSessionToken": "t"}',
        ),
        (
            "SubscribeToDataset",
            {"identity_pool_id": POOL, "identity_id": IDENTITY, "dataset_name": "d",
             "device_id": "a/b%2F c"},
            f"/identitypools/us-east-1%3A{POOL[10:]}/identities/us-east-1%3A{IDENTITY[10:]}"
            "/datasets/d/subscriptions/a%2Fb%252F%20c",
            "",
            b"",
        ),
    ],
)
def test_none_is_omitted_and_zero_is_sent(
    server: RecordingServer,
    boto: dict[bool, Any],
    op_name: str,
    kwargs: dict[str, Any],
    path: str,
    query: str,
    body: bytes,
) -> None:
    # The literal expectations restate docs/service-behaviour.md; botocore confirms them.
    ours, theirs = exchange(server, boto, op_name, kwargs, with_token=False)
    assert_same_request(ours, theirs, base_url=server.url, token=None)
    assert (ours.path, ours.query, ours.body) == (path, query, body)
    if "None" in ours.raw_path or b"null" in ours.body:
        raise AssertionError(ours)


def test_model_order_is_not_required_for_botocore_equality(
    server: RecordingServer, boto: dict[bool, Any]
) -> None:
    """botocore given its kwargs in another order sends the same JSON value."""
    kwargs = {
        "identity_pool_id": POOL,
        "identity_id": IDENTITY,
        "dataset_name": "d",
        "device_id": "dev",
        "record_patches": [
            RecordPatch("replace", "k", 3, "v", datetime(2020, 1, 1, 0, 0, 0, 5, timezone.utc))
        ],
        "sync_session_token": "t",
        "client_context": "ctx",
    }
    reordered = dict(reversed(list(boto_kwargs("UpdateRecords", kwargs).items())))
    reordered["RecordPatches"] = [dict(reversed(list(reordered["RecordPatches"][0].items())))]
    ours, theirs = exchange(
        server, boto, "UpdateRecords", kwargs, with_token=True, bkwargs=reordered
    )
    assert ours.body != theirs.body
    assert_same_request(ours, theirs, base_url=server.url, token=SESSION_TOKEN, body_bytes=False)
