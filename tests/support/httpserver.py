"""A scripted ``aiohttp.web`` server on 127.0.0.1 for the SDK's wire tests.

Test modules import what they use::

    from support.httpserver import Server, reply, serve

    @pytest.fixture
    async def server() -> AsyncIterator[Server]:
        async with serve() as s:
            yield s

Every request is recorded (method, raw path and query, headers, body, the
monotonic time it arrived) before the current responder answers it.
``server.script(r1, r2, ...)`` answers the n-th request with the n-th
responder and repeats the last one; ``server.handler = fn`` answers every
request with ``fn``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypedDict

import attrs
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from cognitosync_async import CognitoSyncClient, Credentials

POOL = "us-east-1:00000000-0000-0000-0000-000000000001"
IDENTITY = "us-east-1:11111111-1111-1111-1111-111111111111"
DATASET = "settings"
CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


class RetryDelays(TypedDict):
    """Client options for tiny retry delays, typed so ``**FAST`` checks against the
    client's signature (a plain dict would be ``dict[str, float]`` for every parameter)."""

    retry_base_delay: float
    retry_max_delay: float


FAST: RetryDelays = {"retry_base_delay": 0.001, "retry_max_delay": 0.05}


@attrs.define
class Seen:
    """One request as the server received it."""

    method: str
    path: str  # raw (percent-encoded) path
    query: str  # raw query string, without "?"
    headers: CIMultiDictProxy[str]
    body: bytes
    at: float  # time.monotonic() on arrival

    @property
    def access_key(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        marker = "Credential="
        if marker not in auth:
            return None
        return auth.split(marker, 1)[1].split("/", 1)[0]


Responder = Callable[[web.Request, Seen], Awaitable[web.StreamResponse]]


def reply(
    status: int = 200,
    body: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
    delay: float = 0.0,
    raw: bytes | None = None,
    error: str | None = None,
) -> Responder:
    """A responder: JSON ``body`` (``{}`` by default) or ``raw`` bytes.

    ``error`` sets ``x-amzn-ErrorType`` and a ``{"message": ...}`` body the
    way the real service answers an error.
    """
    hdrs: CIMultiDict[str] = CIMultiDict(headers or {})
    if error is not None:
        hdrs.setdefault("x-amzn-ErrorType", f"{error}:http://internal.amazon.com/coral/")
        if body is None and raw is None:
            body = {"message": f"{error} message"}
    if raw is None:
        raw = json.dumps({} if body is None else body).encode()
        hdrs.setdefault("Content-Type", "application/json")

    async def respond(request: web.Request, seen: Seen) -> web.StreamResponse:
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status, body=raw, headers=hdrs)

    return respond


async def reset(request: web.Request, seen: Seen) -> web.StreamResponse:
    """Drop the connection without answering."""
    assert request.transport is not None
    request.transport.abort()
    raise asyncio.CancelledError  # nothing to send; aiohttp handles the lost connection


class Server:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.handler: Responder = reply()
        self._script: list[Responder] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def count(self) -> int:
        return len(self.seen)

    def script(self, *responders: Responder) -> None:
        """Answer the n-th request with ``responders[n]``, the last one repeating."""
        self._script = list(responders)

    def client(self, **kwargs: Any) -> CognitoSyncClient:
        """A client for this server with tiny retry delays (overridable)."""
        options: dict[str, Any] = {"credentials": CREDS, **FAST, **kwargs}
        return CognitoSyncClient("us-east-1", endpoint_url=self.url, **options)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        raw_path, _, query = request.raw_path.partition("?")
        seen = Seen(request.method, raw_path, query, request.headers, body, time.monotonic())
        index = len(self.seen)
        self.seen.append(seen)
        if self._script:
            responder = self._script[min(index, len(self._script) - 1)]
        else:
            responder = self.handler
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await responder(request, seen)
        finally:
            self.in_flight -= 1


@asynccontextmanager
async def serve() -> AsyncIterator[Server]:
    server = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server._handle)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = runner.addresses[0][1]
    try:
        yield server
    finally:
        await runner.cleanup()


def free_port() -> int:
    """A port nothing listens on: bound, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
