"""The retry policy, configured on tenacity.

Retried: throttling (``TooManyRequestsException``, ``LambdaThrottledException``,
any 429), 5xx answers, and connection failures. Never retried: any other 4xx,
``ResourceConflictException`` (the sync algorithm's business) and
``LimitExceededException`` (an exhausted quota). The wait is capped
exponential backoff with full jitter, or the service's ``Retry-After`` /
``x-amz-retry-after`` when it sends one (bounded by ``max_delay``).
"""

from __future__ import annotations

import logging
import math
import random
import threading
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


class _ControllerSlot:
    """A slot for the attributes of a ``RetryConfig``'s tenacity controller, set
    at its first call (``retrying``); not a field: not compared, shown or pickled."""

    __slots__ = ("_controller",)
    _controller: dict[str, Any]


@attrs.frozen
class RetryConfig(_ControllerSlot):
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

    ``retrying`` makes one per call from a controller built once per
    ``RetryConfig`` by tenacity's own constructor (its attributes copied, a
    fresh ``threading.local`` for the per-call statistics), and ``__aiter__`` makes the
    call's ``RetryCallState`` the same way, from one built by tenacity's
    ``__init__``: the same attributes and starting values, without running
    either ``__init__`` (keyword arguments and a dozen attribute stores) per call.
    """

    _succeeded = False

    def begin(self) -> None:  # tenacity's, on a controller that has not run yet
        self._local.statistics = {
            "start_time": time.monotonic(),
            "attempt_number": 1,
            "idle_for": 0,
            "delay_since_first_attempt": 0,
        }

    def __aiter__(self) -> Retrying:
        if not self.enabled:
            super().__aiter__()
            return self
        self.begin()
        state = _new(RetryCallState)
        attributes = _FRESH_STATE.copy()  # (a copy of a dict is cheaper than a new one)
        attributes["start_time"] = time.monotonic()
        attributes["retry_object"] = self
        attributes["kwargs"] = {}
        state.__dict__ = attributes
        self._retry_state = state
        return self

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


_new = object.__new__
# a RetryCallState as tenacity's __init__ leaves it (start_time, retry_object and
# kwargs are set per call)
_FRESH_STATE = dict(vars(RetryCallState(None, fn=None, args=(), kwargs={})))  # type: ignore[arg-type]


def _prototype(config: RetryConfig) -> dict[str, Any]:
    """The attributes of a controller for ``config``, as tenacity's constructor sets
    them (the stop rule, wait and retry predicate hold no per-call state), less
    its ``threading.local``; built at the config's first call and kept on it."""
    controller = Retrying(
        stop=stop_after_attempt(config.max_attempts),
        wait=wait_retry_after_or_full_jitter(config.base_delay, config.max_delay),
        retry=retry_if_exception(is_retryable),
        reraise=True,
        before_sleep=log_before_sleep,
    )
    attributes = dict(vars(controller))
    attributes["_local"] = None  # each call's own (kept as a key: see retrying)
    object.__setattr__(config, "_controller", attributes)  # a frozen class: not a field
    return attributes


def retrying(
    config: RetryConfig,
    before_sleep: Callable[[RetryCallState], Any] = log_before_sleep,
) -> Retrying:
    """A fresh tenacity controller for one call's attempts (``async for attempt in
    retrying(config): with attempt: return ...``); ``before_sleep`` logs (and tells
    the hooks)."""
    try:
        attributes = config._controller
    except AttributeError:
        attributes = _prototype(config)
    controller = _new(Retrying)
    # a copy of a dict holding every key is cheaper than a merge into a new one
    own = attributes.copy()
    own["before_sleep"] = before_sleep
    own["_local"] = threading.local()
    controller.__dict__ = own
    return controller
