"""Client lifecycle, endpoints, headers and the connection pool (the region: test_region.py)."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from support.httpserver import CREDS, DATASET, IDENTITY, POOL, Server, reply, serve

from cognitosync_async import (
    ClientStateError,
    CognitoSyncClient,
    CognitoSyncError,
    ResourceNotFoundException,
    ServiceError,
    __version__,
)

DATASET_BODY = {"Dataset": {"DatasetName": DATASET, "NumRecords": 2}}


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        s.handler = reply(200, DATASET_BODY)
        yield s


async def describe(client: CognitoSyncClient) -> Any:
    return await client.describe_dataset(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
    )


# ---------------------------------------------------------------- construction


def test_construction_outside_a_loop_does_no_io() -> None:
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()
    client = CognitoSyncClient("us-east-1", credentials=CREDS)
    assert client.session is None
    assert "us-east-1" in repr(client)


async def test_construction_inside_a_loop_opens_nothing(server: Server) -> None:
    client = server.client()
    assert client.session is None
    assert server.count == 0
    await client.close()
    assert client.session is None


def test_endpoint_url_overrides() -> None:
    client = CognitoSyncClient("us-east-1", endpoint_url="http://127.0.0.1:8910")
    assert client.endpoint_url == "http://127.0.0.1:8910"


@pytest.mark.parametrize("bad", [0, -1, 1.5])
def test_bad_max_attempts(bad: Any) -> None:
    with pytest.raises(ValueError):
        CognitoSyncClient("us-east-1", max_attempts=bad)


# ---------------------------------------------------------------- lifecycle


async def test_async_with_opens_and_closes(server: Server) -> None:
    client = server.client()
    async with client as entered:
        assert entered is client
        session = client.session
        assert isinstance(session, aiohttp.ClientSession)
        assert not session.closed
        await describe(client)
        await describe(client)
        assert client.session is session  # one pooled session for every call
    assert session.closed


async def test_first_call_opens_without_async_with(server: Server) -> None:
    client = server.client()
    resp = await describe(client)
    assert resp.dataset.num_records == 2
    assert client.session is not None and not client.session.closed
    await client.close()
    assert client.session.closed


async def test_close_is_idempotent(server: Server) -> None:
    client = server.client()
    await client.close()  # never opened
    await client.close()
    async with server.client() as other:
        await describe(other)
    await other.close()
    await other.close()


async def test_use_after_close_raises(server: Server) -> None:
    async with server.client() as client:
        await describe(client)
    with pytest.raises(ClientStateError) as info:
        await describe(client)
    assert isinstance(info.value, CognitoSyncError)
    assert isinstance(info.value, RuntimeError)
    assert "closed" in str(info.value)
    with pytest.raises(ClientStateError):
        async with client:
            pass
    assert server.count == 1


async def test_use_after_close_never_opened(server: Server) -> None:
    client = server.client()
    await client.close()
    with pytest.raises(ClientStateError, match="closed"):
        await describe(client)
    assert client.session is None
    assert server.count == 0


async def test_use_from_another_loop_raises(server: Server) -> None:
    async with server.client() as client:
        await describe(client)

        def in_other_loop() -> BaseException | None:
            async def call() -> None:
                await describe(client)

            try:
                asyncio.run(call())
            except BaseException as exc:  # noqa: BLE001 - handed back to the test
                return exc
            return None

        exc = await asyncio.to_thread(in_other_loop)
        assert isinstance(exc, ClientStateError)
        assert "loop" in str(exc)
        # still fine in its own loop
        await describe(client)
    assert server.count == 2


async def test_caller_session_is_used_and_not_closed(server: Server) -> None:
    async with aiohttp.ClientSession() as session:
        async with server.client(session=session) as client:
            assert client.session is session
            await describe(client)
        assert not session.closed
        # still usable by its owner
        async with session.get(server.url + "/ping") as resp:
            assert resp.status == 200
    assert server.count == 2


async def test_readme_use_leaves_no_warning(server: Server) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with CognitoSyncClient(
            "us-east-1", credentials=CREDS, endpoint_url=server.url
        ) as c:
            await c.describe_dataset(
                identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
            )
        del c
        gc.collect()
        await asyncio.sleep(0)
    assert [str(w.message) for w in caught] == []


async def test_close_without_async_with_leaves_no_warning(server: Server) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = server.client()
        await describe(client)
        await client.close()
        del client
        gc.collect()
        await asyncio.sleep(0)
    assert [str(w.message) for w in caught] == []


# ---------------------------------------------------------------- what goes on the wire


async def test_user_agent(server: Server) -> None:
    async with server.client(user_agent_extra="myapp/1.2") as client:
        await describe(client)
    ua = server.seen[0].headers["User-Agent"]
    assert ua.startswith(f"cognitosync-async/{__version__}")
    assert ua.endswith(" myapp/1.2")


async def test_request_id_surfaced_on_errors(server: Server) -> None:
    server.handler = reply(
        404, error="ResourceNotFoundException", headers={"x-amzn-RequestId": "req-1234"}
    )
    async with server.client() as client:
        with pytest.raises(ResourceNotFoundException) as info:
            await describe(client)
    err = info.value
    assert err.request_id == "req-1234"
    assert err.code == "ResourceNotFoundException"
    assert err.status_code == 404
    assert err.message == "ResourceNotFoundException message"
    assert err.operation == "DescribeDataset"
    assert "req-1234" in str(err) and "404" in str(err)


async def test_unknown_code_is_plain_service_error(server: Server) -> None:
    server.handler = reply(
        403, error="AccessDeniedException", headers={"x-amzn-RequestId": "req-9"}
    )
    async with server.client() as client:
        with pytest.raises(ServiceError) as info:
            await describe(client)
    assert type(info.value) is ServiceError
    assert info.value.request_id == "req-9"


async def test_connection_limit_honoured(server: Server) -> None:
    server.handler = reply(200, DATASET_BODY, delay=0.1)
    async with server.client(max_connections=2) as client:
        results = await asyncio.gather(*(describe(client) for _ in range(10)))
    assert len(results) == 10
    assert server.count == 10
    assert server.max_in_flight == 2


async def test_connections_are_reused(server: Server) -> None:
    ports: set[int] = set()

    async def remember(request: Any, seen: Any) -> Any:
        peer = request.transport.get_extra_info("peername")
        ports.add(peer[1])
        return await reply(200, DATASET_BODY)(request, seen)

    server.handler = remember
    async with server.client() as client:
        for _ in range(5):
            await describe(client)
    assert len(ports) == 1


async def test_compressing_server_is_not_asked_for_gzip(server: Server) -> None:
    # A server (or proxy) that honours Accept-Encoding: the SDK reads the body
    # undecoded, so it must ask for the identity coding, as boto3 does.
    async def compressing(request: Any, seen: Any) -> Any:
        resp = web.json_response({"Dataset": {"DatasetName": "zipped"}})
        resp.enable_compression()
        return resp

    server.handler = compressing
    async with server.client() as client:
        resp = await describe(client)
    assert resp.dataset.dataset_name == "zipped"
    assert server.seen[0].headers.get("Accept-Encoding", "identity") == "identity"


async def test_closed_caller_session_is_a_clear_error(server: Server) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    client = server.client(session=session)
    with pytest.raises(ClientStateError, match="session"):
        await describe(client)
    with pytest.raises(ClientStateError, match="session"):
        async with client:
            pass
    await client.close()
    assert server.count == 0


async def test_close_during_a_call_is_typed(server: Server) -> None:
    arrived = asyncio.Event()

    async def slow(request: Any, seen: Any) -> Any:
        arrived.set()
        return await reply(200, DATASET_BODY, delay=0.5)(request, seen)

    server.handler = slow
    client = server.client()
    task = asyncio.create_task(describe(client))
    await asyncio.wait_for(arrived.wait(), 2)
    await client.close()
    with pytest.raises(CognitoSyncError):
        await task


async def test_waiting_for_a_pooled_connection_is_not_a_connect_timeout(server: Server) -> None:
    server.handler = reply(200, DATASET_BODY, delay=0.5)
    # one attempt: a retry must not hide a failed wait (it never reaches the server)
    options: dict[str, Any] = {"max_connections": 1, "connect_timeout": 0.1, "max_attempts": 1}
    async with server.client(**options) as client:
        results = await asyncio.gather(describe(client), describe(client))
    assert [r.dataset.dataset_name for r in results] == [DATASET, DATASET]
    assert server.count == 2
    assert server.max_in_flight == 1

async def test_caller_session_sends_the_same_headers(server: Server) -> None:
    async with server.client() as client:
        await describe(client)
        await client.bulk_publish(identity_pool_id=POOL)
    async with aiohttp.ClientSession() as session:
        async with server.client(session=session) as client:
            await describe(client)
            await client.bulk_publish(identity_pool_id=POOL)
    own, theirs = server.seen[:2], server.seen[2:]
    for mine, caller in zip(own, theirs, strict=True):
        assert "Accept" not in caller.headers
        assert caller.headers["Accept-Encoding"] == "identity"
        assert sorted(k.lower() for k in caller.headers) == sorted(
            k.lower() for k in mine.headers
        )
        assert mine.headers.get("Content-Type") == caller.headers.get("Content-Type")
