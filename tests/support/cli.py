"""Running the command line against a local service, for the CLI tests. A test module
takes the ``svc`` (a threaded service for the module) and ``env`` fixtures by importing
``threaded_service_fixture`` and ``env_fixture`` from here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cognitosync_async.local import LocalCognitoSync

CLI = [sys.executable, "-m", "cognitosync_async.cli"]


def cli_env(svc: LocalCognitoSync, tmp_path: Path) -> dict[str, str]:
    """This process's environment without AWS settings, plus the service's developer
    credentials and region, and no shared files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=svc.credentials.access_key_id,
        AWS_SECRET_ACCESS_KEY=svc.credentials.secret_access_key,
        AWS_REGION=svc.region,
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_EC2_METADATA_DISABLED="true",  # the chain never reaches 169.254.169.254
    )
    return env


@pytest.fixture(scope="module", name="svc")
def threaded_service_fixture() -> Iterator[LocalCognitoSync]:
    """The local service in a thread of its own, one for the module: the CLI's
    subprocesses (and ``main()`` run in-process) reach it over loopback."""
    with LocalCognitoSync() as service:
        yield service


@pytest.fixture(name="env")
def env_fixture(svc: LocalCognitoSync, tmp_path: Path) -> dict[str, str]:
    """``cli_env`` for this test, with no fault left armed by an earlier test."""
    e = cli_env(svc, tmp_path)
    svc.faults.reset()
    return e


def run_on_a_terminal(
    args: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run ``args`` with stderr on a pseudo-terminal (stdout piped, as text): the finished
    process and everything the terminal showed."""
    import pty

    master, slave = pty.openpty()
    try:
        r = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=slave, text=True,
                           timeout=60)
        os.close(slave)
        slave = -1
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    return r, shown.decode()
