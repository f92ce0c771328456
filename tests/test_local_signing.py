"""SigV4 in the local service: the 5-minute window with the real service's message
(docs/service-behaviour.md#c1), the ``Date`` header forms (#c6), the signed path is the
routed path, and header bytes that are not UTF-8 get a 4xx."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from support.local_service import (
    IDENTITY,
    POOL,
    Caller,
    raw_request,
)

from cognitosync_async import CognitoSyncClient, _sigv4
from cognitosync_async.local import LocalCognitoSync

P = POOL.replace(":", "%3A")
I = IDENTITY.replace(":", "%3A")  # noqa: E741
LIST_DATASETS = f"/identitypools/{P}/identities/{I}/datasets"
AMZ = r"\d{8}T\d{6}Z"
EXPIRED = re.compile(
    rf"^Signature expired: (?P<sent>{AMZ}) is now earlier than (?P<edge>{AMZ}) "
    rf"\((?P<now>{AMZ}) - 5 min\.\)$"
)
NOT_YET = re.compile(
    rf"^Signature not yet current: (?P<sent>{AMZ}) is still later than (?P<edge>{AMZ}) "
    rf"\((?P<now>{AMZ}) \+ 5 min\.\)$"
)


def _code(headers: dict[str, str]) -> str:
    return headers.get("x-amzn-ErrorType", "").split(":", 1)[0]


def _t(amz: str) -> datetime:
    return datetime.strptime(amz, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


@pytest.mark.parametrize(("minutes", "pattern"), [(-6, EXPIRED), (6, NOT_YET)])
async def test_beyond_five_minutes_refused_with_the_real_message(
    svc: LocalCognitoSync, minutes: int, pattern: re.Pattern[str]
) -> None:
    when = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=minutes)
    status, headers, body = await raw_request(svc, "GET", LIST_DATASETS, when=when)
    assert status == 403
    assert _code(headers) == "InvalidSignatureException"
    match = pattern.fullmatch(json.loads(body)["message"])
    assert match is not None, body
    assert _t(match["sent"]) == when
    sign = -1 if minutes < 0 else 1
    assert _t(match["edge"]) - _t(match["now"]) == timedelta(minutes=5 * sign)
    assert abs(_t(match["now"]) - datetime.now(timezone.utc)) < timedelta(minutes=1)


@pytest.mark.parametrize("minutes", [-4.5, 4.5])
async def test_within_five_minutes_accepted(svc: LocalCognitoSync, minutes: float) -> None:
    when = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    status, _, body = await raw_request(svc, "GET", LIST_DATASETS, when=when)
    assert status == 200, body


async def _send_with_date_header(svc: LocalCognitoSync, date_value: str, amz: str) -> int:
    """A request signed over ``date`` (no X-Amz-Date), as SigV4 allows (C6)."""
    creds = svc.credentials
    host = f"{svc.host}:{svc.port}"
    headers = [("host", host), ("date", date_value)]
    authorization, _ = _sigv4.sign(
        method="GET", path=LIST_DATASETS, query="", headers=headers, body=b"",
        access_key_id=creds.access_key_id, secret_access_key=creds.secret_access_key,
        region=svc.region, service="cognito-sync", date=amz,
    )
    reader, writer = await asyncio.open_connection(svc.host, svc.port)
    try:
        writer.write(
            f"GET {LIST_DATASETS} HTTP/1.1\r\nHost: {host}\r\nDate: {date_value}\r\n"
            f"Authorization: {authorization}\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()
    finally:
        writer.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize("form", ["rfc1123", "iso-basic"])
async def test_date_header_forms(svc: LocalCognitoSync, form: str) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    amz = _sigv4.amz_date(now)
    value = format_datetime(now, usegmt=True) if form == "rfc1123" else amz
    assert await _send_with_date_header(svc, value, amz) == 200


async def test_signed_path_is_the_routed_path(svc: LocalCognitoSync) -> None:
    """A signed ListDatasets replayed onto ``.../datasets/.``: refused, not routed."""
    for suffix in ("/.", "/./", "/x/.."):
        status, headers, body = await raw_request(
            svc, "GET", LIST_DATASETS,
            tamper=lambda req, s=suffix: req.update(path=req["path"] + s),  # type: ignore[misc]
        )
        assert (status, _code(headers)) == (403, "InvalidSignatureException"), (suffix, body)
    status, _, _ = await raw_request(svc, "GET", LIST_DATASETS)
    assert status == 200


async def test_service_clock_ahead_and_the_sdk_corrects_skew() -> None:
    """A service whose clock is an hour ahead refuses the first attempt (its answer's
    ``Date`` is its own clock); the SDK corrects its clock and succeeds, and stays right."""
    async with LocalCognitoSync(clock_offset=3600) as svc:
        status, headers, body = await raw_request(svc, "GET", LIST_DATASETS)
        assert (status, _code(headers)) == (403, "InvalidSignatureException")
        assert EXPIRED.fullmatch(json.loads(body)["message"])
        served = parsedate_to_datetime(headers["Date"])
        assert abs(served - datetime.now(timezone.utc) - timedelta(hours=1)) < timedelta(
            minutes=1
        )
        async with CognitoSyncClient(
            svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url,
            max_attempts=2,  # the re-send after the correction is the second attempt
        ) as client:
            first = await client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
            again = await client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
        assert first.datasets == [] and again.datasets == []
        # the answer that succeeded is dated by the service's clock too
        status, _, _ = await raw_request(
            svc, "GET", LIST_DATASETS, when=datetime.now(timezone.utc) + timedelta(hours=1)
        )
        assert status == 200


async def test_header_bytes_that_are_not_utf8_get_a_4xx(svc: LocalCognitoSync) -> None:
    """A session token or signed header holding bytes that are not UTF-8 (aiohttp decodes
    them to surrogates): 403, never a 500 from hmac or the signer."""
    creds = svc.mint_identity_credentials(POOL, IDENTITY)
    host = f"{svc.host}:{svc.port}"
    amz = _sigv4.amz_date(datetime.now(timezone.utc))
    authorization, _ = _sigv4.sign(
        method="GET", path=LIST_DATASETS, query="",
        headers=[("host", host), ("x-amz-date", amz), ("x-amz-security-token", "tok")],
        body=b"", access_key_id=creds.access_key_id, secret_access_key=creds.secret_access_key,
        region=svc.region, service="cognito-sync", date=amz,
    )
    for token in (b"\xff\xfe", "é".encode()):
        reader, writer = await asyncio.open_connection(svc.host, svc.port)
        try:
            writer.write(
                f"GET {LIST_DATASETS} HTTP/1.1\r\nHost: {host}\r\nX-Amz-Date: {amz}\r\n".encode()
                + b"X-Amz-Security-Token: " + token + b"\r\n"
                + f"Authorization: {authorization}\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
            status_line = await reader.readline()
            await reader.read()
        finally:
            writer.close()
        assert int(status_line.split()[1]) == 403, token


async def test_botocore_signs_what_the_service_accepts(dev: Caller) -> None:
    # botocore as the independent client: its signature passes the 5-minute, raw-path check
    listed = await dev("list_datasets", IdentityPoolId=POOL, IdentityId=IDENTITY)
    assert listed["Datasets"] == []
