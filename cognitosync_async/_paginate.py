"""Async iterators over the three list operations, following ``nextToken``.

A paginator is a small object: iterate it for items, or ``.pages()`` for
whole responses. It fetches one page at a time (never ahead), holds no
response open across a ``yield``, follows ``nextToken`` through empty pages,
and keeps the last page's metadata. With ``max_items`` it stops partway
through a page and ``next_token`` becomes a resume token (service token plus
offset, as botocore's paginators do) that ``starting_token`` accepts.
A page whose ``nextToken`` is the token that fetched it would loop forever:
as botocore does, that page is yielded and the next step raises
``PaginationError``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

from ._exceptions import ClientStateError, PaginationError, ParamValidationError
from ._models import (
    Dataset,
    IdentityPoolUsage,
    ListDatasetsResponse,
    ListIdentityPoolUsageResponse,
    ListRecordsResponse,
    Record,
)

P = TypeVar("P")
T = TypeVar("T")


def encode_resume_token(service_token: str | None, skip: int) -> str:
    payload = {"nextToken": service_token, "boto_truncate_amount": skip}
    return base64.b64encode(json.dumps(payload).encode("utf-8")).decode("ascii")


def decode_starting_token(token: str) -> tuple[str | None, int]:
    """``(service token, items to skip)``: a resume token or a plain service token."""
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True)
        data = json.loads(raw)
    except (ValueError, UnicodeError, binascii.Error):
        return token, 0
    if isinstance(data, dict) and "boto_truncate_amount" in data:
        skip = data["boto_truncate_amount"]
        inner = data.get("nextToken")
        if isinstance(skip, int) and skip >= 0 and (inner is None or isinstance(inner, str)):
            return inner, skip
    return token, 0


class Paginator(Generic[P, T]):
    """Base of the ``iter_*`` paginators."""

    _items_attr: str

    def __init__(
        self,
        fetch: Callable[..., Awaitable[P]],
        kwargs: dict[str, Any],
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        starting_token: str | None = None,
    ) -> None:
        if max_items is not None and (
            not isinstance(max_items, int) or isinstance(max_items, bool) or max_items < 1
        ):
            raise ParamValidationError("max_items", "must be a positive integer")
        if starting_token is not None and not isinstance(starting_token, str):
            raise ParamValidationError("starting_token", "must be a string")
        self._fetch = fetch
        self._kwargs = kwargs
        self._page_size = page_size
        self._max_items = max_items
        self._starting_token = starting_token
        self._started = False
        #: The last page fetched (None before the first).
        self.last_page: P | None = None
        # Where the walk stands: the token that fetched the current page, its
        # full length, how many of its items are consumed, and its nextToken.
        self._page_token: str | None = None
        self._page_len = 0
        self._consumed = 0
        self._service_next: str | None = None  # set with each page (read only after one)
        # What ``_next_page`` fetches next: (service token, items to skip), None when done.
        self._pending: tuple[str | None, int] | None = None
        self._remaining = max_items

    @property
    def next_token(self) -> str | None:
        """Where to resume: exactly after the last item yielded (None when done)."""
        if self.last_page is None:
            return self._starting_token
        if self._consumed < self._page_len:
            return encode_resume_token(self._page_token, self._consumed)
        return self._service_next

    def pages(self) -> AsyncIterator[P]:
        """Whole pages; with ``max_items`` the last page is trimmed to it."""
        return _Pages(self)

    def __aiter__(self) -> AsyncIterator[T]:
        return _Items(self)

    # Iteration is driven by small iterator objects, not async generators: an
    # async generator abandoned by an early ``break`` is closed later by a task
    # the event loop schedules, so something would still run after the break.

    def _claim(self) -> None:
        if self._started:
            raise ClientStateError("a paginator can be iterated once; make a new one")
        self._started = True
        self._pending = (None, 0)
        if self._starting_token is not None:
            self._pending = decode_starting_token(self._starting_token)
        self._remaining = self._max_items

    async def _next_page(self) -> tuple[P, int, int] | None:
        """The next page with its items trimmed to what is to be yielded, and the
        index range (start, end) of those items in the service's page; None when done."""
        if self._pending is None:
            return None
        token, skip = self._pending
        if skip < 0:  # the previous page answered with the token that fetched it
            self._pending = None
            assert token is not None
            raise PaginationError(token, _operation(self._fetch))
        self._pending = None  # a failed fetch ends the iteration
        page = await self._fetch(**self._kwargs, next_token=token, max_results=self._page_size)
        items = getattr(page, self._items_attr) or []
        self.last_page = page
        self._page_token = token
        self._page_len = len(items)
        self._consumed = skip
        self._service_next = getattr(page, "next_token", None)
        end = len(items)
        if self._remaining is not None:
            end = min(end, skip + self._remaining)
            self._remaining -= max(0, end - skip)
        if skip or end < len(items):
            setattr(page, self._items_attr, items[skip:end])
        if self._service_next and self._remaining != 0:
            # skip -1 marks a token repeated: raised when the next page is asked for
            self._pending = (self._service_next, -1 if self._service_next == token else 0)
        return page, skip, end


