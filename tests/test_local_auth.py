"""SigV4 verification and the credential rules of docs/service-behaviour.md#authorization."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from support.local_service import (
    IDENTITY,
    OTHER_IDENTITY,
    POOL,
    Caller,
    code_of,
    put,
    raw_request,
    replace,
    status_of,
)

from cognitosync_async import _sigv4
from cognitosync_async._credentials import Credentials
from cognitosync_async.local import LocalCognitoSync, Storage, auth, context
from cognitosync_async.local._errors import ServiceException
from cognitosync_async.local.state import StoredCredentials

P = POOL.replace(":", "%3A")
I = IDENTITY.replace(":", "%3A")  # noqa: E741
DS_PATH = f"/identitypools/{P}/identities/{I}/datasets/d"


def _code(headers: dict[str, str]) -> str:
    return headers.get("x-amzn-ErrorType", "").split(":", 1)[0]


async def test_valid_signed_request(svc: LocalCognitoSync) -> None:
    status, _, body = await raw_request(svc, "GET", DS_PATH + "/records",
                                        query="lastSyncCount=0&maxResults=5")
    assert status == 200, body


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no-auth", "MissingAuthenticationTokenException"),
        ("unknown-key", "UnrecognizedClientException"),
        ("wrong-secret", "InvalidSignatureException"),
        ("tampered-body", "InvalidSignatureException"),
        ("tampered-path", "InvalidSignatureException"),
        ("tampered-query", "InvalidSignatureException"),
        ("unsigned-amz-header", "InvalidSignatureException"),
        ("stale-date", "InvalidSignatureException"),
        ("future-date", "InvalidSignatureException"),
        ("wrong-region", "InvalidSignatureException"),
        ("malformed", "IncompleteSignatureException"),
    ],
)
async def test_signature_failures(svc: LocalCognitoSync, case: str, expected: str) -> None:
    kwargs: dict[str, Any] = {"query": "lastSyncCount=0"}
    path = DS_PATH + "/records"
    method = "GET"
    if case == "no-auth":
        kwargs["sign"] = False
    elif case == "unknown-key":
        kwargs["creds"] = Credentials("AKIDUNKNOWN", "whatever")
    elif case == "wrong-secret":
        kwargs["creds"] = Credentials(svc.credentials.access_key_id, "wrong")
    elif case == "tampered-body":
        method, path = "POST", DS_PATH
        kwargs["body"] = b'{"SyncSessionToken":"x","RecordPatches":[]}'

        def tamper(req: dict[str, Any]) -> None:
            req["body"] = b'{"SyncSessionToken":"y","RecordPatches":[]}'

        kwargs["tamper"] = tamper
    elif case == "tampered-path":
        kwargs["tamper"] = lambda req: req.update(path=req["path"].replace("/d/", "/e/"))
    elif case == "tampered-query":
        kwargs["tamper"] = lambda req: req.update(query="lastSyncCount=1")
    elif case == "unsigned-amz-header":
        kwargs["extra_unsigned"] = {"x-amz-Client-Context": "abc"}
    elif case == "stale-date":
        kwargs["when"] = datetime.now(timezone.utc) - timedelta(minutes=16)
    elif case == "future-date":
        kwargs["when"] = datetime.now(timezone.utc) + timedelta(minutes=16)
    elif case == "wrong-region":
        def tamper(req: dict[str, Any]) -> None:
            req["headers"]["authorization"] = req["headers"]["authorization"].replace(
                "/us-east-1/", "/eu-west-1/")

        kwargs["tamper"] = tamper
    elif case == "malformed":
        kwargs["tamper"] = lambda req: req["headers"].update(authorization="AWS4-HMAC-SHA256 x")
    status, headers, body = await raw_request(svc, method, path, **kwargs)
    assert _code(headers) == expected, body
    assert status == (400 if expected == "IncompleteSignatureException" else 403)
    assert "message" in json.loads(body)
    if case == "stale-date":
        assert json.loads(body)["message"].startswith("Signature expired")
        assert "Date" in headers  # lets the SDK correct its clock


async def test_x_amz_client_context_signed_is_fine(svc: LocalCognitoSync) -> None:
    status, _, body = await raw_request(
        svc, "GET", DS_PATH + "/records", headers={"x-amz-client-context": "abc"})
    assert status == 200, body


async def test_session_token_rules(svc: LocalCognitoSync) -> None:
    creds = svc.mint_identity_credentials(POOL, IDENTITY)
    path = DS_PATH + "/records"
    status, _, _ = await raw_request(svc, "GET", path, creds=creds)
    assert status == 200
    no_token = Credentials(creds.access_key_id, creds.secret_access_key)
    status, headers, _ = await raw_request(svc, "GET", path, creds=no_token)
    assert (status, _code(headers)) == (403, "UnrecognizedClientException")
    wrong = Credentials(creds.access_key_id, creds.secret_access_key, session_token="nope")
    status, headers, _ = await raw_request(svc, "GET", path, creds=wrong)
    assert (status, _code(headers)) == (403, "UnrecognizedClientException")
    expired = svc.mint_identity_credentials(POOL, IDENTITY, ttl=-1)
    status, headers, _ = await raw_request(svc, "GET", path, creds=expired)
    assert (status, _code(headers)) == (403, "ExpiredTokenException")


DEV_ONLY = [
    ("bulk_publish", {"IdentityPoolId": POOL}),
    ("describe_identity_pool_usage", {"IdentityPoolId": POOL}),
    ("get_bulk_publish_details", {"IdentityPoolId": POOL}),
    ("get_cognito_events", {"IdentityPoolId": POOL}),
    ("set_cognito_events", {"IdentityPoolId": POOL, "Events": {"SyncTrigger": ""}}),
    ("get_identity_pool_configuration", {"IdentityPoolId": POOL}),
    ("set_identity_pool_configuration", {"IdentityPoolId": POOL}),
    ("list_identity_pool_usage", {}),
]
ID_ONLY = [
    ("register_device", {"IdentityPoolId": POOL, "IdentityId": IDENTITY, "Platform": "GCM",
                         "Token": "t"}),
    ("subscribe_to_dataset", {"IdentityPoolId": POOL, "IdentityId": IDENTITY,
                              "DatasetName": "d", "DeviceId": "v"}),
    ("unsubscribe_from_dataset", {"IdentityPoolId": POOL, "IdentityId": IDENTITY,
                                  "DatasetName": "d", "DeviceId": "v"}),
]
BOTH = [
    ("describe_identity_usage", {"IdentityPoolId": POOL, "IdentityId": IDENTITY}),
    ("list_datasets", {"IdentityPoolId": POOL, "IdentityId": IDENTITY}),
    ("list_records", {"IdentityPoolId": POOL, "IdentityId": IDENTITY, "DatasetName": "d"}),
    ("describe_dataset", {"IdentityPoolId": POOL, "IdentityId": IDENTITY, "DatasetName": "d"}),
    ("delete_dataset", {"IdentityPoolId": POOL, "IdentityId": IDENTITY, "DatasetName": "d"}),
    ("update_records", {"IdentityPoolId": POOL, "IdentityId": IDENTITY, "DatasetName": "d",
                        "SyncSessionToken": "x"}),
]
NOT_AUTHORIZED = "These credentials are not valid for accessing this resource"


@pytest.mark.parametrize(("op", "kwargs"), DEV_ONLY, ids=[o for o, _ in DEV_ONLY])
async def test_developer_only_operations(
    op: str, kwargs: dict[str, Any], dev: Caller, ident: Caller
) -> None:
    err = await ident.err(op, **kwargs)
    assert code_of(err) == "NotAuthorizedException" and status_of(err) == 403
    assert err.response["Error"]["Message"] == NOT_AUTHORIZED
    try:
        await dev(op, **kwargs)
    except Exception as exc:  # allowed through auth: any service answer but NotAuthorized
        assert code_of(exc) != "NotAuthorizedException"  # type: ignore[arg-type]


@pytest.mark.parametrize(("op", "kwargs"), ID_ONLY, ids=[o for o, _ in ID_ONLY])
async def test_identity_only_operations(
    op: str, kwargs: dict[str, Any], dev: Caller, ident: Caller
) -> None:
    err = await dev.err(op, **kwargs)
    assert code_of(err) == "NotAuthorizedException"
    err = await ident.err(op, **kwargs)  # through auth; fails for lack of push config
    assert code_of(err) != "NotAuthorizedException"


@pytest.mark.parametrize(("op", "kwargs"), BOTH + ID_ONLY, ids=[o for o, _ in BOTH + ID_ONLY])
async def test_identity_credentials_reach_only_their_identity(
    op: str, kwargs: dict[str, Any], svc: LocalCognitoSync,
    clients: Callable[[Credentials | None], Caller],
) -> None:
    other = clients(svc.mint_identity_credentials(POOL, OTHER_IDENTITY))
    err = await other.err(op, **kwargs)
    assert code_of(err) == "NotAuthorizedException"
    other_pool = clients(svc.mint_identity_credentials(
        "us-east-1:99999999-0000-0000-0000-000000000000", IDENTITY))
    err = await other_pool.err(op, **kwargs)
    assert code_of(err) == "NotAuthorizedException"


async def test_both_kinds_work_for_shared_operations(dev: Caller, ident: Caller) -> None:
    await put(ident, "d", [replace("a", "1")])
    await put(dev, "d", [replace("a", "2", 1)])
    for caller in (dev, ident):
        assert (await caller("describe_dataset", IdentityPoolId=POOL, IdentityId=IDENTITY,
                             DatasetName="d"))["Dataset"]["NumRecords"] == 1


TOKEN = "SESSION-TOKEN-SECRET-1234567890"

SECRET = "identity-secret-abcdef"

HOST = "127.0.0.1:8910"

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

def _lookup(access_key_id: str) -> auth.KeyRecord | None:
    return auth.KeyRecord(
        secret_access_key=SECRET,
        session_token=TOKEN,
        expiration=NOW + timedelta(hours=1),
        principal=auth.Principal(kind="identity", access_key_id=access_key_id,
                                 identity_pool_id="us-east-1:p", identity_id="us-east-1:i"),
    )

def _signed_headers(secret: str) -> list[tuple[str, str]]:
    date = _sigv4.amz_date(NOW)
    headers = [("host", HOST), ("x-amz-date", date), ("x-amz-security-token", TOKEN)]
    authorization, _ = _sigv4.sign(
        method="GET", path="/identitypools", query="", headers=headers, body=b"",
        access_key_id="ASIAKEY", secret_access_key=secret, region="us-east-1",
        service="cognito-sync", date=date, normalize=False,
    )
    return [*headers, ("Authorization", authorization)]

def _verify(headers: list[tuple[str, str]]) -> auth.Principal:
    return auth.verify(method="GET", raw_path="/identitypools", raw_query="", headers=headers,
                       body=b"", lookup=_lookup, region="us-east-1", now=NOW)

def test_signature_mismatch_message_redacts_the_session_token() -> None:
    assert _verify(_signed_headers(SECRET)).kind == "identity"  # the setup signs correctly
    with pytest.raises(ServiceException) as info:
        _verify(_signed_headers("wrong-secret"))
    exc = info.value
    assert exc.code == "InvalidSignatureException"
    assert TOKEN not in exc.message and TOKEN not in str(exc)
    assert "x-amz-security-token:<redacted>" in exc.message
    assert "The Canonical String for this request should have been" in exc.message
    assert f"host:{HOST}" in exc.message  # the rest of the canonical request stays

def test_reprs_hide_secrets(tmp_path: object) -> None:
    stored = StoredCredentials(
        access_key_id="ASIAKEY", secret_access_key=SECRET, session_token=TOKEN,
        identity_pool_id="us-east-1:p", identity_id="us-east-1:i", expiration_ms=1,
    )
    assert "ASIAKEY" in repr(stored)
    assert SECRET not in repr(stored) and TOKEN not in repr(stored)
    storage = Storage()
    try:
        state = context.ServiceState(storage=storage, developer_keys={"AKID": SECRET})
        assert SECRET not in repr(state)
        assert context.DEFAULT_SECRET_ACCESS_KEY not in repr(context.ServiceState(storage=storage))
    finally:
        storage.close()
    record = _lookup("ASIAKEY")
    assert record is not None
    assert SECRET not in repr(record) and TOKEN not in repr(record)
