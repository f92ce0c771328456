"""Each attempt has a deadline (``timeout``) besides the per-read timeout.

The attacks: a server that answers ``100 Continue`` and then nothing, and one
that drips its body a byte at a time, each byte well within ``read_timeout``.
Neither trips a per-read timeout; only the whole-attempt deadline ends them.
Each call is also bounded by ``asyncio.wait_for`` in the test, so that a
missing deadline fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from support.httpserver import IDENTITY, POOL
from support.rawserver import Answer, hold, raw_server

from cognitosync_async import CognitoSyncClient, ReadTimeoutError

GUARD = 30  # seconds: far beyond the deadlines below; reached only if they fail


async def continue_then_nothing(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes
) -> None:
    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    await writer.drain()
    await hold(writer)


async def drip_forever(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes
) -> None:
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    while True:  # one byte per chunk, far faster than read_timeout, never ending
        writer.write(b"1\r\n \r\n")
        await writer.drain()
        await asyncio.sleep(0.05)


async def drip_declared_body(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes
) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    while True:
        writer.write(b" ")
        await writer.drain()
        await asyncio.sleep(0.05)


async def call(client: CognitoSyncClient) -> object:
    return await asyncio.wait_for(
        client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY), GUARD
    )


@pytest.mark.parametrize(
    "attack", [continue_then_nothing, drip_forever, drip_declared_body],
    ids=["100-continue-then-nothing", "chunked-drip", "content-length-drip"],
)
async def test_attempt_deadline_ends_a_stalled_answer(attack: Answer) -> None:
    async with raw_server(attack) as server:
        async with server.client(read_timeout=2, timeout=0.5) as client:
            with pytest.raises(ReadTimeoutError, match=r"within timeout=0\.5s"):
                await call(client)
        assert len(server.requests) == 1  # max_attempts=1


async def test_deadline_applies_to_each_attempt_and_is_retried() -> None:
    async with raw_server(continue_then_nothing) as server:
        async with server.client(read_timeout=2, timeout=0.3, max_attempts=3) as client:
            with pytest.raises(ReadTimeoutError):
                await call(client)
    assert len(server.requests) == 3


async def test_deadline_holds_on_a_session_the_caller_passed() -> None:
    async with raw_server(drip_forever) as server:
        async with aiohttp.ClientSession() as session:  # no timeout of its own
            async with server.client(session=session, read_timeout=2, timeout=0.5) as client:
                with pytest.raises(ReadTimeoutError):
                    await call(client)


async def test_read_timeout_still_ends_a_silent_answer() -> None:
    """The per-read timeout keeps its own message: a silent server, shorter than the deadline."""
    async def silent(r: asyncio.StreamReader, w: asyncio.StreamWriter, head: bytes) -> None:
        await hold(w)

    async with raw_server(silent) as server:
        async with server.client(read_timeout=0.3, timeout=20) as client:
            with pytest.raises(ReadTimeoutError, match="timed out reading"):
                await call(client)


async def test_an_answer_within_the_deadline_is_read() -> None:
    async def slow_but_done(r: asyncio.StreamReader, w: asyncio.StreamWriter, head: bytes) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n")
        for byte in b'{"Count": 0} ':
            w.write(bytes([byte]))
            await w.drain()
            await asyncio.sleep(0.01)
        await hold(w)

    async with raw_server(slow_but_done) as server:
        async with server.client(read_timeout=2, timeout=20) as client:
            resp = await call(client)
    assert resp.count == 0  # type: ignore[attr-defined]


