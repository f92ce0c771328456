"""Bad settings are refused when the client (or ``Credentials``) is made, with
a ``ParamValidationError`` naming the setting, never later as a bare
TypeError/ValueError/UnicodeEncodeError or a hang."""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
from datetime import datetime, timezone
from typing import Any

import aiohttp
import pytest
from support.cli import CLI
from support.httpserver import free_port

from cognitosync_async import (
    CognitoIdentityClient,
    CognitoSyncClient,
    Credentials,
    ParamValidationError,
)
from cognitosync_async._retry import RetryConfig

CREDS = Credentials("AKIDEXAMPLE", "secret")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("max_connections", -1),
        ("max_connections", 0),  # aiohttp: no limit at all
        ("max_connections", 1.5),
        ("max_connections", True),
        ("max_connections", "10"),
        ("retry_max_delay", math.nan),
        ("retry_max_delay", math.inf),
        ("retry_max_delay", -1),
        ("retry_base_delay", math.nan),
        ("retry_base_delay", "0.1"),
        ("max_attempts", 0),
        ("max_attempts", 2.0),
        ("read_timeout", "60"),
        ("read_timeout", -1),
        ("read_timeout", 0),
        ("read_timeout", math.nan),
        ("connect_timeout", "10"),
        ("connect_timeout", -0.5),
        ("keepalive_timeout", -1),
        ("keepalive_timeout", None),
        ("timeout", "60"),
        ("timeout", -1),
        ("timeout", 0),
        ("timeout", None),  # the deadline is not optional: a wait must be bounded
        ("timeout", math.inf),
        ("timeout", True),
        ("session", "x"),
        ("session", object()),
        ("user_agent_extra", "app/1\r\nX-Injected: 1"),
        ("user_agent_extra", "app/1\n"),
        ("user_agent_extra", "app\x00"),
        ("user_agent_extra", "caf\u00e9/1"),
        ("user_agent_extra", 5),
    ],
)
@pytest.mark.parametrize("cls", [CognitoSyncClient, CognitoIdentityClient])
def test_bad_setting_refused_at_construction(cls: Any, option: str, value: Any) -> None:
    with pytest.raises(ParamValidationError) as info:
        cls("us-east-1", credentials=CREDS, **{option: value})
    assert info.value.param == option
    assert option in str(info.value)


@pytest.mark.parametrize(
    ("option", "value"),
    [("timeout", 0.5), ("timeout", 3600), ("read_timeout", 1), ("keepalive_timeout", 0),
     ("max_connections", 1), ("retry_max_delay", 0), ("user_agent_extra", "app/1.0 (x; y)"),
     ("user_agent_extra", "")],
)
def test_good_setting_accepted(option: str, value: Any) -> None:
    CognitoSyncClient("us-east-1", credentials=CREDS, **{option: value})


async def test_user_agent_extra_is_sent() -> None:
    from support.httpserver import IDENTITY, POOL, serve

    async with serve() as server:
        async with server.client(user_agent_extra="app/1.0") as client:
            await client.list_datasets(identity_pool_id=POOL, identity_id=IDENTITY)
    assert server.seen[0].headers["User-Agent"].endswith(" app/1.0")


async def test_a_real_session_is_accepted() -> None:
    async with aiohttp.ClientSession() as session:
        client = CognitoSyncClient("us-east-1", credentials=CREDS, session=session)
        assert client.session is session
        await client.close()


def test_retry_config_checks_its_own_fields() -> None:
    with pytest.raises(ParamValidationError, match="retry_max_delay"):
        RetryConfig(3, 0.1, math.nan)
    with pytest.raises(ParamValidationError, match="max_attempts"):
        RetryConfig(0)


# ---------------------------------------------------------------- Credentials


