"""Import and first-call cost: the SDK beside aiobotocore.

``python -m benchmarks startup``: for each client, in fresh processes,
(a) the instructions of ``import`` under callgrind (``python -c "import X"``
minus ``python -c "pass"``), and which HTTP libraries the import loaded;
(b) wall-clock medians over ``--runs`` fresh processes of the import, the
client's construction and its first DescribeDataset against the canned server
(a first call includes opening the session and connecting). Wall times
swing with the machine's load; instruction counts do not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any

_IMPORT = {"sdk": "cognitosync_async", "aiobotocore": "aiobotocore.session"}

_TIMED = r"""
import asyncio, json, sys, time
t0 = time.perf_counter()
import {module}
t1 = time.perf_counter()
from benchmarks import _data as d
async def main():
    t2 = time.perf_counter()
    if {kind!r} == "sdk":
        from cognitosync_async import CognitoSyncClient, Credentials
        c = CognitoSyncClient(d.REGION, credentials=Credentials(d.ACCESS_KEY_ID,
            d.SECRET_ACCESS_KEY), endpoint_url={endpoint!r})
        t3 = time.perf_counter()
        await c.describe_dataset(identity_pool_id=d.POOL, identity_id=d.IDENTITY,
                                 dataset_name=d.DATASET)
        t4 = time.perf_counter()
        await c.close()
    else:
        s = aiobotocore.session.get_session()
        cm = s.create_client("cognito-sync", region_name=d.REGION, endpoint_url={endpoint!r},
            aws_access_key_id=d.ACCESS_KEY_ID, aws_secret_access_key=d.SECRET_ACCESS_KEY)
        c = await cm.__aenter__()
        t3 = time.perf_counter()
        await c.describe_dataset(IdentityPoolId=d.POOL, IdentityId=d.IDENTITY,
                                 DatasetName=d.DATASET)
        t4 = time.perf_counter()
        await cm.__aexit__(None, None, None)
    return t3 - t2, t4 - t3
construct, first = asyncio.run(main())
sys.stdout.write(json.dumps({{"import": t1 - t0, "construct": construct, "first": first}}))
"""


def _instructions(code: str, env: dict[str, str]) -> int:
    from ._instr import _summary

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                        sys.executable, "-c", code], env=env, check=True,
                       capture_output=True)
        return _summary(out)


def run(args: argparse.Namespace) -> str:
    from ._procs import Server, _env

    env = _env()
    base = _instructions("pass", env)
    rows: dict[str, dict[str, Any]] = {}
    server = Server("benchmarks._canned")
    try:
        for kind, module in _IMPORT.items():
            code = (f"import sys; import {module}; print(json.dumps(sorted(m for m in "
                    "sys.modules if m in ('requests', 'urllib3', 'httpx', 'http.client'))))")
            loaded = subprocess.run([sys.executable, "-c", "import json; " + code], env=env,
                                    capture_output=True, text=True, check=True).stdout
            timed = []
            for _ in range(args.runs):
                src = _TIMED.format(module=module, kind=kind, endpoint=server.endpoint)
                p = subprocess.run([sys.executable, "-c", src], env=env, capture_output=True,
                                   text=True, check=True)
                timed.append(json.loads(p.stdout))
            rows[kind] = {
                "instr": _instructions(f"import {module}", env) - base,
                "loaded": json.loads(loaded),
                **{k: statistics.median(t[k] for t in timed) * 1000
                   for k in ("import", "construct", "first")},
            }
    finally:
        server.close()
    lines = [
        f"`python -m benchmarks startup --runs {args.runs}` (wall: medians of fresh "
        "processes; the machine is shared, so wall times are indicative only)",
        "",
        "| client | import, instructions | import ms | client construction ms "
        "| first call ms | synchronous HTTP modules the import loads |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for kind, r in rows.items():
        lines.append(
            f"| {kind} (`import {_IMPORT[kind]}`) | {r['instr']:,} | {r['import']:.1f} "
            f"| {r['construct']:.2f} | {r['first']:.1f} | {', '.join(r['loaded']) or 'none'} |"
        )
    return "\n".join(lines)



