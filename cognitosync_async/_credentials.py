"""Credentials: the value class, the provider protocol and the refreshing cache.

Where credentials come from when a client is given none (the default chain,
in botocore's order) is ``_credential_chain``; the sources themselves live in
their own modules, which import only this one: ``_sts`` (AssumeRole, web
identity), ``_sso``, ``_process_credentials``, ``_metadata_credentials``
(container endpoint, IMDSv2); the shared files are read by ``_config_files``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import attrs

from ._exceptions import (
    ClientStateError,
    CognitoSyncError,
    ParamValidationError,
)

if TYPE_CHECKING:
    pass

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
    current credentials are still outside ``mandatory_refresh`` of their expiry
    (default: not yet expired), they are used (one WARNING per failed refresh)
    and the next call tries again; after that (or once invalidated) the
    failure is raised. Any other error is raised at once.
    Credentials without an expiration are kept for good.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Credentials]],
        *,
        advisory_refresh: timedelta = timedelta(minutes=5),
        mandatory_refresh: timedelta = timedelta(0),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._fetch = fetch
        self._margin = advisory_refresh
        self._mandatory = mandatory_refresh
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
                or cur.expiration - self._mandatory <= self._clock()
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
                and cur.expiration - self._mandatory > self._clock()
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


#: botocore's windows for temporary credentials from the default chain.
ADVISORY_REFRESH = timedelta(minutes=15)
MANDATORY_REFRESH = timedelta(minutes=10)


def _refreshable(fetch: Callable[[], Awaitable[Credentials]]) -> RefreshableCredentials:
    return RefreshableCredentials(
        fetch, advisory_refresh=ADVISORY_REFRESH, mandatory_refresh=MANDATORY_REFRESH
    )
