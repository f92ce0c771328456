"""The same scenarios for each client: the SDK, aiobotocore and the floor.

Each driver exposes three primitives (a call factory for DescribeDataset, a
full ListRecords walk, and one UpdateRecords of freshly built patches); the
scenario loops in ``Scenarios`` are shared, and call the primitives without
any extra coroutine layer in between, so the loops cost every client the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from . import _data as d


class Driver:
    kind = ""

    def __init__(self, target: dict[str, Any]) -> None:
        self.target = target
        self.list_dataset: str = target["list_dataset"]
        self.list_page_size: int = target["list_page_size"]
        self.update_dataset = f"update-{self.kind}"
        self.sync_count = 0
        self.sync_token = ""

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    # primitives
    def describe(self, identity: str) -> Awaitable[Any]:
        raise NotImplementedError

    async def list_all(self) -> tuple[int, int]:
        """(pages, records) of one full walk of the list dataset."""
        raise NotImplementedError

    def build_patches(self, sync_count: int, round_no: int) -> Any:
        """UPDATE_PATCHES patches in the client's own input type."""
        raise NotImplementedError

    async def send_update(self, patches: Any) -> int:
        """One UpdateRecords; remembers the new sync count, returns records answered."""
        raise NotImplementedError

    async def fetch_token(self) -> str:
        raise NotImplementedError

    def pool_size(self) -> tuple[int, int]:
        """(connections in use, idle connections) of the client's pool."""
        raise NotImplementedError


def _aiohttp_pool(connector: Any) -> tuple[int, int]:
    if connector is None:
        return (0, 0)
    return len(connector._acquired), sum(len(v) for v in connector._conns.values())


def _dict_patches(sync_count: int, round_no: int) -> list[dict[str, Any]]:
    return [
        {"Op": "replace", "Key": f"key-{i:06d}", "Value": d.patch_value(i, round_no),
         "SyncCount": sync_count}
        for i in range(d.UPDATE_PATCHES)
    ]


class SdkDriver(Driver):
    kind = "sdk"

    async def open(self) -> None:
        from cognitosync_async import CognitoSyncClient, Credentials, RecordPatch

        self.RecordPatch = RecordPatch
        t = self.target
        self.client = CognitoSyncClient(
            t["region"],
            credentials=Credentials(t["key"], t["secret"]),
            endpoint_url=t["endpoint"],
            max_connections=t.get("max_connections", 100),
        )
        await self.client.__aenter__()
        self.sync_token = await self.fetch_token()

    async def close(self) -> None:
        await self.client.close()

    def describe(self, identity: str) -> Awaitable[Any]:
        return self.client.describe_dataset(
            identity_pool_id=d.POOL, identity_id=identity, dataset_name=d.DATASET
        )

    async def list_all(self) -> tuple[int, int]:
        it = self.client.iter_records(
            identity_pool_id=d.POOL,
            identity_id=d.IDENTITY,
            dataset_name=self.list_dataset,
            page_size=self.list_page_size,
        )
        n = 0
        pages = 0
        async for page in it.pages():
            pages += 1
            for _ in page.records or ():
                n += 1
        return pages, n

    async def fetch_token(self) -> str:
        r = await self.client.list_records(
            identity_pool_id=d.POOL,
            identity_id=d.IDENTITY,
            dataset_name=self.update_dataset,
            max_results=1,
        )
        self.sync_count = r.dataset_sync_count or 0
        return r.sync_session_token or ""

    def build_patches(self, sync_count: int, round_no: int) -> Any:
        rp = self.RecordPatch
        return [
            rp("replace", f"key-{i:06d}", sync_count, d.patch_value(i, round_no))
            for i in range(d.UPDATE_PATCHES)
        ]

    async def send_update(self, patches: Any) -> int:
        r = await self.client.update_records(
            identity_pool_id=d.POOL,
            identity_id=d.IDENTITY,
            dataset_name=self.update_dataset,
            record_patches=patches,
            sync_session_token=self.sync_token,
        )
        recs = r.records or []
        count = recs[0].sync_count
        assert count is not None  # every record the service returns has one
        self.sync_count = count
        return len(recs)

    def pool_size(self) -> tuple[int, int]:
        s = self.client.session
        return _aiohttp_pool(s.connector if s is not None else None)


