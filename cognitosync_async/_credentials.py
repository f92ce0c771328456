"""Credentials: the value class, and where they come from.

Order of resolution when a client is given none: the environment
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``),
then the shared credentials and config files (``AWS_PROFILE``,
``AWS_SHARED_CREDENTIALS_FILE``, ``AWS_CONFIG_FILE``).
"""

from __future__ import annotations

import asyncio
import configparser
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable

import attrs

from ._exceptions import (
    ClientStateError,
    CognitoSyncError,
    NoCredentialsError,
    ParamValidationError,
)

log = logging.getLogger(__name__)


def _aware(inst: Any, attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise ParamValidationError(attribute.name, "must be a timezone-aware datetime")


def _header_text(inst: Any, attribute: Any, value: Any) -> None:
    """A str that can go into a signed header: no control character, valid UTF-8.

    The message never quotes the value (it may be a secret)."""
    if value is None and attribute.name == "session_token":
        return
    if not isinstance(value, str):
        raise ParamValidationError(
            attribute.name, f"must be a str, got {type(value).__name__}"
        )
    if attribute.name != "session_token" and not value:
        raise ParamValidationError(attribute.name, "must not be empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ParamValidationError(
            attribute.name, "must not contain control characters (CR, LF, ...)"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ParamValidationError(
            attribute.name, "must be valid Unicode (a lone surrogate is not)"
        ) from None


@attrs.frozen
class Credentials:
    """AWS credentials. ``repr`` never shows the secret or the session token."""

    access_key_id: str = attrs.field(validator=_header_text)
    secret_access_key: str = attrs.field(repr=False, validator=_header_text)
    session_token: str | None = attrs.field(default=None, repr=False, validator=_header_text)
    expiration: datetime | None = attrs.field(default=None, validator=_aware)


@runtime_checkable
class CredentialsProvider(Protocol):
    """Anything that can hand out credentials; asked before each attempt is signed."""

    async def get_credentials(self) -> Credentials: ...


class StaticCredentialsProvider:
    """Always the same credentials."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def __repr__(self) -> str:
        return f"StaticCredentialsProvider({self._credentials!r})"

    async def get_credentials(self) -> Credentials:
        return self._credentials


# A failed refresh falls back to still-valid credentials only for these (the
# service or the network failed); anything else is a bug and is raised at once.
_FALLBACK_ERRORS = (CognitoSyncError, OSError)
_PROGRAMMING_ERRORS = (ParamValidationError, ClientStateError)


class RefreshableCredentials:
    """Caches credentials from ``fetch`` and refreshes them ahead of expiry.

    A refresh starts ``advisory_refresh`` before ``expiration``; however many
    calls are waiting, one fetch is in flight, and they all share its result.
    If that early refresh fails with a service or network error (an SDK error
    other than ParamValidationError/ClientStateError, or an OSError) while the
    current credentials have not yet expired, they are used (one WARNING per
    failed refresh) and the next call tries again; once they have expired (or
    were invalidated) the failure is raised. Any other error is raised at once.
    Credentials without an expiration are kept for good.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Credentials]],
        *,
        advisory_refresh: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._fetch = fetch
        self._margin = advisory_refresh
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._current: Credentials | None = None
        self._refresh: asyncio.Task[Credentials] | None = None

    def __repr__(self) -> str:
        return f"RefreshableCredentials(current={self._current!r})"

    def _fresh(self) -> bool:
        cur = self._current
        if cur is None:
            return False
        return cur.expiration is None or cur.expiration - self._clock() > self._margin

    async def get_credentials(self) -> Credentials:
        if self._fresh():
            assert self._current is not None
            return self._current
        if self._refresh is None or self._refresh.done():
            self._refresh = asyncio.ensure_future(self._do_refresh())
        try:
            # shield: one waiter's cancellation must not cancel the shared refresh
            return await asyncio.shield(self._refresh)
        except _FALLBACK_ERRORS as exc:
            cur = self._current
            if (
                isinstance(exc, _PROGRAMMING_ERRORS)
                or cur is None
                or cur.expiration is None
                or cur.expiration <= self._clock()
            ):
                raise
            return cur  # the refresh logged the failure, once

    async def _do_refresh(self) -> Credentials:
        try:
            creds = await self._fetch()
        except _FALLBACK_ERRORS as exc:
            cur = self._current
            if (
                not isinstance(exc, _PROGRAMMING_ERRORS)
                and cur is not None
                and cur.expiration is not None
                and cur.expiration > self._clock()
            ):
                # an SDK error's message carries no secret (a security token in a
                # service message is redacted); an OSError's names at most a path
                log.warning(
                    "refreshing credentials failed (%s: %s); using the current ones "
                    "until they expire at %s",
                    type(exc).__name__,
                    exc,
                    cur.expiration.isoformat(),
                )
            raise
        self._current = creds
        return creds

    def invalidate(self, credentials: Credentials) -> None:
        """Forget ``credentials`` (the service refused them as expired): the
        next ``get_credentials`` refreshes. Newer credentials are kept."""
        if self._current is credentials:
            self._current = None


