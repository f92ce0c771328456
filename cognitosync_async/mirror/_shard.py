"""Which shard an identity belongs to, and ``K/N`` parsing."""

from __future__ import annotations

import hashlib
import re

import attrs

from .._exceptions import ParamValidationError

_SHARD = re.compile(r"(\d{1,9})/(\d{1,9})")


def shard_of(identity_id: str, shards: int) -> int:
    """The shard of ``identity_id`` among ``shards``, as the contract defines it:
    ``int.from_bytes(sha256(I.encode()).digest()[:8], "big") % N``."""
    return int.from_bytes(hashlib.sha256(identity_id.encode()).digest()[:8], "big") % shards


@attrs.frozen
class Shard:
    """Shard ``index`` of ``count`` (``0 <= index < count``)."""

    index: int
    count: int

    def __attrs_post_init__(self) -> None:
        for name, v in (("index", self.index), ("count", self.count)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ParamValidationError(f"shard.{name}", "must be an integer")
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ParamValidationError("shard", "must be K/N with 0 <= K < N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"3/8"`` -> ``Shard(3, 8)``; anything else is a ``ParamValidationError``."""
        m = _SHARD.fullmatch(text.strip()) if isinstance(text, str) else None
        if m is None:
            raise ParamValidationError("shard", "must be K/N with 0 <= K < N (e.g. 0/4)")
        return cls(int(m.group(1)), int(m.group(2)))

    def holds(self, identity_id: str) -> bool:
        return shard_of(identity_id, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
