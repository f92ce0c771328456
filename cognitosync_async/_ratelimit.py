"""Rate limiting: a token bucket, and the client-wide adaptive limiter.

Written on the standard library (``asyncio`` and a monotonic clock): the
bucket is a few lines, and no well-kept async limiter on PyPI offers the
adaptive part (botocore's "adaptive" retry mode, which this follows, is not
usable outside botocore), so neither justified a new runtime dependency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``acquire`` waits for one.

    Waiters are served in arrival order (one lock), so a steady stream of
    callers gets exactly ``rate`` a second.
    """

    def __init__(
        self, rate: float, *, burst: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self._rate = float(rate)
        self._burst = max(1.0, float(burst))
        self._clock = clock
        self._tokens = self._burst
        self._stamp = clock()
        self._lock: asyncio.Lock | None = None

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        self._refill()
        self._rate = max(1e-3, float(value))

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    async def acquire(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            self._refill()
            while self._tokens < 1.0:
                await asyncio.sleep((1.0 - self._tokens) / self._rate)
                self._refill()
            self._tokens -= 1.0


class AdaptiveRateLimiter:
    """Slows every call of a client down when the service throttles, then speeds up.

    Off until the first throttling answer: then the sending rate is capped
    at ``beta`` (0.7) times the rate measured just before it, and every
    further throttle cuts it again; each second without throttling raises
    the cap by ``increase`` (10 %), and once it is well above the measured
    rate the limiter switches itself off again. The idea is botocore's
    "adaptive" retry mode (multiplicative decrease, gradual recovery).
    """

    def __init__(
        self,
        *,
        beta: float = 0.7,
        increase: float = 0.1,
        min_rate: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._beta = beta
        self._increase = increase
        self._min_rate = min_rate
        self._clock = clock
        self._bucket: TokenBucket | None = None
        self._measured = 0.0  # calls/s, smoothed
        self._window_start = clock()
        self._window_calls = 0
        self._last_change = clock()
        self.throttles = 0

    @property
    def enabled(self) -> bool:
        return self._bucket is not None

    @property
    def rate(self) -> float | None:
        """The current cap in calls a second (None while off)."""
        return self._bucket.rate if self._bucket is not None else None

    async def acquire(self) -> None:
        self._count()
        bucket = self._bucket
        if bucket is not None:
            await bucket.acquire()

    def _count(self) -> None:
        self._window_calls += 1
        now = self._clock()
        span = now - self._window_start
        if span >= 0.5:
            rate = self._window_calls / span
            self._measured = rate if self._measured == 0 else 0.8 * self._measured + 0.2 * rate
            self._window_start = now
            self._window_calls = 0

    def on_response(self, throttled: bool) -> None:
        now = self._clock()
        if throttled:
            self.throttles += 1
            base = self._bucket.rate if self._bucket is not None else self._measured
            if base <= 0:
                base = max(self._min_rate, self._window_calls / max(now - self._window_start, 1e-3))
            new = max(self._min_rate, base * self._beta)
            if self._bucket is None:
                self._bucket = TokenBucket(new, burst=1.0, clock=self._clock)
            else:
                self._bucket.rate = new
            self._last_change = now
            return
        bucket = self._bucket
        if bucket is None:
            return
        elapsed = now - self._last_change
        if elapsed >= 1.0:
            bucket.rate = bucket.rate * (1.0 + self._increase) ** elapsed
            self._last_change = now
            if self._measured and bucket.rate > 2.0 * self._measured:
                self._bucket = None  # recovered: off again