def _operation(fetch: Callable[..., Any]) -> str | None:
    """``ListRecords`` for ``client.list_records`` (for the error message)."""
    name = getattr(fetch, "__name__", None)
    return "".join(part.title() for part in name.split("_")) if name else None


class _Pages(Generic[P]):
    def __init__(self, paginator: Paginator[P, Any]) -> None:
        self._paginator = paginator
        self._claimed = False

    def __aiter__(self) -> _Pages[P]:
        return self

    async def __anext__(self) -> P:
        pg = self._paginator
        if not self._claimed:
            pg._claim()
            self._claimed = True
        step = await pg._next_page()
        if step is None:
            raise StopAsyncIteration
        page, _, last = step
        pg._consumed = last
        return page


class _Items(Generic[T]):
    def __init__(self, paginator: Paginator[Any, T]) -> None:
        self._paginator = paginator
        self._claimed = False
        self._items: list[T] = []
        self._pos = 0
        self._first = 0

    def __aiter__(self) -> _Items[T]:
        return self

    async def __anext__(self) -> T:
        pg = self._paginator
        if not self._claimed:
            pg._claim()
            self._claimed = True
        while self._pos >= len(self._items):
            step = await pg._next_page()
            if step is None:
                self._items = []
                raise StopAsyncIteration
            page, self._first, _ = step
            self._items = getattr(page, pg._items_attr) or []
            self._pos = 0
        item = self._items[self._pos]
        self._pos += 1
        pg._consumed = self._first + self._pos
        return item


class DatasetPaginator(Paginator[ListDatasetsResponse, Dataset]):
    _items_attr = "datasets"


class IdentityPoolUsagePaginator(Paginator[ListIdentityPoolUsageResponse, IdentityPoolUsage]):
    _items_attr = "identity_pool_usages"


class RecordPaginator(Paginator[ListRecordsResponse, Record]):
    """Records of a dataset; the last page's sync metadata is kept."""

    _items_attr = "records"

    @property
    def sync_session_token(self) -> str | None:
        return self.last_page.sync_session_token if self.last_page else None

    @property
    def dataset_sync_count(self) -> int | None:
        return self.last_page.dataset_sync_count if self.last_page else None

    @property
    def dataset_exists(self) -> bool | None:
        return self.last_page.dataset_exists if self.last_page else None

    @property
    def dataset_deleted_after_requested_sync_count(self) -> bool | None:
        page = self.last_page
        return page.dataset_deleted_after_requested_sync_count if page else None

    @property
    def merged_dataset_names(self) -> list[str] | None:
        return self.last_page.merged_dataset_names if self.last_page else None

    @property
    def last_modified_by(self) -> str | None:
        return self.last_page.last_modified_by if self.last_page else None
