"""``python -m cognitosync_async.local serve|mint-credentials|seed-pool|seed-identity``:
an alias of ``cognitosync-async`` (the same parser, every command)."""

from __future__ import annotations

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
