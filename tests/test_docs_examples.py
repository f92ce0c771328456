"""The docs site's examples run as written: every ```python block of docs/**/*.md
(see tests/support/examples.py for how each kind of block is run)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from support.examples import python_blocks, run_example
from support.extras import need

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


# A block that imports an extra's library runs where the extra is installed; without
# it the block skips, or fails when COGNITOSYNC_REQUIRE_EXTRAS is set (CI's main run).
EXTRAS = {"opentelemetry": "otel", "ray": "ray", "aiobotocore": "dynamodb"}


@pytest.mark.parametrize("code", EXAMPLES)
def test_docs_example_runs(code: str, tmp_path: Path) -> None:
    for module, extra in EXTRAS.items():
        if f"import {module}" in code or f"from {module}" in code:
            need(module, extra)
    if "cognitosync_async.otel" in code:
        need("opentelemetry.instrumentation", "otel")
    run_example(code, tmp_path)


def test_cli_reference_has_every_command_help() -> None:
    """docs/_hooks.py fills the CLI reference page from the CLI's own --help."""
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "_hooks.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert hooks.MARKER in page
    text = hooks.on_page_markdown(page, None, None, None)
    assert hooks.MARKER not in text
    for command in ("datasets", "records", "get", "put", "delete", "export", "import",
                    "demo", "serve", "mint-credentials"):
        assert f"\n## {command}\n\n```text\nusage: " in text, command
    assert "--identity-pool-id" in text and "--checkpoint" in text
