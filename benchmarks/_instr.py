"""Instruction counts per unit of work, under ``valgrind --tool=callgrind``.

``python -m benchmarks instr`` (parent) starts the canned server in its own
process (not under valgrind), once per timestamp mode, then for every
scenario and client runs one child (``python -m benchmarks._instr CLIENT
SCENARIO WARM N1 N2 ENDPOINT INSTALL LOOP``, the interpreter binary itself)
under callgrind. The child opens its client and does the warm-up; the
parent zeroes the counters (``callgrind_control -z``); the child runs N1
units, the parent dumps the counts (``callgrind_control -d``); the child
runs N2 units, the parent dumps again. Both segments carry the same fixed
cost (waking from the pipe, answering it), so ``(I(N2) - I(N1)) / (N2 -
N1)`` is the client process's instructions per unit. Counts repeat to
about 0.01% from run to run, whatever else the machine is doing; CPU time
does not.

Units: ``describe`` one DescribeDataset call; ``list_page`` one ListRecords
page of 100 records (a walk of N pages); ``update_built`` one UpdateRecords
call that builds (SDK: validated ``RecordPatch``es) its 100 patches;
``export`` one record exported (SDK: ``export_identity``, ListDatasets and
ListRecords pages of 1,024 turned into export lines; floor: the same pages
read into dicts); ``mirror`` one record mirrored (SDK: ``mirror_identity``,
the same pages, into a target that keeps nothing: the engine's own cost;
floor: as for ``export``); ``mirror_sqlite`` the same into a fresh SQLite
file (the target's writes counted too: they run in this process's threads).

``--install default`` hides orjson from the child (``sys.modules["orjson"] =
None``, so the SDK's optional import fails as on a default install);
``speedups`` lets the child import it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import _data as d

# scenario -> (warm-up units, N1, N2); the clients' loops are shared
UNITS: dict[str, tuple[int, int, int]] = {
    "describe": (20, 20, 80),
    "list_page": (3, 2, 8),
    "update_built": (3, 2, 8),
    "export": (1024, 1024, 3072),
    "mirror": (1024, 1024, 3072),
    "mirror_sqlite": (1024, 1024, 3072),
}
CLIENTS: dict[str, tuple[str, ...]] = {
    "describe": ("sdk", "floor", "aiobotocore"),
    "list_page": ("sdk", "floor", "aiobotocore"),
    "update_built": ("sdk", "floor", "aiobotocore"),
    "export": ("sdk", "floor"),
    "mirror": ("sdk", "floor"),
    "mirror_sqlite": ("sdk", "floor"),
}
LABELS = {
    "describe": "describe_dataset, sequential (per call)",
    "list_page": "list_records (per page of 100)",
    "update_built": "update_records, 100 patches built + validated (per call)",
    "export": "export (per record)",
    "mirror": "mirror, discarding target (per record)",
    "mirror_sqlite": "mirror into SQLite (per record)",
}
#: describe answers carry no records: one timestamp mode is enough
TS_MODES: dict[str, tuple[str, ...]] = {
    "describe": ("shared",),
    "list_page": ("shared", "distinct"),
    "update_built": ("shared", "distinct"),
    "export": ("shared", "distinct"),
    "mirror": ("shared", "distinct"),
    "mirror_sqlite": ("shared", "distinct"),
}


# ------------------------------------------------------------------ child


async def _child(
    kind: str, scenario: str, warm: int, n1: int, n2: int, endpoint: str
) -> None:
    from ._drivers import DRIVERS

    target = {
        "endpoint": endpoint, "region": d.REGION, "key": d.ACCESS_KEY_ID,
        "secret": d.SECRET_ACCESS_KEY, "list_dataset": d.records_dataset(100),
        "list_page_size": 100,
    }
    drv = DRIVERS[kind](target)
    await drv.open()

    async def units(count: int, round_no: int) -> None:
        if scenario == "describe":
            call = drv.describe
            for _ in range(count):
                await call(d.IDENTITY)
        elif scenario == "list_page":
            drv.list_dataset = d.records_dataset(count * 100)
            pages, _ = await drv.list_all()
            assert pages == count, (pages, count)
        elif scenario == "update_built":
            send, build = drv.send_update, drv.build_patches
            for i in range(count):
                await send(build(drv.sync_count, round_no * 1000 + i))
        elif scenario == "export" or drv.kind != "sdk":  # the floor reads the pages
            got = await _export(drv, d.export_identity(count))
            assert got == count, (got, count)
        elif scenario in ("mirror", "mirror_sqlite"):
            got = await _mirror(drv, d.export_identity(count),
                                scratch if scenario == "mirror_sqlite" else None, round_no)
            assert got == count, (got, count)
        else:
            raise SystemExit(f"unknown scenario {scenario}")

    def step(word: str) -> None:  # the parent zeroes or dumps the counts meanwhile
        sys.__stdout__.write(word + "\n")  # type: ignore[union-attr]
        sys.__stdout__.flush()  # type: ignore[union-attr]
        sys.stdin.readline()

    with tempfile.TemporaryDirectory() as scratch:
        await units(warm, 0)
        step("warm")
        await units(n1, 1)
        step("n1")
        await units(n2, 2)
        step("n2")
    await drv.close()


class _Discard:
    """A mirror target that keeps nothing (every identity new to it): what the
    mirror costs on its own, reading the source and making the target's rows."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def datasets(self, identity_id: str) -> dict[str, Any]:
        return {}

    async def write_records(
        self, identity_id: str, dataset_name: str, records: Any, *, exact: bool
    ) -> Any:
        from cognitosync_async.mirror import WriteResult

        return WriteResult(written=len(records))

    async def write_dataset(self, row: Any) -> None: ...

    async def delete_dataset(self, row: Any) -> int:
        return 0

    async def records(self, identity_id: str, dataset_name: str) -> list[Any]:
        return []

    async def identities(self) -> AsyncIterator[str]:
        return
        yield


