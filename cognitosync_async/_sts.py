"""AWS STS ``AssumeRole`` and ``AssumeRoleWithWebIdentity``: the query protocol
(a form body, ``Version=2011-06-15``), XML answers, signed with the SDK's SigV4.

The XML is parsed with the standard library, refusing any DOCTYPE or entity
declaration (no entity expansion).
"""

from __future__ import annotations

import re
import ssl
import time
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any
from urllib.parse import quote

from . import _sigv4
from ._credentials import Credentials
from ._endpoints import host_header
from ._exceptions import ResponseParseError, ServiceError, service_error
from ._transport import USER_AGENT

VERSION = "2011-06-15"
TIMEOUT = 10.0
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def default_endpoint(region: str | None) -> str:
    if not region:
        return "https://sts.amazonaws.com"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}"


def parse_xml(body: bytes) -> ET.Element:
    """The document's root, parsed by expat; refuses DTDs and entity declarations."""
    if _DTD.search(body):
        raise ResponseParseError("STS answer refused: it declares a DOCTYPE or an entity")
    from xml.parsers import expat

    def refuse(*_: Any) -> None:
        raise ResponseParseError("STS answer refused: it declares a DOCTYPE or an entity")

    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = lambda tag, attrs: builder.start(tag, attrs)
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(body, True)
        return builder.close()
    except (expat.ExpatError, AssertionError) as exc:
        raise ResponseParseError(f"STS answer is not XML: {exc}") from exc


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(elem: ET.Element, *path: str) -> ET.Element | None:
    cur: ET.Element | None = elem
    for name in path:
        if cur is None:
            return None
        cur = next((c for c in cur if _local(c.tag) == name), None)
    return cur


def _text(elem: ET.Element, *path: str) -> str | None:
    found = _find(elem, *path)
    return found.text.strip() if found is not None and found.text else None


def _error(status: int, body: bytes, action: str) -> ServiceError:
    code, message, request_id = str(status), "", None
    try:
        root = parse_xml(body)
    except ResponseParseError:
        message = body[:200].decode("utf-8", "replace")
    else:
        code = _text(root, "Error", "Code") or code
        message = _text(root, "Error", "Message") or ""
        request_id = _text(root, "RequestId")
    return service_error(code, message, status_code=status, request_id=request_id, operation=action)


def _parse_expiration(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _credentials(body: bytes, action: str) -> Credentials:
    root = parse_xml(body)
    creds = _find(root, f"{action}Result", "Credentials")
    if creds is None:
        raise ResponseParseError(f"{action}: the answer has no Credentials")
    key = _text(creds, "AccessKeyId")
    secret = _text(creds, "SecretAccessKey")
    token = _text(creds, "SessionToken")
    expiration = _text(creds, "Expiration")
    if not key or not secret or not token or not expiration:
        raise ResponseParseError(f"{action}: the answer's Credentials are incomplete")
    try:
        when = _parse_expiration(expiration)
    except ValueError as exc:
        raise ResponseParseError(f"{action}: unreadable Expiration") from exc
    return Credentials(key, secret, token, when)


def _form(params: list[tuple[str, str]]) -> bytes:
    # botocore's query serializer: percent-encoded, '~' and unreserved kept
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in params).encode()


async def call(
    action: str,
    params: list[tuple[str, str]],
    *,
    region: str | None,
    endpoint_url: str | None,
    credentials: Credentials | None,
    ssl_context: ssl.SSLContext | None = None,
) -> Credentials:
    """One STS call; ``credentials`` None sends it unsigned (AssumeRoleWithWebIdentity)."""
    from . import _http_once

    endpoint = endpoint_url or default_endpoint(region)
    base, host = host_header(endpoint)
    body = _form([("Action", action), ("Version", VERSION), *params])
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",
    }
    if credentials is not None:
        date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        headers["X-Amz-Date"] = date
        if credentials.session_token:
            headers["X-Amz-Security-Token"] = credentials.session_token
        auth, _ = _sigv4.sign(
            method="POST",
            path=base.split("://", 1)[1][len(host):] + "/",
            query="",
            headers=[("host", host), *((k, v) for k, v in headers.items() if k != "User-Agent")],
            body=body,
            access_key_id=credentials.access_key_id,
            secret_access_key=credentials.secret_access_key,
            region=region or "us-east-1",
            service="sts",
            date=date,
        )
        headers["Authorization"] = auth
    resp = await _http_once.request(
        "POST", base + "/", headers, body, timeout=TIMEOUT, ssl_context=ssl_context
    )
    if resp.status >= 300:
        raise _error(resp.status, resp.body, action)
    return _credentials(resp.body, action)


async def assume_role(
    source: Credentials,
    *,
    role_arn: str,
    role_session_name: str,
    external_id: str | None = None,
    duration_seconds: int | None = None,
    region: str | None,
    endpoint_url: str | None,
    ssl_context: ssl.SSLContext | None = None,
) -> Credentials:
    params = [("RoleArn", role_arn), ("RoleSessionName", role_session_name)]
    if duration_seconds is not None:
        params.append(("DurationSeconds", str(duration_seconds)))
    if external_id is not None:
        params.append(("ExternalId", external_id))
    return await call(
        "AssumeRole", params, region=region, endpoint_url=endpoint_url,
        credentials=source, ssl_context=ssl_context,
    )


async def assume_role_with_web_identity(
    token: str,
    *,
    role_arn: str,
    role_session_name: str,
    region: str | None,
    endpoint_url: str | None,
    ssl_context: ssl.SSLContext | None = None,
) -> Credentials:
    params = [
        ("RoleArn", role_arn),
        ("RoleSessionName", role_session_name),
        ("WebIdentityToken", token),
    ]
    return await call(
        "AssumeRoleWithWebIdentity", params, region=region, endpoint_url=endpoint_url,
        credentials=None, ssl_context=ssl_context,
    )
