"""Run an async function over many items with bounded concurrency.

``fan_out`` yields one ``FanOutResult`` per item as it completes, holding
its value or its error: one failure never aborts the batch. It pulls items
lazily (a generator of a million identities is never materialised), keeps
at most ``concurrency`` calls in flight, optionally caps calls a second,
and cancels what is in flight if the consumer stops early.

It returns a small iterator object rather than an async generator: an
async generator abandoned by ``break`` is finalised later, by a task the
event loop schedules, so the calls in flight would go on running after the
``break``. The object cancels them as soon as it is dropped, and
``async with fan_out(...) as results:`` (or ``await results.aclose()``)
also waits for them to finish.
"""

from __future__ import annotations

import asyncio
import collections
import math
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import attrs

from ._exceptions import ParamValidationError
from ._ratelimit import TokenBucket

T = TypeVar("T")
R = TypeVar("R")


@attrs.define
class FanOutResult(Generic[T, R]):
    """One item's outcome: ``value`` when ``ok``, else ``error`` (never raised)."""

    item: T
    value: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> R:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def _retrieve(task: asyncio.Task[Any]) -> None:
    # A task abandoned after an early exit may still end with an error: mark
    # it retrieved so asyncio does not log "exception was never retrieved".
    if not task.cancelled():
        task.exception()


async def _call(bucket: TokenBucket | None, fn: Callable[[T], Awaitable[R]], item: T) -> R:
    if bucket is not None:
        await bucket.acquire()
    return await fn(item)


def _positive_finite(rate: Any) -> bool:
    """Whether ``rate`` is a real number (int or float, not bool), finite and > 0."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        return False
    try:
        rate = float(rate)
    except OverflowError:  # an int too large for a float
        return False
    return math.isfinite(rate) and rate > 0


class FanOut(AsyncIterator[FanOutResult[T, R]], Generic[T, R]):
    """The iterator ``fan_out`` returns (also an async context manager)."""

    def __init__(
        self,
        items: Iterable[T] | AsyncIterable[T],
        fn: Callable[[T], Awaitable[R]],
        *,
        concurrency: int,
        rate: float | None,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ParamValidationError("concurrency", "must be an integer >= 1")
        if rate is not None and not _positive_finite(rate):
            raise ParamValidationError("rate", "must be None or a finite number > 0 calls a second")
        self._fn = fn
        self._concurrency = concurrency
        self._bucket = TokenBucket(rate, burst=1.0) if rate else None
        self._sync: Iterator[T] | None = None
        self._async: AsyncIterator[T] | None = None
        if isinstance(items, AsyncIterable):
            self._async = items.__aiter__()
        else:
            self._sync = iter(items)
        self._running: dict[asyncio.Task[R], T] = {}
        self._ready: collections.deque[FanOutResult[T, R]] = collections.deque()
        self._exhausted = False
        self._source_error: BaseException | None = None
        self._closed = False

    @property
    def in_flight(self) -> int:
        """Calls started and not yet finished."""
        return len(self._running)

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> FanOut[T, R]:
        return self

    async def _next_item(self) -> tuple[bool, T | None]:
        try:
            if self._async is not None:
                return True, await self._async.__anext__()
            assert self._sync is not None
            return True, next(self._sync)
        except (StopIteration, StopAsyncIteration):
            self._exhausted = True
        except Exception as exc:  # the source failed: finish what runs, then raise it
            self._exhausted = True
            self._source_error = exc
        return False, None

    async def _fill(self) -> None:
        while not self._exhausted and len(self._running) < self._concurrency:
            got, item = await self._next_item()
            if not got:
                return
            # the task must not refer to self, or a dropped FanOut would never be freed
            task: asyncio.Task[R] = asyncio.ensure_future(
                _call(self._bucket, self._fn, item)  # type: ignore[arg-type]
            )
            task.add_done_callback(_retrieve)
            self._running[task] = item  # type: ignore[assignment]

    async def __anext__(self) -> FanOutResult[T, R]:
        while not self._ready:
            if self._closed:
                raise StopAsyncIteration
            await self._fill()
            if not self._running:
                if self._source_error is not None:
                    err, self._source_error = self._source_error, None
                    self._closed = True
                    raise err
                self._closed = True
                raise StopAsyncIteration
            done, _ = await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                item = self._running.pop(task)
                if task.cancelled():
                    self._ready.append(FanOutResult(item, None, asyncio.CancelledError()))
                elif (exc := task.exception()) is not None:
                    self._ready.append(FanOutResult(item, None, exc))
                else:
                    self._ready.append(FanOutResult(item, task.result()))
        return self._ready.popleft()

    # ------------------------------------------------------------------ stopping

    def cancel(self) -> None:
        """Stop: cancel every call in flight and start no other (does not wait)."""
        self._closed = True
        self._exhausted = True
        for task in self._running:
            task.cancel()

    async def aclose(self) -> None:
        """Cancel every call in flight and wait until they have all finished."""
        self.cancel()
        running, self._running = list(self._running), {}
        if running:
            await asyncio.wait(running)
        aclose = getattr(self._async, "aclose", None)
        if aclose is not None:
            await aclose()

    def __del__(self) -> None:
        # Dropped by an early ``break``: cancel at once, not at garbage collection's leisure.
        for task in getattr(self, "_running", ()):
            try:
                task.cancel()
            except RuntimeError:  # the loop is already closed
                pass

    async def __aenter__(self) -> FanOut[T, R]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def fan_out(
    items: Iterable[T] | AsyncIterable[T],
    fn: Callable[[T], Awaitable[R]],
    *,
    concurrency: int = 32,
    rate: float | None = None,
) -> FanOut[T, R]:
    """``fn(item)`` for every item, at most ``concurrency`` at once and at most
    ``rate`` calls started a second; one ``FanOutResult`` per item, in completion order.

    ::

        async with fan_out(identity_ids, export_one, concurrency=16, rate=50) as results:
            async for result in results:
                if result.ok: ...
                else: log(result.item, result.error)

    Items are drawn from ``items`` (an iterable or async iterable) only as
    slots free up. If ``items`` itself raises, the calls in flight finish
    and are yielded, then the error is raised.
    """
    return FanOut(items, fn, concurrency=concurrency, rate=rate)
