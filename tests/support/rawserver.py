"""A misbehaving HTTP server on 127.0.0.1, written on raw asyncio streams.

``aiohttp.web`` cannot send what these tests need (``100 Continue`` and then
nothing, a body dripped forever, a status line of ``000``), so each
connection is handed to a coroutine that writes whatever bytes it likes::

    async def answer(reader, writer, request):
        writer.write(b"HTTP/1.1 100 Continue\\r\\n\\r\\n")
        await hold(writer)

    async with raw_server(answer) as server:
        client = server.client(read_timeout=2, timeout=0.5)

``server.requests`` keeps each request's head (the request line and headers,
as bytes) so that a test can find the signature the client sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from cognitosync_async import CognitoSyncClient, Credentials
from support.httpserver import FAST

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLE-SESSION-TOKEN-0123456789"
CREDS = Credentials("AKIDEXAMPLE", SECRET, TOKEN)

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[None]]


async def hold(writer: asyncio.StreamWriter) -> None:
    """Keep the connection open, sending nothing, until the client gives up."""
    try:
        await asyncio.sleep(3600)
    finally:
        writer.close()


class RawServer:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.port = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs: Any) -> CognitoSyncClient:
        options: dict[str, Any] = {"credentials": CREDS, **FAST, "max_attempts": 1, **kwargs}
        return CognitoSyncClient("us-east-1", endpoint_url=self.url, **options)

    @property
    def signatures(self) -> list[str]:
        """The ``Signature=`` of every request received."""
        out = []
        for head in self.requests:
            for line in head.decode("latin-1").split("\r\n"):
                if line.lower().startswith("authorization:") and "Signature=" in line:
                    out.append(line.split("Signature=", 1)[1].strip())
        return out

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            await self.answer(reader, writer, head)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away (or the test ended): what these attacks expect
        finally:
            self._tasks.discard(task)
            writer.close()


@asynccontextmanager
async def raw_server(answer: Answer) -> AsyncIterator[RawServer]:
    server = RawServer(answer)
    srv = await asyncio.start_server(server._handle, "127.0.0.1", 0)
    server.port = srv.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        for task in list(server._tasks):
            task.cancel()
        await asyncio.gather(*server._tasks, return_exceptions=True)
        srv.close()
        await srv.wait_closed()
