"""The client's clock: SigV4 dates, corrected from the service's ``Date`` on skew.

A signature refused for its time (``RequestTimeTooSkewed``, ...) moves the
offset to the answer's ``Date``; the request loop then re-sends at once, as
an attempt like any other.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timezone
from email.utils import parsedate_to_datetime

#: Error codes meaning "the signature's time is off".
SKEW_CODES = frozenset(
    {
        "RequestTimeTooSkewed",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "RequestExpired",
        "RequestInTheFuture",
    }
)


class Clock:
    """Local time plus the offset learned from the service."""

    def __init__(self) -> None:
        self.offset = 0.0  # seconds to add to the local clock
        self._cache: tuple[int, str] = (-1, "")

    def now(self) -> float:
        return time.time() + self.offset

    def amz_date(self) -> str:
        """``X-Amz-Date`` for now (``YYYYMMDDTHHMMSSZ``), formatted once a second."""
        now = int(self.now())
        cached = self._cache
        if cached[0] == now:
            return cached[1]
        text = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        self._cache = (now, text)
        return text

    def correct(self, headers: Mapping[str, str]) -> bool:
        """Set the offset from the answer's ``Date``; True when it moved (by a minute or more)."""
        date = headers.get("Date")
        if not date:
            return False
        try:
            server = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        if server.tzinfo is None:
            server = server.replace(tzinfo=timezone.utc)
        offset = server.timestamp() - time.time()
        if abs(offset - self.offset) < 60:
            return False
        self.offset = offset
        return True
