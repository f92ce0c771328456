"""Fault injection: throttling, errors, latency, dropped connections, and a script.

``Faults`` is a plain mutable attrs object; the server reads it on every
request, so tests change it at run time (``svc.faults.script = [429, 500, "drop"]``).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Hashable

import attrs

#: What a scripted integer status answers with.
SCRIPT_CODES: dict[int, str] = {
    400: "InvalidParameterException",
    403: "NotAuthorizedException",
    404: "ResourceNotFoundException",
    409: "ResourceConflictException",
    429: "TooManyRequestsException",
    500: "InternalErrorException",
    502: "InternalErrorException",
    503: "ServiceUnavailableException",
    504: "InternalErrorException",
}

ScriptEntry = int | str


@attrs.define
class Faults:
    """Faults the local service injects.

    * ``throttle_rate`` — token-bucket refill per second, one bucket per identity
      and one per pool (``None`` = no throttling); ``throttle_burst`` — bucket size.
      An empty bucket answers 429 ``TooManyRequestsException`` ``Rate exceeded``
      with ``Retry-After`` (whole seconds).
    * ``error_rate`` — fraction of requests answered 500 ``InternalErrorException``.
    * ``latency`` — seconds added to every request.
    * ``drop_rate`` — fraction of requests whose connection is reset unanswered.
    * ``script`` — answers for the next requests, consumed one per request
      before anything else: an HTTP status (``429``, ``500``, ``503``…), an
      error code (``"ConcurrentModificationException"``, ``"LambdaThrottledException"``)
      or ``"drop"``; ``"ok"`` (or ``None``) lets one request through normally.
    * ``script_retry_after`` — the ``Retry-After`` seconds sent with scripted 429s.
    * ``seed`` — seeds ``rng``, the ``random.Random`` behind the rates.
    """

    throttle_rate: float | None = None
    throttle_burst: int = 10
    error_rate: float = 0.0
    latency: float = 0.0
    drop_rate: float = 0.0
    script: list[ScriptEntry | None] = attrs.field(factory=list)
    script_retry_after: int = 0
    seed: int | None = None
    rng: random.Random = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def reset(self) -> None:
        """No faults at all (the script is emptied too)."""
        self.throttle_rate = None
        self.error_rate = 0.0
        self.latency = 0.0
        self.drop_rate = 0.0
        self.script.clear()


class TokenBuckets:
    """Token buckets keyed by anything hashable; thread-safe."""

    def __init__(self) -> None:
        self._buckets: dict[Hashable, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, keys: list[Hashable], rate: float, burst: int) -> float:
        """Take one token from each bucket; return 0, or seconds to wait if any is empty."""
        now = time.monotonic()
        capacity = float(max(burst, 1))
        with self._lock:
            levels: dict[Hashable, float] = {}
            for key in keys:
                tokens, last = self._buckets.get(key, (capacity, now))
                levels[key] = min(capacity, tokens + (now - last) * rate)
            short = [k for k, level in levels.items() if level < 1.0]
            if short:
                for key, level in levels.items():
                    self._buckets[key] = (level, now)
                need = max(1.0 - levels[k] for k in short)
                return need / rate if rate > 0 else math.inf
            for key, level in levels.items():
                self._buckets[key] = (level - 1.0, now)
            return 0.0

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
