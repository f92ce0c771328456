"""The progress bar of the bulk commands (export, import, mirror), on stderr.

A small renderer rather than a library: the core install has no extra
dependency to draw it with, and one line is all it draws::

    export [#########.....................] 31/100  31% 12.4/s ETA 0:00:06 41 datasets

With a total: a bar, done/total, percent, rate and ETA; without one (identities
read from stdin or enumerated from the pool): the count, the rate and the time
so far. Drawn only when stderr is a terminal (and not ``--quiet``), redrawn at
most ten times a second, ended with a newline by :meth:`Progress.finish`.
"""

from __future__ import annotations

import sys
import time

BAR_WIDTH = 30


def clock(seconds: float) -> str:
    """``H:MM:SS``."""
    whole = max(0, int(seconds + 0.5))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def render(label: str, done: int, total: int | None, elapsed: float, failed: int = 0,
           extra: str = "") -> str:
    """One progress line (without the carriage return and the erase-line code)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    if total:
        filled = int(BAR_WIDTH * min(done, total) / total)
        left = max(total - done, 0)
        eta = clock(left / rate) if rate > 0 else "-:--:--"
        head = (f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} "
                f"{100 * min(done, total) // total:3d}% {rate:.1f}/s ETA {eta}")
    else:
        head = f"{done} done {rate:.1f}/s {clock(elapsed)}"
    fail = f", {failed} failed" if failed else ""
    return f"{label} {head}{' ' + extra if extra else ''}{fail}"


class Progress:
    """One status line on stderr, redrawn at most ten times a second (when enabled)."""

    def __init__(self, label: str, total: int | None, enabled: bool) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.done = 0
        self.failed = 0
        self.extra = ""
        self._start = time.monotonic()
        self._last = 0.0

    @classmethod
    def on_stderr(cls, label: str, total: int | None, quiet: bool) -> Progress:
        """Enabled when stderr is a terminal and not ``quiet``."""
        return cls(label, total, not quiet and sys.stderr.isatty())

    def update(self, done: int, failed: int, extra: str = "", *, force: bool = False) -> None:
        self.done, self.failed, self.extra = done, failed, extra
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        line = render(self.label, done, self.total, now - self._start, failed, extra)
        sys.stderr.write(f"\r{line}\x1b[K")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            self.update(self.done, self.failed, self.extra, force=True)
            sys.stderr.write("\n")
            sys.stderr.flush()
