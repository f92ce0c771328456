"""A canned-response Cognito Sync server: asyncio.Protocol, HTTP/1.1 keep-alive.

Run in its own process (``python -m benchmarks._canned``): it prints
``{"port": N}`` on stdout and serves until its stdin closes. It answers as the
real service does -- ``x-amzn-RequestId``, ``Content-Type: application/json``,
explicit ``null`` members, Java-style timestamps (``1.700000017E9``) -- from
bytes prepared once per distinct answer, so that its own cost per request is a
few microseconds (``GET /__stats`` reports its CPU time and connections).

Routes (labels are not checked, signatures are not verified):

* ``GET  .../identities/{I}/datasets/{D}``          DescribeDataset (echoes I and D)
* ``GET  .../identities/{I}/datasets/records-N/records``  ListRecords over N records,
  honouring ``maxResults`` and ``nextToken`` (the last page has ``"NextToken": null``)
* ``POST .../identities/{I}/datasets/{D}``          UpdateRecords (100 canned records)
* ``GET  .../identities/{I}/datasets``              ListDatasets: one dataset, ``records-N``
  for an identity ending in N (``_data.export_identity``)

``--ts distinct``: every record carries its own two timestamps (default: the
records of one sync share ``LastModifiedDate``, as the service's do).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from email.utils import formatdate
from urllib.parse import unquote

from . import _data


class Stats:
    requests = 0
    conns = 0
    peak_conns = 0


_describe: dict[tuple[str, str], bytes] = {}
_pages: dict[tuple[int, int, int], bytes] = {}
_update = b""
_date = [0, b""]


def _date_header() -> bytes:
    now = int(time.time())
    if _date[0] != now:
        _date[0] = now
        _date[1] = formatdate(now, usegmt=True).encode()
    return _date[1]  # type: ignore[return-value]


def _response(status: bytes, body: bytes, extra: bytes = b"") -> bytes:
    Stats.requests += 1
    rid = b"%08x-5a1e-4f00-8000-%012x" % (os.getpid(), Stats.requests)
    return b"".join(
        (
            b"HTTP/1.1 ",
            status,
            b"\r\nx-amzn-RequestId: ",
            rid,
            b"\r\nContent-Type: application/json\r\nDate: ",
            _date_header(),
            extra,
            b"\r\nContent-Length: ",
            str(len(body)).encode(),
            b"\r\n\r\n",
            body,
        )
    )


def _not_found(what: str) -> bytes:
    body = json.dumps({"message": what}).encode()
    return _response(
        b"404 Not Found",
        body,
        b"\r\nx-amzn-ErrorType: ResourceNotFoundException:http://internal.amazon.com/coral/"
        b"com.amazonaws.cognito.sync.model/",
    )


def _stats(query: str) -> bytes:
    body = json.dumps(
        {
            "cpu": time.process_time(),
            "requests": Stats.requests,
            "conns": Stats.conns,
            "peak_conns": Stats.peak_conns,
            "pid": os.getpid(),
        }
    ).encode()
    if query == "reset":
        Stats.peak_conns = Stats.conns
    Stats.requests -= 1  # stats requests are not counted
    out = _response(b"200 OK", body)
    return out


def answer(method: bytes, target: bytes) -> bytes:
    path, _, query = target.decode("ascii").partition("?")
    if path == "/__stats":
        return _stats(query)
    parts = path.split("/")
    n = len(parts)
    if n == 6 and parts[1] == "identitypools" and parts[5] == "datasets" and method == b"GET":
        return _response(b"200 OK", _data.list_datasets_body(unquote(parts[4])))  # ListDatasets
    if n >= 7 and parts[1] == "identitypools" and parts[5] == "datasets":
        if n == 7 and method == b"GET":
            key = (parts[4], parts[6])
            body = _describe.get(key)
            if body is None:
                body = _describe[key] = _data.describe_dataset_body(
                    unquote(parts[4]), unquote(parts[6])
                )
            return _response(b"200 OK", body)
        if n == 7 and method == b"POST":
            return _response(b"200 OK", _update)
        if n == 8 and parts[7] == "records" and method == b"GET":
            name = unquote(parts[6])
            total = int(name.rpartition("-")[2]) if name.startswith("records-") else 0
            size, offset = 1024, 0
            if query:
                for pair in query.split("&"):
                    k, _, v = pair.partition("=")
                    if k == "maxResults":
                        size = min(int(v), 1024)
                    elif k == "nextToken":
                        offset = _data.offset_of(unquote(v))
            pkey = (total, offset, size)
            body = _pages.get(pkey)
            if body is None:
                body = _data.list_records_body(total, offset, size)
                if len(_pages) < 4096:
                    _pages[pkey] = body
            return _response(b"200 OK", body)
    return _not_found(f"no route for {method.decode()} {path}")


class HTTPProtocol(asyncio.Protocol):
    __slots__ = ("transport", "buf")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = bytearray()
        Stats.conns += 1
        if Stats.conns > Stats.peak_conns:
            Stats.peak_conns = Stats.conns

    def connection_lost(self, exc: Exception | None) -> None:
        Stats.conns -= 1

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        out = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = bytes(buf[:end])
            low = head.lower()
            clen = 0
            i = low.find(b"\r\ncontent-length:")
            if i >= 0:
                j = low.find(b"\r\n", i + 2)
                clen = int(low[i + 17 : j if j >= 0 else len(low)])
            total = end + 4 + clen
            if len(buf) < total:
                break
            del buf[:total]
            line = head[: head.find(b"\r\n")] if b"\r\n" in head else head
            method, target, _ = line.split(b" ", 2)
            out.append(answer(method, target))
        if out:
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])


async def serve(host: str = "127.0.0.1", port: int = 0) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(HTTPProtocol, host, port, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(json.dumps({"port": port, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    done = loop.create_future()

    def wait_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

    threading.Thread(target=wait_stdin, daemon=True).start()
    async with server:
        await done


# ---------------------------------------------------------------- capacity check


async def raw_capacity(port: int, seconds: float = 2.0, conns: int = 16, depth: int = 4) -> float:
    """Requests/s the server answers to a trivial raw client (pipelined keep-alive
    DescribeDataset requests, no signing, responses counted by Content-Length)."""
    loop = asyncio.get_running_loop()
    req = (
        f"GET /identitypools/{_data.POOL.replace(':', '%3A')}/identities/"
        f"{_data.IDENTITY.replace(':', '%3A')}/datasets/{_data.DATASET} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nX-Amz-Date: 20250101T000000Z\r\n\r\n"
    ).encode()
    count = [0]
    stop_at = loop.time() + seconds

    class Raw(asyncio.Protocol):
        def __init__(self) -> None:
            self.buf = bytearray()
            self.done = loop.create_future()

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t: asyncio.Transport = transport  # type: ignore[assignment]
            self.t.write(req * depth)

        def data_received(self, data: bytes) -> None:
            buf = self.buf
            buf += data
            n = 0
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                i = buf.find(b"Content-Length: ", 0, end)
                j = buf.find(b"\r\n", i, end + 2)
                total = end + 4 + int(buf[i + 16 : j])
                if len(buf) < total:
                    break
                del buf[:total]
                n += 1
            count[0] += n
            if loop.time() < stop_at:
                self.t.write(req * n)
            elif not self.done.done():
                self.t.close()
                self.done.set_result(None)

        def connection_lost(self, exc: Exception | None) -> None:
            if not self.done.done():
                self.done.set_result(None)

    t0 = time.perf_counter()
    protos = []
    for _ in range(conns):
        _, p = await loop.create_connection(Raw, "127.0.0.1", port)
        protos.append(p)
    await asyncio.gather(*(p.done for p in protos))
    return count[0] / (time.perf_counter() - t0)


if __name__ == "__main__":
    # ``--ts distinct``: every record with its own timestamps (default: shared within a sync)
    _data.DISTINCT_TIMESTAMPS = sys.argv[1:] == ["--ts", "distinct"]
    _update = _data.update_records_body()
    asyncio.run(serve())
