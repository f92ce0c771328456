"""Tests of an optional extra skip when it is not installed, unless
``COGNITOSYNC_REQUIRE_EXTRAS`` is set (CI sets it where the extras are installed):
then a missing extra fails the module, so CI cannot skip those tests silently."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def need(module: str, extra: str) -> ModuleType:
    """Import ``module`` (of the ``extra`` extra) or skip/fail the calling test module."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        why = f"{module} (the '{extra}' extra) is not installed: {exc}"
        if os.environ.get("COGNITOSYNC_REQUIRE_EXTRAS"):
            pytest.fail(f"COGNITOSYNC_REQUIRE_EXTRAS is set but {why}", pytrace=False)
        pytest.skip(why, allow_module_level=True)
