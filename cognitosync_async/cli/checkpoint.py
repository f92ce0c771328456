"""The checkpoint file of a resumable export or import.

An append-only JSON Lines file: a header naming the job (``kind``
``cognitosync-async-checkpoint``, the command and its inputs), then one line per
unit done, each flushed and fsynced. A resumed job reads the entries back; a
checkpoint of another job, or a file that is not one, is refused
(:class:`CheckpointMismatch`, exit 2).
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

CHECKPOINT_KIND = "cognitosync-async-checkpoint"


class CheckpointMismatch(ValueError):
    """The checkpoint file belongs to another job, or is not a checkpoint file."""


class Checkpoint:
    """An append-only JSON Lines file: a header naming the job, then one line per unit done."""

    def __init__(self, path: str, header: dict[str, Any]) -> None:
        self.path = path
        self.header = {"kind": CHECKPOINT_KIND, **header}
        self._file: IO[str] | None = None

    def open(self) -> list[dict[str, Any]]:
        """Open for appending; returns the entries of a previous run (empty when new).

        A partial trailing line (the writer was killed mid-line) is cut off.
        """
        data = b""
        if os.path.exists(self.path):
            with open(self.path, "rb") as f:
                data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        entries: list[dict[str, Any]] = []
        try:
            lines = complete.decode("utf-8").splitlines()
            header = json.loads(lines[0]) if lines else None
            if lines and header == self.header:
                entries = [json.loads(line) for line in lines[1:] if line.strip()]
        except ValueError as exc:  # not UTF-8, or not JSON
            raise CheckpointMismatch(f"checkpoint {self.path} is not a checkpoint file: {exc}") \
                from exc
        if lines and header != self.header:
            raise CheckpointMismatch(
                f"checkpoint {self.path} was written by another job: {lines[0]}"
            )
        if not all(isinstance(e, dict) for e in entries):
            raise CheckpointMismatch(f"checkpoint {self.path} is not a checkpoint file")
        if len(complete) < len(data):  # cut off a partial trailing line
            with open(self.path, "r+b") as f:
                f.truncate(len(complete))
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        if not lines:
            self.append(self.header)
        return entries

    def append(self, entry: dict[str, Any]) -> None:
        """Write one line, flushed and fsynced."""
        assert self._file is not None
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