class FloorDriver(Driver):
    kind = "floor"

    async def open(self) -> None:
        from ._floor import FloorClient

        t = self.target
        self.client = FloorClient(
            t["endpoint"], t["region"], t["key"], t["secret"], t.get("max_connections", 100)
        )
        await self.client.__aenter__()
        self.sync_token = await self.fetch_token()

    async def close(self) -> None:
        await self.client.__aexit__()

    def describe(self, identity: str) -> Awaitable[Any]:
        return self.client.describe_dataset(d.POOL, identity, d.DATASET)

    async def list_all(self) -> tuple[int, int]:
        lr = self.client.list_records
        token = None
        n = 0
        pages = 0
        while True:
            page = await lr(
                d.POOL,
                d.IDENTITY,
                self.list_dataset,
                max_results=self.list_page_size,
                next_token=token,
            )
            pages += 1
            for _ in page.get("Records") or ():
                n += 1
            token = page.get("NextToken")
            if not token:
                return pages, n

    async def fetch_token(self) -> str:
        r = await self.client.list_records(d.POOL, d.IDENTITY, self.update_dataset, max_results=1)
        self.sync_count = r.get("DatasetSyncCount") or 0
        return str(r.get("SyncSessionToken") or "")

    def build_patches(self, sync_count: int, round_no: int) -> Any:
        return _dict_patches(sync_count, round_no)

    async def send_update(self, patches: Any) -> int:
        r = await self.client.update_records(
            d.POOL, d.IDENTITY, self.update_dataset, patches, self.sync_token
        )
        recs = r.get("Records") or []
        self.sync_count = recs[0]["SyncCount"]
        return len(recs)

    def pool_size(self) -> tuple[int, int]:
        s = self.client.session
        return _aiohttp_pool(s.connector if s is not None else None)


class BotoDriver(Driver):
    kind = "aiobotocore"

    async def open(self) -> None:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        t = self.target
        self._cm = get_session().create_client(
            "cognito-sync",
            region_name=t["region"],
            endpoint_url=t["endpoint"],
            aws_access_key_id=t["key"],
            aws_secret_access_key=t["secret"],
            config=AioConfig(max_pool_connections=t.get("max_connections", 100)),
        )
        self.client = await self._cm.__aenter__()
        self.sync_token = await self.fetch_token()

    async def close(self) -> None:
        await self._cm.__aexit__(None, None, None)

    def describe(self, identity: str) -> Awaitable[Any]:
        call: Awaitable[Any] = self.client.describe_dataset(  # aiobotocore is untyped here
            IdentityPoolId=d.POOL, IdentityId=identity, DatasetName=d.DATASET
        )
        return call

    async def list_all(self) -> tuple[int, int]:
        # botocore ships no paginator for cognito-sync: a manual NextToken loop
        lr = self.client.list_records
        kw: dict[str, Any] = {
            "IdentityPoolId": d.POOL,
            "IdentityId": d.IDENTITY,
            "DatasetName": self.list_dataset,
            "MaxResults": self.list_page_size,
        }
        n = 0
        pages = 0
        while True:
            page = await lr(**kw)
            pages += 1
            for _ in page.get("Records") or ():
                n += 1
            token = page.get("NextToken")
            if not token:
                return pages, n
            kw["NextToken"] = token

    async def fetch_token(self) -> str:
        r = await self.client.list_records(
            IdentityPoolId=d.POOL, IdentityId=d.IDENTITY, DatasetName=self.update_dataset,
            MaxResults=1,
        )
        self.sync_count = r.get("DatasetSyncCount") or 0
        return str(r.get("SyncSessionToken") or "")

    def build_patches(self, sync_count: int, round_no: int) -> Any:
        return _dict_patches(sync_count, round_no)

    async def send_update(self, patches: Any) -> int:
        r = await self.client.update_records(
            IdentityPoolId=d.POOL,
            IdentityId=d.IDENTITY,
            DatasetName=self.update_dataset,
            RecordPatches=patches,
            SyncSessionToken=self.sync_token,
        )
        recs = r.get("Records") or []
        self.sync_count = recs[0]["SyncCount"]
        return len(recs)

    def pool_size(self) -> tuple[int, int]:
        # aiobotocore keeps its aiohttp session inside its endpoint's HTTP session
        try:
            sess = self.client._endpoint.http_session._session
            return _aiohttp_pool(sess.connector)
        except AttributeError:
            return (-1, -1)


