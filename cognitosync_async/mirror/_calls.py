"""Counting the SDK's calls honestly: from its own per-attempt DEBUG log lines.

The client logs one DEBUG line per attempt on the ``cognitosync_async``
logger (``"<Operation> status=<code> attempt=<n> ..."``). ``CallCounter`` is
a logging handler that reads those lines; ``counting_calls()`` attaches one
for the length of a job without changing what the application's own
logging shows (the lines it turns on are dropped again, at the logger,
unless the application had asked for them).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

LOGGER = "cognitosync_async"


class CallCounter(logging.Handler):
    """Counts the SDK's per-attempt DEBUG lines: calls, retries, throttles."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.calls = 0
        self.retries = 0
        self.throttled = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        msg = str(record.msg)
        if record.name != LOGGER or not msg.startswith("%s status="):
            return
        args: Any = record.args
        self.calls += 1
        if msg.startswith("%s status=-"):
            # "%s status=- attempt=%d duration=%.1fms error=%s": no answer (network error)
            attempt, status = int(args[1]), None
        else:
            # "%s status=%d attempt=%d duration=%.1fms request_id=%s"
            status, attempt = int(args[1]), int(args[2])
        if attempt > 1:
            self.retries += 1
        if status is None:
            self.errors += 1
        elif status == 429:
            self.throttled += 1
        elif status >= 300:
            self.errors += 1


class _Quiet(logging.Filter):
    """At a logger: counts each record, then drops those below the level the
    application had set (so its handlers see what they saw before)."""

    def __init__(self, level: int, counter: CallCounter) -> None:
        super().__init__()
        self.level = level
        self.counter = counter

    def filter(self, record: logging.LogRecord) -> bool:
        self.counter.emit(record)
        return record.levelno >= self.level


@contextlib.contextmanager
def counting_calls() -> Iterator[CallCounter]:
    """A ``CallCounter`` attached to the SDK's logger for the ``with`` block.

    The logger is set to DEBUG so that the per-attempt lines exist; a filter
    on it counts them and then drops (there and on its child loggers), before
    any handler of the application sees them, the records the application's
    settings would not have produced. Counts are per process: two jobs counting at once in one
    process see each other's calls.
    """
    logger = logging.getLogger(LOGGER)
    before = logger.getEffectiveLevel()
    old_level = logger.level
    counter = CallCounter()
    quiet = _Quiet(before, counter)
    children = [
        lg for name, lg in logging.root.manager.loggerDict.items()
        if name.startswith(LOGGER + ".") and isinstance(lg, logging.Logger)
        and lg.level == logging.NOTSET
    ]
    logger.setLevel(logging.DEBUG)
    logger.addFilter(quiet)
    for child in children:
        child.addFilter(quiet)
    try:
        yield counter
    finally:
        for child in children:
            child.removeFilter(quiet)
        logger.removeFilter(quiet)
        logger.setLevel(old_level)
