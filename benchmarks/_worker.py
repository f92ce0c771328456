"""One client in its own process, kept alive across slices, driven over a pipe.

``python -m benchmarks._worker`` reads one JSON command per line on stdin and
answers one JSON line on the original stdout (anything else printed goes to
stderr). Commands: ``open`` (target), ``run`` (scenario, n, round),
``pool``, ``close``. ``run`` answers the process CPU time (user+sys, from
``time.process_time()``), wall time, API calls, items seen and ``ru_maxrss``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import resource
import sys
import time
from typing import Any

from ._drivers import DRIVERS, PREPARE, SCENARIOS, Driver


def main() -> None:
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints cannot corrupt the protocol
    sys.stdout = sys.stderr
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    drv: Driver | None = None
    for line in sys.stdin:
        cmd: dict[str, Any] = json.loads(line)
        op = cmd["cmd"]
        reply: dict[str, Any] = {}
        try:
            if op == "open":
                drv = DRIVERS[cmd["kind"]](cmd["target"])
                loop.run_until_complete(drv.open())
                reply = {"ok": True, "pid": os.getpid()}
            elif op == "run":
                assert drv is not None
                name, n, rnd = cmd["scenario"], cmd["n"], cmd.get("round", 0)
                prep = PREPARE[name](drv, n, rnd) if name in PREPARE else None
                coro = SCENARIOS[name](drv, n, rnd, prep)
                gc.collect()
                c0 = time.process_time()
                w0 = time.perf_counter()
                calls, work = loop.run_until_complete(coro)
                wall = time.perf_counter() - w0
                cpu = time.process_time() - c0
                reply = {
                    "cpu": cpu,
                    "wall": wall,
                    "calls": calls,
                    "work": work,
                    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                }
            elif op == "pool":
                assert drv is not None
                reply = {"pool": drv.pool_size()}
            elif op == "close":
                if drv is not None:
                    loop.run_until_complete(drv.close())
                reply = {"ok": True}
                out.write(json.dumps(reply) + "\n")
                break
        except Exception as exc:  # reported to the parent, which stops the run
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
    loop.run_until_complete(asyncio.sleep(0.05))
    loop.close()


if __name__ == "__main__":
    main()
