"""The SDK is typed for its users: a user's ``mypy --strict`` sees the installed
package, catches what it should, and passes a correct program as written.

Each mypy run is a subprocess of this venv's mypy, in a temporary directory
holding only the user's program (no ``MYPYPATH``, no ``PYTHONPATH``), so the
package is found as a user's mypy finds it: through the installed distribution
(for ``pip install -e .``, the path its ``.pth`` file names).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import sysconfig
import typing
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

import cognitosync_async
from cognitosync_async import CognitoIdentityClient, CognitoSyncClient
from cognitosync_async._identity import IDENTITY_OPERATIONS
from cognitosync_async._operations import OPERATIONS, Operation

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

ALL_OPERATIONS: list[tuple[type[Any], Operation[Any]]] = [
    *((CognitoSyncClient, op) for op in OPERATIONS.values()),
    *((CognitoIdentityClient, op) for op in IDENTITY_OPERATIONS.values()),
]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def user_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.pop("MYPYPATH", None)
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for this session's runs (the package is checked once)."""
    return tmp_path_factory.mktemp("mypy-cache")


def run_mypy(directory: Path, cache: Path, *files: str) -> tuple[int, dict[str, list[str]]]:
    """``mypy --strict`` as a user runs it in ``directory``: (exit code, lines by file)."""
    (directory / "mypy.ini").write_text("[mypy]\n", encoding="utf-8")  # no config of ours
    proc = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--config-file", "mypy.ini",
            "--cache-dir", str(cache), "--no-error-summary", "--show-error-codes", *files,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=directory,
        env=user_env(),
    )
    assert not proc.stderr.strip(), proc.stderr
    by_file: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        by_file.setdefault(line.split(":", 1)[0], []).append(line)
    return proc.returncode, by_file


# ---------------------------------------------------------------- what mypy finds