@pytest.mark.parametrize(
    ("args", "param"),
    [
        ((None, None), "access_key_id"),
        (("AKID", None), "secret_access_key"),
        (("", "secret"), "access_key_id"),
        (("AKID", ""), "secret_access_key"),
        ((5, "secret"), "access_key_id"),
        (("AKID", b"secret"), "secret_access_key"),
        (("AKID\n", "secret"), "access_key_id"),
        (("AKID", "sec\rret"), "secret_access_key"),
        (("AKID", "secret", "tok\n"), "session_token"),
        (("AKID", "secret", "tok\x00en"), "session_token"),
        (("AKID", "secret", 5), "session_token"),
        (("AKID", "sec\ud800ret"), "secret_access_key"),
        (("AKID", "secret", "tok\udfffen"), "session_token"),
    ],
)
def test_bad_credentials_refused(args: tuple[Any, ...], param: str) -> None:
    with pytest.raises(ParamValidationError) as info:
        Credentials(*args)
    assert info.value.param == param
    for part in args:  # the message never quotes a value (it may be a secret)
        if isinstance(part, str) and len(part) > 3:
            assert part not in str(info.value)


def test_good_credentials() -> None:
    c = Credentials("AKID", "s/e+c=r", "FQoGZ+/=", None)
    assert c.session_token == "FQoGZ+/="
    assert Credentials("AKID", "secret", "").session_token == ""  # empty: no token sent
    assert Credentials("AKID", "s\u00e9cret").secret_access_key == "s\u00e9cret"


def test_cli_prints_a_clear_error_for_a_bad_session_token_in_the_environment(
    tmp_path: Any,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_SESSION_TOKEN="tok\n",
        AWS_REGION="us-east-1",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
    )
    r = subprocess.run(
        [*CLI, "datasets", "--endpoint-url", f"http://127.0.0.1:{free_port()}",
         "--identity-pool-id", "us-east-1:00000000-0000-0000-0000-000000000001",
         "--identity-id", "us-east-1:11111111-1111-1111-1111-111111111111"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert "internal error" not in r.stderr
    assert "session_token" in r.stderr and "control characters" in r.stderr
    assert r.returncode == 2
    assert "tok" not in r.stderr.replace("session_token", "")


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"endpoint_url": "not a url"}, "endpoint_url"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"credentials": object()}, "credentials"),
    ],
)
def test_bad_client_arguments(kwargs: dict[str, Any], param: str) -> None:
    options: dict[str, Any] = {"credentials": CREDS, **kwargs}
    with pytest.raises(ParamValidationError) as info:
        CognitoSyncClient("us-east-1", **options)
    assert info.value.param == param
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "endpoint", ["user:s3cret-pw@example.com", "https://user:s3cret-pw@", "//user:s3cret-pw@/x"]
)
def test_bad_endpoint_error_does_not_echo_it(endpoint: str) -> None:
    with pytest.raises(ParamValidationError) as info:
        CognitoSyncClient("us-east-1", credentials=CREDS, endpoint_url=endpoint)
    assert info.value.param == "endpoint_url"
    assert "must be an absolute http(s) URL" in str(info.value)
    assert "s3cret-pw" not in str(info.value)

def test_repr_hides_endpoint_userinfo() -> None:
    client = CognitoSyncClient(
        "us-east-1", credentials=CREDS, endpoint_url="https://user:s3cret-pw@example.com/p"
    )
    assert "s3cret-pw" not in repr(client)
    assert "example.com/p" in repr(client)


def test_naive_expiration_is_refused() -> None:
    with pytest.raises(ParamValidationError) as info:
        Credentials("AKID", "s", expiration=datetime(2026, 1, 1))  # noqa: DTZ001
    assert info.value.param == "expiration"
    assert "timezone-aware" in str(info.value)
    Credentials("AKID", "s", expiration=datetime(2026, 1, 1, tzinfo=timezone.utc))


@pytest.mark.parametrize("value", ["2030-01-01", 1_900_000_000, dt.date(2030, 1, 1)])
def test_expiration_must_be_an_aware_datetime(value: Any) -> None:
    with pytest.raises(ParamValidationError) as info:
        Credentials("AKID", "s", expiration=value)
    assert info.value.param == "expiration"
    assert "timezone-aware datetime" in str(info.value)
    assert Credentials("AKID", "s").expiration is None
