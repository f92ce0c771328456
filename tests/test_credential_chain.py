"""The default credential chain: each source against a loopback server speaking its
wire format, precedence, refresh, and boto3 as the oracle for which source is picked."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from support.credential_servers import (
    SOURCE_KEY,
    SOURCE_SECRET,
    CredentialServers,
    serve_credentials,
)

from cognitosync_async import (
    CredentialRetrievalError,
    Credentials,
    DefaultCredentialsProvider,
    InvalidConfigError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOTokenError,
)
from cognitosync_async._sso import cache_path


@pytest.fixture
async def aws() -> AsyncIterator[CredentialServers]:
    async with serve_credentials() as s:
        yield s


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    home = Path(os.environ["HOME"])
    (home / ".aws").mkdir(exist_ok=True)
    return Path(os.environ["AWS_CONFIG_FILE"]), Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"])


def boto3_method(profile: str | None = None) -> str | None:
    """What boto3 picks for the same environment and files (blocking: run in a thread)."""
    creds = boto3.Session(profile_name=profile).get_credentials()
    return None if creds is None else creds.method


async def both(profile: str | None = None) -> tuple[str, str | None]:
    ours = await DefaultCredentialsProvider(profile_name=profile).find_source()
    theirs = await asyncio.to_thread(boto3_method, profile)
    return ours, theirs


# ---------------------------------------------------------------- oracle: source choice


async def test_env_keys_first_like_boto3(
    monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path]
) -> None:
    files[1].write_text("[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    assert await both() == ("env", "env")
    creds = await DefaultCredentialsProvider().get_credentials()
    assert creds.access_key_id == "AKIAENV"


async def test_explicit_profile_skips_env_keys_like_boto3(
    monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path]
) -> None:
    files[1].write_text("[dev]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    assert await both("dev") == ("shared-credentials-file", "shared-credentials-file")
    assert (await DefaultCredentialsProvider(profile_name="dev").get_credentials()
            ).access_key_id == "AKIAFILE"


async def test_aws_profile_env_does_not_skip_env_keys_like_boto3(
    monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path]
) -> None:
    files[1].write_text("[dev]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_PROFILE", "dev")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    assert await both() == ("env", "env")


async def test_config_file_keys_and_credentials_file_merged_over_them(
    files: tuple[Path, Path]
) -> None:
    files[0].write_text("[profile dev]\naws_access_key_id = AKIACONFIG\n"
                        "aws_secret_access_key = c\nregion = eu-west-1\n")
    files[1].write_text("[dev]\naws_access_key_id = AKIACREDS\naws_secret_access_key = s\n")
    ours, theirs = await both("dev")
    assert theirs == "shared-credentials-file" and ours == theirs
    creds = await DefaultCredentialsProvider(profile_name="dev").get_credentials()
    boto = await asyncio.to_thread(lambda: boto3.Session(profile_name="dev").get_credentials())
    assert creds.access_key_id == boto.access_key == "AKIACREDS"


async def test_role_arn_profile_before_static_keys_like_boto3(files: tuple[Path, Path]) -> None:
    files[0].write_text(
        "[profile src]\naws_access_key_id = AKIA1\naws_secret_access_key = s\n"
        "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = src\n"
        "aws_access_key_id = AKIA2\naws_secret_access_key = s2\n"
    )
    assert await both("app") == ("assume-role", "assume-role")


async def test_web_identity_profile_like_boto3(files: tuple[Path, Path], tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("jwt")
    files[0].write_text(f"[profile eks]\nrole_arn = arn:aws:iam::123456789012:role/eks\n"
                        f"web_identity_token_file = {token}\n")
    assert await both("eks") == ("assume-role-with-web-identity",) * 2


async def test_env_web_identity_like_boto3(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, files: tuple[Path, Path]
) -> None:
    token = tmp_path / "token"
    token.write_text("jwt")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa")
    assert await both() == ("assume-role-with-web-identity",) * 2


async def test_sso_profile_like_boto3(files: tuple[Path, Path]) -> None:
    files[0].write_text(
        "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
        "sso_role_name = Dev\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\n"
    )
    assert await both("sso") == ("sso", "sso")


async def test_credential_process_like_boto3(files: tuple[Path, Path], tmp_path: Path) -> None:
    script = tmp_path / "mint.py"
    exp = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    script.write_text("import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'AKIAPROC', "
                      f"'SecretAccessKey': 'p', 'SessionToken': 't', 'Expiration': '{exp}'}}))\n")
    files[0].write_text(f"[profile proc]\ncredential_process = {sys.executable} {script}\n")
    assert await both("proc") == ("custom-process", "custom-process")
    creds = await DefaultCredentialsProvider(profile_name="proc").get_credentials()
    assert creds.access_key_id == "AKIAPROC" and creds.session_token == "t"
    assert creds.expiration is not None


async def test_container_like_boto3(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{aws.url}/container/creds")
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token")
    aws.container_token = "container-auth-token"
    assert await both() == ("container-role", "container-role")


async def test_imds_like_boto3(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", aws.url)
    assert await both() == ("iam-role", "iam-role")


async def test_nothing_like_boto3_and_every_source_named(files: tuple[Path, Path]) -> None:
    assert await asyncio.to_thread(boto3_method) is None
    with pytest.raises(NoCredentialsError) as info:
        await DefaultCredentialsProvider().get_credentials()
    text = str(info.value)
    for source in ("environment keys", "web identity", "profile 'default'", "container",
                   "instance metadata: disabled"):
        assert source in text


async def test_missing_profile_like_boto3(files: tuple[Path, Path]) -> None:
    from botocore.exceptions import ProfileNotFound as BotoProfileNotFound

    with pytest.raises(BotoProfileNotFound):
        await asyncio.to_thread(boto3_method, "nope")
    with pytest.raises(ProfileNotFound, match=r"\(nope\)") as info:
        await DefaultCredentialsProvider(profile_name="nope").get_credentials()
    assert info.value.profile == "nope"


async def test_partial_env_keys_like_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import PartialCredentialsError as BotoPartial

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHALF")
    with pytest.raises(BotoPartial):
        await asyncio.to_thread(boto3_method)
    with pytest.raises(PartialCredentialsError, match="AWS_SECRET_ACCESS_KEY"):
        await DefaultCredentialsProvider().get_credentials()


# ---------------------------------------------------------------- each source on the wire


async def test_assume_role_signed_by_the_source_profile(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"{aws.url}/sts")
    files[1].write_text(f"[src]\naws_access_key_id = {SOURCE_KEY}\n"
                        f"aws_secret_access_key = {SOURCE_SECRET}\n")
    files[0].write_text(
        "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = src\n"
        "role_session_name = backend\nexternal_id = ext-1\nduration_seconds = 1800\n"
        "region = eu-west-1\n"
    )
    creds = await DefaultCredentialsProvider(profile_name="app").get_credentials()
    assert creds.access_key_id.startswith("ASIAROLE") and creds.expiration is not None
    (call,) = aws.of("/sts/")
    form = dict(p.split("=", 1) for p in call.body.decode().split("&"))
    assert form["Action"] == "AssumeRole" and form["Version"] == "2011-06-15"
    assert form["RoleSessionName"] == "backend" and form["ExternalId"] == "ext-1"
    assert form["DurationSeconds"] == "1800"
    assert f"Credential={SOURCE_KEY}/" in call.headers["Authorization"]
    assert "/eu-west-1/sts/aws4_request" in call.headers["Authorization"]


async def test_chained_assume_role_signs_with_the_first_role(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"{aws.url}/sts")  # the global variable applies
    files[1].write_text(f"[src]\naws_access_key_id = {SOURCE_KEY}\n"
                        f"aws_secret_access_key = {SOURCE_SECRET}\n")
    files[0].write_text(
        "[profile first]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = src\n"
        "[profile second]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = first\n"
        "region = us-east-1\n"
    )
    creds = await DefaultCredentialsProvider(profile_name="second").get_credentials()
    first, second = aws.of("/sts/")
    assert f"Credential={SOURCE_KEY}/" in first.headers["Authorization"]
    assert "X-Amz-Security-Token" in second.headers  # signed by the first role's session
    assert creds.access_key_id != second.headers["Authorization"]


async def test_assume_role_with_credential_source_environment(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"{aws.url}/sts")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SOURCE_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SOURCE_SECRET)
    files[0].write_text("[profile app]\nrole_arn = arn:aws:iam::1:role/a\n"
                        "credential_source = Environment\nregion = us-west-2\n")
    creds = await DefaultCredentialsProvider(profile_name="app").get_credentials()
    assert creds.access_key_id.startswith("ASIAROLE")


async def test_assume_role_with_credential_source_ecs_container(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"{aws.url}/sts")
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{aws.url}/container/x")
    files[0].write_text("[profile app]\nrole_arn = arn:aws:iam::1:role/a\n"
                        "credential_source = EcsContainer\nregion = us-west-2\n")
    creds = await DefaultCredentialsProvider(profile_name="app").get_credentials()
    assert creds.access_key_id.startswith("ASIAROLE")
    assert "Credential=ASIACONTAINER" in aws.of("/sts/")[0].headers["Authorization"]


async def test_mfa_profile_is_a_clear_error(files: tuple[Path, Path]) -> None:
    files[0].write_text("[profile src]\naws_access_key_id = A\naws_secret_access_key = s\n"
                        "[profile mfa]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = src\n"
                        "mfa_serial = arn:aws:iam::1:mfa/me\n")
    with pytest.raises(InvalidConfigError, match="MFA"):
        await DefaultCredentialsProvider(profile_name="mfa").get_credentials()


async def test_missing_source_profile_named(files: tuple[Path, Path]) -> None:
    files[0].write_text("[profile app]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = gone\n")
    with pytest.raises(InvalidConfigError, match='"gone"'):
        await DefaultCredentialsProvider(profile_name="app").get_credentials()


async def test_web_identity_token_file_reread_on_refresh(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    files: tuple[Path, Path],
) -> None:
    token = tmp_path / "token"
    token.write_text("first-jwt")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/irsa")
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "pod-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"{aws.url}/sts")
    aws.lifetime = timedelta(minutes=12)  # inside the advisory window: every call refreshes
    provider = DefaultCredentialsProvider()
    first = await provider.get_credentials()
    token.write_text("second-jwt")
    second = await provider.get_credentials()
    assert first.access_key_id != second.access_key_id
    bodies = [c.body.decode() for c in aws.of("/sts/")]
    assert "WebIdentityToken=first-jwt" in bodies[0] and "WebIdentityToken=second-jwt" in bodies[1]
    assert "RoleSessionName=pod-1" in bodies[0]
    assert all("Authorization" not in c.headers for c in aws.of("/sts/"))  # unsigned


async def test_container_relative_uri_host_and_token_file_reread(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cognitosync_async._metadata_credentials import ContainerCredentialsFetcher

    relative = ContainerCredentialsFetcher({"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x"})
    assert "169.254.170.2" in repr(relative)  # never contacted here
    token_file = tmp_path / "eks-token"
    token_file.write_text("token-one\n")
    aws.container_token = "token-one"
    env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{aws.url}/container/pod",
           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": str(token_file),
           "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ignored-when-a-file-is-set"}
    fetcher = ContainerCredentialsFetcher(env, sleep=0)
    assert (await fetcher.fetch()).access_key_id.startswith("ASIACONTAINER")
    token_file.write_text("token-two\n")
    aws.container_token = "token-two"
    assert (await fetcher.fetch()).access_key_id.startswith("ASIACONTAINER")
    assert [c.headers["Authorization"] for c in aws.of("/container/")] == ["token-one", "token-two"]


async def test_container_retries_then_names_the_failure(aws: CredentialServers) -> None:
    from cognitosync_async._metadata_credentials import ContainerCredentialsFetcher

    env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{aws.url}/container/pod"}
    aws.container_failures = 2
    assert (await ContainerCredentialsFetcher(env, sleep=0).fetch()).access_key_id
    assert len(aws.of("/container/")) == 3
    aws.container_failures = 5
    with pytest.raises(CredentialRetrievalError, match="after 3 attempts: HTTP 500"):
        await ContainerCredentialsFetcher(env, sleep=0).fetch()


@pytest.mark.parametrize("url", ["http://10.0.0.1/creds", "http://example.com/creds"])
def test_container_full_uri_refuses_other_hosts_over_http(url: str) -> None:
    from cognitosync_async._metadata_credentials import ContainerCredentialsFetcher

    with pytest.raises(InvalidConfigError, match="unsupported host"):
        ContainerCredentialsFetcher({"AWS_CONTAINER_CREDENTIALS_FULL_URI": url})
    for ok in ("http://localhost/x", "http://169.254.170.23/x", "http://[::1]:9/x",
               "https://example.com/x"):
        ContainerCredentialsFetcher({"AWS_CONTAINER_CREDENTIALS_FULL_URI": ok})


async def test_imds_v2_token_handshake_and_v1_fallback(aws: CredentialServers) -> None:
    from cognitosync_async._metadata_credentials import InstanceMetadataFetcher

    fetcher = InstanceMetadataFetcher({"AWS_EC2_METADATA_SERVICE_ENDPOINT": aws.url})
    creds = await fetcher.fetch()
    assert creds is not None and creds.access_key_id.startswith("ASIAIMDS")
    token, role, cred = aws.of("/latest/")
    assert (token.method, token.path) == ("PUT", "/latest/api/token")
    assert token.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
    assert role.path == "/latest/meta-data/iam/security-credentials/"
    assert cred.path.endswith("/app-role")
    assert role.headers["x-aws-ec2-metadata-token"] == "imds-session-token"
    aws.imds_v1_only = True
    assert await fetcher.fetch() is not None


async def test_imds_without_role_gives_nothing_and_says_why(aws: CredentialServers) -> None:
    from cognitosync_async._metadata_credentials import InstanceMetadataFetcher

    aws.imds_role = ""
    fetcher = InstanceMetadataFetcher({"AWS_EC2_METADATA_SERVICE_ENDPOINT": aws.url,
                                       "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "2"})
    assert await fetcher.fetch() is None
    assert "no IAM role" in fetcher.last_failure


def test_imds_defaults_are_botocores() -> None:
    from botocore.utils import InstanceMetadataFetcher as Boto

    from cognitosync_async._metadata_credentials import IMDS_ATTEMPTS, IMDS_TIMEOUT

    boto = Boto()
    assert (IMDS_TIMEOUT, IMDS_ATTEMPTS) == (boto._timeout, boto._num_attempts)  # type: ignore[attr-defined]


async def test_sso_cached_token_exchanged_at_the_portal(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch, files: tuple[Path, Path]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSO", aws.url)
    files[0].write_text(
        "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
        "sso_role_name = Dev\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\n"
    )
    path = Path(cache_path(os.environ, "corp"))
    provider = DefaultCredentialsProvider(profile_name="sso")
    with pytest.raises(SSOTokenError, match="aws sso login --profile sso"):
        await provider.get_credentials()
    path.parent.mkdir(parents=True)
    expired = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps({"accessToken": "sso-access-token", "expiresAt": expired}))  # noqa: ASYNC240
    with pytest.raises(SSOTokenError, match="expired.*aws sso login --profile sso"):
        await provider.get_credentials()
    valid = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path.write_text(json.dumps({"accessToken": "sso-access-token", "expiresAt": valid}))  # noqa: ASYNC240
    creds = await provider.get_credentials()
    assert creds.access_key_id.startswith("ASIASSO")
    (call,) = aws.of("/federation/")
    assert call.query == "account_id=123456789012&role_name=Dev"
    # botocore's cache file name for the same session (what `aws sso login` writes)
    from botocore.utils import SSOTokenLoader

    assert path.name == SSOTokenLoader(cache={})._generate_cache_key("", "corp") + ".json"  # type: ignore[attr-defined]


async def test_legacy_sso_profile_cache_key_is_the_start_url() -> None:
    from botocore.utils import SSOTokenLoader

    url = "https://corp.awsapps.com/start"
    assert Path(cache_path({}, url)).stem == SSOTokenLoader(cache={})._generate_cache_key(url, None)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- refresh, secrets


async def test_refresh_across_expiry_with_one_fetch_for_concurrent_callers(
    aws: CredentialServers,
) -> None:
    from cognitosync_async._credentials import _refreshable
    from cognitosync_async._metadata_credentials import ContainerCredentialsFetcher

    aws.lifetime = timedelta(minutes=20)  # outside the advisory window: kept
    provider = _refreshable(ContainerCredentialsFetcher(
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{aws.url}/container/a"}).fetch)
    results = await asyncio.gather(*(provider.get_credentials() for _ in range(40)))
    assert len({r.access_key_id for r in results}) == 1 and len(aws.of("/container/")) == 1
    assert (await provider.get_credentials()) is results[0]
    aws.lifetime = timedelta(minutes=5)  # the next ones are inside the mandatory window
    provider._current = None
    soon = await provider.get_credentials()
    again = await asyncio.gather(*(provider.get_credentials() for _ in range(40)))
    assert len(aws.of("/container/")) == 3  # each round refreshes once for all its callers
    assert len({c.access_key_id for c in again}) == 1 and again[0] != soon


async def test_no_secret_in_repr_logs_or_errors(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    caplog: pytest.LogCaptureFixture, files: tuple[Path, Path],
) -> None:
    caplog.set_level(logging.DEBUG)
    token = tmp_path / "token"
    token.write_text("web-identity-jwt-secret")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/irsa")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"{aws.url}/sts")
    provider = DefaultCredentialsProvider()
    creds = await provider.get_credentials()
    aws.container_token = "right-token"
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-secret")
    from cognitosync_async._metadata_credentials import ContainerCredentialsFetcher

    fetcher = ContainerCredentialsFetcher(
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{aws.url}/container/a",
         "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-auth-secret"}, sleep=0)
    with pytest.raises(CredentialRetrievalError) as info:
        await fetcher.fetch()
    shown = " ".join([repr(provider), repr(creds), str(creds), repr(fetcher), str(info.value),
                      caplog.text])
    for secret in (creds.secret_access_key, creds.session_token or "-",
                   "web-identity-jwt-secret", "container-auth-secret"):
        assert secret not in shown


async def test_concurrent_first_calls_share_one_search_and_one_fetch(
    aws: CredentialServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{aws.url}/container/a")
    provider = DefaultCredentialsProvider()
    results = await asyncio.gather(*(provider.get_credentials() for _ in range(30)))
    assert len({c.access_key_id for c in results}) == 1
    assert len(aws.of("/container/")) == 1 and provider.source == "container-role"


async def test_failed_refresh_uses_current_until_the_mandatory_window() -> None:
    from cognitosync_async import RefreshableCredentials
    from cognitosync_async._credentials import ADVISORY_REFRESH, MANDATORY_REFRESH
    from cognitosync_async._exceptions import EndpointConnectionError

    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    expires = now + timedelta(hours=1)
    calls = 0

    async def fetch() -> Credentials:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise EndpointConnectionError("metadata endpoint down")
        return Credentials("ASIA1", "s", "t", expires)

    clock = [now]
    provider = RefreshableCredentials(fetch, advisory_refresh=ADVISORY_REFRESH,
                                      mandatory_refresh=MANDATORY_REFRESH, clock=lambda: clock[0])
    first = await provider.get_credentials()
    clock[0] = expires - timedelta(minutes=12)  # advisory window: a failure keeps them
    assert await provider.get_credentials() is first and calls == 2
    clock[0] = expires - timedelta(minutes=9)  # mandatory window: the failure is raised
    with pytest.raises(EndpointConnectionError):
        await provider.get_credentials()
