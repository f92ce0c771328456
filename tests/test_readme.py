"""README examples run as written (see tests/support/examples.py for how each kind is run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.examples import python_blocks, run_example

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = python_blocks(README)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index: int, tmp_path: Path) -> None:
    run_example(BLOCKS[index], tmp_path, f"example_{index}")
