"""Client mistakes get a 4xx from the local service, never a 500: wrong JSON types are
``SerializationException`` (service-behaviour.md#c2), right-typed values breaking a rule are
``InvalidParameterException``, and hostile bodies, tokens and queries (deep nesting, lone
surrogates, integers beyond 64 bits) are refused cleanly, both services."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from support.local_service import (
    IDENTITY,
    POOL,
    Caller,
    put,
    raw_request,
    replace,
)

from cognitosync_async.local import LocalCognitoSync, server
from cognitosync_async.local._errors import ID_RE, ServiceException, error_response
from cognitosync_async.local.handlers import identity

P = POOL.replace(":", "%3A")
I = IDENTITY.replace(":", "%3A")  # noqa: E741
DS = f"/identitypools/{P}/identities/{I}/datasets/d"
KW = {"IdentityPoolId": POOL, "IdentityId": IDENTITY}
SER, PARAM = "SerializationException", "InvalidParameterException"


def _code(headers: dict[str, str]) -> str:
    return headers.get("x-amzn-ErrorType", "").split(":", 1)[0]


async def _token(dev: Caller) -> str:
    return str((await dev("list_records", **KW, DatasetName="d"))["SyncSessionToken"])


def _patch(**fields: Any) -> dict[str, Any]:
    return {"Op": "replace", "Key": "a", "Value": "1", "SyncCount": 0, **fields}


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        # the observed case: a string where epoch seconds belong
        (_patch(DeviceLastModifiedDate="2014-10-10T12:00:00Z"), SER),
        (_patch(DeviceLastModifiedDate={"s": 1}), SER),
        (_patch(SyncCount="0"), SER),
        (_patch(SyncCount=1.5), SER),
        (_patch(SyncCount=2**64), SER),
        (_patch(Key=7), SER),
        (_patch(Key=["a"]), SER),
        (_patch(Op=1), SER),
        (_patch(Value={"v": "1"}), SER),
        # right type, broken rule
        (_patch(SyncCount=-1), PARAM),
        (_patch(Op="upsert"), PARAM),
        (_patch(Key="k" * 1025), PARAM),
        (_patch(DeviceLastModifiedDate=1e12), PARAM),
    ],
)
async def test_patch_member_types(
    svc: LocalCognitoSync, dev: Caller, patch: dict[str, Any], code: str
) -> None:
    body = json.dumps({"SyncSessionToken": await _token(dev), "RecordPatches": [patch]})
    status, headers, resp = await raw_request(svc, "POST", DS, body=body.encode())
    assert (status, _code(headers)) == (400, code), resp
    assert "message" in json.loads(resp)


@pytest.mark.parametrize(
    ("path", "body", "code"),
    [
        (DS, {"SyncSessionToken": "t", "DeviceId": 5}, SER),
        (DS, {"SyncSessionToken": ["t"]}, SER),
        (DS, {"SyncSessionToken": "t", "RecordPatches": {"Op": "replace"}}, SER),
        (f"/identitypools/{P}/events", {"Events": ["SyncTrigger"]}, SER),
        (f"/identitypools/{P}/events", {"Events": {"SyncTrigger": 5}}, SER),
        (f"/identitypools/{P}/events", {"Events": {"Other": "arn"}}, PARAM),
        (f"/identitypools/{P}/configuration", {"PushSync": "x"}, SER),
        (f"/identitypools/{P}/configuration", {"PushSync": {"ApplicationArns": "arn"}}, SER),
        (f"/identitypools/{P}/configuration", {"CognitoStreams": {"StreamName": 1}}, SER),
        (f"/identitypools/{P}/configuration",
         {"CognitoStreams": {"StreamingStatus": "ON"}}, PARAM),
    ],
)
async def test_body_member_types(
    svc: LocalCognitoSync, path: str, body: dict[str, Any], code: str
) -> None:
    status, headers, resp = await raw_request(svc, "POST", path, body=json.dumps(body).encode())
    assert (status, _code(headers)) == (400, code), resp


@pytest.mark.parametrize(
    "body",
    [
        b'{"SyncSessionToken": "t", "X": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"SyncSessionToken": "t", "X": ' + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}",
    ],
    ids=["arrays", "objects"],
)
async def test_deeply_nested_json(svc: LocalCognitoSync, dev: Caller, body: bytes) -> None:
    status, headers, resp = await raw_request(svc, "POST", DS, body=body)
    assert (status, _code(headers)) == (400, SER), resp[:200]
    await put(dev, "d", [replace("a", "1")])  # the service still works


@pytest.mark.parametrize("where", ["Key", "Value", "SyncSessionToken", "DeviceId"])
async def test_lone_surrogates(svc: LocalCognitoSync, dev: Caller, where: str) -> None:
    token = await _token(dev)
    patch = _patch()
    body: dict[str, Any] = {"SyncSessionToken": token, "RecordPatches": [patch]}
    if where in ("Key", "Value"):
        patch[where] = "x\ud800y"
    else:
        body[where] = "x\udfff"
    raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as \\ud800
    status, headers, resp = await raw_request(svc, "POST", DS, body=raw)
    assert (status, _code(headers)) == (400, PARAM), resp
    # a surrogate *pair* is a real character, and is stored
    fine = {"SyncSessionToken": token, "RecordPatches": [_patch(Key="emoji-\U0001f600")]}
    status, _, resp = await raw_request(svc, "POST", DS, body=json.dumps(fine).encode())
    assert status == 200, resp


def _forged(position: Any) -> str:
    raw = b"\xfb\xff\xbf" + json.dumps(position).encode()
    return base64.b64encode(raw).decode().replace("+", "%2B").replace("/", "%2F").replace(
        "=", "%3D"
    )


@pytest.mark.parametrize(
    ("path", "query"),
    [
        (DS + "/records", f"lastSyncCount={2**63}"),
        (DS + "/records", "lastSyncCount=99999999999999999999"),
        (DS + "/records", f"maxResults={2**63}"),
        (DS + "/records",
         "nextToken=" + _forged({"c": 2**70, "s": 1, "k": "a", "t": "x"})),
        (DS + "/records",
         "nextToken=" + _forged({"c": 1, "s": -(2**70), "k": "a", "t": "x"})),
        (DS + "/records", "nextToken=" + _forged({"c": 1, "s": 1, "k": "\ud800", "t": "x"})),
        (DS + "/records", "nextToken=" + _forged({"c": 1, "s": 1, "k": [[[]]], "t": "x"})),
        (DS + "/records", "nextToken=" + _forged([[[[1]]]])),
        (f"/identitypools/{P}/identities/{I}/datasets", "nextToken=" + _forged({"n": "\udc00"})),
        (f"/identitypools/{P}/identities/{I}/datasets",
         "nextToken=" + base64.b64encode(b"\xfb\xff\xbf" + b"[" * 3000).decode()
         .replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")),
        ("/identitypools", "nextToken=" + _forged({"p": "\ud800"})),
        ("/identitypools", "nextToken=eyJwIjoiYSJ9"),  # an old url-safe token: not ours
    ],
)
async def test_queries_and_tokens(svc: LocalCognitoSync, path: str, query: str) -> None:
    status, headers, resp = await raw_request(svc, "GET", path, query=query)
    assert (status, _code(headers)) == (400, PARAM), resp[:300]


async def _identity_call(svc: LocalCognitoSync, target: str, body: bytes) -> tuple[int, str]:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.post(
            svc.endpoint_url + "/", data=body,
            headers={"X-Amz-Target": f"AWSCognitoIdentityService.{target}",
                     "Content-Type": "application/x-amz-json-1.1"},
        ) as resp:
            data = await resp.json(content_type=None)
            return resp.status, str(data["__type"]).rsplit("#", 1)[-1]


@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        ("GetId", b'{"IdentityPoolId": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", SER),
        ("GetId", json.dumps({"IdentityPoolId": POOL,
                              "Logins": {"graph.facebook.com\ud800": "t"}}).encode(), PARAM),
        ("GetId", json.dumps({"IdentityPoolId": POOL,
                              "Logins": {"graph.facebook.com": "t\udc00"}}).encode(), PARAM),
        ("GetId", json.dumps({"IdentityPoolId": 5}).encode(), SER),
        ("GetId", json.dumps({"IdentityPoolId": POOL, "Logins": ["x"]}).encode(), SER),
        ("GetCredentialsForIdentity",
         json.dumps({"IdentityId": IDENTITY, "Logins": {"a": 1}}).encode(), SER),
        ("GetCredentialsForIdentity", b"[]", SER),
    ],
)
async def test_identity_input_errors(
    svc: LocalCognitoSync, target: str, body: bytes, code: str
) -> None:
    assert await _identity_call(svc, target, body) == (400, code)


_CRED = "Credential={key}/20240501/us-east-1/cognito-sync/aws4_request"


@pytest.mark.parametrize(
    "extra",
    [
        b"Authorization: AWS4-HMAC-SHA256 " + _CRED.format(key="AKID\xff").encode("latin-1")
        + b", SignedHeaders=host;x-amz-date, Signature=abcd\r\nX-Amz-Date: 20240501T000000Z\r\n",
        b"Authorization: AWS4-HMAC-SHA256 " + _CRED.format(key="AKIDLOCALDEVELOPER").encode()
        + b", SignedHeaders=host;x-amz-date, Signature=abcd\r\nX-Amz-Date: 2024\xc3\xa9\r\n",
        b"Authorization: AWS4-HMAC-SHA256 " + _CRED.format(key="AKIDLOCALDEVELOPER").encode()
        + b", SignedHeaders=date;host, Signature=abcd\r\nDate: Mon, 99 Foo 99999 99:99:99 GMT\r\n",
        b"Authorization: AWS4-HMAC-SHA256 " + _CRED.format(key="AKIDLOCALDEVELOPER").encode()
        + b", SignedHeaders=date;host, Signature=abcd\r\nDate: \xff\xfe\r\n",
        b"Authorization: \xff\xfe\xfd\r\n",
        b"Authorization: AWS4-HMAC-SHA256 Credential=" + b"A/" * 3000 + b"\r\n",
    ],
    ids=["key-bytes", "amz-date-bytes", "date-nonsense", "date-bytes", "auth-bytes", "auth-long"],
)
async def test_hostile_headers(svc: LocalCognitoSync, extra: bytes) -> None:
    import asyncio

    reader, writer = await asyncio.open_connection(svc.host, svc.port)
    try:
        writer.write(f"GET {DS}/records HTTP/1.1\r\nHost: {svc.host}\r\n".encode() + extra
                     + b"Connection: close\r\n\r\n")
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        await reader.read()
    finally:
        writer.close()
    assert 400 <= status < 500


def test_one_error_response_for_both_services() -> None:
    exc = ServiceException("ResourceNotFoundException", "no such pool",
                           headers={"Retry-After": "1"})
    sync = error_response(exc, "req-1")
    assert sync.status == 404
    assert sync.headers["Content-Type"] == "application/json"
    assert sync.headers["x-amzn-RequestId"] == "req-1"
    assert sync.headers["Retry-After"] == "1"
    assert sync.headers["x-amzn-ErrorType"].startswith("ResourceNotFoundException:http://")
    assert "cognito.sync.model" in sync.headers["x-amzn-ErrorType"]
    assert isinstance(sync.body, bytes) and json.loads(sync.body) == {"message": "no such pool"}

    ident = identity.error_response(exc, "req-2")
    assert ident.status == 404
    assert ident.headers["Content-Type"] == identity.CONTENT_TYPE
    assert "cognito.identity.model" in ident.headers["x-amzn-ErrorType"]
    assert isinstance(ident.body, bytes) and json.loads(ident.body) == {
        "__type": f"{identity.ERROR_NAMESPACE}#ResourceNotFoundException",
        "message": "no such pool",
    }
    assert server.error_response is error_response  # type: ignore[attr-defined]
    assert not hasattr(server, "_ID_RE") and not hasattr(identity, "_ID_RE")
    assert ID_RE.fullmatch("us-east-1:0000aaaa-0000") and not ID_RE.fullmatch("nope")
