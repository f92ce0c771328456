"""Credentials from the machine: the container endpoint (ECS task roles, EKS Pod
Identity) and EC2 instance metadata (IMDSv2), with botocore's timeouts and attempts."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from yarl import URL

from . import _http_once
from ._credentials import Credentials
from ._exceptions import CognitoSyncError, CredentialRetrievalError, InvalidConfigError
from ._transport import USER_AGENT

log = logging.getLogger(__name__)

CONTAINER_HOST = "169.254.170.2"
CONTAINER_ALLOWED_HOSTS = (CONTAINER_HOST, "169.254.170.23", "fd00:ec2::23", "localhost")
CONTAINER_TIMEOUT = 2.0
CONTAINER_ATTEMPTS = 3
CONTAINER_SLEEP = 1.0

IMDS_ENDPOINT = "http://169.254.169.254/"
IMDS_TOKEN_TTL = "21600"
IMDS_TIMEOUT = 1.0
IMDS_ATTEMPTS = 1
_IMDS_CREDS_PATH = "latest/meta-data/iam/security-credentials/"


def _parse_expiration(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _from_json(data: Any, where: str) -> Credentials:
    if not isinstance(data, dict):
        raise CredentialRetrievalError(f"{where}: the answer is not a JSON object")
    key, secret = data.get("AccessKeyId"), data.get("SecretAccessKey")
    token = data.get("Token")
    if not isinstance(key, str) or not isinstance(secret, str) or not key or not secret:
        raise CredentialRetrievalError(f"{where}: the answer lacks AccessKeyId or SecretAccessKey")
    try:
        expiration = _parse_expiration(data.get("Expiration"))
    except ValueError:
        raise CredentialRetrievalError(f"{where}: unreadable Expiration") from None
    return Credentials(key, secret, token if isinstance(token, str) else None, expiration)


# ---------------------------------------------------------------- container


def container_configured(environ: Mapping[str, str]) -> bool:
    return bool(
        environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        or environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    )


def _container_url(environ: Mapping[str, str]) -> str:
    relative = environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    if relative:
        return f"http://{CONTAINER_HOST}{relative}"
    full = environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
    url = URL(full)
    if url.scheme == "https":
        return full
    host = url.host or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and host not in CONTAINER_ALLOWED_HOSTS:
        raise InvalidConfigError(
            f"AWS_CONTAINER_CREDENTIALS_FULL_URI: unsupported host {host!r}; over http only a "
            f"loopback address or one of {', '.join(CONTAINER_ALLOWED_HOSTS)} is allowed"
        )
    return full


async def _container_token(environ: Mapping[str, str]) -> str | None:
    """The Authorization header: the token file (re-read each fetch), else the variable."""
    path = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if path:
        try:
            text = await asyncio.to_thread(_read_text, path)
        except OSError as exc:
            raise CredentialRetrievalError(
                f"container credentials: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE "
                f"{path}: {type(exc).__name__}"
            ) from None
        token: str | None = text.strip()
    else:
        token = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN") or None
    if token is not None and ("\r" in token or "\n" in token):
        raise InvalidConfigError("the container authorization token contains a line break")
    return token


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


class ContainerCredentialsFetcher:
    """``fetch()`` the container's role credentials (3 attempts, 2 s each, as botocore)."""

    def __init__(self, environ: Mapping[str, str], *, sleep: float = CONTAINER_SLEEP) -> None:
        self._environ = environ
        self._url = _container_url(environ)  # a disallowed host fails at once
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"ContainerCredentialsFetcher(url={str(URL(self._url).with_query(None))!r})"

    async def fetch(self) -> Credentials:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        token = await _container_token(self._environ)
        if token is not None:
            headers["Authorization"] = token
        where = f"container credentials from {URL(self._url).origin()}"
        last = ""
        for attempt in range(1, CONTAINER_ATTEMPTS + 1):
            try:
                resp = await _http_once.request(
                    "GET", self._url, headers, timeout=CONTAINER_TIMEOUT
                )
            except CognitoSyncError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if resp.status == 200:
                    try:
                        data = json.loads(resp.body)
                    except ValueError:
                        last = "the answer is not JSON"
                    else:
                        return _from_json(data, where)
                else:
                    last = f"HTTP {resp.status}"
            log.debug("%s: attempt %d failed (%s)", where, attempt, last)
            if attempt < CONTAINER_ATTEMPTS:
                await asyncio.sleep(self._sleep)
        raise CredentialRetrievalError(
            f"{where} failed after {CONTAINER_ATTEMPTS} attempts: {last}"
        )


