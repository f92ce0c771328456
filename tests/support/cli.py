"""Running the command line against a local service, for the CLI tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
