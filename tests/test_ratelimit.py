"""TokenBucket and AdaptiveRateLimiter: injected clock for the arithmetic, the local
service's throttling for the behaviour."""

from __future__ import annotations

import asyncio
import time

import pytest

from cognitosync_async import AdaptiveRateLimiter, CognitoSyncClient
from cognitosync_async._ratelimit import TokenBucket
from cognitosync_async.local import Faults, LocalCognitoSync

POOL = "us-east-1:00000000-0000-0000-0000-0000000000a1"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_token_bucket_rate_and_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await bucket.acquire()
    assert clock.now == 1000.0  # the burst is free
    for _ in range(5):
        await bucket.acquire()
    assert clock.now == pytest.approx(1000.5)  # then exactly 10 a second
    bucket.rate = 2.0
    await bucket.acquire()
    assert clock.now == pytest.approx(1001.0)
    with pytest.raises(ValueError):
        TokenBucket(0)


def _feed(lim: AdaptiveRateLimiter, clock: FakeClock, rate: float, seconds: float,
          throttled: bool = False) -> None:
    """``rate`` calls a second for ``seconds`` (the bookkeeping half of acquire)."""
    for _ in range(int(rate * seconds)):
        clock.now += 1 / rate
        lim._count()
        lim.on_response(throttled)


async def test_adaptive_off_until_throttled_then_cuts_and_recovers() -> None:
    clock = FakeClock()
    lim = AdaptiveRateLimiter(clock=clock, sleep=clock.sleep)
    _feed(lim, clock, 100, 2.0)
    assert not lim.enabled and lim.rate is None
    assert lim.measured_rate == pytest.approx(100, rel=0.05)

    lim.on_response(True)
    assert lim.enabled and lim.rate == pytest.approx(70, rel=0.05)
    assert lim.throttles == 1
    # a burst of 429s answering requests sent at the old rate: one cut, not twenty
    for _ in range(20):
        lim.on_response(True)
    assert lim.rate == pytest.approx(70, rel=0.05) and lim.throttles == 21
    # past the cooldown, a new throttle cuts again
    clock.now += 0.5
    lim.on_response(True)
    assert lim.rate == pytest.approx(49, rel=0.05)

    # no more throttling: the cap climbs back along the cubic curve...
    rates = []
    for _ in range(8):
        _feed(lim, clock, lim.rate or 1000, 0.5)
        rates.append(lim.rate)
    climbing = [r for r in rates if r is not None]
    assert climbing == sorted(climbing) and climbing[-1] > 49
    # ...and once well past the throttled rate, the limiter switches itself off
    for _ in range(40):
        _feed(lim, clock, lim.rate or 150, 0.5)
        if not lim.enabled:
            break
    assert not lim.enabled


async def test_adaptive_acquire_waits_only_when_enabled() -> None:
    clock = FakeClock()
    lim = AdaptiveRateLimiter(clock=clock, sleep=clock.sleep, min_rate=0.5)
    for _ in range(10):
        await lim.acquire()
    assert clock.slept == []
    lim.on_response(True)  # measured ~nothing: the floor applies
    assert lim.rate is not None and lim.rate >= 0.5
    start = clock.now
    for _ in range(4):
        await lim.acquire()
    assert clock.now - start == pytest.approx(3 / lim.rate, rel=0.01)


async def test_adaptive_limiter_against_throttling_local_service() -> None:
    """A storm against a throttling service: the limiter cuts the rate, retries absorb the
    429s, and with the throttling gone (time moved on) the limiter recovers."""
    skew = [0.0]

    def clock() -> float:
        return time.monotonic() + skew[0]

    faults = Faults(throttle_rate=40.0, throttle_burst=5)
    async with LocalCognitoSync(faults=faults) as svc:
        async with CognitoSyncClient(
            svc.region,
            credentials=svc.credentials,
            endpoint_url=svc.endpoint_url,
            max_attempts=20,
            retry_base_delay=0.005,
            retry_max_delay=0.05,
            adaptive_rate_limit=True,
        ) as client:
            lowest: list[float] = []

            class Recording(AdaptiveRateLimiter):
                def on_response(self, throttled: bool) -> None:
                    super().on_response(throttled)
                    if self.rate is not None:
                        lowest.append(self.rate)

            lim = Recording(clock=clock)
            client.rate_limiter = lim

            async def call(i: int) -> None:
                await client.list_records(
                    identity_pool_id=POOL,
                    identity_id=f"us-east-1:{i:08x}-0000-0000-0000-000000000000",
                    dataset_name="d",
                )

            await asyncio.gather(*(call(i) for i in range(60)))
            assert lim.throttles > 0 and lim.enabled
            assert min(lowest) < 40  # slowed below the service's rate
            throttled_at = lim.rate
            assert throttled_at is not None

            svc.faults.throttle_rate = None
            skew[0] += 60.0  # a minute without throttling
            await asyncio.gather(*(call(i) for i in range(5)))
            assert not lim.enabled or (lim.rate is not None and lim.rate > throttled_at)
