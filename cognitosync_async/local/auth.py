"""SigV4 verification for the local service, using the SDK's own signing functions.

The canonical request is rebuilt from the request exactly as received: the raw
path and raw query (``request.raw_path`` split on ``?``), the headers named in
``SignedHeaders`` and the SHA-256 of the body. Rules (docs/service-behaviour.md
#authorization, #c1 and #c6):

* no ``Authorization`` header → 403 ``MissingAuthenticationTokenException``;
* a malformed one → 400 ``IncompleteSignatureException``;
* an unknown access key → 403 ``UnrecognizedClientException``;
* a bad signature, a wrong scope, a date more than 5 minutes away (C1, with
  the real service's message), an unsigned ``x-amz-*`` header or an
  unsigned ``host`` → 403 ``InvalidSignatureException``;
* the time is ``X-Amz-Date``, else ``Date`` in RFC 1123 or ISO basic form (C6);
* the canonical URI is the raw path as received, never dot-segment
  normalised: the path signed is the path routed (a signed request replayed
  onto ``.../datasets/.`` is a bad signature, not another resource);
* identity-bound credentials must send their session token
  (``X-Amz-Security-Token``, signed); a missing or different token → 403
  ``UnrecognizedClientException``, an expired one → 403 ``ExpiredTokenException``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

import attrs
from aiohttp import web

from .. import _sigv4
from ._errors import ServiceException

SERVICE_NAME = "cognito-sync"
MAX_SKEW = timedelta(minutes=5)

_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<sig>[0-9a-fA-F]+)\s*$"
)
#: The session token's line of a canonical request (redacted from error messages).
_TOKEN_LINE_RE = re.compile(r"^x-amz-security-token:.*$", re.MULTILINE)


@attrs.frozen
class Principal:
    """Who signed the request: the developer account, or one Cognito identity."""

    kind: Literal["developer", "identity"]
    access_key_id: str
    account_id: str | None = None
    identity_pool_id: str | None = None
    identity_id: str | None = None


@attrs.frozen
class KeyRecord:
    """What the registry knows about an access key."""

    secret_access_key: str = attrs.field(repr=False)
    principal: Principal
    session_token: str | None = attrs.field(default=None, repr=False)
    expiration: datetime | None = None


KeyLookup = Callable[[str], "KeyRecord | None"]


def _error(code: str, message: str) -> ServiceException:
    return ServiceException(code, message)


def _request_time(headers: dict[str, list[str]]) -> tuple[datetime, str]:
    """The signed request time and its amz-date form (``X-Amz-Date``, else ``Date``)."""
    if "x-amz-date" in headers:
        raw = headers["x-amz-date"][0].strip()
        try:
            when = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise _error("IncompleteSignatureException", f"Invalid X-Amz-Date: {raw}") from None
        return when, raw
    if "date" in headers:
        raw = headers["date"][0].strip()
        try:
            when = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            try:
                when = parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError, OverflowError):
                raise _error("IncompleteSignatureException", f"Invalid Date: {raw}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        when = when.astimezone(timezone.utc)
        return when, _sigv4.amz_date(when)
    raise _error(
        "IncompleteSignatureException",
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    )


def verify(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    lookup: KeyLookup,
    region: str,
    now: datetime,
    service: str = SERVICE_NAME,
) -> Principal:
    """Verify one request's SigV4 signature and return its principal, or raise."""
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name.lower(), []).append(value)
    auth_values = by_name.get("authorization")
    if not auth_values:
        raise _error("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _AUTH_RE.match(auth_values[0].strip())
    if match is None:
        raise _error(
            "IncompleteSignatureException",
            "Authorization header must be 'AWS4-HMAC-SHA256 Credential=..., "
            "SignedHeaders=..., Signature=...'",
        )
    scope_parts = match["cred"].split("/")
    if len(scope_parts) != 5:
        raise _error("IncompleteSignatureException", "Credential must have five parts")
    access_key_id, datestamp, scope_region, scope_service, terminator = scope_parts
    record = lookup(access_key_id) if access_key_id.isascii() else None
    if record is None:
        raise _error(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    when, date = _request_time(by_name)
    if abs(now - when) > MAX_SKEW:
        raise _error(
            "InvalidSignatureException",
            f"Signature expired: {date} is now earlier than {_sigv4.amz_date(now - MAX_SKEW)} "
            f"({_sigv4.amz_date(now)} - 5 min.)"
            if when < now
            else f"Signature not yet current: {date} is still later than "
            f"{_sigv4.amz_date(now + MAX_SKEW)} ({_sigv4.amz_date(now)} + 5 min.)",
        )
    if terminator != "aws4_request" or datestamp != date[:8]:
        raise _error(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid date and terminator, not '{match['cred']}'",
        )
    if scope_region != region:
        raise _error(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{scope_region}'.",
        )
    if scope_service != service:
        raise _error(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'.",
        )
    signed = match["signed"].split(";")
    if signed != sorted(signed) or any(s != s.lower() for s in signed):
        raise _error("InvalidSignatureException", "SignedHeaders must be lowercase and sorted")
    if "host" not in signed:
        raise _error("InvalidSignatureException", "'Host' must be a signed header")
    for name in by_name:
        if name.startswith("x-amz-") and name not in signed:
            raise _error("InvalidSignatureException", f"Header '{name}' must be signed")
    missing = [s for s in signed if s not in by_name]
    if missing:
        raise _error("InvalidSignatureException", f"Signed header '{missing[0]}' is missing")

    body_hash = hashlib.sha256(body).hexdigest()
    declared = by_name.get("x-amz-content-sha256")
    if declared and declared[0].strip() != body_hash:
        raise _error(
            "InvalidSignatureException",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
    block, signed_list = _sigv4.canonical_headers(
        (name, value) for name in signed for value in by_name[name]
    )
    creq = _sigv4.build_canonical_request(
        method.upper(),
        _sigv4.canonical_uri(raw_path, normalize=False),
        _sigv4.canonical_query(raw_query),
        block,
        signed_list,
        body_hash,
    )
    try:
        expected = _sigv4.signature(
            secret_access_key=record.secret_access_key,
            region=scope_region,
            service=scope_service,
            date=date,
            canonical_request=creq,
        )
    except UnicodeEncodeError:  # a header of undecodable bytes: no client signed that
        expected = ""
    if not hmac.compare_digest(expected, match["sig"].lower()):
        creq = _TOKEN_LINE_RE.sub("x-amz-security-token:<redacted>", creq)
        raise _error(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.\n\nThe Canonical String for this request should have "
            f"been\n'{creq}'\n",
        )

    if record.principal.kind == "identity":
        tokens = by_name.get("x-amz-security-token")
        if not tokens or not hmac.compare_digest(
            tokens[0].strip().encode("utf-8", "surrogateescape"),
            (record.session_token or "").encode(),
        ):
            raise _error(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        if record.expiration is not None and now >= record.expiration:
            raise _error(
                "ExpiredTokenException", "The security token included in the request is expired"
            )
    return record.principal


async def verify_request(
    request: web.Request,
    body: bytes,
    *,
    lookup: KeyLookup,
    region: str,
    service: str = SERVICE_NAME,
    clock_offset: float = 0.0,
) -> Principal:
    """``verify`` for an aiohttp request, over its raw path and query, off the loop.

    ``clock_offset``: seconds the service's clock runs ahead of this machine's.
    """
    raw_path, _, raw_query = request.raw_path.partition("?")
    return await asyncio.to_thread(
        verify,
        method=request.method,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=list(request.headers.items()),
        body=body,
        lookup=lookup,
        region=region,
        now=datetime.now(timezone.utc) + timedelta(seconds=clock_offset),
        service=service,
    )
