"""Rate limiting: a token bucket, and the client-wide adaptive limiter.

Written on the standard library (``asyncio`` and a monotonic clock): the
bucket is a few lines, and no well-kept async limiter on PyPI offers the
adaptive part (botocore's "adaptive" retry mode, which this follows, is not
usable outside botocore), so neither justified a new runtime dependency.

Both take an injectable ``clock`` (seconds, monotonic) and ``sleep``
coroutine, so their arithmetic is unit-tested without waiting.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# When the current task's request was let through by ``acquire`` (the client
# awaits ``acquire`` and calls ``on_response`` in the same task).
_sent_at: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "cognitosync_async_sent_at", default=None
)


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; ``acquire`` waits for one.

    Waiters are served in arrival order (one lock), so a steady stream of
    callers gets exactly ``rate`` a second.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0")
        self._rate = float(rate)
        self._burst = max(1.0, float(burst))
        self._clock = clock
        self._sleep = sleep
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
            while self._tokens < 1.0 - 1e-9:  # (float error must not mean one more sleep)
                await self._sleep((1.0 - self._tokens) / self._rate)
                self._refill()
            self._tokens -= 1.0


class AdaptiveRateLimiter:
    """Slows every call of a client down when the service throttles, then speeds up.

    Off (no waiting at all) until the first throttling answer. Then, as
    botocore's "adaptive" retry mode does (CUBIC congestion control):

    * on a throttle, the sending rate is capped at ``beta`` (0.7) times the
      lower of the current cap and the rate measured just before; a 429
      answering a request sent before the last cut says nothing about the
      new rate and does not cut again (a burst of 50 concurrent 429s is one
      signal, not 50; without that information, ``cooldown`` seconds after
      a cut play the same role);
    * on each success, the cap follows the cubic curve
      ``scale * (t - K)**3 + max_rate``: it climbs back to the rate that was
      throttled within ``K`` seconds, then probes above it; it is never
      raised beyond twice the measured rate (a cap nobody uses says nothing);
    * once the curve has reached twice the rate that was throttled without a
      new throttle, the limiter switches itself off again.

    ``throttles`` counts the throttling answers seen, ``rate`` is the
    current cap in calls a second (None while off).
    """

    def __init__(
        self,
        *,
        beta: float = 0.7,
        scale: float = 0.4,
        min_rate: float = 0.5,
        cooldown: float = 0.25,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 0 < beta < 1:
            raise ValueError("beta must be between 0 and 1")
        self._beta = beta
        self._scale = scale
        self._min_rate = min_rate
        self._cooldown = cooldown
        self._clock = clock
        self._sleep = sleep
        self._bucket: TokenBucket | None = None
        self._measured = 0.0  # calls/s, smoothed over half-second windows
        now = clock()
        self._window_start = now
        self._window_calls = 0
        self._last_throttle = now
        self._max_rate = 0.0  # the rate that was throttled last
        self._k = 0.0  # seconds the cubic curve takes to return to _max_rate
        self.throttles = 0

    @property
    def enabled(self) -> bool:
        return self._bucket is not None

    @property
    def rate(self) -> float | None:
        """The current cap in calls a second (None while off)."""
        return self._bucket.rate if self._bucket is not None else None

    @property
    def measured_rate(self) -> float:
        """The smoothed rate of calls sent, in calls a second."""
        return self._measured

    async def acquire(self) -> None:
        """Wait for the right to send one request (returns at once while off)."""
        self._count()
        bucket = self._bucket
        if bucket is not None:
            await bucket.acquire()
        _sent_at.set(self._clock())

    def _count(self) -> None:
        self._window_calls += 1
        now = self._clock()
        span = now - self._window_start
        if span >= 0.5:
            rate = self._window_calls / span
            self._measured = rate if self._measured == 0 else 0.8 * self._measured + 0.2 * rate
            self._window_start = now
            self._window_calls = 0

    def _current_rate(self, now: float) -> float:
        """The measured rate; before the first full window, the calls of the current one
        over at least a tenth of a second (a burst of 60 calls is not 60,000/s)."""
        if self._measured > 0:
            return self._measured
        span = max(now - self._window_start, 0.1)
        return max(self._min_rate, self._window_calls / span)

    def on_response(self, throttled: bool) -> None:
        """Feed the outcome of one attempt (``throttled``: the service answered 429)."""
        now = self._clock()
        bucket = self._bucket
        if throttled:
            self.throttles += 1
            if bucket is not None:
                sent_at = _sent_at.get()
                stale = (
                    sent_at < self._last_throttle
                    if sent_at is not None
                    else now - self._last_throttle < self._cooldown
                )
                if stale:
                    return
            measured = self._current_rate(now)
            base = min(measured, bucket.rate) if bucket is not None else measured
            self._max_rate = base
            self._k = ((base * (1 - self._beta)) / self._scale) ** (1 / 3)
            self._last_throttle = now
            new = max(self._min_rate, base * self._beta)
            if bucket is None:
                self._bucket = TokenBucket(new, burst=1.0, clock=self._clock, sleep=self._sleep)
            else:
                bucket.rate = new
            log.debug("throttled: sending rate capped at %.2f/s", new)
            return
        if bucket is None:
            return
        t = now - self._last_throttle
        cubic = self._scale * (t - self._k) ** 3 + self._max_rate
        if cubic >= 2 * self._max_rate:
            self._bucket = None  # recovered: off again
            log.debug("no throttling for %.1fs: rate limit off", t)
            return
        ceiling = 2 * self._current_rate(now)
        bucket.rate = max(self._min_rate, min(cubic, ceiling))
