"""fan_out: bounded concurrency, errors yielded, early exit, laziness, rate cap."""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any

import pytest

from cognitosync_async import (
    CognitoSyncClient,
    FanOutResult,
    ParamValidationError,
    fan_out,
)


class Tracker:
    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.started = 0
        self.finished = 0
        self.cancelled = 0

    async def work(self, item: int, delay: float = 0.01) -> int:
        self.started += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(delay * (1 + item % 3))
            return item * 2
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
            self.finished += 1


def _others() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]


async def test_concurrency_bound_never_exceeded() -> None:
    t = Tracker()
    results = [r async for r in fan_out(range(50), t.work, concurrency=7)]
    assert t.peak == 7
    assert sorted(r.unwrap() for r in results) == [i * 2 for i in range(50)]
    assert all(r.ok for r in results)


async def test_errors_are_yielded_not_raised() -> None:
    class Boom(Exception):
        pass

    async def fn(i: int) -> int:
        await asyncio.sleep(0)
        if i % 3 == 0:
            raise Boom(f"item {i}")
        return i

    results: list[FanOutResult[int, int]] = [r async for r in fan_out(range(10), fn, concurrency=3)]
    assert len(results) == 10
    failed = sorted(r.item for r in results if not r.ok)
    assert failed == [0, 3, 6, 9]
    assert all(isinstance(r.error, Boom) for r in results if not r.ok)
    with pytest.raises(Boom):
        next(r for r in results if not r.ok).unwrap()


async def test_typed_sdk_errors_per_identity(client: CognitoSyncClient) -> None:
    """One invalid identity fails alone, with the SDK's typed error."""
    pool = "us-east-1:00000000-0000-0000-0000-0000000000f0"
    ids = [f"us-east-1:{i:08x}-0000-0000-0000-000000000000" for i in range(5)] + ["bad id"]

    async def write(ident: str) -> int | None:
        ds = client.dataset(identity_pool_id=pool, identity_id=ident, dataset_name="d")
        return (await ds.put({"k": ident})).dataset_sync_count

    results = {r.item: r async for r in fan_out(ids, write, concurrency=4)}
    assert isinstance(results["bad id"].error, ParamValidationError)
    assert all(results[i].value == 1 for i in ids[:5])


async def test_early_break_cancels_in_flight_at_once() -> None:
    t = Tracker()
    def fn(i: int) -> Awaitable[int]:
        return t.work(i, 0.003 if i == 0 else 1.0)

    async for result in fan_out(itertools.count(), fn, concurrency=5):
        assert result.ok
        break
    # dropped by the break: the calls in flight are cancelled now, not at GC's leisure
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert _others() == []
    assert t.in_flight == 0 and t.cancelled == 4 and t.started == 5


async def test_early_exit_from_context_manager_leaves_no_pending_tasks() -> None:
    t = Tracker()
    async with fan_out(range(100), lambda i: t.work(i, 0.05), concurrency=8) as results:
        async for _ in results:
            break
    assert _others() == []  # aclose() waited for every cancelled call
    assert t.in_flight == 0 and t.finished == t.started


async def test_consumer_cancelled_mid_iteration() -> None:
    t = Tracker()

    async def consume() -> None:
        async with fan_out(range(100), lambda i: t.work(i, 0.05), concurrency=4) as results:
            async for _ in results:
                pass

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.03)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _others() == [] and t.in_flight == 0


async def test_lazy_consumption_of_a_huge_generator() -> None:
    pulled = 0

    def huge() -> Iterator[int]:
        nonlocal pulled
        for i in range(10**9):
            pulled += 1
            yield i

    async def fn(i: int) -> int:
        await asyncio.sleep(0)
        return i

    got = 0
    async with fan_out(huge(), fn, concurrency=4) as results:
        async for _ in results:
            got += 1
            if got == 20:
                break
    assert pulled <= 20 + 4


async def test_async_iterable_source_and_source_error() -> None:
    async def source() -> AsyncIterator[int]:
        for i in range(5):
            yield i
        raise OSError("source broke")

    async def fn(i: int) -> int:
        await asyncio.sleep(0.001)
        return i

    seen: list[int] = []
    with pytest.raises(OSError, match="source broke"):
        async for r in fan_out(source(), fn, concurrency=2):
            seen.append(r.unwrap())
    assert sorted(seen) == [0, 1, 2, 3, 4]  # what was started still finished


async def test_rate_cap_measured() -> None:
    starts: list[float] = []

    async def fn(i: int) -> None:
        starts.append(time.monotonic())

    t0 = time.monotonic()
    async for _ in fan_out(range(11), fn, concurrency=11, rate=50.0):
        pass
    elapsed = time.monotonic() - t0
    assert 10 / 50 * 0.9 <= elapsed < 0.6
    gaps = [b - a for a, b in itertools.pairwise(sorted(starts))]
    assert min(gaps) >= 1 / 50 * 0.8


async def test_bad_arguments() -> None:
    async def fn(i: int) -> int:
        return i

    with pytest.raises(ValueError):
        fan_out([1], fn, concurrency=0)
    with pytest.raises(ValueError):
        fan_out([1], fn, rate=0)


async def test_empty_input() -> None:
    async def fn(i: int) -> int:
        return i

    nothing: list[int] = []
    assert [r async for r in fan_out(nothing, fn)] == []


async def test_abandoned_failure_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def fn(i: int) -> int:
        if i:
            raise RuntimeError("late failure")
        return i

    async for _ in fan_out(range(3), fn, concurrency=3):
        break
    await asyncio.sleep(0.01)
    gc.collect()
    assert "never retrieved" not in caplog.text


@pytest.mark.parametrize(
    ("kwargs", "param"), [({"concurrency": 0}, "concurrency"), ({"rate": 0.0}, "rate")]
)
def test_bad_fan_out_arguments(kwargs: dict[str, Any], param: str) -> None:
    async def fn(item: int) -> int:
        return item

    with pytest.raises(ParamValidationError) as info:
        fan_out([1], fn, **kwargs)
    assert info.value.param == param


async def _echo(x: int) -> int:
    return x

@pytest.mark.parametrize(
    "rate", ["5", float("nan"), float("inf"), -1.0, 0, True, 10**400, [1]]
)
def test_fan_out_rate_must_be_a_finite_positive_number(rate: Any) -> None:
    with pytest.raises(ParamValidationError, match="rate"):
        fan_out(range(3), _echo, concurrency=2, rate=rate)

@pytest.mark.parametrize("concurrency", [0, -1, True, 1.5, "3", None])
def test_fan_out_concurrency_must_be_a_positive_int(concurrency: Any) -> None:
    with pytest.raises(ParamValidationError, match="concurrency"):
        fan_out(range(3), _echo, concurrency=concurrency)

async def test_fan_out_accepts_int_and_float_rates() -> None:
    for rate in (1000, 1000.0, None):
        got = sorted([r.unwrap() async for r in fan_out(range(3), _echo, concurrency=2, rate=rate)])
        assert got == [0, 1, 2]
