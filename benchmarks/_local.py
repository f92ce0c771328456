"""The local service (``LocalCognitoSync``) in its own process, seeded for the scenarios.

``python -m benchmarks._local [--fanout N] [--list-records N] [--throttle-rate R]
[--throttle-burst B]`` starts the service, seeds it through the SDK (a dataset
``settings`` for the main identity and for N fan-out identities, and a dataset
``records-N`` of N records), switches throttling on if asked (after seeding),
prints ``{"endpoint", "region", "key", "secret", "pid"}`` on stdout and serves
until its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading

from . import _data as d


async def _seed(client: object, identities: list[str], list_records: int) -> None:
    from cognitosync_async import CognitoSyncClient, RecordPatch

    assert isinstance(client, CognitoSyncClient)

    async def dataset(identity: str, name: str, n: int) -> None:
        r = await client.list_records(
            identity_pool_id=d.POOL, identity_id=identity, dataset_name=name, max_results=1
        )
        patches = [RecordPatch("replace", f"key-{i:06d}", 0, f"value-{i:06d}") for i in range(n)]
        await client.update_records(
            identity_pool_id=d.POOL,
            identity_id=identity,
            dataset_name=name,
            record_patches=patches,
            sync_session_token=r.sync_session_token or "",
        )

    await dataset(d.IDENTITY, d.DATASET, 10)
    if list_records:
        await dataset(d.IDENTITY, d.records_dataset(list_records), list_records)
    sem = asyncio.Semaphore(16)

    async def one(identity: str) -> None:
        async with sem:
            await dataset(identity, d.DATASET, 3)

    await asyncio.gather(*(one(i) for i in identities))


async def main(args: argparse.Namespace) -> None:
    from cognitosync_async import CognitoSyncClient
    from cognitosync_async.local import Faults, LocalCognitoSync

    faults = Faults()
    async with LocalCognitoSync(faults=faults) as svc:
        async with CognitoSyncClient(
            svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url
        ) as client:
            ids = [d.fanout_identity(i) for i in range(args.fanout)]
            await _seed(client, ids, args.list_records)
        if args.throttle_rate is not None:
            svc.faults.throttle_rate = args.throttle_rate
            svc.faults.throttle_burst = args.throttle_burst
        creds = svc.credentials
        sys.stdout.write(
            json.dumps(
                {
                    "endpoint": svc.endpoint_url,
                    "region": svc.region,
                    "key": creds.access_key_id,
                    "secret": creds.secret_access_key,
                    "pid": os.getpid(),
                }
            )
            + "\n"
        )
        sys.stdout.flush()
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def wait_stdin() -> None:
            sys.stdin.read()
            loop.call_soon_threadsafe(lambda: None if done.done() else done.set_result(None))

        threading.Thread(target=wait_stdin, daemon=True).start()
        await done


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--fanout", type=int, default=d.FANOUT_IDENTITIES)
    p.add_argument("--list-records", type=int, default=1000)
    p.add_argument("--throttle-rate", type=float, default=None)
    p.add_argument("--throttle-burst", type=int, default=10)
    asyncio.run(main(p.parse_args()))
