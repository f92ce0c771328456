"""Helpers for the local-service tests, with botocore as the client: ``Caller``
(a botocore client called off the loop), ``put``/``replace``/``remove`` patches, and
``raw_request`` (one hand-signed request). Their fixtures (``svc``, ``clients``,
``dev``, ``ident``) are in ``tests/conftest.py``."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import aiohttp
import botocore.client
import botocore.config
import botocore.session
import pytest
from botocore.exceptions import ClientError

from cognitosync_async import _sigv4
from cognitosync_async._credentials import Credentials
from cognitosync_async.local import LocalCognitoSync

POOL = "us-east-1:00000000-0000-0000-0000-000000000001"
IDENTITY = "us-east-1:11111111-1111-1111-1111-111111111111"
OTHER_IDENTITY = "us-east-1:22222222-2222-2222-2222-222222222222"


@functools.lru_cache(maxsize=1)
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def make_client(svc: LocalCognitoSync, creds: Credentials | None = None) -> Any:
    creds = creds or svc.credentials
    return _session().create_client(
        "cognito-sync",
        region_name=svc.region,
        endpoint_url=svc.endpoint_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        config=botocore.config.Config(retries={"max_attempts": 0}),
    )


class Caller:
    """Calls a botocore client off the loop; ``err`` returns the error code instead."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def __call__(self, op: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = await asyncio.to_thread(getattr(self.client, op), **kwargs)
        return result

    async def err(self, op: str, **kwargs: Any) -> ClientError:
        with pytest.raises(ClientError) as info:
            await self(op, **kwargs)
        return info.value

    def close(self) -> None:
        self.client.close()


def code_of(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def status_of(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


async def put(
    caller: Caller,
    dataset: str,
    patches: list[dict[str, Any]],
    *,
    identity: str = IDENTITY,
    pool: str = POOL,
    **extra: Any,
) -> dict[str, Any]:
    """ListRecords for a token, then UpdateRecords with ``patches``."""
    listed = await caller("list_records", IdentityPoolId=pool, IdentityId=identity,
                          DatasetName=dataset)
    return await caller(
        "update_records",
        IdentityPoolId=pool,
        IdentityId=identity,
        DatasetName=dataset,
        RecordPatches=patches,
        SyncSessionToken=listed["SyncSessionToken"],
        **extra,
    )


def replace(key: str, value: str, count: int = 0) -> dict[str, Any]:
    return {"Op": "replace", "Key": key, "Value": value, "SyncCount": count}


def remove(key: str, count: int) -> dict[str, Any]:
    return {"Op": "remove", "Key": key, "SyncCount": count}


async def raw_request(
    svc: LocalCognitoSync,
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes = b"",
    creds: Credentials | None = None,
    headers: dict[str, str] | None = None,
    extra_unsigned: dict[str, str] | None = None,
    sign: bool = True,
    when: datetime | None = None,
    tamper: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Send one request signed with the SDK's SigV4 functions; ``tamper`` edits it after."""
    creds = creds or svc.credentials
    when = when or datetime.now(timezone.utc)
    host = f"{svc.host}:{svc.port}"
    hdrs: dict[str, str] = {"host": host, "x-amz-date": _sigv4.amz_date(when)}
    if creds.session_token:
        hdrs["x-amz-security-token"] = creds.session_token
    if body:
        hdrs["content-type"] = "application/json"
    hdrs.update(headers or {})
    if sign:
        auth, _ = _sigv4.sign(
            method=method, path=path, query=query, headers=list(hdrs.items()), body=body,
            access_key_id=creds.access_key_id, secret_access_key=creds.secret_access_key,
            region=svc.region, service="cognito-sync", date=hdrs["x-amz-date"],
        )
        hdrs["authorization"] = auth
    req: dict[str, Any] = {"method": method, "path": path, "query": query, "body": body,
                           "headers": hdrs}
    if tamper is not None:
        tamper(req)
    send = {k: v for k, v in req["headers"].items() if k != "host"}
    send.update(extra_unsigned or {})
    url = f"{svc.endpoint_url}{req['path']}" + (f"?{req['query']}" if req["query"] else "")
    from yarl import URL

    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.request(
            req["method"], URL(url, encoded=True), headers=send,
            data=io.BytesIO(req["body"]) if len(req["body"]) > 1 << 20 else req["body"],
            skip_auto_headers=("Content-Type", "User-Agent"),
        ) as resp:
            return resp.status, dict(resp.headers), await resp.read()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
