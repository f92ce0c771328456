"""The floor: the least an honest Cognito Sync client can do per call.

One ``aiohttp.ClientSession``; SigV4 with ``hmac``/``hashlib`` (signing key
cached per day, nothing else cached across calls); path labels percent-encoded
with ``urllib.parse.quote``; ``json.dumps`` bodies; ``json.loads`` answers
returned as plain dicts (no models, no validation, no retries). The bytes on
the wire are the ones the service expects (double-encoded canonical URI,
``host;x-amz-date`` or ``content-type;host;x-amz-date`` signed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

_EMPTY = hashlib.sha256(b"").hexdigest()


class FloorError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:200]!r}")
        self.status = status


class FloorClient:
    def __init__(
        self, endpoint: str, region: str, access_key: str, secret: str, limit: int = 100
    ) -> None:
        self.base = endpoint.rstrip("/")
        self.host = URL(endpoint).raw_authority
        self.region = region
        self.access_key = access_key
        self.secret = secret
        self.limit = limit
        self.session: aiohttp.ClientSession | None = None
        self._key: tuple[str, bytes] = ("", b"")

    async def __aenter__(self) -> FloorClient:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.limit))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    def _signing_key(self, day: str) -> bytes:
        if self._key[0] != day:
            k = hmac.new(("AWS4" + self.secret).encode(), day.encode(), hashlib.sha256).digest()
            for part in (self.region, "cognito-sync", "aws4_request"):
                k = hmac.new(k, part.encode(), hashlib.sha256).digest()
            self._key = (day, k)
        return self._key[1]

    async def request(
        self, method: str, path: str, query: str = "", body: bytes = b""
    ) -> dict[str, Any]:
        amz = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        day = amz[:8]
        if body:
            headers = {"Content-Type": "application/json", "X-Amz-Date": amz}
            block = f"content-type:application/json\nhost:{self.host}\nx-amz-date:{amz}\n"
            signed = "content-type;host;x-amz-date"
            payload_hash = hashlib.sha256(body).hexdigest()
        else:
            headers = {"X-Amz-Date": amz}
            block = f"host:{self.host}\nx-amz-date:{amz}\n"
            signed = "host;x-amz-date"
            payload_hash = _EMPTY
        creq = f"{method}\n{quote(path, safe='/~')}\n{query}\n{block}\n{signed}\n{payload_hash}"
        scope = f"{day}/{self.region}/cognito-sync/aws4_request"
        sts = f"AWS4-HMAC-SHA256\n{amz}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
        sig = hmac.new(self._signing_key(day), sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={signed}, Signature={sig}"
        )
        url = self.base + path + ("?" + query if query else "")
        assert self.session is not None
        async with self.session.request(
            method, URL(url, encoded=True), headers=headers, data=body or None
        ) as resp:
            data = await resp.read()
            if resp.status != 200:
                raise FloorError(resp.status, data)
        result: dict[str, Any] = json.loads(data)
        return result

    # ------------------------------------------------------------ the operations used

    @staticmethod
    def _dataset_path(pool: str, identity: str, dataset: str) -> str:
        return (
            f"/identitypools/{quote(pool, safe='~')}/identities/{quote(identity, safe='~')}"
            f"/datasets/{quote(dataset, safe='~')}"
        )

    async def describe_dataset(self, pool: str, identity: str, dataset: str) -> dict[str, Any]:
        return await self.request("GET", self._dataset_path(pool, identity, dataset))

    async def list_records(
        self,
        pool: str,
        identity: str,
        dataset: str,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        q = []  # already in canonical (sorted) order
        if max_results is not None:
            q.append(f"maxResults={max_results}")
        if next_token is not None:
            q.append(f"nextToken={quote(next_token, safe='~')}")
        path = self._dataset_path(pool, identity, dataset) + "/records"
        return await self.request("GET", path, "&".join(q))

    async def update_records(
        self,
        pool: str,
        identity: str,
        dataset: str,
        patches: list[dict[str, Any]],
        sync_session_token: str,
    ) -> dict[str, Any]:
        body = json.dumps({"RecordPatches": patches, "SyncSessionToken": sync_session_token})
        return await self.request(
            "POST", self._dataset_path(pool, identity, dataset), body=body.encode()
        )