async def _mirror(drv: Any, identity: str, scratch: str | None, round_no: int) -> int:
    """One identity mirrored: into ``_Discard``, or a fresh SQLite file in ``scratch``."""
    from cognitosync_async.mirror import make_target
    from cognitosync_async.mirror._engine import _Source, mirror_identity

    target: Any = (_Discard() if scratch is None
                   else make_target(f"sqlite:{scratch}/copy-{round_no}.db"))
    await target.open()
    try:
        counts = await mirror_identity(_Source(drv.client, d.POOL, None), target, identity)
    finally:
        await target.close()
    return int(counts.written)


async def _export(drv: Any, identity: str) -> int:
    if drv.kind == "sdk":
        from cognitosync_async.cli.bulk import export_identity

        lines = await export_identity(drv.client, d.POOL, identity)
        return sum(len(line["records"]) for line in lines)
    # the floor: ListDatasets, then each dataset's pages, read into dicts
    c = drv.client
    listed = await c.request("GET", f"/identitypools/{d.POOL}/identities/{identity}/datasets")
    n = 0
    for ds in listed.get("Datasets") or ():
        token = None
        while True:
            page = await c.list_records(d.POOL, identity, ds["DatasetName"], next_token=token)
            for _ in page.get("Records") or ():
                n += 1
            token = page.get("NextToken")
            if not token:
                break
    return n


def child_main(argv: list[str]) -> None:
    kind, scenario, warm, n1, n2, endpoint, install, loop = argv
    if install == "default":
        sys.modules["orjson"] = None  # type: ignore[assignment]  # as if not installed
    coro = _child(kind, scenario, int(warm), int(n1), int(n2), endpoint)
    if loop == "uvloop":
        import uvloop

        uvloop.run(coro)
    else:
        asyncio.run(coro)


# ------------------------------------------------------------------ parent


def _interpreter() -> str:
    """The interpreter binary (a venv's python is a symlink to it: fine); a shell
    shim (pyenv's, for one) would put the shell under callgrind instead."""
    exe = sys.executable
    with open(os.path.realpath(exe), "rb") as f:
        if f.read(2) == b"#!":
            raise SystemExit(f"{exe} is a script, not the interpreter binary; run the "
                             "benchmark with the interpreter itself")
    return exe


