"""Exit codes (stable, for scripts) and the usage error of the command line."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONFLICT = 3
EXIT_INTERRUPTED = 130
#: stdout closed early (``... | head -1``): quiet, with the status a shell shows for a
#: Unix tool ended by SIGPIPE (128 + 13).
EXIT_PIPE = 141


class UsageError(Exception):
    """A problem with the command line or its inputs (exit code 2)."""