DRIVERS: dict[str, type[Driver]] = {
    "sdk": SdkDriver,
    "floor": FloorDriver,
    "aiobotocore": BotoDriver,
}


# ---------------------------------------------------------------- scenarios


Prepared = Any  # what a scenario's prepare step built before the clock starts


async def describe_seq(drv: Driver, n: int, round_no: int, prep: Prepared) -> tuple[int, int]:
    call = drv.describe
    ident = d.IDENTITY
    for _ in range(n):
        await call(ident)
    return n, n


async def describe_c64(drv: Driver, n: int, round_no: int, prep: Prepared) -> tuple[int, int]:
    call = drv.describe
    ident = d.IDENTITY
    per = n // d.CONCURRENCY

    async def lane() -> None:
        for _ in range(per):
            await call(ident)

    await asyncio.gather(*(lane() for _ in range(d.CONCURRENCY)))
    return per * d.CONCURRENCY, per * d.CONCURRENCY


async def list_records(drv: Driver, n: int, round_no: int, prep: Prepared) -> tuple[int, int]:
    calls = work = 0
    for _ in range(n):
        pages, records = await drv.list_all()
        calls += pages
        work += records
    return calls, work


def prepare_updates(drv: Driver, n: int, round_no: int) -> Prepared:
    # The local service moves a dataset's sync count by exactly 1 per update:
    # call i carries the count the service will then hold.
    return [drv.build_patches(drv.sync_count + i, round_no * 1000 + i) for i in range(n)]


async def update_records(drv: Driver, n: int, round_no: int, prep: Prepared) -> tuple[int, int]:
    """UpdateRecords calls with the patches built before the clock started."""
    work = 0
    send = drv.send_update
    for patches in prep:
        work += await send(patches)
    return n, work


async def update_records_built(
    drv: Driver, n: int, round_no: int, prep: Prepared
) -> tuple[int, int]:
    """UpdateRecords calls, each building its 100 patches first (the SDK's are
    validated attrs RecordPatch objects, the others' plain dicts)."""
    work = 0
    send = drv.send_update
    build = drv.build_patches
    for i in range(n):
        work += await send(build(drv.sync_count, round_no * 1000 + i))
    return n, work


_FANOUT_IDS = [d.fanout_identity(i) for i in range(d.FANOUT_IDENTITIES)]


async def fanout(drv: Driver, n: int, round_no: int, prep: Prepared) -> tuple[int, int]:
    call = drv.describe
    calls = 0
    for _ in range(n):
        sem = asyncio.Semaphore(d.FANOUT_CONCURRENCY)

        async def one(identity: str, sem: asyncio.Semaphore = sem) -> Any:
            async with sem:
                return await call(identity)

        results = await asyncio.gather(*(one(i) for i in _FANOUT_IDS))
        calls += len(results)
    return calls, calls


Scenario = Callable[[Driver, int, int, Prepared], Awaitable[tuple[int, int]]]

#: scenario id -> loop; each returns (API calls made, items seen)
SCENARIOS: dict[str, Scenario] = {
    "describe_seq": describe_seq,
    "describe_c64": describe_c64,
    "list_records": list_records,
    "update_records": update_records,
    "update_records_built": update_records_built,
    "fanout": fanout,
}

#: scenario id -> work done before the clock starts
PREPARE: dict[str, Callable[[Driver, int, int], Prepared]] = {
    "update_records": prepare_updates,
}
