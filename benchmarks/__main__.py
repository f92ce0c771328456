"""``python -m benchmarks [--rounds N] [--scale X] [--no-local] [--readme]``,
``python -m benchmarks soak``, ``python -m benchmarks profile SCENARIO`` and
``python -m benchmarks mirror``."""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from . import _runner
from ._procs import ROOT, Server, spawn

README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def machine() -> str:
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        model = m.group(1).strip() if m else "?"
    except OSError:
        pass
    import os

    vers = []
    for pkg in ("cognitosync-async", "aiohttp", "yarl", "attrs", "aiobotocore", "botocore"):
        try:
            vers.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            vers.append(f"{pkg} ?")
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; " + ", ".join(vers)
    )


def memory(endpoint: str) -> dict[str, Any]:
    out = {}
    for kind in ("sdk", "floor", "aiobotocore"):
        p = spawn("benchmarks._memory", kind, endpoint)
        stdout, _ = p.communicate(timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"memory run for {kind} failed")
        out[kind] = json.loads(stdout.strip().splitlines()[-1])
        _runner.log(f"  [memory] {kind}: {out[kind]}")
    return out


def memory_table(mem: dict[str, Any]) -> str:
    lines = [
        "| client | records | RSS before MB | RSS after MB | growth MB | max growth during MB "
        "| wall s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for k, m in mem.items():
        lines.append(
            f"| {k} | {m['records']:,} | {m['before_mb']:.1f} | {m['after_mb']:.1f} "
            f"| {m['growth_mb']:+.1f} | {m['max_growth_mb']:+.1f} | {m['wall_s']:.1f} |"
        )
    return "\n".join(lines)


def _only(plan: _runner.Plan, args: argparse.Namespace) -> _runner.Plan:
    if args.only:
        keep = set(args.only.split(","))
        plan.slices = {k: v for k, v in plan.slices.items() if k in keep}
    return plan


def bench(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    info = machine()
    _runner.log(info)
    parts = [f"Machine: {info}", ""]
    cmd = "python -m benchmarks" + ("".join(f" {a}" for a in sys.argv[1:]))
    parts += [f"Command: `{cmd}`", ""]

    canned = Server("benchmarks._canned")
    try:
        cap = _runner.capacity(canned)
        _runner.log(f"canned server capacity: {cap}")
        res = _runner.run_plan(canned, _only(_runner.canned_plan(args.rounds, args.scale), args))
        mem = memory(canned.endpoint) if not args.no_memory else None
    finally:
        canned.close()
    parts += [
        "### Canned server (own process)",
        "",
        f"Capacity with a trivial raw client (16 keep-alive connections, pipelined): "
        f"**{cap['raw_rps']:,.0f} requests/s**, {cap['server_cpu_us_per_req']:.1f} µs "
        "server CPU per request. The last column of the table below is the server "
        "process's CPU use during the slice (100% = one core saturated).",
        "",
        _runner.table(res, f"{args.rounds} interleaved rounds, medians per client"),
        "",
    ]
    if mem is not None:
        parts += [
            f"### RSS growth over {mem['sdk']['records']:,} paginated records "
            "(pages of 1,000, canned server)",
            "",
            memory_table(mem),
            "",
        ]
    if not args.no_local:
        local = Server("benchmarks._local")
        try:
            lres = _runner.run_plan(
                local, _only(_runner.local_plan(args.local_rounds, args.scale), args)
            )
        finally:
            local.close()
        parts += [
            "### End to end: the local service (LocalCognitoSync, own process)",
            "",
            "The emulator (aiohttp.web + SQLite + SigV4 verification) is the bottleneck "
            "here, so calls/s measure it; CPU per call is still the client's own.",
            "",
            _runner.table(lres, f"{args.local_rounds} interleaved rounds, medians per client"),
            "",
        ]
    parts.append(f"Total run time: {time.perf_counter() - t0:.0f} s.")
    text = "\n".join(parts)
    print(text)
    if args.readme:
        body = README.read_text() if README.exists() else f"{BEGIN}\n{END}\n"
        if BEGIN not in body:
            body += f"\n{BEGIN}\n{END}\n"
        head, _, rest = body.partition(BEGIN)
        _, _, tail = rest.partition(END)
        README.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
        _runner.log(f"results written to {README}")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks")
    sub = p.add_subparsers(dest="command")
    p.add_argument("--rounds", type=int, default=9, help="interleaved rounds (canned server)")
    p.add_argument("--local-rounds", type=int, default=5, help="rounds against the local service")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the calls per slice")
    p.add_argument("--no-local", action="store_true", help="skip the local-service variant")
    p.add_argument("--no-memory", action="store_true", help="skip the 100,000-record RSS run")
    p.add_argument("--readme", action="store_true", help="write the tables into README.md")
    p.add_argument("--only", default="", help="comma-separated scenario ids to run")
    s = sub.add_parser("soak", help="20,000 calls at concurrency 256, throttling on")
    s.add_argument("--calls", type=int, default=20_000)
    s.add_argument("--concurrency", type=int, default=256)
    s.add_argument("--max-connections", type=int, default=100)
    s.add_argument("--throttle-rate", type=float, default=400.0)
    s.add_argument("--throttle-burst", type=int, default=50)
    s.add_argument("--readme", action="store_true", help="write the figures into README.md")
    ins = sub.add_parser("instr", help="instructions per unit under valgrind --tool=callgrind")
    ins.add_argument("--install", default="default,speedups",
                     help="default (orjson hidden), speedups, or both comma-separated")
    ins.add_argument("--only", default="", help="describe,list_page,update_built,export")
    ins.add_argument("--jobs", type=int, default=2, help="children under valgrind at once")
    ins.add_argument("--modes", default="", help="shared,distinct (timestamps)")
    ins.add_argument("--clients", default="", help="sdk,floor,aiobotocore")
    ins.add_argument("--loop", default="asyncio", choices=("asyncio", "uvloop"))
    ins.add_argument("--readme", action="store_true", help="write the table into README.md")
    su = sub.add_parser("startup", help="import and first-call cost, SDK beside aiobotocore")
    su.add_argument("--runs", type=int, default=7)
    pr = sub.add_parser("profile", help="cProfile the SDK against the canned server")
    pr.add_argument("scenario", choices=sorted(_scenarios()))
    pr.add_argument("--calls", type=int, default=2000)
    pr.add_argument("--top", type=int, default=35)
    pr.add_argument("--client", default="sdk", choices=("sdk", "floor", "aiobotocore"))
    sub.add_parser("mirror", help="mirror/verify figures (python -m benchmarks mirror --help)",
                   add_help=False)
    if sys.argv[1:2] == ["mirror"]:
        from ._mirror import main as mirror_main

        mirror_main(sys.argv[2:])
        return
    args = p.parse_args()
    if args.command == "soak":
        from ._soak import soak

        soak(args)
    elif args.command == "startup":
        from ._startup import run as startup

        print(startup(args))
    elif args.command == "instr":
        instr(args)
    elif args.command == "profile":
        profile(args)
    else:
        bench(args)


def instr(args: argparse.Namespace) -> None:
    from . import _instr

    t0 = time.perf_counter()
    res = _instr.run(args)
    cmd = "python -m benchmarks" + ("".join(f" {a}" for a in sys.argv[1:]))
    text = "\n".join([
        f"Machine: {machine()}",
        "",
        f"Command: `{cmd}` ({time.perf_counter() - t0:.0f} s); event loop: {args.loop}",
        "",
        "Client-process instructions per unit, (I(N2) - I(N1)) / (N2 - N1), "
        "callgrind; the canned server runs in its own process.",
        "",
        _instr.table(res),
    ])
    print(text)
    if args.readme:
        begin, end = f"<!-- instr-{args.loop}:begin -->", f"<!-- instr-{args.loop}:end -->"
        body = README.read_text()
        if begin not in body:
            body += f"\n{begin}\n{end}\n"
        head, _, rest = body.partition(begin)
        _, _, tail = rest.partition(end)
        README.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def _scenarios() -> list[str]:
    from ._drivers import SCENARIOS

    return list(SCENARIOS)


def profile(args: argparse.Namespace) -> None:
    import asyncio
    import cProfile
    import pstats

    from . import _data as d
    from ._drivers import DRIVERS, PREPARE, SCENARIOS

    server = Server("benchmarks._canned")
    try:
        target = {
            "endpoint": server.endpoint, "region": d.REGION, "key": d.ACCESS_KEY_ID,
            "secret": d.SECRET_ACCESS_KEY,
            "list_dataset": d.records_dataset(d.LIST_PAGES * d.LIST_PAGE_SIZE),
            "list_page_size": d.LIST_PAGE_SIZE,
        }

        async def go() -> None:
            drv = DRIVERS[args.client](target)
            await drv.open()
            fn = SCENARIOS[args.scenario]
            prep = PREPARE.get(args.scenario)
            n0 = max(1, args.calls // 10)
            await fn(drv, n0, 0, prep(drv, n0, 0) if prep else None)
            p1 = prep(drv, args.calls, 1) if prep else None
            prof = cProfile.Profile()
            c0 = time.process_time()
            prof.enable()
            calls, _ = await fn(drv, args.calls, 1, p1)
            prof.disable()
            print(f"{(time.process_time() - c0) / calls * 1e6:.1f} µs CPU per call (profiled)")
            await drv.close()
            pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)

        asyncio.run(go())
    finally:
        server.close()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
