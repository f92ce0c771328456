"""No secret through the cause chain.

aiohttp's ``ClientResponseError`` keeps the request's headers
(``Authorization``, ``X-Amz-Security-Token``) and its repr shows them. For
every way the transport can fail, each link of the raised error's chain
(``__cause__`` and ``__context__``), its repr and str, and the formatted
traceback must hold neither the secret key, the session token nor the
signature that was sent.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator

import pytest
from support.httpserver import IDENTITY, POOL
from support.rawserver import SECRET, TOKEN, Answer, hold, raw_server

from cognitosync_async import (
    CognitoSyncError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseParseError,
    ServiceError,
)


def chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        link = todo.pop()
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        todo.extend((link.__cause__, link.__context__))


def answering(raw: bytes, *, then_hold: bool = False) -> Answer:
    async def answer(r: asyncio.StreamReader, w: asyncio.StreamWriter, head: bytes) -> None:
        w.write(raw)
        await w.drain()
        if then_hold:
            await hold(w)

    return answer


async def reset(r: asyncio.StreamReader, w: asyncio.StreamWriter, head: bytes) -> None:
    w.transport.abort()


ATTACKS = {
    "bad-status-line": (answering(b"HTTP/1.1 abc\r\n\r\n"), ResponseParseError),
    "bad-header": (answering(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n"), ResponseParseError),
    "status-000": (answering(b"HTTP/1.1 000 X\r\nContent-Length: 2\r\n\r\n{}"),
                   ResponseParseError),
    "reset": (reset, EndpointConnectionError),
    "cut-body": (answering(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"),
                 EndpointConnectionError),
    "stalled": (answering(b"HTTP/1.1 100 Continue\r\n\r\n", then_hold=True), ReadTimeoutError),
    "error-echoing-the-request": (None, ServiceError),
}


async def echo_request(r: asyncio.StreamReader, w: asyncio.StreamWriter, head: bytes) -> None:
    """A service error quoting the canonical request, as a signature mismatch does."""
    body = (b'{"__type": "InvalidSignatureException", "message": "The canonical request was '
            + head.replace(b"\r\n", b"\\n").replace(b'"', b"'") + b'"}')
    w.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    await w.drain()


@pytest.mark.parametrize("name", list(ATTACKS))
async def test_no_secret_in_the_chain(name: str) -> None:
    answer, expected = ATTACKS[name]
    async with raw_server(answer or echo_request) as server:
        async with server.client(read_timeout=2, timeout=0.5) as client:
            with pytest.raises(expected) as info:
                await asyncio.wait_for(
                    client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY), 30
                )
        signatures = set(server.signatures)  # aiohttp may resend once on a reset
    assert signatures
    err = info.value
    assert isinstance(err, CognitoSyncError)
    secrets = (SECRET, TOKEN, *signatures)
    links = list(chain(err))
    if name not in ("error-echoing-the-request", "status-000"):  # those raise no foreign error
        assert len(links) >= 2  # the original is still attached as the cause
    for link in links:
        for text in (repr(link), str(link), repr(link.args)):
            for secret in secrets:
                assert secret not in text, (type(link).__name__, text)
        for value in vars(link).values():
            for secret in secrets:
                assert secret not in repr(value), (type(link).__name__, value)
    formatted = "".join(traceback.format_exception(err))
    for secret in secrets:
        assert secret not in formatted


async def test_scrubbed_cause_keeps_what_helps_debugging() -> None:
    import aiohttp

    async with raw_server(answering(b"HTTP/1.1 abc\r\n\r\n")) as server:
        async with server.client() as client:
            with pytest.raises(ResponseParseError) as info:
                await client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
    cause = info.value.__cause__
    assert isinstance(cause, aiohttp.ClientResponseError)
    headers = cause.request_info.headers
    assert headers["Authorization"] == "<redacted>"
    assert headers["X-Amz-Security-Token"] == "<redacted>"
    assert headers["X-Amz-Date"]  # the rest is still there
    assert str(cause.request_info.url).startswith(server.url)