def test_mypy_finds_the_installed_package_not_the_working_directory(tmp_path: Path) -> None:
    """From a directory that is not the repository, the venv's Python imports the
    package from where the installed distribution puts it; an editable install
    is a path in a ``.pth`` file (which mypy reads), not an import hook (which
    it cannot follow)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import cognitosync_async as m; print(m.__file__)"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=user_env(),
    )
    assert proc.returncode == 0, proc.stderr
    found = Path(proc.stdout.strip()).resolve()
    assert found == Path(cognitosync_async.__file__).resolve()
    assert (found.parent / "py.typed").is_file()

    dist = metadata.distribution("cognitosync-async")
    direct_url = dist.read_text("direct_url.json")
    editable = bool(direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"))
    site = Path(sysconfig.get_paths()["purelib"])
    if editable:
        pth_dirs = set()
        for pth in site.glob("*.pth"):
            for line in pth.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith(("import ", "import\t", "#")):
                    pth_dirs.add(Path(line.strip()).resolve())
        assert found.parent.parent in pth_dirs, "the editable install is not path-based"
        assert not list(site.glob("__editable__*finder*.py")), "an import-hook editable install"
    else:
        assert found.is_relative_to(site.resolve())


# ---------------------------------------------------------------- a user's program

GOOD = '''\
import asyncio

from cognitosync_async import (
    CognitoIdentityClient,
    CognitoSyncClient,
    Dataset,
    ListRecordsResponse,
    Record,
    RecordPatch,
)

POOL = "us-east-1:0000aaaa-0000-0000-0000-000000000000"
IDENTITY = "us-east-1:1111bbbb-0000-0000-0000-000000000000"


async def sync(client: CognitoSyncClient) -> int | None:
    page = await client.list_records(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="settings"
    )
    done = await client.update_records(
        identity_pool_id=POOL,
        identity_id=IDENTITY,
        dataset_name="settings",
        sync_session_token=page.sync_session_token,
        record_patches=[RecordPatch("replace", "theme", sync_count=0, value="dark")],
    )
    keys: list[str | None] = [r.key for r in done.records or []]
    print(keys)
    async for record in client.iter_records(
        identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="settings"
    ):
        item: Record = record
        print(item.sync_count)
    pager = client.iter_records(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="s")
    async for whole in pager.pages():
        typed_page: ListRecordsResponse = whole
        print(typed_page.dataset_sync_count)
    async for dataset in client.iter_datasets(identity_pool_id=POOL, identity_id=IDENTITY):
        one: Dataset = dataset
        print(one.dataset_name)
    handle = client.dataset(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="settings")
    values: dict[str, str] = await handle.get()
    print(values, pager.next_token, pager.sync_session_token)
    return page.dataset_sync_count


async def identities(client: CognitoIdentityClient) -> list[str]:
    page = await client.list_identities(identity_pool_id=POOL, max_results=60)
    ids = [i.identity_id for i in page.identities or [] if i.identity_id is not None]
    async for identity in client.iter_identities(identity_pool_id=POOL):
        print(identity.creation_date)
    return ids


async def main() -> None:
    async with CognitoSyncClient("us-east-1") as client:
        print(await sync(client))
    async with CognitoIdentityClient("us-east-1") as identity:
        print(await identities(identity))


if __name__ == "__main__":
    asyncio.run(main())
'''

#: Each mistake on its own line, with what mypy must say about it.
BAD = '''\
from cognitosync_async import CognitoIdentityClient, CognitoSyncClient

POOL = "us-east-1:0000aaaa-0000-0000-0000-000000000000"
IDENTITY = "us-east-1:1111bbbb-0000-0000-0000-000000000000"


async def mistakes(client: CognitoSyncClient, identity: CognitoIdentityClient) -> None:
    await client.describe_dataset(identity_pool_id=POOL, identity_id=IDENTITY)
    await client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY, max_results="10")
    desc = await client.describe_dataset(identity_pool_id=POOL, identity_id="i", dataset_name="d")
    print(desc.datset)
    await identity.list_identities(identity_pool_id=POOL)
    client.iter_records(identity_pool_id=POOL, identity_id=IDENTITY)
    await client.update_records(identity_pool_id=POOL, identity_id=IDENTITY, dataset_name="d")
'''
BAD_EXPECTED = {
    8: ['Missing named argument "dataset_name" for "describe_dataset"', "[call-arg]"],
    9: ['Argument "max_results" to "list_datasets" of "CognitoSyncClient" has incompatible '
        'type "str"; expected "int | None"', "[arg-type]"],
    11: ['"DescribeDatasetResponse" has no attribute "datset"', "[attr-defined]"],
    12: ['Missing named argument "max_results" for "list_identities"', "[call-arg]"],
    13: ['Missing named argument "dataset_name" for "iter_records"', "[call-arg]"],
    14: ['Missing named argument "sync_session_token" for "update_records"', "[call-arg]"],
}


def revealing_program() -> tuple[str, dict[int, str]]:
    """A program revealing the type of each operation's result, made from the
    operation tables, with the type each must be: its ``<Operation>Response``."""
    sample: dict[str, str] = {
        "events": '{"SyncTrigger": "arn"}', "logins": '{"p": "t"}', "max_results": "60",
        "platform": '"GCM"',
    }
    lines = [
        "from cognitosync_async import CognitoIdentityClient, CognitoSyncClient",
        "",
        "",
        "async def reveal(sync: CognitoSyncClient, identity: CognitoIdentityClient) -> None:",
    ]
    expected: dict[int, str] = {}
    for client_cls, op in ALL_OPERATIONS:
        receiver = "sync" if client_cls is CognitoSyncClient else "identity"
        args = ", ".join(
            f"{m.name}={sample.get(m.name, repr('x'))}" for m in op.members if m.required
        )
        lines.append(f"    reveal_type(await {receiver}.{snake(op.name)}({args}))")
        expected[len(lines)] = f"{op.output.__module__}.{op.output.__qualname__}"
    for n, (receiver, method, page, item) in enumerate([
        ("sync", "iter_records(identity_pool_id='p', identity_id='i', dataset_name='d')",
         "cognitosync_async._models.ListRecordsResponse", "cognitosync_async._models.Record"),
        ("sync", "iter_datasets(identity_pool_id='p', identity_id='i')",
         "cognitosync_async._models.ListDatasetsResponse", "cognitosync_async._models.Dataset"),
        ("sync", "iter_identity_pool_usage()",
         "cognitosync_async._models.ListIdentityPoolUsageResponse",
         "cognitosync_async._models.IdentityPoolUsage"),
        ("identity", "iter_identities(identity_pool_id='p')",
         "cognitosync_async._identity.ListIdentitiesResponse",
         "cognitosync_async._identity.IdentityDescription"),
    ]):
        lines.append(f"    async for item{n} in {receiver}.{method}:")
        lines.append(f"        reveal_type(item{n})")
        expected[len(lines)] = item
        lines.append(f"    async for page{n} in {receiver}.{method}.pages():")
        lines.append(f"        reveal_type(page{n})")
        expected[len(lines)] = page
    return "\n".join(lines) + "\n", expected


def test_a_users_mypy_strict_catches_mistakes_and_passes_a_correct_program(
    tmp_path: Path, mypy_cache: Path
) -> None:
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.py").write_text(BAD, encoding="utf-8")
    revealing, revealed = revealing_program()
    (tmp_path / "revealing.py").write_text(revealing, encoding="utf-8")

    code, out = run_mypy(tmp_path, mypy_cache, "good.py", "bad.py", "revealing.py")

    assert code == 1  # errors were found (bad.py), and mypy did not crash
    assert "good.py" not in out, "\n".join(out["good.py"])
    assert "cast(" not in GOOD and "assert " not in GOOD

    bad = {int(line.split(":")[1]): line for line in out.get("bad.py", []) if ": error: " in line}
    for line_no, words in BAD_EXPECTED.items():
        assert line_no in bad, f"mypy missed line {line_no}: {BAD.splitlines()[line_no - 1]}"
        for text in words:
            assert text in bad[line_no], bad[line_no]
    assert set(bad) == set(BAD_EXPECTED), "\n".join(bad.values())

    notes = {int(line.split(":")[1]): line for line in out.get("revealing.py", [])}
    assert not [line for line in notes.values() if ": error: " in line], "\n".join(notes.values())
    assert set(notes) == set(revealed), "\n".join(notes.values())
    for line_no, type_name in revealed.items():
        assert f'Revealed type is "{type_name}"' in notes[line_no], notes[line_no]


# ---------------------------------------------------------------- the README


def test_readme_python_blocks_pass_mypy_strict_as_written(
    tmp_path: Path, mypy_cache: Path
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    names = []
    for index, code in enumerate(blocks):
        name = f"readme_block_{index}.py"
        (tmp_path / name).write_text(code, encoding="utf-8")
        names.append(name)
    code, out = run_mypy(tmp_path, mypy_cache, *names)
    assert code == 0, "\n".join(line for lines in out.values() for line in lines)


# ---------------------------------------------------------------- the signatures


@pytest.mark.parametrize(
    ("client_cls", "op"),
    [pytest.param(cls, op, id=snake(op.name)) for cls, op in ALL_OPERATIONS],
)
def test_each_method_matches_its_operation(client_cls: type[Any], op: Operation[Any]) -> None:
    """Keyword-only arguments named as the table's members; a required one has no
    default, an optional one defaults to None; the result is the operation's class."""
    method = getattr(client_cls, snake(op.name))
    params = list(inspect.signature(method).parameters.values())[1:]  # self
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert [p.name for p in params if p.default is inspect.Parameter.empty] == [
        m.name for m in op.members if m.required
    ]
    assert {p.name for p in params} == {m.name for m in op.members}
    assert all(p.default is None for p in params if p.default is not inspect.Parameter.empty)
    hints = typing.get_type_hints(method)
    assert hints["return"] is op.output


@pytest.mark.parametrize(
    ("method", "required"),
    [
        pytest.param(method, required, id=method.__name__)
        for method, required in [
            (CognitoSyncClient.iter_datasets, ["identity_pool_id", "identity_id"]),
            (CognitoSyncClient.iter_records, ["identity_pool_id", "identity_id", "dataset_name"]),
            (CognitoSyncClient.iter_identity_pool_usage, []),
            (CognitoSyncClient.dataset, ["identity_pool_id", "identity_id", "dataset_name"]),
            (CognitoIdentityClient.iter_identities, ["identity_pool_id"]),
        ]
    ],
)
def test_helpers_require_the_same_arguments(method: Any, required: list[str]) -> None:
    params = list(inspect.signature(method).parameters.values())[1:]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    assert [p.name for p in params if p.default is inspect.Parameter.empty] == required
