"""Interleaved slices, paired per-round ratios, and the tables."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from . import _data as d
from ._procs import Server, Worker

CLIENTS = ("sdk", "floor", "aiobotocore")


@dataclass
class Plan:
    name: str
    rounds: int
    slices: dict[str, int]  # scenario id -> n per slice (see _drivers.SCENARIOS)
    list_records: int  # records in the list dataset
    labels: dict[str, str] = field(default_factory=dict)


def canned_plan(rounds: int, scale: float = 1.0) -> Plan:
    pages = d.LIST_PAGES
    return Plan(
        "canned",
        rounds,
        {
            "describe_seq": max(1, int(300 * scale)),
            "describe_c64": max(d.CONCURRENCY, int(640 * scale) // d.CONCURRENCY * d.CONCURRENCY),
            "list_records": 1,
            "update_records": max(1, int(20 * scale)),
            "update_records_built": max(1, int(20 * scale)),
            "fanout": 1,
        },
        pages * d.LIST_PAGE_SIZE,
        {
            "list_records": f"list_records {pages} pages x {d.LIST_PAGE_SIZE} (per page)",
        },
    )


def local_plan(rounds: int, scale: float = 1.0) -> Plan:
    pages = 10  # the emulator caps a dataset at 1,024 live records
    return Plan(
        "local",
        rounds,
        {
            "describe_seq": max(1, int(100 * scale)),
            "describe_c64": max(d.CONCURRENCY, int(256 * scale) // d.CONCURRENCY * d.CONCURRENCY),
            "list_records": 1,
            "update_records": max(1, int(10 * scale)),
            "update_records_built": max(1, int(10 * scale)),
            "fanout": 1,
        },
        pages * d.LIST_PAGE_SIZE,
        {
            "list_records": f"list_records {pages} pages x {d.LIST_PAGE_SIZE} (per page)",
        },
    )


LABELS = {
    "describe_seq": "describe_dataset sequential",
    "describe_c64": f"describe_dataset concurrency {d.CONCURRENCY}",
    "list_records": "list_records",
    "update_records": f"update_records {d.UPDATE_PATCHES} patches",
    "update_records_built": f"update_records {d.UPDATE_PATCHES} patches, incl. building them",
    "fanout": f"fan-out {d.FANOUT_IDENTITIES} identities (sem {d.FANOUT_CONCURRENCY})",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_plan(server: Server, plan: Plan) -> dict[str, Any]:
    target = {
        "endpoint": server.endpoint,
        "region": server.info.get("region", d.REGION),
        "key": server.info.get("key", d.ACCESS_KEY_ID),
        "secret": server.info.get("secret", d.SECRET_ACCESS_KEY),
        "list_dataset": d.records_dataset(plan.list_records),
        "list_page_size": d.LIST_PAGE_SIZE,
    }
    out: dict[str, Any] = {}
    for scenario, n in plan.slices.items():
        t0 = time.perf_counter()
        workers = {k: Worker(k) for k in CLIENTS}
        try:
            for k, w in workers.items():
                w.send(cmd="open", kind=k, target=target)
            for w in workers.values():
                w.recv()
            for w in workers.values():  # warm-up slice, not recorded
                w.ask(cmd="run", scenario=scenario, n=n, round=0)
            per: dict[str, list[dict[str, Any]]] = {k: [] for k in CLIENTS}
            for r in range(plan.rounds):
                order = CLIENTS[r % 3 :] + CLIENTS[: r % 3]
                for k in order:
                    s0 = server.cpu()
                    rep = workers[k].ask(cmd="run", scenario=scenario, n=n, round=r + 1)
                    rep["server_util"] = (server.cpu() - s0) / rep["wall"]
                    per[k].append(rep)
        finally:
            for w in workers.values():
                w.close()
        out[scenario] = summarize(per)
        out[scenario]["label"] = plan.labels.get(scenario, LABELS[scenario])
        s = out[scenario]
        log(
            f"  [{plan.name}] {s['label']}: "
            + ", ".join(f"{k} {s['clients'][k]['cpu_us']:.0f}us" for k in CLIENTS)
            + f"  sdk/floor {s['sdk/floor']['median']:.2f}"
            f"  sdk/aiobotocore {s['sdk/aiobotocore']['median']:.2f}"
            f"  ({time.perf_counter() - t0:.1f}s)"
        )
    return out


def _spread(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    if len(xs) >= 4:
        q = statistics.quantiles(xs, n=4)
        q1, q3 = q[0], q[2]
    else:
        q1, q3 = xs[0], xs[-1]
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1], "q1": q1, "q3": q3}


def summarize(per: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    clients: dict[str, Any] = {}
    for k, reps in per.items():
        cpu = [r["cpu"] / r["calls"] * 1e6 for r in reps]
        rate = [r["calls"] / r["wall"] for r in reps]
        clients[k] = {
            "cpu_us": statistics.median(cpu),
            "cpu_spread": _spread(cpu),
            "calls_per_s": statistics.median(rate),
            "maxrss_mb": max(r["maxrss_kb"] for r in reps) / 1024,
            "server_util_max": max(r["server_util"] for r in reps),
            "items_per_call": reps[-1]["work"] / reps[-1]["calls"],
        }
    res: dict[str, Any] = {"clients": clients}
    for other in ("floor", "aiobotocore"):
        ratios = [
            (a["cpu"] / a["calls"]) / (b["cpu"] / b["calls"])
            for a, b in zip(per["sdk"], per[other], strict=True)
        ]
        res[f"sdk/{other}"] = _spread(ratios)
    items = {round(c["items_per_call"], 3) for c in clients.values()}
    res["same_work"] = len(items) == 1
    return res


# ---------------------------------------------------------------- canned-server capacity


def capacity(server: Server, seconds: float = 2.0) -> dict[str, float]:
    from ._canned import raw_capacity

    c0 = server.cpu()
    r0 = server.stats()["requests"]
    rps = asyncio.run(raw_capacity(server.info["port"], seconds))
    r1 = server.stats()["requests"]
    cpu = server.cpu() - c0
    return {"raw_rps": rps, "server_cpu_us_per_req": cpu / max(1, r1 - r0) * 1e6}


# ---------------------------------------------------------------- tables


def _r(s: dict[str, float]) -> str:
    return f"{s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f}; IQR {s['q1']:.2f}–{s['q3']:.2f})"


def table(results: dict[str, Any], title: str) -> str:
    lines = [
        f"#### {title}",
        "",
        "| scenario | client | CPU µs/call | calls/s | peak RSS MB | server CPU busy (max) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in results.values():
        for k in CLIENTS:
            c = s["clients"][k]
            lines.append(
                f"| {s['label']} | {k} | {c['cpu_us']:.0f} | {c['calls_per_s']:.0f} "
                f"| {c['maxrss_mb']:.1f} | {c['server_util_max'] * 100:.0f}% |"
            )
    lines += [
        "",
        "| scenario | SDK/floor CPU (median, min–max, IQR) | SDK/aiobotocore CPU | "
        "≤1.3x floor | ≥3x less than aiobotocore |",
        "|---|---|---|:-:|:-:|",
    ]
    for s in results.values():
        f, b = s["sdk/floor"], s["sdk/aiobotocore"]
        lines.append(
            f"| {s['label']} | {_r(f)} | {_r(b)} | {'yes' if f['median'] <= 1.3 else 'NO'} "
            f"| {'yes' if b['median'] <= 1 / 3 else 'NO'} |"
        )
    if not all(s["same_work"] for s in results.values()):
        lines.append("\nWARNING: the clients did not see the same number of items per call.")
    return "\n".join(lines)
