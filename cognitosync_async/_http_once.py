"""One request on a short-lived session: what the credential sources use (STS,
SSO, the container endpoint, instance metadata). Nothing stays open between
refreshes; every wait is bounded by the timeouts given."""

from __future__ import annotations

import ssl

from ._http import HTTPRequest, HTTPResponse
from ._transport import Transport


async def request(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes = b"",
    *,
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> HTTPResponse:
    transport = Transport(max_connections=1, connect_timeout=timeout, read_timeout=timeout)
    transport.ssl_context = ssl_context
    try:
        return await transport.send(HTTPRequest(method, url, headers, body))
    finally:
        await transport.close()
