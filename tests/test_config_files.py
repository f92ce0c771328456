"""The shared-files loader against botocore's ``Session.full_config`` (the oracle)."""

from __future__ import annotations

import os
from pathlib import Path

import botocore.session
import pytest

from cognitosync_async import InvalidConfigError, ProfileNotFound
from cognitosync_async._config_files import load_shared_config, profile_name

CONFIG = """\
[default]
region = us-east-1
[profile default]
output = json
[profile dev]
region = eu-west-1
services = local
s3 =
  addressing_style = path
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
[services local]
cognito_sync =
  endpoint_url = http://127.0.0.1:8910
sts =
  endpoint_url = http://127.0.0.1:8911
[not a profile]
x = 1
"""

CREDENTIALS = """\
[dev]
aws_access_key_id = AKIADEV
aws_secret_access_key = dev-secret
region = eu-west-2
[only-in-credentials]
aws_access_key_id = AKIAONLY
aws_secret_access_key = only-secret
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "config").write_text(CONFIG)
    (tmp_path / "credentials").write_text(CREDENTIALS)
    os.environ["AWS_CONFIG_FILE"] = str(tmp_path / "config")
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "credentials")
    return dict(os.environ)


def test_same_profiles_sessions_and_services_as_botocore(env: dict[str, str]) -> None:
    ours = load_shared_config(env)
    theirs = botocore.session.Session().full_config
    assert ours.profiles == theirs["profiles"]
    assert ours.sso_sessions == theirs["sso_sessions"]
    assert ours.services == theirs["services"]
    assert ours.get("dev", "region") == "eu-west-2"  # the credentials file merged over
    assert ours.services_value("dev", "cognito_sync", "endpoint_url") == "http://127.0.0.1:8910"


def test_missing_profile_raises_but_default_may_be_absent(tmp_path: Path) -> None:
    config = load_shared_config({"AWS_CONFIG_FILE": str(tmp_path / "none"),
                                 "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")})
    assert config.profile("default") == {}
    with pytest.raises(ProfileNotFound, match=r"\(dev\)"):
        config.profile("dev")


def test_unparsable_file_is_a_clear_error_without_its_content(tmp_path: Path) -> None:
    bad = tmp_path / "config"
    bad.write_text("aws_secret_access_key = leaked-secret\n[default]\n")
    with pytest.raises(InvalidConfigError) as info:
        load_shared_config({"AWS_CONFIG_FILE": str(bad)})
    assert str(bad) in str(info.value) and "leaked-secret" not in str(info.value)


def test_profile_name_order_is_botocores() -> None:
    assert profile_name({"AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"}) == "b"
    assert profile_name({"AWS_PROFILE": "a"}) == "a"
    assert profile_name({"AWS_PROFILE": "a"}, "explicit") == "explicit"
    assert profile_name({}) == "default"
    os.environ.update({"AWS_PROFILE": "a", "AWS_DEFAULT_PROFILE": "b"})
    try:
        assert botocore.session.Session().get_config_variable("profile") == "b"
    finally:
        del os.environ["AWS_PROFILE"], os.environ["AWS_DEFAULT_PROFILE"]