def _from_env(environ: Mapping[str, str]) -> Credentials | None:
    key = environ.get("AWS_ACCESS_KEY_ID")
    secret = environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return Credentials(key, secret, environ.get("AWS_SESSION_TOKEN") or None)
    return None


def _read_ini(path: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    try:
        parser.read(os.path.expanduser(path), encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError, OSError):
        log.debug("could not parse %s; ignoring it", path)
    return parser


def _profile_section(environ: Mapping[str, str]) -> tuple[str, str]:
    """``(profile, its section in the config file)``."""
    profile = environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"
    return profile, profile if profile == "default" else f"profile {profile}"


def _from_files(environ: Mapping[str, str]) -> Credentials | None:
    profile, config_section = _profile_section(environ)
    creds_file = environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    config_file = environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    for path, section in ((creds_file, profile), (config_file, config_section)):
        parser = _read_ini(path)
        if parser.has_section(section):
            sect = parser[section]
            key = sect.get("aws_access_key_id")
            secret = sect.get("aws_secret_access_key")
            if key and secret:
                return Credentials(key, secret, sect.get("aws_session_token") or None)
    return None


def region_from_files(environ: Mapping[str, str]) -> str | None:
    """The profile's ``region`` from the shared config file, if any."""
    _, section = _profile_section(environ)
    parser = _read_ini(environ.get("AWS_CONFIG_FILE", "~/.aws/config"))
    if parser.has_section(section):
        return parser[section].get("region") or None
    return None


def resolve_default(environ: Mapping[str, str] | None = None) -> Credentials:
    """The environment, then the shared credentials and config files (blocking file I/O)."""
    env = os.environ if environ is None else environ
    creds = _from_env(env) or _from_files(env)
    if creds is None:
        raise _no_credentials()
    return creds


def _no_credentials() -> NoCredentialsError:
    return NoCredentialsError(
        "No AWS credentials: pass credentials=, or set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or configure a profile in the shared credentials file"
    )


class DefaultCredentialsProvider:
    """The standard chain, resolved once, off the event loop."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._credentials: Credentials | None = None
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return "DefaultCredentialsProvider()"

    async def get_credentials(self) -> Credentials:
        if self._credentials is not None:
            return self._credentials
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            creds = self._credentials
            if creds is None:
                env = os.environ if self._environ is None else self._environ
                creds = _from_env(env) or await asyncio.to_thread(_from_files, env)
                if creds is None:
                    raise _no_credentials()
                self._credentials = creds
            return creds


def as_provider(credentials: Credentials | CredentialsProvider | None) -> CredentialsProvider:
    if credentials is None:
        return DefaultCredentialsProvider()
    if isinstance(credentials, Credentials):
        return StaticCredentialsProvider(credentials)
    if not callable(getattr(credentials, "get_credentials", None)):
        raise ParamValidationError(
            "credentials",
            "must be a Credentials or an object with "
            "`async def get_credentials(self) -> Credentials`",
        )
    return credentials
