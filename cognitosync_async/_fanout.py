"""Run an async function over many items with bounded concurrency.

``fan_out`` yields one ``FanOutResult`` per item as it completes, holding
its value or its error: one failure never aborts the batch. It pulls items
lazily (a generator of a million identities is never materialised), keeps
at most ``concurrency`` calls in flight, optionally caps calls a second,
and cancels what is in flight if the consumer stops early.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

import attrs

from ._ratelimit import TokenBucket

T = TypeVar("T")
R = TypeVar("R")


@attrs.define
class FanOutResult(Generic[T, R]):
    item: T
    value: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def _aiter(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def fan_out(
    items: Iterable[T] | AsyncIterable[T],
    fn: Callable[[T], Awaitable[R]],
    *,
    concurrency: int = 32,
    rate: float | None = None,
) -> AsyncIterator[FanOutResult[T, R]]:
    """``fn(item)`` for every item, at most ``concurrency`` at once and at most
    ``rate`` starts a second; results in completion order."""
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    bucket = TokenBucket(rate, burst=1.0) if rate else None
    source = _aiter(items)
    running: dict[asyncio.Task[Any], T] = {}
    exhausted = False

    async def call(item: T) -> R:
        if bucket is not None:
            await bucket.acquire()
        return await fn(item)

    try:
        while True:
            while not exhausted and len(running) < concurrency:
                try:
                    item = await source.__anext__()
                except StopAsyncIteration:
                    exhausted = True
                    break
                running[asyncio.ensure_future(call(item))] = item
            if not running:
                return
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                item = running.pop(task)
                exc = asyncio.CancelledError() if task.cancelled() else task.exception()
                if exc is None:
                    yield FanOutResult(item, task.result())
                else:
                    yield FanOutResult(item, None, exc)
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
