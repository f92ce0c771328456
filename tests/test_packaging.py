"""Release artefacts: ``python -m build`` gives a wheel and an sdist that pass
``twine check --strict``, hold what they should, and take the version from one place."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.parser import HeaderParser
from pathlib import Path

import pytest

from cognitosync_async import __version__

ROOT = Path(__file__).resolve().parent.parent
# what a fresh clone does not have (a developer's and CI's venvs, build output, caches)
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "venv*", "build", "dist", "site", "*.egg-info", "__pycache__",
    ".*_cache", ".hypothesis", "*.sqlite3*",
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build sdist, then the wheel from the sdist (as ``python -m build`` does), from a
    copy of the source tree, so that no stale egg-info or build/ of a developer's leaks in."""
    base = tmp_path_factory.mktemp("packaging")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    out = base / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    yield out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("*.whl")
    return wheel


def _sdist(dist: Path) -> Path:
    (sdist,) = dist.glob("*.tar.gz")
    return sdist


def test_twine_check_strict(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    assert len(files) == 2
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2, proc.stdout


def test_wheel_holds_the_package_with_py_typed_and_no_tests(dist: Path) -> None:
    wheel = _wheel(dist)
    assert wheel.name == f"cognitosync_async-{__version__}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    assert "cognitosync_async/py.typed" in names
    assert "cognitosync_async/pytest_plugin.py" in names
    assert "cognitosync_async/local/server.py" in names
    top = {n.split("/", 1)[0] for n in names}
    assert top == {"cognitosync_async", f"cognitosync_async-{__version__}.dist-info"}, top
    assert not [n for n in names if "/tests/" in n or n.startswith("tests/")]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".sqlite3"))]
    assert f"cognitosync_async-{__version__}.dist-info/licenses/LICENSE" in names


def test_wheel_metadata_and_entry_points(dist: Path) -> None:
    wheel = zipfile.ZipFile(_wheel(dist))
    info = f"cognitosync_async-{__version__}.dist-info"
    meta = HeaderParser().parsestr(wheel.read(f"{info}/METADATA").decode())
    assert meta["Name"] == "cognitosync-async"
    assert meta["Version"] == __version__
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.10"
    assert {"docs", "test"} <= set(meta.get_all("Provides-Extra") or [])
    runtime = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    names = sorted(re.split(r"[<>=!~; \[]", r, maxsplit=1)[0].lower() for r in runtime)
    assert names == ["aiohttp", "attrs", "aws-requests-auth", "tenacity"]

    entry_points = configparser.ConfigParser()
    entry_points.read_string(wheel.read(f"{info}/entry_points.txt").decode())
    assert dict(entry_points["pytest11"]) == {
        "cognitosync_async": "cognitosync_async.pytest_plugin"
    }
    assert entry_points["console_scripts"]["cognitosync-async"] == "cognitosync_async.cli:main"


def test_sdist_holds_tests_docs_licence_and_changelog(dist: Path) -> None:
    sdist = _sdist(dist)
    assert sdist.name == f"cognitosync_async-{__version__}.tar.gz"
    prefix = f"cognitosync_async-{__version__}/"
    with tarfile.open(sdist) as tar:
        names = {n.removeprefix(prefix) for n in tar.getnames()}
    for required in (
        "LICENSE",
        "CHANGELOG.md",
        "README.md",
        "RELEASING.md",
        "pyproject.toml",
        "mkdocs.yml",
        "docs/index.md",
        "cognitosync_async/py.typed",
        "tests/conftest.py",
        "tests/test_packaging.py",
        "tests/data/sigv4/SOURCE.md",
    ):
        assert required in names, required
    # every test-data file of the checkout is there
    data = {str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "data").rglob("*") if p.is_file()}
    assert data <= names, sorted(data - names)[:5]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".sqlite3"))]
    assert not [n for n in names if n.startswith((".venv", ".ci/venv", ".git/"))]


def test_version_comes_from_one_place() -> None:
    """``_version.py`` holds the version; nothing else in the package or its build
    configuration spells it (the User-Agent, the CLI's --version and the metadata read it)."""
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.dev\d+)?", __version__)
    literal = re.compile(r"""["']""" + re.escape(__version__) + r"""["']""")
    spelled = [
        str(path.relative_to(ROOT))
        for path in [ROOT / "pyproject.toml", ROOT / "mkdocs.yml",
                     *(ROOT / "cognitosync_async").rglob("*.py")]
        if path.name != "_version.py" and literal.search(path.read_text(encoding="utf-8"))
    ]
    assert spelled == []
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert "_version" in pyproject  # the build backend reads it from _version.py


def test_user_agent_carries_the_version() -> None:
    from cognitosync_async import _transport

    assert _transport.USER_AGENT.startswith(f"cognitosync-async/{__version__} ")
