"""``python -m benchmarks soak``: 20,000 DescribeDataset calls at concurrency 256
against the local service (own process) with throttling on.

Checks that every call ends in a result or a typed ``CognitoSyncError``, that
the client's pool never holds more connections than its limit (sampled every
5 ms from the connector, and on the server side from the service process's
open sockets), and counts open file descriptors and pooled connections before
and after.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import time
from pathlib import Path
from typing import Any

from . import _data as d
from ._procs import Server


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _sockets(pid: int) -> int:
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def _pool(client: Any) -> tuple[int, int]:
    s = client.session
    if s is None:
        return 0, 0
    c = s.connector
    return len(c._acquired), sum(len(v) for v in c._conns.values())


class _RetryCounter(logging.Handler):
    """Counts the SDK's DEBUG "retrying after attempt" lines (one per retry)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("retrying"):
            self.retries += 1


async def _run(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    from cognitosync_async import CognitoSyncClient, CognitoSyncError, Credentials

    retry_log = logging.getLogger("cognitosync_async._retry")
    counter_handler = _RetryCounter()
    retry_log.addHandler(counter_handler)
    retry_log.setLevel(logging.DEBUG)

    info = server.info
    fd_start = _fds()
    server_sockets_idle = _sockets(server.pid)
    outcomes: collections.Counter[str] = collections.Counter()
    untyped: list[str] = []
    peak = {"acquired": 0, "total": 0, "server_sockets": 0}
    async with CognitoSyncClient(
        info["region"],
        credentials=Credentials(info["key"], info["secret"]),
        endpoint_url=info["endpoint"],
        max_connections=args.max_connections,
    ) as client:
        pool_before = _pool(client)
        fd_before = _fds()
        ids = [d.fanout_identity(i) for i in range(d.FANOUT_IDENTITIES)]
        counter = iter(range(args.calls))
        stop = asyncio.Event()

        async def sampler() -> None:
            while not stop.is_set():
                acq, idle = _pool(client)
                peak["acquired"] = max(peak["acquired"], acq)
                peak["total"] = max(peak["total"], acq + idle)
                await asyncio.sleep(0.005)

        async def server_sampler() -> None:
            while not stop.is_set():
                n = await asyncio.to_thread(_sockets, server.pid)
                peak["server_sockets"] = max(peak["server_sockets"], n - server_sockets_idle)
                await asyncio.sleep(0.05)

        async def lane() -> None:
            for i in counter:
                try:
                    await client.describe_dataset(
                        identity_pool_id=d.POOL,
                        identity_id=ids[i % len(ids)],
                        dataset_name=d.DATASET,
                    )
                    outcomes["ok"] += 1
                except CognitoSyncError as exc:
                    outcomes[type(exc).__name__] += 1
                except BaseException as exc:  # anything untyped is a failure of the SDK
                    outcomes["UNTYPED " + type(exc).__name__] += 1
                    untyped.append(repr(exc))

        samplers = [asyncio.create_task(sampler()), asyncio.create_task(server_sampler())]
        t0 = time.perf_counter()
        c0 = time.process_time()
        await asyncio.gather(*(lane() for _ in range(args.concurrency)))
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        stop.set()
        await asyncio.gather(*samplers)
        pool_after = _pool(client)
        fd_after = _fds()
    await asyncio.sleep(0.1)
    fd_closed = _fds()
    return {
        "calls": args.calls,
        "concurrency": args.concurrency,
        "max_connections": args.max_connections,
        "throttle_rate": args.throttle_rate,
        "throttle_burst": args.throttle_burst,
        "outcomes": dict(outcomes),
        "retries": counter_handler.retries,
        "accounted": sum(outcomes.values()),
        "untyped": untyped[:5],
        "wall_s": wall,
        "cpu_us_per_call": cpu / args.calls * 1e6,
        "fd_start": fd_start,
        "fd_before": fd_before,
        "fd_after": fd_after,
        "fd_after_close": fd_closed,
        "pool_before": pool_before,
        "pool_after": pool_after,
        "peak_acquired": peak["acquired"],
        "peak_pooled": peak["total"],
        "peak_server_sockets": peak["server_sockets"],
    }


def report(r: dict[str, Any]) -> str:
    ok = r["outcomes"].get("ok", 0)
    others = ", ".join(f"{k} {v:,}" for k, v in sorted(r["outcomes"].items()) if k != "ok")
    limit = r["max_connections"]
    lines = [
        f"{r['calls']:,} describe_dataset calls at concurrency {r['concurrency']} against the "
        f"local service (own process), `Faults(throttle_rate={r['throttle_rate']:g}, "
        f"throttle_burst={r['throttle_burst']})`, client `max_connections={limit}` "
        "(default retries: 5 attempts, Retry-After honoured):",
        "",
        "| figure | value |",
        "|---|---|",
        f"| calls accounted for | {r['accounted']:,} of {r['calls']:,} |",
        f"| results | {ok:,} |",
        f"| typed CognitoSyncError | {others or 'none'} |",
        f"| untyped exceptions | {len(r['untyped'])} |",
        f"| retried attempts (throttled, then re-sent) | {r['retries']:,} |",
        f"| wall time | {r['wall_s']:.1f} s |",
        f"| client CPU per call (retries included) | {r['cpu_us_per_call']:.0f} µs |",
        f"| open fds: start / client open / after calls / after close "
        f"| {r['fd_start']} / {r['fd_before']} / {r['fd_after']} / {r['fd_after_close']} |",
        f"| pool (in use, idle) before → after | {tuple(r['pool_before'])} → "
        f"{tuple(r['pool_after'])} |",
        f"| peak connections in use (connector, sampled every 5 ms) | {r['peak_acquired']} "
        f"(limit {limit}) |",
        f"| peak pooled connections (in use + idle) | {r['peak_pooled']} |",
        f"| peak server-side client sockets (service process, every 50 ms) "
        f"| {r['peak_server_sockets']} |",
        f"| pool within its limit | {'yes' if r['peak_pooled'] <= limit else 'NO'} |",
    ]
    return "\n".join(lines)


SOAK_BEGIN, SOAK_END = "<!-- soak:begin -->", "<!-- soak:end -->"


def soak(args: argparse.Namespace) -> None:
    server = Server(
        "benchmarks._local",
        "--list-records", "0",
        "--throttle-rate", str(args.throttle_rate),
        "--throttle-burst", str(args.throttle_burst),
    )
    try:
        r = asyncio.run(_run(args, server))
    finally:
        server.close()
    text = report(r) + "\n\nCommand: `python -m benchmarks soak`"
    print(text)
    if args.readme:
        readme = Path(__file__).with_name("README.md")
        body = readme.read_text() if readme.exists() else ""
        if SOAK_BEGIN not in body:
            body += f"\n{SOAK_BEGIN}\n{SOAK_END}\n"
        head, _, rest = body.partition(SOAK_BEGIN)
        _, _, tail = rest.partition(SOAK_END)
        readme.write_text(f"{head}{SOAK_BEGIN}\n{text}\n{SOAK_END}{tail}")
    if r["untyped"] or r["accounted"] != r["calls"] or r["peak_pooled"] > args.max_connections:
        raise SystemExit(1)
