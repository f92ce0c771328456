"""STS over the query protocol: the SDK's AssumeRole / AssumeRoleWithWebIdentity
against moto's STS server (an independent peer), STS error documents, and the
hardened XML parser."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from support.credential_servers import CredentialServers, serve_credentials, sts_error_document
from support.moto import moto_url_fixture  # noqa: F401  (the moto_url fixture)

from cognitosync_async import (
    CognitoSyncClient,
    Credentials,
    DefaultCredentialsProvider,
    ResponseParseError,
    ServiceError,
    _sts,
)

ROLE = "arn:aws:iam::123456789012:role/backend"
SOURCE = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


@pytest.fixture
async def aws() -> AsyncIterator[CredentialServers]:
    async with serve_credentials() as s:
        yield s


async def test_assume_role_against_moto(moto_url: str) -> None:
    creds = await _sts.assume_role(
        SOURCE, role_arn=ROLE, role_session_name="s1", duration_seconds=900,
        external_id="x-1", region="us-east-1", endpoint_url=moto_url,
    )
    assert creds.access_key_id.startswith("ASIA") and creds.session_token
    assert creds.expiration is not None and creds.expiration > datetime.now(timezone.utc)


async def test_web_identity_profile_against_moto(
    moto_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    config = Path(os.environ["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(  # noqa: ASYNC240
        f"[profile eks]\nrole_arn = {ROLE}\nweb_identity_token_file = {token}\n"
        f"region = us-east-1\nservices = moto\n"
        f"[services moto]\nsts =\n  endpoint_url = {moto_url}\n"
    )
    provider = DefaultCredentialsProvider(profile_name="eks")
    creds = await provider.get_credentials()
    assert provider.source == "assume-role-with-web-identity"
    assert creds.access_key_id and creds.session_token and creds.expiration is not None


async def test_role_profile_used_by_a_client_against_moto(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, aws: CredentialServers
) -> None:
    """The role's credentials (from moto) sign the Cognito Sync call."""
    config = Path(os.environ["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(  # noqa: ASYNC240
        f"[profile app]\nrole_arn = {ROLE}\ncredential_source = Environment\nregion = us-east-1\n"
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SOURCE.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SOURCE.secret_access_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_COGNITO_SYNC", f"{aws.url}/sync")
    client = CognitoSyncClient(profile_name="app", max_attempts=1)
    with pytest.raises(ServiceError):  # the loopback server answers 404
        await client.list_identity_pool_usage()
    await client.close()
    (call,) = aws.of("/sync/")
    assert "Credential=ASIA" in call.headers["Authorization"]
    assert call.headers.get("X-Amz-Security-Token")


async def test_sts_error_document_is_a_typed_error(aws: CredentialServers) -> None:
    aws.sts_error = (403, sts_error_document("AccessDenied", "not authorized to assume"))
    with pytest.raises(ServiceError) as info:
        await _sts.assume_role(SOURCE, role_arn=ROLE, role_session_name="s", region="us-east-1",
                               endpoint_url=f"{aws.url}/sts")
    err = info.value
    assert (err.code, err.status_code, err.request_id) == ("AccessDenied", 403, "req-err-1")
    assert "not authorized to assume" in str(err) and SOURCE.secret_access_key not in str(err)


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]><r>&lol;</r>',
        b'<!doctype r SYSTEM "http://127.0.0.1:9/x.dtd"><r/>',
        b"<r><!ENTITY x 'y'></r>",
    ],
)
def test_xml_with_dtd_or_entities_is_refused(body: bytes) -> None:
    with pytest.raises(ResponseParseError, match="DOCTYPE or an entity"):
        _sts.parse_xml(body)


def test_not_xml_is_a_parse_error() -> None:
    with pytest.raises(ResponseParseError):
        _sts.parse_xml(b"<unclosed>")


def test_default_endpoint_is_regional() -> None:
    assert _sts.default_endpoint("eu-west-1") == "https://sts.eu-west-1.amazonaws.com"
    assert _sts.default_endpoint("cn-north-1") == "https://sts.cn-north-1.amazonaws.com.cn"


async def test_identity_credentials_take_the_profiles_endpoint(moto_url: str) -> None:
    """``CognitoIdentityCredentials(profile_name=)``: Cognito Identity at the endpoint
    the profile's services section names (moto's), no endpoint_url= needed."""
    import boto3

    from cognitosync_async import CognitoIdentityCredentials

    boto = boto3.client("cognito-identity", region_name="us-east-1", endpoint_url=moto_url,
                        aws_access_key_id="A", aws_secret_access_key="s")
    pool = boto.create_identity_pool(IdentityPoolName="profile_test",
                                     AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    config = Path(os.environ["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(  # noqa: ASYNC240
        "[profile idp]\nservices = local\n"
        f"[services local]\ncognito_identity =\n  endpoint_url = {moto_url}\n"
    )
    async with CognitoIdentityCredentials(pool, profile_name="idp") as provider:
        creds = await provider.get_credentials()
    assert creds.access_key_id and creds.session_token
    boto.delete_identity_pool(IdentityPoolId=pool)
