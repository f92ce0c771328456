"""The docs site's examples run as written: every ```python block of docs/**/*.md
(see tests/_examples.py for how each kind of block is run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _examples import python_blocks, run_example

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
EXAMPLES = [
    pytest.param(code, id=f"{page.relative_to(DOCS).as_posix()}#{index}")
    for page in PAGES
    for index, code in enumerate(python_blocks(page))
]


def test_every_guide_is_there_and_has_examples_or_says_why() -> None:
    guides = {p.stem for p in (DOCS / "guides").glob("*.md")}
    assert guides >= {
        "web-backend", "fan-out", "dataset", "credentials", "local-service",
        "export-import", "migration", "observability",
    }
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("code", EXAMPLES)
def test_docs_example_runs(code: str, tmp_path: Path) -> None:
    run_example(code, tmp_path)
