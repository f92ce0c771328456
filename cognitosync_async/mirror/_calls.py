"""Counting the SDK's calls honestly: from the request loop's ``response`` events.

Every attempt of every client ends with a ``ResponseEvent`` (``_events``);
``CallCounter`` is a hook that counts them, and ``counting_calls()`` registers
one process-wide for the length of a job (so the Cognito Identity calls that
enumerate a pool count too). Counts are per process: two jobs counting at
once in one process see each other's calls.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from .._events import GLOBAL_HOOKS, ResponseEvent


class CallCounter:
    """A ``response`` hook counting attempts: calls, retries, throttles, error answers."""

    def __init__(self) -> None:
        self.calls = 0
        self.retries = 0
        self.throttled = 0
        self.errors = 0

    def __call__(self, event: ResponseEvent) -> None:
        self.calls += 1
        if event.attempt > 1:
            self.retries += 1
        status = event.status
        if status is None:  # no answer (a network error)
            self.errors += 1
        elif status == 429:
            self.throttled += 1
        elif status >= 300:
            self.errors += 1


@contextlib.contextmanager
def counting_calls() -> Iterator[CallCounter]:
    """A ``CallCounter`` on every client's ``response`` events for the ``with`` block."""
    counter = CallCounter()
    hooks = GLOBAL_HOOKS["response"]
    hooks.append(counter)
    try:
        yield counter
    finally:
        hooks.remove(counter)
