"""Answers the SDK refuses: a status that is not HTTP, a body over 16 MiB,
and error messages quoting a huge answer (cut to a few kB)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from support.httpserver import IDENTITY, POOL, Server, reply, serve
from support.rawserver import Answer, hold, raw_server

from cognitosync_async import (
    CognitoSyncClient,
    InvalidParameterException,
    ResponseParseError,
    ServiceError,
)
from cognitosync_async._exceptions import MAX_MESSAGE_CHARS
from cognitosync_async._transport import MAX_RESPONSE_BYTES

GUARD = 60  # a bound for the test only: reached if the client keeps reading


async def call(client: CognitoSyncClient) -> object:
    return await asyncio.wait_for(
        client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY), GUARD
    )


def status_line(status: bytes) -> Answer:
    async def answer(r: asyncio.StreamReader, w: asyncio.StreamWriter, head: bytes) -> None:
        w.write(b"HTTP/1.1 " + status + b" X\r\nContent-Length: 2\r\n\r\n{}")
        await w.drain()
        await hold(w)

    return answer


@pytest.mark.parametrize("status", [b"000", b"099", b"600", b"999"])
async def test_status_outside_100_599_is_an_error(status: bytes) -> None:
    async with raw_server(status_line(status)) as server:
        async with server.client() as client:
            with pytest.raises(ResponseParseError, match=f"HTTP status {int(status)}"):
                await call(client)


async def test_declared_huge_body_is_refused_unread() -> None:
    """Content-Length over the bound: refused at once, nothing of the body read
    (the server sends none: a client that tried to read it would wait)."""
    async def huge(r: asyncio.StreamReader, w: asyncio.StreamWriter, head: bytes) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (MAX_RESPONSE_BYTES + 1))
        await w.drain()
        await hold(w)

    async with raw_server(huge) as server:
        async with server.client(read_timeout=600, timeout=600) as client:
            with pytest.raises(ResponseParseError, match="over 16777216 bytes"):
                await call(client)


async def test_long_chunked_body_is_refused_past_the_bound() -> None:
    """No length declared: the client stops reading once past the bound (the server
    would send four times as much; it stops there so that a client without the
    bound fails this test instead of exhausting memory)."""
    sent = 0

    async def long(r: asyncio.StreamReader, w: asyncio.StreamWriter, head: bytes) -> None:
        nonlocal sent
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b" " * 65536
        while sent < 4 * MAX_RESPONSE_BYTES:
            w.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            await w.drain()
        w.write(b"0\r\n\r\n")
        await w.drain()
        await hold(w)

    async with raw_server(long) as server:
        async with server.client(read_timeout=600, timeout=600) as client:
            with pytest.raises(ResponseParseError, match="over 16777216 bytes"):
                await call(client)
    assert MAX_RESPONSE_BYTES < sent < 4 * MAX_RESPONSE_BYTES  # the client hung up early


async def test_a_body_at_the_bound_is_read() -> None:
    body = b'{"Count": 0}'.ljust(MAX_RESPONSE_BYTES)

    async def big(r: asyncio.StreamReader, w: asyncio.StreamWriter, head: bytes) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(body), 1 << 20):
            part = body[i:i + (1 << 20)]
            w.write(b"%x\r\n%s\r\n" % (len(part), part))
            await w.drain()
        w.write(b"0\r\n\r\n")
        await w.drain()
        await hold(w)

    async with raw_server(big) as server:
        async with server.client() as client:
            resp = await call(client)
    assert resp.count == 0  # type: ignore[attr-defined]


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        yield s


async def test_error_message_quoting_a_huge_body_is_cut(server: Server) -> None:
    server.handler = reply(400, raw=b"<not json> " + b"x" * 10**6,
                           headers={"x-amzn-ErrorType": "InvalidParameterException"})
    async with server.client(max_attempts=1) as client:
        with pytest.raises(InvalidParameterException) as info:
            await call(client)
    err = info.value
    assert len(err.message) < MAX_MESSAGE_CHARS + 100
    assert err.message.startswith("<not json> xxx")
    assert err.message.endswith(f"({10**6 + 11 - MAX_MESSAGE_CHARS} more characters)")
    assert len(str(err)) < MAX_MESSAGE_CHARS + 300


async def test_huge_json_message_is_cut(server: Server) -> None:
    server.handler = reply(500, {"__type": "Boom", "message": "m" * 10**6})
    async with server.client(max_attempts=1) as client:
        with pytest.raises(ServiceError) as info:
            await call(client)
    assert info.value.code == "Boom" and len(info.value.message) < MAX_MESSAGE_CHARS + 100


async def test_cut_keeps_the_token_redacted(server: Server) -> None:
    """Redaction runs before the cut: a cut cannot leave half a token visible."""
    token = "SESSIONTOKEN" * 1000
    message = "x" * (MAX_MESSAGE_CHARS - 30) + "\nx-amz-security-token:" + token
    server.handler = reply(403, {"__type": "InvalidSignatureException", "message": message})
    async with server.client(max_attempts=1) as client:
        with pytest.raises(ServiceError) as info:
            await call(client)
    assert "SESSIONTOKEN" not in str(info.value)
