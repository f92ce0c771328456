"""Run the Python examples of a Markdown page (README.md, docs/**/*.md) as written.

Each ```python block is one example, run in a fresh interpreter in a temporary
directory, with no AWS_* variable of the caller's environment:

- a block that defines ``test_...`` functions is a user's test module: it is run by
  pytest in pytest-asyncio's *strict* mode (the default a user gets), with this
  package's pytest plugin providing the fixtures;
- a block that calls ``asyncio.run(`` is a program: it must exit 0;
- any other block is a fragment (a handler, a fixture, error handling): it must import
  and define what it shows, and a ``make_app()`` it defines is called.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
TEST_FUNCTION = re.compile(r"^(?:async )?def test_", re.M)


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


def run_example(code: str, tmp_path: Path, name: str = "example") -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
    if TEST_FUNCTION.search(code):
        (tmp_path / f"test_{name}.py").write_text(code, encoding="utf-8")
        (tmp_path / "pytest.ini").write_text(
            "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
            "filterwarnings = error\n",
            encoding="utf-8",
        )
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    else:
        if "asyncio.run(" not in code:
            code += "\nif 'make_app' in globals():\n    make_app()\n"
        script = tmp_path / f"{name}.py"
        script.write_text(code, encoding="utf-8")
        command = [sys.executable, str(script)]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    if command[1:3] == ["-m", "pytest"]:
        assert re.search(r"^\d+ passed", proc.stdout, re.M), proc.stdout[-3000:]
