"""Paging tokens of the local service are standard base64 with ``+ / =`` (service-behaviour.md#c7),
and both the SDK and botocore carry them back intact."""

from __future__ import annotations

from support.local_service import (
    IDENTITY,
    POOL,
    Caller,
    put,
    replace,
)

from cognitosync_async import CognitoSyncClient
from cognitosync_async.local import LocalCognitoSync

KW = {"IdentityPoolId": POOL, "IdentityId": IDENTITY}
NAMES = ["a", "bb", "ccc", "dddd", "eeeee"]


async def test_tokens_hold_plus_slash_and_padding(svc: LocalCognitoSync, dev: Caller) -> None:
    for name in NAMES:
        await put(dev, name, [replace("k", name)])
    await put(dev, "a", [replace(f"key-{i}", "v") for i in range(4)])
    tokens: list[str] = []
    seen: list[str] = []
    page = await dev("list_datasets", **KW, MaxResults=1)
    while True:
        seen += [d["DatasetName"] for d in page["Datasets"]]
        if "NextToken" not in page:
            break
        tokens.append(page["NextToken"])
        page = await dev("list_datasets", **KW, MaxResults=1, NextToken=page["NextToken"])
    records = await dev("list_records", **KW, DatasetName="a", MaxResults=2)
    tokens.append(records["NextToken"])
    assert seen == NAMES
    assert all("+" in t and "/" in t for t in tokens), tokens
    assert any(t.endswith("=") for t in tokens), tokens

    async with CognitoSyncClient(
        svc.region, credentials=svc.credentials, endpoint_url=svc.endpoint_url
    ) as client:
        names = [
            d.dataset_name
            async for d in client.iter_datasets(
                identity_pool_id=POOL, identity_id=IDENTITY, page_size=1
            )
        ]
        keys = [
            r.key
            async for r in client.iter_records(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="a", page_size=1
            )
        ]
    assert names == NAMES
    assert sorted(keys) == sorted(["k", "key-0", "key-1", "key-2", "key-3"])  # type: ignore[type-var, unused-ignore]
