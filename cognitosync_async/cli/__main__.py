"""``python -m cognitosync_async.cli``: the same as ``cognitosync-async``."""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