# ---------------------------------------------------------------- IMDS


def imds_disabled(environ: Mapping[str, str]) -> bool:
    return environ.get("AWS_EC2_METADATA_DISABLED", "false").strip().lower() == "true"


class InstanceMetadataFetcher:
    """IMDSv2: PUT a session token, then the role name, then its credentials.

    ``fetch()`` returns None when the instance gives nothing (no endpoint, no
    role); it never waits longer than ``timeout`` per request and
    ``num_attempts`` per step (botocore: 1 s and 1 attempt).
    """

    def __init__(
        self,
        environ: Mapping[str, str],
        *,
        endpoint: str | None = None,
        timeout: str | None = None,
        num_attempts: str | None = None,
    ) -> None:
        base = endpoint or environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or IMDS_ENDPOINT
        self._base = base if base.endswith("/") else base + "/"
        try:
            self._timeout = float(
                timeout or environ.get("AWS_METADATA_SERVICE_TIMEOUT") or IMDS_TIMEOUT
            )
            self._attempts = int(
                num_attempts or environ.get("AWS_METADATA_SERVICE_NUM_ATTEMPTS") or IMDS_ATTEMPTS
            )
        except ValueError:
            raise InvalidConfigError(
                "AWS_METADATA_SERVICE_TIMEOUT / AWS_METADATA_SERVICE_NUM_ATTEMPTS must be numbers"
            ) from None
        self._timeout = max(self._timeout, 0.001)
        self._attempts = max(self._attempts, 1)
        self.last_failure = ""

    def __repr__(self) -> str:
        return f"InstanceMetadataFetcher(endpoint={self._base!r})"

    async def _get(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        last: Exception | None = None
        status = 0
        body = b""
        for _ in range(self._attempts):
            try:
                resp = await _http_once.request(
                    method, self._base + path, {"User-Agent": USER_AGENT, **headers},
                    timeout=self._timeout,
                )
            except CognitoSyncError as exc:
                last = exc
                continue
            status, body = resp.status, resp.body
            if status < 500:
                return status, body
        if last is not None and status == 0:
            raise last
        return status, body

    async def fetch(self) -> Credentials | None:
        try:
            status, body = await self._get(
                "PUT", "latest/api/token", {"x-aws-ec2-metadata-token-ttl-seconds": IMDS_TOKEN_TTL}
            )
            headers: dict[str, str] = {}
            if status == 200:
                headers["x-aws-ec2-metadata-token"] = body.decode("utf-8", "replace")
            elif status not in (403, 404, 405):  # those: IMDSv1 only, go on without a token
                self.last_failure = f"the token request got HTTP {status}"
                return None
            status, body = await self._get("GET", _IMDS_CREDS_PATH, headers)
            role = body.decode("utf-8", "replace").strip().splitlines()[0] if body.strip() else ""
            if status != 200 or not role:
                self.last_failure = f"no IAM role (HTTP {status})"
                return None
            status, body = await self._get("GET", _IMDS_CREDS_PATH + role, headers)
            if status != 200:
                self.last_failure = f"the role's credentials got HTTP {status}"
                return None
        except CognitoSyncError as exc:
            self.last_failure = f"{self._base} unreachable ({type(exc).__name__})"
            return None
        try:
            data = json.loads(body)
        except ValueError:
            self.last_failure = "the credentials answer is not JSON"
            return None
        try:
            return _from_json(data, "instance metadata")
        except CredentialRetrievalError as exc:
            self.last_failure = str(exc)
            return None
