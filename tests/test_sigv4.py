"""SigV4 header signing: the AWS test suite's vectors, then botocore as the oracle.

The vectors (``tests/data/sigv4``, from awslabs/aws-c-auth; see its SOURCE.md) give a
raw request and the expected canonical request and signature for signing
with the ``Authorization`` header. The property test signs random requests
with ``_sigv4.sign`` and with botocore's ``SigV4Auth`` at the same instant,
and compares the ``Authorization`` headers.
"""

from __future__ import annotations

import hashlib
import json
import string
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, unquote

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cognitosync_async import _sigv4

VECTORS = Path(__file__).parent / "data" / "sigv4"
CASES = sorted(p.name for p in VECTORS.iterdir() if (p / "context.json").is_file())


# --------------------------------------------------------------------------- the vectors


def _parse_request(text: str) -> tuple[str, str, list[tuple[str, str]], bytes]:
    """``(method, target, headers, body)`` of a vector's ``request.txt``.

    Header lines are kept as written (the value is everything after the
    first ``:``); a line starting with white space continues the previous
    value (obs-fold), joined with the newline kept, for the signer to fold.
    """
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0]
    method, rest = request_line.split(" ", 1)
    target, _version = rest.rsplit(" ", 1)
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            name, value = headers[-1]
            headers[-1] = (name, value + "\n" + line)
            continue
        name, value = line.split(":", 1)
        headers.append((name, value))
    return method, target, headers, body.encode("utf-8") if sep else b""


def _wire_query(query: str) -> str:
    """The query as it goes on the wire: each key and value percent-encoded."""
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        key, eq, value = pair.partition("=")
        enc = [quote(unquote(part), safe="-_.~") for part in (key, value)]
        pairs.append(enc[0] + eq + enc[1])
    return "&".join(pairs)


def _signed_request_authorization(text: str) -> str:
    for line in text.split("\n"):
        if line.lower().startswith("authorization:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no Authorization line in header-signed-request.txt")


def _signed_request_header_names(text: str) -> set[str]:
    head = text.partition("\n\n")[0]
    return {
        line.split(":", 1)[0].lower()
        for line in head.split("\n")[1:]
        if line and line[0] not in " \t"
    }


