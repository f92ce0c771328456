"""``python -m benchmarks mirror [--identities N] [--readme]``: the mirror's figures.

Against the local service in its own process (seeded with N identities of
two datasets, 4 and 21 records, as the demo writes them), each run a real
``cognitosync-async mirror`` / ``verify`` process into a fresh SQLite file:

* one process, first copy: identities/s and records/s (wall time of the run);
* two shards at once (``--shard 0/2`` and ``1/2``) into one file: the same,
  over the wall time until both are done;
* a no-op rerun: calls per identity (from the run's own summary);
* ``verify`` of the copy: seconds and calls, against the first copy's;
* with ``--ray`` (the ``ray`` extra): the first copy as ``--engine ray
  --shards 2`` on a local Ray started by the run (its wall time includes
  starting Ray; ``engine s`` is the longest shard's own time).

The emulator shares the machine's cores with the clients, so these figures
measure the whole loop on one machine, not the service's limits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from . import _data as d
from ._procs import ROOT, Server, _env

BEGIN, END = "<!-- mirror:begin -->", "<!-- mirror:end -->"
README = Path(__file__).with_name("README.md")


def identity(i: int) -> str:
    return f"us-east-1:{i:08x}-0000-4000-8000-00000000beef"


async def _serve(n: int) -> None:
    """The seeded local service; prints its address, serves until stdin closes."""
    from cognitosync_async import CognitoSyncClient
    from cognitosync_async._fanout import fan_out
    from cognitosync_async.cli.demo import progress_for, settings_for
    from cognitosync_async.local import LocalCognitoSync

    async with LocalCognitoSync(durable=False) as svc:
        async with CognitoSyncClient(svc.region, credentials=svc.credentials,
                                     endpoint_url=svc.endpoint_url) as client:
            async def seed(i: int) -> None:
                for name, values in (("settings", settings_for(i)),
                                     ("progress", progress_for(i))):
                    await client.dataset(identity_pool_id=d.POOL, identity_id=identity(i),
                                         dataset_name=name).put(values)

            async with fan_out(range(n), seed, concurrency=16) as results:
                async for r in results:
                    r.unwrap()
        creds = svc.credentials
        print(json.dumps({"endpoint": svc.endpoint_url, "region": svc.region,
                          "key": creds.access_key_id, "secret": creds.secret_access_key,
                          "pid": os.getpid()}), flush=True)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        threading.Thread(
            target=lambda: (sys.stdin.read(),
                            loop.call_soon_threadsafe(lambda: done.done() or
                                                      done.set_result(None))),
            daemon=True).start()
        await done


def _cli(server: Server, command: str, db: Path, ids: Path, *extra: str
         ) -> subprocess.Popen[str]:
    env = {k: v for k, v in _env().items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=server.info["key"], AWS_SECRET_ACCESS_KEY=server.info["secret"],
               AWS_REGION=server.info["region"])
    return subprocess.Popen(
        [sys.executable, "-m", "cognitosync_async.cli", command, "--endpoint-url",
         server.endpoint, "--identity-pool-id", d.POOL, "--target", f"sqlite:{db}",
         "--identities", str(ids), "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )


def _wait(*procs: subprocess.Popen[str]) -> tuple[float, list[dict[str, Any]]]:
    t0 = time.perf_counter()
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=1800)
        if p.returncode not in (0,):
            raise RuntimeError(f"exit {p.returncode}: {stderr[-2000:]}")
        out.append(json.loads(stdout))
    return time.perf_counter() - t0, out


def run(n: int, concurrency: int, with_ray: bool = False) -> dict[str, Any]:
    server = Server("benchmarks._mirror", "serve", str(n))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ids = Path(tmp) / "ids.txt"
            ids.write_text("\n".join(identity(i) for i in range(n)) + "\n")
            conc = ("--concurrency", str(concurrency))
            one = Path(tmp) / "one.db"
            t0 = time.perf_counter()
            _, (first,) = _wait(_cli(server, "mirror", one, ids, *conc))
            first_wall = time.perf_counter() - t0
            t0 = time.perf_counter()
            _, (noop,) = _wait(_cli(server, "mirror", one, ids, *conc))
            noop_wall = time.perf_counter() - t0
            t0 = time.perf_counter()
            _, (ver,) = _wait(_cli(server, "verify", one, ids, *conc))
            verify_wall = time.perf_counter() - t0
            two = Path(tmp) / "two.db"
            t0 = time.perf_counter()
            _, shards = _wait(*(_cli(server, "mirror", two, ids, "--shard", f"{k}/2", *conc)
                                for k in (0, 1)))
            two_wall = time.perf_counter() - t0
            on_ray: dict[str, Any] | None = None
            if with_ray:
                t0 = time.perf_counter()
                _, (on_ray,) = _wait(_cli(server, "mirror", Path(tmp) / "ray.db", ids,
                                          "--engine", "ray", "--shards", "2", *conc))
                on_ray["wall_s"] = time.perf_counter() - t0
            if not ver["identical"]:
                raise RuntimeError(f"verify found differences: {ver}")
    finally:
        server.close()
    records = first["records_written"]
    return {
        "identities": n, "concurrency": concurrency, "records": records,
        "one": {"wall_s": first_wall, "ids_per_s": n / first_wall,
                "records_per_s": records / first_wall, "calls": first["calls"],
                "engine_s": first["seconds"]},
        "two_shards": {"wall_s": two_wall, "ids_per_s": n / two_wall,
                       "records_per_s": sum(s["records_written"] for s in shards) / two_wall,
                       "calls": sum(s["calls"] for s in shards),
                       "identities": [s["identities"] for s in shards]},
        "noop": {"wall_s": noop_wall, "calls": noop["calls"],
                 "calls_per_identity": noop["calls"] / n,
                 "datasets_changed": noop["datasets_changed"]},
        "verify": {"wall_s": verify_wall, "calls": ver["calls"],
                   "calls_per_identity": ver["calls"] / n,
                   "vs_first_copy": verify_wall / first_wall},
        "ray": None if on_ray is None else {
            "wall_s": on_ray["wall_s"], "engine_s": on_ray["seconds"],
            "ids_per_s": n / on_ray["seconds"], "records_per_s": records / on_ray["seconds"],
            "calls": on_ray["calls"]},
    }


def table(r: dict[str, Any]) -> str:
    one, two, noop, ver = r["one"], r["two_shards"], r["noop"], r["verify"]
    return "\n".join([
        f"{r['identities']:,} identities, 2 datasets each, {r['records']:,} records; "
        f"`--concurrency {r['concurrency']}`; wall time of each `cognitosync-async` process "
        "(start-up included).",
        "",
        "| run | wall s | identities/s | records/s | calls | calls/identity |",
        "|---|---:|---:|---:|---:|---:|",
        f"| first copy, one process | {one['wall_s']:.1f} | {one['ids_per_s']:.0f} "
        f"| {one['records_per_s']:.0f} | {one['calls']:,} | {one['calls'] / r['identities']:.2f} |",
        f"| first copy, 2 shards at once ({two['identities'][0]}+{two['identities'][1]}) "
        f"| {two['wall_s']:.1f} | {two['ids_per_s']:.0f} | {two['records_per_s']:.0f} "
        f"| {two['calls']:,} | {two['calls'] / r['identities']:.2f} |",
        f"| no-op rerun ({noop['datasets_changed']} datasets changed) | {noop['wall_s']:.1f} "
        f"| {r['identities'] / noop['wall_s']:.0f} | - | {noop['calls']:,} "
        f"| {noop['calls_per_identity']:.2f} |",
        f"| verify (identical) | {ver['wall_s']:.1f} | {r['identities'] / ver['wall_s']:.0f} "
        f"| - | {ver['calls']:,} | {ver['calls_per_identity']:.2f} |",
        *([] if r.get("ray") is None else [
            f"| first copy, `--engine ray --shards 2` (engine s {r['ray']['engine_s']:.1f}; "
            f"rates over it) | {r['ray']['wall_s']:.1f} | {r['ray']['ids_per_s']:.0f} "
            f"| {r['ray']['records_per_s']:.0f} | {r['ray']['calls']:,} "
            f"| {r['ray']['calls'] / r['identities']:.2f} |"]),
        "",
        f"verify costs {ver['vs_first_copy']:.2f}x the first copy's time (it reads every "
        "record of both sides and writes nothing).",
    ])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks mirror")
    p.add_argument("--identities", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--readme", action="store_true", help="write the figures into README.md")
    p.add_argument("--ray", action="store_true", help="also the first copy on Ray, 2 shards")
    args = p.parse_args(argv)
    result = run(args.identities, args.concurrency, args.ray)
    text = table(result)
    print(json.dumps(result), file=sys.stderr)
    print(text)
    if args.readme:
        body = README.read_text()
        if BEGIN in body:
            head, _, rest = body.partition(BEGIN)
            _, _, tail = rest.partition(END)
            README.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        asyncio.run(_serve(int(sys.argv[2])))
    else:
        main(sys.argv[1:])
