"""AWS Signature Version 4, as pure functions.

The signing-key derivation is aws-requests-auth's (``getSignatureKey``),
imported at the first signing (it pulls in ``requests``).
The canonical path and query are computed here, on the already-encoded
path and query that go on the wire, because aws-requests-auth's helpers
want a ``requests`` object and sort query pairs as ``"k=v"`` strings
(which misorders ``Param`` and ``Param-3``); SigV4 sorts by key, then value.

Nothing here reads a clock: callers pass the time in, which keeps signing
testable and lets the client correct for clock skew.
"""

from __future__ import annotations

import hashlib
import hmac
import posixpath
import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_sha256 = hashlib.sha256


@lru_cache(maxsize=64)
def signing_key(secret_access_key: str, datestamp: str, region: str, service: str) -> bytes:
    """The derived key for one day, region and service (cached: it changes daily).

    aws-requests-auth is imported here, at the first signing, not with the
    package: its module imports ``requests``, and ``import cognitosync_async``
    loads no synchronous HTTP library.
    """
    from aws_requests_auth.aws_auth import getSignatureKey

    key: bytes = getSignatureKey(secret_access_key, datestamp, region, service)
    return key


def amz_date(now: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` for an aware UTC datetime."""
    return now.strftime("%Y%m%dT%H%M%SZ")


def canonical_uri(path: str, *, normalize: bool = True) -> str:
    """The canonical URI of an already percent-encoded path.

    Every service but S3 encodes the wire path once more (``%3A`` becomes
    ``%253A``), as botocore does, and removes dot segments when normalizing.
    """
    if not path:
        return "/"
    if normalize:
        normalized = posixpath.normpath(path)
        if normalized.startswith("//"):
            normalized = "/" + normalized.lstrip("/")
        if path.endswith("/") and normalized != "/":
            normalized += "/"
        path = normalized
    if _ENCODED_PATH.fullmatch(path):
        # already-encoded bytes only: quote() would change nothing but "%"
        return path.replace("%", "%25")
    return quote(path, safe="/~")


_ENCODED_PATH = re.compile(r"[A-Za-z0-9._~/%-]*")


def canonical_query(query: str) -> str:
    """The canonical form of an already percent-encoded query string."""
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        pairs.append((key, value))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


def canonical_headers(headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """``(canonical header block, signed header list)`` for the headers to sign.

    Names are lowercased and sorted; repeated names are joined with ``,``;
    values have their runs of white space folded to one space.
    """
    merged: dict[str, list[str]] = {}
    for name, value in headers:
        merged.setdefault(name.lower(), []).append(" ".join(value.split()))
    names = sorted(merged)
    block = "".join(f"{n}:{','.join(merged[n])}\n" for n in names)
    return block, ";".join(names)


def credential_scope(datestamp: str, region: str, service: str) -> str:
    return f"{datestamp}/{region}/{service}/aws4_request"


def signature(
    *,
    secret_access_key: str,
    region: str,
    service: str,
    date: str,
    canonical_request: str,
    scope: str | None = None,
) -> str:
    """The hex signature of a canonical request made at ``date`` (an amz date).

    ``scope`` is the credential scope when the caller has it already.
    """
    if scope is None:
        scope = credential_scope(date[:8], region, service)
    string_to_sign = (
        f"{ALGORITHM}\n{date}\n{scope}\n"
        f"{_sha256(canonical_request.encode('utf-8')).hexdigest()}"
    )
    key = signing_key(secret_access_key, date[:8], region, service)
    return hmac.new(key, string_to_sign.encode("utf-8"), _sha256).hexdigest()


def build_canonical_request(
    method: str,
    canonical_path: str,
    canonical_querystring: str,
    header_block: str,
    signed_headers: str,
    payload_hash: str,
) -> str:
    return (
        f"{method}\n{canonical_path}\n{canonical_querystring}\n"
        f"{header_block}\n{signed_headers}\n{payload_hash}"
    )


def authorization(
    *,
    access_key_id: str,
    date: str,
    region: str,
    service: str,
    signed_headers: str,
    sig: str,
    scope: str | None = None,
) -> str:
    if scope is None:
        scope = credential_scope(date[:8], region, service)
    return (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={sig}"
    )


def sign(
    *,
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    date: str,
    normalize: bool = True,
) -> tuple[str, str]:
    """Sign a request whose every given header is to be signed.

    ``path`` and ``query`` are exactly the encoded bytes sent on the wire,
    ``headers`` must already include ``host`` and ``x-amz-date`` (and
    ``x-amz-security-token`` where used). Returns ``(authorization header,
    canonical request)``.
    """
    block, signed = canonical_headers(headers)
    scope = credential_scope(date[:8], region, service)
    creq = build_canonical_request(
        method.upper(),
        canonical_uri(path, normalize=normalize),
        canonical_query(query),
        block,
        signed,
        _sha256(body).hexdigest() if body else EMPTY_SHA256,
    )
    sig = signature(
        secret_access_key=secret_access_key,
        region=region,
        service=service,
        date=date,
        canonical_request=creq,
        scope=scope,
    )
    auth = authorization(
        access_key_id=access_key_id,
        date=date,
        region=region,
        service=service,
        signed_headers=signed,
        sig=sig,
        scope=scope,
    )
    return auth, creq
