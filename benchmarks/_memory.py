"""RSS growth while paginating 100,000 records (a fresh process per client).

``python -m benchmarks._memory KIND ENDPOINT`` prints one JSON line: current
RSS (``/proc/self/statm``) before the walk (client open, a 5-page warm-up walk
done, gc.collect()) and after it, and the highest RSS sampled every page during it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from typing import Any

from . import _data as d

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


async def walk_sdk(endpoint: str, total: int, sample: list[int]) -> int:
    from cognitosync_async import CognitoSyncClient, Credentials

    async with CognitoSyncClient(
        d.REGION, credentials=Credentials(d.ACCESS_KEY_ID, d.SECRET_ACCESS_KEY),
        endpoint_url=endpoint,
    ) as client:
        n = 0
        for dataset in (d.records_dataset(5 * d.MEMORY_PAGE_SIZE), d.records_dataset(total)):
            if dataset.endswith(str(total)):
                gc.collect()
                sample.clear()
                sample.append(rss())
            async for _rec in client.iter_records(
                identity_pool_id=d.POOL, identity_id=d.IDENTITY, dataset_name=dataset,
                page_size=d.MEMORY_PAGE_SIZE,
            ):
                n += 1
                if n % d.MEMORY_PAGE_SIZE == 0:
                    sample.append(rss())
        gc.collect()
        sample.append(rss())
        return n


async def walk_dicts(kind: str, endpoint: str, total: int, sample: list[int]) -> int:
    if kind == "floor":
        from ._floor import FloorClient

        floor = FloorClient(endpoint, d.REGION, d.ACCESS_KEY_ID, d.SECRET_ACCESS_KEY)
        await floor.__aenter__()

        async def page(ds: str, token: str | None) -> Any:
            return await floor.list_records(
                d.POOL, d.IDENTITY, ds, max_results=d.MEMORY_PAGE_SIZE, next_token=token
            )

        async def close() -> None:
            await floor.__aexit__()
    else:
        from aiobotocore.session import get_session

        cm = get_session().create_client(
            "cognito-sync", region_name=d.REGION, endpoint_url=endpoint,
            aws_access_key_id=d.ACCESS_KEY_ID, aws_secret_access_key=d.SECRET_ACCESS_KEY,
        )
        boto = await cm.__aenter__()

        async def page(ds: str, token: str | None) -> Any:
            kw: dict[str, Any] = {"NextToken": token} if token else {}
            return await boto.list_records(
                IdentityPoolId=d.POOL, IdentityId=d.IDENTITY, DatasetName=ds,
                MaxResults=d.MEMORY_PAGE_SIZE, **kw,
            )

        async def close() -> None:
            await cm.__aexit__(None, None, None)

    n = 0
    for dataset in (d.records_dataset(5 * d.MEMORY_PAGE_SIZE), d.records_dataset(total)):
        if dataset.endswith(str(total)):
            gc.collect()
            sample.clear()
            sample.append(rss())
        token = None
        while True:
            p = await page(dataset, token)
            for _rec in p.get("Records") or ():
                n += 1
            sample.append(rss())
            token = p.get("NextToken")
            if not token:
                break
    gc.collect()
    sample.append(rss())
    await close()
    return n


def main() -> None:
    kind, endpoint = sys.argv[1], sys.argv[2]
    total = d.MEMORY_RECORDS
    sample: list[int] = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    if kind == "sdk":
        n = asyncio.run(walk_sdk(endpoint, total, sample))
    else:
        n = asyncio.run(walk_dicts(kind, endpoint, total, sample))
    warm = 5  # warm-up pages (sample was cleared before the 100,000-record walk)
    before = sample[0]
    after = sample[-1]
    print(
        json.dumps(
            {
                "kind": kind,
                "records": n - warm * d.MEMORY_PAGE_SIZE,
                "before_mb": before / 2**20,
                "after_mb": after / 2**20,
                "growth_mb": (after - before) / 2**20,
                "max_growth_mb": (max(sample) - before) / 2**20,
                "wall_s": time.perf_counter() - t0,
                "cpu_s": time.process_time() - c0,
            }
        )
    )


if __name__ == "__main__":
    main()
