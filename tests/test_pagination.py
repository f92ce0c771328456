"""The ``iter_*`` paginators against a scripted paging server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.httpserver import DATASET, IDENTITY, POOL, Seen, Server, reply, serve

from cognitosync_async import (
    ClientStateError,
    CognitoSyncClient,
    CognitoSyncError,
    Dataset,
    IdentityPoolUsage,
    ListRecordsResponse,
    PaginationError,
    ParamValidationError,
    Record,
    RecordPaginator,
)

NULL = object()  # a page whose NextToken is an explicit JSON null


class Pager:
    """Serves ``pages`` (lists of item numbers) of whichever list operation is
    called; page n is fetched with ``nextToken=tokens[n]`` (None for the first)."""

    def __init__(self, pages: list[list[int]], tokens: list[str] | None = None,
                 last: object = None) -> None:
        self.pages = pages
        self.tokens: list[str | None] = [None, *(tokens or [f"t{n}" for n in
                                                          range(1, len(pages))])]
        self.last = last  # None: the last page has no NextToken; NULL: it is null

    def body(self, kind: str, page_no: int, max_results: str | None) -> dict[str, Any]:
        items = self.pages[page_no]
        out: dict[str, Any] = {"Count": len(items)}
        if kind == "records":
            out["Records"] = [
                {"Key": f"k{i}", "Value": f"v{i}", "SyncCount": i, "LastModifiedDate": 1.5e9}
                for i in items
            ]
            out.update(
                SyncSessionToken=f"session-{page_no}",
                DatasetSyncCount=100 + page_no,
                DatasetExists=True,
                MergedDatasetNames=[f"merged-{page_no}"],
                LastModifiedBy="someone",
            )
        elif kind == "datasets":
            out["Datasets"] = [{"DatasetName": f"d{i}", "NumRecords": i} for i in items]
        else:
            out["IdentityPoolUsages"] = [
                {"IdentityPoolId": f"us-east-1:{i:08x}", "SyncSessionsCount": i} for i in items
            ]
            if max_results is not None:
                out["MaxResults"] = int(max_results)
        if page_no + 1 < len(self.pages):
            out["NextToken"] = self.tokens[page_no + 1]
        elif self.last is NULL:
            out["NextToken"] = None
        return out

    async def __call__(self, request: web.Request, seen: Seen) -> web.StreamResponse:
        query = dict(parse_qsl(seen.query, keep_blank_values=True))
        token = query.get("nextToken")
        if token not in self.tokens:
            return web.json_response({"message": f"bad token {token!r}"}, status=400,
                                     headers={"x-amzn-ErrorType": "InvalidParameterException"})
        kind = (
            "records" if seen.path.endswith("/records")
            else "datasets" if seen.path.endswith("/datasets")
            else "usage"
        )
        body = self.body(kind, self.tokens.index(token), query.get("maxResults"))
        return web.Response(body=json.dumps(body), content_type="application/json")


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with serve() as s:
        yield s


def records(client: CognitoSyncClient, **kwargs: Any) -> RecordPaginator:
    return client.iter_records(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET, **kwargs
    )


def keys(items: list[Record]) -> list[int]:
    return [int(r.key[1:]) for r in items]  # type: ignore[index]


def tokens_sent(server: Server) -> list[str | None]:
    return [dict(parse_qsl(s.query)).get("nextToken") for s in server.seen]


# ---------------------------------------------------------------- following nextToken


async def test_records_follow_next_token_through_empty_pages(server: Server) -> None:
    server.handler = Pager([[0, 1], [], [], [2], [], [3, 4, 5], []])
    async with server.client() as client:
        got = [r async for r in records(client)]
    assert keys(got) == [0, 1, 2, 3, 4, 5]
    assert all(isinstance(r, Record) and r.value == f"v{r.sync_count}" for r in got)
    assert server.count == 7
    assert tokens_sent(server) == [None, "t1", "t2", "t3", "t4", "t5", "t6"]


async def test_all_empty_pages(server: Server) -> None:
    server.handler = Pager([[], [], []])
    async with server.client() as client:
        paginator = records(client)
        assert [r async for r in paginator] == []
        assert paginator.next_token is None
    assert server.count == 3


@pytest.mark.parametrize("last", [None, NULL])
async def test_stops_at_absent_or_null_next_token(server: Server, last: object) -> None:
    pager = Pager([[0], [1]], last=last)
    server.handler = pager
    async with server.client() as client:
        paginator = records(client)
        got = [r async for r in paginator]
        raw = json.loads(json.dumps(pager.body("records", 1, None)))
        assert ("NextToken" in raw) is (last is NULL)
    assert keys(got) == [0, 1]
    assert server.count == 2
    assert paginator.next_token is None


async def test_datasets(server: Server) -> None:
    server.handler = Pager([[0, 1], [2], []])
    async with server.client() as client:
        paginator = client.iter_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
        got = [d async for d in paginator]
    assert all(isinstance(d, Dataset) for d in got)
    assert [d.dataset_name for d in got] == ["d0", "d1", "d2"]
    assert all(s.path.endswith("/datasets") for s in server.seen)
    assert server.count == 3


async def test_identity_pool_usage(server: Server) -> None:
    server.handler = Pager([[1, 2], [3]])
    async with server.client() as client:
        paginator = client.iter_identity_pool_usage(page_size=2)
        got = [u async for u in paginator]
        pages = [p async for p in client.iter_identity_pool_usage(page_size=2).pages()]
    assert all(isinstance(u, IdentityPoolUsage) for u in got)
    assert [u.sync_sessions_count for u in got] == [1, 2, 3]
    assert all(s.path == "/identitypools" for s in server.seen)
    assert [p.max_results for p in pages] == [2, 2]


async def test_page_size_is_max_results(server: Server) -> None:
    server.handler = Pager([[0, 1, 2], [3, 4, 5], [6]])
    async with server.client() as client:
        got = [r async for r in records(client, page_size=3, last_sync_count=0)]
    assert keys(got) == list(range(7))
    for seen in server.seen:
        query = dict(parse_qsl(seen.query))
        assert query["maxResults"] == "3"
        assert query["lastSyncCount"] == "0"


async def test_no_page_size_sends_no_max_results(server: Server) -> None:
    server.handler = Pager([[0]])
    async with server.client() as client:
        [r async for r in records(client)]
    assert "maxResults" not in server.seen[0].query


async def test_pages_yields_whole_responses(server: Server) -> None:
    server.handler = Pager([[0, 1], [], [2]])
    async with server.client() as client:
        pages = [p async for p in records(client).pages()]
    assert all(isinstance(p, ListRecordsResponse) for p in pages)
    assert [keys(p.records or []) for p in pages] == [[0, 1], [], [2]]
    assert [p.next_token for p in pages] == ["t1", "t2", None]
    assert [p.sync_session_token for p in pages] == ["session-0", "session-1", "session-2"]


async def test_metadata_during_and_after_iteration(server: Server) -> None:
    server.handler = Pager([[0, 1], [2]])
    async with server.client() as client:
        paginator = records(client)
        assert paginator.next_token is None
        assert paginator.sync_session_token is None
        seen_meta: list[tuple[str | None, int | None, str | None]] = []
        async for _ in paginator:
            seen_meta.append(
                (paginator.sync_session_token, paginator.dataset_sync_count,
                 paginator.next_token)
            )
        assert seen_meta[0][:2] == ("session-0", 100)
        assert seen_meta[2] == ("session-1", 101, None)
        assert paginator.next_token is None
        assert paginator.sync_session_token == "session-1"
        assert paginator.dataset_sync_count == 101
        assert paginator.dataset_exists is True
        assert paginator.merged_dataset_names == ["merged-1"]
        assert paginator.last_modified_by == "someone"
        assert isinstance(paginator.last_page, ListRecordsResponse)


async def test_paginator_iterates_once(server: Server) -> None:
    server.handler = Pager([[0]])
    async with server.client() as client:
        paginator = records(client)
        [r async for r in paginator]
        with pytest.raises(RuntimeError):
            [r async for r in paginator]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_bad_max_items(bad: Any) -> None:
    client = CognitoSyncClient("us-east-1", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(ParamValidationError):
        records(client, max_items=bad)


# ---------------------------------------------------------------- max_items and resuming


async def test_max_items_mid_page_then_resume(server: Server) -> None:
    server.handler = Pager([[0, 1, 2], [3, 4, 5], [6]])
    async with server.client() as client:
        first = records(client, max_items=4)
        got = [r async for r in first]
        assert keys(got) == [0, 1, 2, 3]
        token = first.next_token
        assert token is not None and token not in ("t1", "t2")  # opaque resume token
        assert server.count == 2  # stopped without fetching page 3

        second = records(client, starting_token=token)
        rest = [r async for r in second]
        assert keys(rest) == [4, 5, 6]
        assert second.next_token is None
    assert tokens_sent(server)[2:] == ["t1", "t2"]


async def test_max_items_at_page_end_gives_service_token(server: Server) -> None:
    server.handler = Pager([[0, 1], [2, 3]])
    async with server.client() as client:
        first = records(client, max_items=2)
        assert keys([r async for r in first]) == [0, 1]
        assert first.next_token == "t1"
    assert server.count == 1


async def test_max_items_on_first_page_resumes_from_start(server: Server) -> None:
    server.handler = Pager([[0, 1, 2], [3]])
    async with server.client() as client:
        first = records(client, max_items=1)
        assert keys([r async for r in first]) == [0]
        again = records(client, starting_token=first.next_token)
        assert keys([r async for r in again]) == [1, 2, 3]
    assert tokens_sent(server) == [None, None, "t1"]


async def test_max_items_pages_trimmed(server: Server) -> None:
    server.handler = Pager([[0, 1, 2], [3, 4, 5]])
    async with server.client() as client:
        paginator = records(client, max_items=4)
        pages = [p async for p in paginator.pages()]
        assert [keys(p.records or []) for p in pages] == [[0, 1, 2], [3]]
        rest = records(client, starting_token=paginator.next_token)
        assert keys([r async for r in rest]) == [4, 5]


async def test_plain_service_token_as_starting_token(server: Server) -> None:
    server.handler = Pager([[0, 1], [2, 3], [4]])
    async with server.client() as client:
        got = [r async for r in records(client, starting_token="t1")]
    assert keys(got) == [2, 3, 4]
    assert tokens_sent(server) == ["t1", "t2"]


@pytest.mark.parametrize(
    "token", ["a+b/c=d", "100% done", "x y", "==", "+/+/", "%2F", "ünï", "a&b=c?d#e"]
)
async def test_tokens_round_trip_exactly(server: Server, token: str) -> None:
    server.handler = Pager([[0], [1], [2]], tokens=[token, token + "/2"])
    async with server.client() as client:
        got = [r async for r in records(client)]
        assert keys(got) == [0, 1, 2]
        # and a resume token wrapping it round-trips too
        first = records(client, max_items=1, page_size=None)
        [r async for r in first]
        resume = records(client, starting_token=first.next_token)
        assert keys([r async for r in resume]) == [1, 2]
    assert server.seen[1].query == "nextToken=" + quote(token, safe="~")
    assert server.seen[2].query == "nextToken=" + quote(token + "/2", safe="~")
    assert tokens_sent(server)[:3] == [None, token, token + "/2"]


def test_resume_property() -> None:
    """Random pages, random max_items: resuming repeatedly yields every item
    exactly once, in order."""

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        page_sizes=st.lists(st.integers(0, 5), min_size=1, max_size=6),
        max_items=st.integers(1, 7),
        use_pages=st.booleans(),
    )
    def check(page_sizes: list[int], max_items: int, use_pages: bool) -> None:
        pages: list[list[int]] = []
        n = 0
        for size in page_sizes:
            pages.append(list(range(n, n + size)))
            n += size

        async def run() -> None:
            async with serve() as server:
                server.handler = Pager(pages)
                async with server.client() as client:
                    collected: list[int] = []
                    token: str | None = None
                    for _ in range(n + len(pages) + 2):
                        paginator = records(client, max_items=max_items, starting_token=token)
                        if use_pages:
                            got = [
                                r for p in [p async for p in paginator.pages()]
                                for r in (p.records or [])
                            ]
                        else:
                            got = [r async for r in paginator]
                        assert len(got) <= max_items
                        collected += keys(got)
                        token = paginator.next_token
                        if token is None:
                            break
                    assert collected == list(range(n))
                    assert token is None

        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(run())
        finally:
            loop.close()

    check()


# ---------------------------------------------------------------- early break, no prefetch


async def test_early_break_leaves_nothing_running(server: Server) -> None:
    server.handler = Pager([[0, 1, 2], [3, 4], [5]])
    async with server.client() as client:
        await client.list_records(  # warm the pool so no connector task is new
            identity_pool_id=POOL, identity_id=IDENTITY, dataset_name=DATASET
        )
        server.seen.clear()
        before = asyncio.all_tasks()
        paginator = records(client)
        async for record in paginator:
            if record.key == "k1":
                break
        for _ in range(3):
            await asyncio.sleep(0)
        after = asyncio.all_tasks()
        assert {t for t in after - before if not t.done()} == set()
        await asyncio.sleep(0.05)
        assert server.count == 1  # no prefetch of page 2
        # the break left an exact resume point
        rest = records(client, starting_token=paginator.next_token)
        assert keys([r async for r in rest]) == [2, 3, 4, 5]


async def test_pages_break_no_prefetch(server: Server) -> None:
    server.handler = Pager([[0], [1], [2]])
    async with server.client() as client:
        async for page in records(client).pages():
            assert keys(page.records or []) == [0]
            await asyncio.sleep(0.05)  # give a would-be prefetch time to show
            assert server.count == 1
            break
        await asyncio.sleep(0.05)
    assert server.count == 1


async def test_one_request_per_page_consumed(server: Server) -> None:
    server.handler = Pager([[0, 1], [2, 3], [4, 5]])
    async with server.client() as client:
        paginator = records(client)
        async for record in paginator:
            assert server.count == int(record.key[1:]) // 2 + 1  # type: ignore[index]


# ---------------------------------------------------------------- a repeated nextToken


GUARD = 30  # seconds: bounds the test only, reached if the paginator loops forever


def same_token_forever(kind: str) -> Any:
    """Every page answers ``NextToken: "again"``, whatever token fetched it."""

    async def respond(request: web.Request, seen: Seen) -> web.StreamResponse:
        body: dict[str, Any] = {"NextToken": "again", "Count": 1}
        if kind == "records":
            body.update(Records=[{"Key": "k", "Value": "v", "SyncCount": 1}],
                        SyncSessionToken="s", DatasetSyncCount=1, DatasetExists=True)
        elif kind == "datasets":
            body["Datasets"] = [{"DatasetName": "d"}]
        else:
            body["IdentityPoolUsages"] = [{"IdentityPoolId": "us-east-1:0000000a"}]
        return web.Response(body=json.dumps(body), content_type="application/json")

    return respond


@pytest.mark.parametrize("kind", ["records", "datasets", "usage"])
async def test_repeated_next_token_raises(server: Server, kind: str) -> None:
    server.handler = same_token_forever(kind)
    async with server.client() as client:
        if kind == "records":
            pager: Any = records(client)
        elif kind == "datasets":
            pager = client.iter_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
        else:
            pager = client.iter_identity_pool_usage()
        got = []

        async def walk() -> None:
            async for item in pager:
                got.append(item)

        with pytest.raises(PaginationError, match="The same next token was received twice"):
            await asyncio.wait_for(walk(), GUARD)
    # as botocore: the first page ("" -> again) and the repeated one ("again" ->
    # again) are yielded, then the third request is never sent
    assert len(got) == 2 and tokens_sent(server) == [None, "again"]
    assert isinstance(PaginationError("x"), CognitoSyncError)


async def test_repeated_next_token_in_pages(server: Server) -> None:
    server.handler = same_token_forever("records")
    async with server.client() as client:
        pager = records(client, starting_token="again")

        async def walk() -> None:
            async for _ in pager.pages():
                pass

        with pytest.raises(PaginationError) as info:
            await asyncio.wait_for(walk(), GUARD)
    assert info.value.token == "again" and info.value.operation == "ListRecords"
    assert server.count == 1


async def test_dataset_handle_stops_on_a_repeated_next_token(server: Server) -> None:
    server.handler = same_token_forever("records")
    async with server.client() as client:
        handle = client.dataset(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="d")
        for action in (handle.get(), handle.pull(), handle.put({"k": "w"})):
            before = server.count
            with pytest.raises(PaginationError):
                await asyncio.wait_for(action, GUARD)
            assert server.count - before == 2


async def test_a_token_that_changes_is_followed(server: Server) -> None:
    """Only the token that fetched a page counts: t1 -> t2 -> t1 is not refused here
    (botocore compares with the previous token only; memory stays one page)."""
    server.handler = Pager([[1], [2], [3]], tokens=["t1", "t2"])
    async with server.client() as client:
        assert keys([r async for r in records(client)]) == [1, 2, 3]


async def test_paginator_iterated_twice(server: Server) -> None:
    server.handler = reply(200, {"Datasets": [], "Count": 0})
    async with server.client() as client:
        pager = client.iter_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
        assert [d async for d in pager] == []
        with pytest.raises(ClientStateError, match="once"):
            async for _ in pager:
                pass
    assert server.count == 1
