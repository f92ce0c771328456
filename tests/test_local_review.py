"""Review fixes in the local service: no secrets in error messages or reprs, and one
error answer shared by Cognito Sync and Cognito Identity."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from cognitosync_async import _sigv4
from cognitosync_async.local import Storage, auth, context, server
from cognitosync_async.local._errors import ID_RE, ServiceException, error_response
from cognitosync_async.local.handlers import identity
from cognitosync_async.local.state import StoredCredentials

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
    assert sync.body is not None and json.loads(bytes(sync.body)) == {"message": "no such pool"}

    ident = identity.error_response(exc, "req-2")
    assert ident.status == 404
    assert ident.headers["Content-Type"] == identity.CONTENT_TYPE
    assert "cognito.identity.model" in ident.headers["x-amzn-ErrorType"]
    assert ident.body is not None and json.loads(bytes(ident.body)) == {
        "__type": f"{identity.ERROR_NAMESPACE}#ResourceNotFoundException",
        "message": "no such pool",
    }
    assert server.error_response is error_response
    assert not hasattr(server, "_ID_RE") and not hasattr(identity, "_ID_RE")
    assert ID_RE.fullmatch("us-east-1:0000aaaa-0000") and not ID_RE.fullmatch("nope")
