"""IAM Identity Center (SSO) profiles: the token ``aws sso login`` cached in
``~/.aws/sso/cache``, exchanged at the SSO portal (``GetRoleCredentials``)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import ssl
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import attrs

from . import _http_once
from ._config_files import Section
from ._credentials import Credentials
from ._exceptions import CognitoSyncError, CredentialRetrievalError, InvalidConfigError
from ._transport import USER_AGENT

TIMEOUT = 10.0


class SSOTokenError(CredentialRetrievalError):
    """The cached SSO token is missing, unreadable or expired: run ``aws sso login``."""


def _str(section: Mapping[str, Any], key: str) -> str | None:
    value = section.get(key)
    return value if isinstance(value, str) and value else None


@attrs.frozen
class SSOConfig:
    profile: str
    start_url: str
    region: str
    account_id: str
    role_name: str
    cache_key: str  # the sso-session name, or the legacy start URL

    @property
    def login_command(self) -> str:
        return f"aws sso login --profile {self.profile}"


def is_sso_profile(section: Section) -> bool:
    return any(k in section for k in ("sso_session", "sso_start_url", "sso_account_id"))


def sso_config(profile: str, section: Section, sessions: Mapping[str, Section]) -> SSOConfig:
    session_name = _str(section, "sso_session")
    if session_name is not None:
        session = sessions.get(session_name)
        if session is None:
            raise InvalidConfigError(
                f"profile {profile!r} names sso_session {session_name!r}, which has no "
                "[sso-session] section in the config file"
            )
        start_url, region = _str(session, "sso_start_url"), _str(session, "sso_region")
        key = session_name
    else:
        start_url, region = _str(section, "sso_start_url"), _str(section, "sso_region")
        key = start_url or ""
    account, role = _str(section, "sso_account_id"), _str(section, "sso_role_name")
    missing = [
        name for name, v in (("sso_start_url", start_url), ("sso_region", region),
                             ("sso_account_id", account), ("sso_role_name", role)) if v is None
    ]
    if missing:
        raise InvalidConfigError(
            f"SSO profile {profile!r} lacks {', '.join(missing)}"
        )
    assert start_url and region and account and role
    return SSOConfig(profile, start_url, region, account, role, key)


def cache_path(environ: Mapping[str, str], cache_key: str) -> str:
    name = hashlib.sha1(cache_key.encode("utf-8")).hexdigest()
    home = os.path.expanduser("~")
    return os.path.join(home, ".aws", "sso", "cache", f"{name}.json")


def _read_token(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


async def cached_token(cfg: SSOConfig, environ: Mapping[str, str]) -> str:
    path = cache_path(environ, cfg.cache_key)
    try:
        data = await asyncio.to_thread(_read_token, path)
    except (OSError, ValueError):
        raise SSOTokenError(
            f"no valid SSO token for profile {cfg.profile!r} in {path}: run "
            f"`{cfg.login_command}`"
        ) from None
    token, expires = data.get("accessToken"), data.get("expiresAt")
    try:
        when = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
        if when.utcoffset() is None:
            when = when.replace(tzinfo=timezone.utc)
    except ValueError:
        when = datetime.min.replace(tzinfo=timezone.utc)
    if not isinstance(token, str) or not token or when <= datetime.now(timezone.utc):
        raise SSOTokenError(
            f"the SSO token for profile {cfg.profile!r} is expired or missing: run "
            f"`{cfg.login_command}`"
        )
    return token


async def fetch(
    cfg: SSOConfig,
    environ: Mapping[str, str],
    *,
    endpoint_url: str | None,
    ssl_context: ssl.SSLContext | None = None,
) -> Credentials:
    """``GetRoleCredentials`` with the cached token."""
    token = await cached_token(cfg, environ)
    base = (endpoint_url or f"https://portal.sso.{cfg.region}.amazonaws.com").rstrip("/")
    url = (
        f"{base}/federation/credentials?account_id={quote(cfg.account_id, safe='')}"
        f"&role_name={quote(cfg.role_name, safe='')}"
    )
    headers = {"x-amz-sso_bearer_token": token, "User-Agent": USER_AGENT,
               "Accept-Encoding": "identity"}
    try:
        resp = await _http_once.request(
            "GET", url, headers, timeout=TIMEOUT, ssl_context=ssl_context
        )
    except CognitoSyncError as exc:
        raise CredentialRetrievalError(
            f"SSO portal for profile {cfg.profile!r}: {type(exc).__name__}: {exc}"
        ) from exc
    if resp.status in (401, 403):
        raise SSOTokenError(
            f"the SSO portal refused the cached token for profile {cfg.profile!r} "
            f"(HTTP {resp.status}): run `{cfg.login_command}`"
        )
    if resp.status != 200:
        raise CredentialRetrievalError(
            f"SSO portal GetRoleCredentials for profile {cfg.profile!r}: HTTP {resp.status}"
        )
    try:
        role = json.loads(resp.body)["roleCredentials"]
        expiration = datetime.fromtimestamp(int(role["expiration"]) / 1000, timezone.utc)
        return Credentials(
            role["accessKeyId"], role["secretAccessKey"], role.get("sessionToken") or None,
            expiration,
        )
    except (ValueError, KeyError, TypeError):
        raise CredentialRetrievalError(
            f"SSO portal GetRoleCredentials for profile {cfg.profile!r}: unreadable answer"
        ) from None
