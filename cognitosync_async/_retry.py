"""The retry policy, configured on tenacity.

Retried: throttling (``TooManyRequestsException``, ``LambdaThrottledException``,
any 429), 5xx answers, and connection failures. Never retried: any other 4xx,
``ResourceConflictException`` (the sync algorithm's business) and
``LimitExceededException`` (an exhausted quota). The wait is capped
exponential backoff with full jitter, or the service's ``Retry-After`` /
``x-amz-retry-after`` when it sends one (bounded by ``max_delay``).
"""

from __future__ import annotations

import functools
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import attrs
from tenacity import (
    AsyncRetrying,
    AttemptManager,
    RetryCallState,
    before_nothing,
    retry_if_exception,
    stop_after_attempt,
)
from tenacity.wait import wait_base

from ._exceptions import (
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
    ServiceError,
)

log = logging.getLogger(__name__)

THROTTLING_CODES = frozenset({"TooManyRequestsException", "LambdaThrottledException",
                              "Throttling", "ThrottlingException", "RequestLimitExceeded"})
NEVER_RETRIED = frozenset({"ResourceConflictException", "LimitExceededException"})


def _attempts(inst: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParamValidationError("max_attempts", "must be an integer >= 1")


def _delay(param: str) -> Callable[[Any, Any, Any], None]:
    """A validator: a finite number of seconds >= 0, named as the client's option."""

    def check(inst: Any, attribute: Any, value: Any) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            # nan or inf would make every wait nan/inf: a hang, not a backoff
            raise ParamValidationError(param, "must be a finite number of seconds >= 0")

    return check


@attrs.frozen
class RetryConfig:
    """``max_attempts`` counts the first try (1 turns retrying off)."""

    max_attempts: int = attrs.field(default=5, validator=_attempts)
    base_delay: float = attrs.field(default=0.1, validator=_delay("retry_base_delay"))
    max_delay: float = attrs.field(default=20.0, validator=_delay("retry_max_delay"))


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, ServiceError):
        if exc.resend_now:  # the client corrected the cause: re-sent at once
            return True
        if exc.code in NEVER_RETRIED:
            return False
        return exc.code in THROTTLING_CODES or exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, (EndpointConnectionError, ReadTimeoutError))


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait from ``x-amz-retry-after`` (ms) or ``Retry-After``
    (seconds or an HTTP date); None when absent or unreadable."""
    amz = headers.get("x-amz-retry-after")
    if amz is not None:
        try:
            ms = int(amz)
        except ValueError:
            ms = -1
        if ms >= 0:
            return min(ms, 10**12) / 1000.0  # a huge int would overflow a float
    value = headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is True, float("²") fails
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delta = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, delta)


class wait_retry_after_or_full_jitter(wait_base):
    """No wait for a re-send the client prepared (``resend_now``); ``Retry-After``
    when the answer carried one (bounded by ``max_delay``); else full jitter: a
    random delay in ``[0, min(max_delay, base * 2**(attempt-1))]``."""

    def __init__(self, base: float, max_delay: float) -> None:
        self.base = base
        self.max_delay = max_delay

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if getattr(exc, "resend_now", False):
            return 0.0
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return float(min(retry_after, self.max_delay))
        ceiling = min(self.max_delay, self.base * 2 ** (retry_state.attempt_number - 1))
        return random.uniform(0, ceiling)


def log_before_sleep(retry_state: RetryCallState) -> None:
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None else None
    log.debug(
        "retrying after attempt %d in %.3fs: %s",
        retry_state.attempt_number,
        retry_state.upcoming_sleep,
        type(exc).__name__ if exc is not None else "?",
    )


class _FirstAttempt(AttemptManager):
    """The first attempt's context: a success is kept as a flag on the controller
    rather than as tenacity's outcome (a ``concurrent.futures.Future``, a lock
    and a condition built per call); a failure is tenacity's, as usual."""

    def __init__(self, retry_state: RetryCallState, controller: Retrying) -> None:
        self.retry_state = retry_state
        self._controller = controller

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> bool | None:
        if exc_type is not None and exc_value is not None:
            self.retry_state.set_exception((exc_type, exc_value, traceback))
            return True  # swallowed: tenacity decides on the next step
        self._controller._succeeded = True
        return None


class Retrying(AsyncRetrying):
    """tenacity's ``AsyncRetrying``, with the first attempt handed out at once.

    Before an attempt that has no outcome yet, tenacity's ``iter`` runs two
    actions: ``before`` (here tenacity's ``before_nothing``) and one answering
    "attempt"; it wraps each in a coroutine function, asking ``inspect``
    whether it already is one, on every call. For the first attempt, with
    ``before`` left at ``before_nothing``, that decides nothing: the first
    attempt is returned directly, and when it succeeds the iteration ends (as
    tenacity ends it: a success is not retried). Every later step (the retry
    predicate, the stop rule, the wait, ``before_sleep``) is tenacity's own.
    """

    _succeeded = False

    def begin(self) -> None:  # tenacity's, reading its thread-local statistics once
        stats = self.statistics
        stats.clear()
        stats["start_time"] = time.monotonic()
        stats["attempt_number"] = 1
        stats["idle_for"] = 0
        stats["delay_since_first_attempt"] = 0

    async def __anext__(self) -> AttemptManager:
        if self._succeeded:
            raise StopAsyncIteration
        state = self._retry_state
        if (
            state.outcome is None
            and state.attempt_number == 1
            and self.before is before_nothing
            and self.enabled
        ):
            return _FirstAttempt(state, self)
        return await super().__anext__()


@functools.lru_cache(maxsize=64)
def _policy(config: RetryConfig) -> tuple[Any, Any, Any]:
    """The stop rule, wait and retry predicate of ``config``: built once (they hold
    no per-call state), shared by the controllers of every call."""
    return (
        stop_after_attempt(config.max_attempts),
        wait_retry_after_or_full_jitter(config.base_delay, config.max_delay),
        retry_if_exception(is_retryable),
    )


def retrying(
    config: RetryConfig,
    before_sleep: Callable[[RetryCallState], Any] = log_before_sleep,
) -> Retrying:
    """A fresh tenacity controller for one call's attempts (``async for attempt in
    retrying(config): with attempt: return ...``); ``before_sleep`` logs (and tells
    the hooks)."""
    stop, wait, retry = _policy(config)
    return Retrying(stop=stop, wait=wait, retry=retry, reraise=True, before_sleep=before_sleep)
