"""Event hooks: what the request loop tells observers (metrics, tracing, counters).

``event_hooks=`` on a client is a dict from event name to a list of
callables (as httpx's ``event_hooks``); each callable gets one small frozen
event object and may be a plain function or a coroutine function. The
events of one call, in order::

    call_start                      once, before the first attempt
    request  -> response            per attempt (response also for a failed one)
    retry                           after a failed attempt that is tried again
    call_end                        once, with the outcome (also on cancellation)

Events carry names, numbers and the typed error, never headers, bodies,
credentials or record values. A hook that raises fails the call (the other hooks of that
event still run).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypedDict, TypeVar

import attrs

from ._exceptions import ParamValidationError


@attrs.frozen
class CallStart:
    """A call begins (its arguments are valid; no attempt is made yet)."""

    service: str  #: SigV4 service name, e.g. ``"cognito-sync"``
    operation: str  #: e.g. ``"ListRecords"``
    region: str


@attrs.frozen
class RequestEvent:
    """An attempt is about to be sent (signed, past the rate limiter)."""

    service: str
    operation: str
    region: str
    attempt: int  #: 1 for the first


@attrs.frozen
class ResponseEvent:
    """An attempt ended: an answer (``status``), or no answer (``status`` None)."""

    service: str
    operation: str
    region: str
    attempt: int
    status: int | None
    request_id: str | None
    duration: float  #: seconds, from sending to the whole answer read
    #: The attempt's error (a ``ServiceError`` for an error answer), None on success.
    error: BaseException | None


@attrs.frozen
class RetryEvent:
    """The attempt ``attempt`` failed and the next one starts after ``delay`` seconds."""

    service: str
    operation: str
    region: str
    attempt: int
    delay: float
    error: BaseException


@attrs.frozen
class CallEnd:
    """A call ended: ``error`` None when it returned."""

    service: str
    operation: str
    region: str
    attempts: int  #: attempts made (0 when it failed before the first was sent)
    status: int | None  #: the last answer's HTTP status
    request_id: str | None  #: the last answer's ``x-amzn-RequestId``
    duration: float  #: seconds, the whole call, retries and waits included
    error: BaseException | None


Event = CallStart | RequestEvent | ResponseEvent | RetryEvent | CallEnd
_E = TypeVar("_E")
Hook = Callable[[_E], "Awaitable[None] | None"]


class EventHooks(TypedDict, total=False):
    """``event_hooks=``: event name -> hooks, each called with that event."""

    call_start: list[Hook[CallStart]]
    request: list[Hook[RequestEvent]]
    response: list[Hook[ResponseEvent]]
    retry: list[Hook[RetryEvent]]
    call_end: list[Hook[CallEnd]]


NAMES = ("call_start", "request", "response", "retry", "call_end")

#: Process-wide hooks, called for every client after its own (the OpenTelemetry
#: instrumentor registers here). Internal: users pass ``event_hooks=``.
GLOBAL_HOOKS: dict[str, list[Callable[[Any], Any]]] = {name: [] for name in NAMES}


def hooks_of(value: Mapping[str, Sequence[Callable[[Any], Any]]] | None) -> EventHooks:
    """The client's hooks: every name present, each a fresh list; unknown names refused."""
    hooks: dict[str, list[Callable[[Any], Any]]] = {name: [] for name in NAMES}
    for name, listed in (value or {}).items():
        if name not in hooks:
            raise ParamValidationError(
                "event_hooks", f"unknown event {name!r} (one of {', '.join(NAMES)})"
            )
        if isinstance(listed, (str, bytes)) or not all(callable(h) for h in listed):
            raise ParamValidationError("event_hooks", f"{name!r} must be a list of callables")
        hooks[name] = list(listed)
    return hooks  # type: ignore[return-value]


async def emit(hooks: Sequence[Callable[[Any], Any]], event: Event) -> None:
    """Call every hook with ``event``; a hook's exception is raised after the
    others ran (a failing metrics hook leaves a tracing span ended)."""
    failure: Exception | None = None
    for hook in hooks:
        try:
            result = hook(event)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            if failure is None:
                failure = exc
    if failure is not None:
        raise failure