@pytest.mark.parametrize("case", CASES)
def test_aws_signing_test_suite(case: str) -> None:
    folder = VECTORS / case
    ctx = json.loads((folder / "context.json").read_text())
    method, target, headers, body = _parse_request(
        (folder / "request.txt").read_text(encoding="utf-8")
    )
    # The request line holds the decoded path, which SigV4 encodes once for the
    # canonical URI; `sign` takes the wire path and encodes it once more for
    # the canonical URI, so the vector's path goes in as written. The query is
    # signed as it is on the wire, so the vector's pairs are percent-encoded.
    path, _, query = target.partition("?")

    when = datetime.strptime(ctx["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    date = _sigv4.amz_date(when)
    creds = ctx["credentials"]
    to_sign = [*headers, ("X-Amz-Date", date)]
    token = creds.get("token")
    if token and not ctx.get("omit_session_token", False):
        to_sign.append(("X-Amz-Security-Token", token))
    if ctx.get("sign_body"):
        to_sign.append(("x-amz-content-sha256", hashlib.sha256(body).hexdigest()))

    auth, creq = _sigv4.sign(
        method=method,
        path=path,
        query=_wire_query(query),
        headers=to_sign,
        body=body,
        access_key_id=creds["access_key_id"],
        secret_access_key=creds["secret_access_key"],
        region=ctx["region"],
        service=ctx["service"],
        date=date,
        normalize=ctx["normalize"],
    )

    expected_creq = (folder / "header-canonical-request.txt").read_text(encoding="utf-8")
    expected_sig = (folder / "header-signature.txt").read_text().strip()
    signed_request = (folder / "header-signed-request.txt").read_text(encoding="utf-8")
    assert creq == expected_creq
    assert auth.rsplit("Signature=", 1)[1] == expected_sig
    assert auth == _signed_request_authorization(signed_request)
    # The session token is on the signed request whether or not it was signed.
    if token:
        assert "x-amz-security-token" in _signed_request_header_names(signed_request)
        signed_names = auth.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
        assert ("x-amz-security-token" in signed_names) is not ctx.get(
            "omit_session_token", False
        )


def test_every_vector_folder_is_a_case() -> None:
    folders = sorted(p.name for p in VECTORS.iterdir() if p.is_dir())
    assert CASES == folders and len(CASES) >= 38
    for case in CASES:
        for name in ("request.txt", "header-canonical-request.txt", "header-signature.txt"):
            assert (VECTORS / case / name).is_file(), (case, name)


# --------------------------------------------------------------------------- botocore oracle

_SEGMENT_CHARS = st.sampled_from(
    list(string.ascii_letters + string.digits + "-_.~:%+/= !*'()&@$,;")
    + ["é", "ß", "ሴ", "中", "😀", "\u00a0"]
)
segments = st.lists(
    st.one_of(st.text(_SEGMENT_CHARS, max_size=12), st.sampled_from(["", ".", ".."])),
    max_size=6,
)
query_pairs = st.lists(
    st.tuples(st.text(_SEGMENT_CHARS, max_size=8), st.text(_SEGMENT_CHARS, max_size=12)),
    max_size=5,
)
_RESERVED = {"x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
header_names = (
    st.text(st.sampled_from(string.ascii_letters + string.digits + "-"), min_size=1, max_size=10)
    .map(lambda s: "x-amz-" + s)
    .filter(lambda n: n.lower() not in _RESERVED)
    .flatmap(lambda n: st.sampled_from([n, n.upper(), n.title()]))
)
header_values = st.text(
    st.sampled_from(list(string.ascii_letters + string.digits + string.punctuation + "  \t")
                    + ["é", "ü", "中"]),
    max_size=20,
)
instants = st.datetimes(  # hypothesis bounds are naive; the drawn instants are UTC
    min_value=datetime(2000, 1, 1, tzinfo=timezone.utc).replace(tzinfo=None),
    max_value=datetime(2099, 12, 31, tzinfo=timezone.utc).replace(tzinfo=None),
    timezones=st.just(timezone.utc),
)
regions = st.sampled_from(["us-east-1", "eu-west-1", "ap-northeast-2", "cn-north-1"])
keys = st.text(st.sampled_from(string.ascii_uppercase + string.digits), min_size=16, max_size=20)
secrets = st.text(st.sampled_from(string.ascii_letters + string.digits + "+/"), min_size=1,
                  max_size=40)
tokens = st.none() | st.text(st.sampled_from(string.ascii_letters + string.digits + "+/="),
                             min_size=1, max_size=60)
endpoints = st.sampled_from(
    [
        ("https://cognito-sync.us-east-1.amazonaws.com", "cognito-sync.us-east-1.amazonaws.com"),
        ("http://127.0.0.1:8910", "127.0.0.1:8910"),
        ("http://localhost", "localhost"),
    ]
)


def _path(segs: list[str]) -> str:
    return "/" + "/".join(quote(s, safe="~") for s in segs)


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def _botocore_authorization(
    *,
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    key: str,
    secret: str,
    token: str | None,
    region: str,
    when: datetime,
) -> str:
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends: repeated names are kept
    auth = botocore.auth.SigV4Auth(BotoCredentials(key, secret, token), "cognito-sync", region)
    with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when):
        auth.add_auth(request)
    authorization: str = request.headers["Authorization"]
    return authorization


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
    segs=segments,
    pairs=query_pairs,
    extra=st.lists(st.tuples(header_names, header_values), max_size=5),
    content_type=st.sampled_from([None, "application/json", "text/plain; charset=utf-8"]),
    body=st.binary(max_size=64) | st.text(max_size=30).map(lambda s: s.encode("utf-8")),
    when=instants,
    region=regions,
    key=keys,
    secret=secrets,
    token=tokens,
    endpoint=endpoints,
)
def test_authorization_equals_botocore(
    method: str,
    segs: list[str],
    pairs: list[tuple[str, str]],
    extra: list[tuple[str, str]],
    content_type: str | None,
    body: bytes,
    when: datetime,
    region: str,
    key: str,
    secret: str,
    token: str | None,
    endpoint: tuple[str, str],
) -> None:
    base, host = endpoint
    path = _path(segs)
    query = _query(pairs)
    url = base + path + ("?" + query if query else "")
    headers = list(extra)
    if content_type is not None:
        headers.append(("Content-Type", content_type))

    expected = _botocore_authorization(
        method=method, url=url, headers=headers, body=body, key=key, secret=secret,
        token=token, region=region, when=when,
    )

    date = _sigv4.amz_date(when)
    ours: list[tuple[str, Any]] = [("host", host), ("X-Amz-Date", date), *headers]
    if token:
        ours.append(("X-Amz-Security-Token", token))
    common: dict[str, Any] = dict(
        method=method, path=path, query=query, headers=ours, body=body,
        access_key_id=key, secret_access_key=secret, region=region,
        service="cognito-sync", date=date,
    )
    auth, _ = _sigv4.sign(**common, normalize=True)
    assert auth == expected
    # The client signs unnormalized (its path labels never hold dot or empty
    # segments); without such segments both give botocore's answer.
    if all(s not in ("", ".", "..") for s in segs) and segs:
        assert _sigv4.sign(**common, normalize=False)[0] == expected


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("/identitypools/us-east-1%3Aab", "/identitypools/us-east-1%253Aab"),
        ("/a%20b%2Fc%2B%3D", "/a%2520b%252Fc%252B%253D"),
        ("", "/"),
        ("/", "/"),
    ],
)
def test_canonical_uri_encodes_the_wire_path_again(path: str, canonical: str) -> None:
    assert _sigv4.canonical_uri(path, normalize=False) == canonical
    url = "https://example.amazonaws.com" + path
    request = AWSRequest(method="GET", url=url)
    auth = botocore.auth.SigV4Auth(BotoCredentials("AK", "SK"), "cognito-sync", "us-east-1")
    assert auth.canonical_request(request).split("\n")[1] == canonical