def _summary(path: str) -> int:
    with open(path) as f:
        for line in f:
            if line.startswith("summary:"):
                return int(line.split()[1])
    raise RuntimeError(f"no summary line in {path}")


def _per_unit(args: list[str], env: dict[str, str], n1: int, n2: int) -> float:
    """Run ``args`` under callgrind; (I(N2) - I(N1)) / (N2 - N1) from two dumps."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *args]
        p = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        assert p.stdin is not None and p.stdout is not None

        def expect(word: str) -> None:
            line = p.stdout.readline().strip()  # type: ignore[union-attr]
            if line != word:
                p.kill()
                _, err = p.communicate()
                raise RuntimeError(f"{' '.join(args)}: expected {word!r}, got {line!r}\n"
                                   f"{err[-3000:]}")

        def control(*opts: str) -> None:
            subprocess.run(["callgrind_control", *opts, str(p.pid)], check=True,
                           capture_output=True, timeout=300)
            p.stdin.write("\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]

        expect("warm")
        control("-z")
        expect("n1")
        control("-d", "n1")
        expect("n2")
        control("-d", "n2")
        p.communicate(timeout=600)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited {p.returncode}")
        return (_summary(f"{out}.2") - _summary(f"{out}.1")) / (n2 - n1)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from . import _runner
    from ._procs import ROOT, Server, _env

    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit(
            "valgrind is not installed: the instruction-count mode runs each client under "
            "`valgrind --tool=callgrind` (Debian/Ubuntu: apt-get install -y valgrind)"
        )
    exe = _interpreter()
    env = _env()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    scenarios = [s for s in UNITS if not args.only or s in args.only.split(",")]
    installs = args.install.split(",")
    servers = {m: Server("benchmarks._canned", "--ts", m) for m in ("shared", "distinct")}
    jobs: list[tuple[str, str, str, str]] = []
    for install in installs:
        for sc in scenarios:
            for mode in TS_MODES[sc]:
                if args.modes and mode not in args.modes.split(","):
                    continue
                for kind in CLIENTS[sc]:
                    if args.clients and kind not in args.clients.split(","):
                        continue
                    if kind != "sdk" and install != installs[0]:
                        continue  # orjson changes only the SDK
                    if kind == "aiobotocore" and mode == "shared" and len(TS_MODES[sc]) > 1:
                        continue  # its ratio is read on the costlier answers only
                    jobs.append((install, sc, mode, kind))

    def one(job: tuple[str, str, str, str]) -> tuple[tuple[str, str, str, str], float]:
        install, sc, mode, kind = job
        warm, n1, n2 = UNITS[sc]
        argv = [exe, "-m", "benchmarks._instr", kind, sc, str(warm), str(n1), str(n2),
                servers[mode].endpoint, install, args.loop]
        per = _per_unit(argv, env, n1, n2)
        _runner.log(f"  [instr] {install} {sc} {mode} {kind}: {per:,.0f} per unit")
        return job, per

    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            per = dict(pool.map(one, jobs))
    finally:
        for s in servers.values():
            s.close()
    return {"per": per, "installs": installs, "scenarios": scenarios}


def table(res: dict[str, Any]) -> str:
    per = res["per"]
    base = res["installs"][0]
    lines = [
        "| install | scenario | timestamps | sdk | floor | aiobotocore | SDK/floor "
        "| aiobotocore/SDK |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for install in res["installs"]:
        for sc in res["scenarios"]:
            for mode in TS_MODES[sc]:
                sdk = per.get((install, sc, mode, "sdk"))
                if sdk is None or (base, sc, mode, "floor") not in per:
                    continue
                floor = per.get((base, sc, mode, "floor"))
                boto = per.get((base, sc, mode, "aiobotocore"))
                lines.append(
                    f"| {install} | {LABELS[sc]} | {mode} | {sdk:,.0f} "
                    f"| {floor or 0:,.0f} | {'' if boto is None else f'{boto:,.0f}'} "
                    f"| {sdk / (floor or 1):.2f} | {'' if boto is None else f'{boto / sdk:.1f}'} |"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    child_main(sys.argv[1:])
