"""Amazon Cognito Identity: the client, and the credentials provider built on it.

``CognitoIdentityClient`` speaks the AWS JSON 1.1 protocol
(``POST /``, ``X-Amz-Target: AWSCognitoIdentityService.<Operation>``) through
the same call path as ``CognitoSyncClient`` (validation, SigV4 with service
``cognito-identity``, retries, typed errors). ``GetId`` and
``GetCredentialsForIdentity`` are sent unsigned, as botocore's model allows
(``authtype: none``); the developer operations are signed.

``CognitoIdentityCredentials`` is a credentials provider: it resolves an
identity (``GetId``), gets its temporary credentials
(``GetCredentialsForIdentity``) and refreshes them ahead of expiry, one refresh
in flight however many calls wait. It holds no connection between refreshes:
each refresh opens a short-lived ``CognitoIdentityClient`` and closes it, so a
provider that is never closed leaves nothing open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, TypeAlias, TypeVar

import attrs

from . import _validation as val
from ._base_client import BaseClient
from ._credentials import Credentials, RefreshableCredentials
from ._exceptions import ClientStateError, ParamValidationError, ResponseParseError
from ._models import _wire, parse, parse_timestamp
from ._operations import Member, Operation
from ._paginate import Paginator

log = logging.getLogger(__name__)

SERVICE = "cognito-identity"
TARGET_PREFIX = "AWSCognitoIdentityService."
#: ``ListIdentities`` requires ``MaxResults`` in 1..60; ``iter_identities`` asks for 60.
DEFAULT_IDENTITIES_PAGE = 60
DEFAULT_ADVISORY_REFRESH = timedelta(minutes=5)
_R = TypeVar("_R")

#: ``logins=``: a mapping of provider name to token, or an async callable returning one
#: (asked before each ``GetId``/``GetCredentialsForIdentity``, e.g. to renew a token).
Logins: TypeAlias = "Mapping[str, str] | Callable[[], Awaitable[Mapping[str, str]]]"


# --------------------------------------------------------------------------
# Validation: the shapes of botocore's cognito-identity 2014-06-30 model.


ACCOUNT_ID = val.string(min_len=1, max_len=15, pattern=r"\d+")
# IdentityProviderName 1..128 -> IdentityProviderToken 1..50000 (sensitive), at most 10.
LOGINS = val.str_map(
    key=val.string(min_len=1, max_len=128), value=val.string(min_len=1, max_len=50_000),
    max_entries=10,
)
ARN_STRING = val.string(min_len=20, max_len=2048)
QUERY_LIMIT = val.integer(minimum=1, maximum=60)
PAGINATION_KEY = val.string(min_len=1, max_len=65_535, pattern=r"[\S]+")
HIDE_DISABLED = val.boolean()
PRINCIPAL_TAGS = val.str_map(
    key=val.string(min_len=1, max_len=128), value=val.string(min_len=1, max_len=256),
    max_entries=50,
)
TOKEN_DURATION = val.integer(minimum=1, maximum=86_400)


# --------------------------------------------------------------------------
# Models


@attrs.define
class IdentityDescription:
    """One identity of a pool, as ``ListIdentities`` describes it."""

    identity_id: str | None = _wire("IdentityId")
    #: Names of the login providers linked to the identity (empty or None: unauthenticated).
    logins: list[str] | None = _wire("Logins")
    creation_date: datetime | None = _wire("CreationDate", conv=parse_timestamp)
    last_modified_date: datetime | None = _wire("LastModifiedDate", conv=parse_timestamp)


def _to_credentials(value: Any) -> Credentials | None:
    """GetCredentialsForIdentity's ``Credentials`` member as our ``Credentials``."""
    if value is None or isinstance(value, Credentials):
        return value
    if not isinstance(value, dict):
        raise TypeError("Credentials must be a JSON object")
    key, secret = value.get("AccessKeyId"), value.get("SecretKey")
    token = value.get("SessionToken")
    if not isinstance(key, str) or not isinstance(secret, str) or not key or not secret:
        raise TypeError("Credentials lack AccessKeyId or SecretKey")
    if token is not None and not isinstance(token, str):
        raise TypeError("Credentials.SessionToken must be a string")
    return Credentials(key, secret, token, parse_timestamp(value.get("Expiration")))


def _to_identities(value: Any) -> list[IdentityDescription] | None:
    if value is None:
        return None
    return [
        parse(IdentityDescription, item) if isinstance(item, dict) else item for item in value
    ]


@attrs.define
class GetIdResponse:
    identity_id: str | None = _wire("IdentityId")


@attrs.define
class GetCredentialsForIdentityResponse:
    identity_id: str | None = _wire("IdentityId")
    #: The temporary credentials (their ``repr`` hides the secret and the token).
    credentials: Credentials | None = _wire("Credentials", conv=_to_credentials)


@attrs.define
class ListIdentitiesResponse:
    identity_pool_id: str | None = _wire("IdentityPoolId")
    identities: list[IdentityDescription] | None = _wire("Identities", conv=_to_identities)
    next_token: str | None = _wire("NextToken")


@attrs.define
class GetOpenIdTokenForDeveloperIdentityResponse:
    identity_id: str | None = _wire("IdentityId")
    #: The OpenID token: pass it as the ``cognito-identity.amazonaws.com`` login.
    token: str | None = _wire("Token", repr=False)


# --------------------------------------------------------------------------
# The operation table (AWS JSON 1.1: every member goes in the JSON body)


def _body(name: str, wire: str, check: val.Validator, required: bool = False) -> Member:
    return Member(name, wire, "body", check, required=required)


def _operation(
    name: str, output: type[_R], members: tuple[Member, ...], *, signed: bool = True
) -> Operation[_R]:
    return Operation(
        name, "POST", "/", output, members, target=TARGET_PREFIX + name, signed=signed
    )


_POOL = _body("identity_pool_id", "IdentityPoolId", val.IDENTITY_POOL_ID, required=True)
_LOGINS = _body("logins", "Logins", LOGINS)

GET_ID = _operation(
    "GetId",
    GetIdResponse,
    (_body("account_id", "AccountId", ACCOUNT_ID), _POOL, _LOGINS),
    signed=False,
)

GET_CREDENTIALS_FOR_IDENTITY = _operation(
    "GetCredentialsForIdentity",
    GetCredentialsForIdentityResponse,
    (
        _body("identity_id", "IdentityId", val.IDENTITY_ID, required=True),
        _LOGINS,
        _body("custom_role_arn", "CustomRoleArn", ARN_STRING),
    ),
    signed=False,
)

LIST_IDENTITIES = _operation(
    "ListIdentities",
    ListIdentitiesResponse,
    (
        _POOL,
        _body("max_results", "MaxResults", QUERY_LIMIT, required=True),
        _body("next_token", "NextToken", PAGINATION_KEY),
        _body("hide_disabled", "HideDisabled", HIDE_DISABLED),
    ),
)

GET_OPEN_ID_TOKEN_FOR_DEVELOPER_IDENTITY = _operation(
    "GetOpenIdTokenForDeveloperIdentity",
    GetOpenIdTokenForDeveloperIdentityResponse,
    (
        _POOL,
        _body("identity_id", "IdentityId", val.IDENTITY_ID),
        _body("logins", "Logins", LOGINS, required=True),
        _body("principal_tags", "PrincipalTags", PRINCIPAL_TAGS),
        _body("token_duration", "TokenDuration", TOKEN_DURATION),
    ),
)

IDENTITY_OPERATIONS: dict[str, Operation[Any]] = {
    op.name: op
    for op in (
        GET_ID,
        GET_CREDENTIALS_FOR_IDENTITY,
        LIST_IDENTITIES,
        GET_OPEN_ID_TOKEN_FOR_DEVELOPER_IDENTITY,
    )
}


class IdentityPaginator(Paginator[ListIdentitiesResponse, IdentityDescription]):
    """Every identity of a pool, following ``NextToken``."""

    _items_attr = "identities"


# --------------------------------------------------------------------------
# The client


class CognitoIdentityClient(BaseClient):
    """An asyncio client for the Amazon Cognito Identity calls the SDK needs.

    Same conventions as ``CognitoSyncClient``: one per event loop, an async
    context manager (or ``await client.close()``), no I/O at construction.
    ``get_id`` and ``get_credentials_for_identity`` are sent unsigned, so they
    need no credentials; ``list_identities`` and
    ``get_open_id_token_for_developer_identity`` take developer credentials.
    """

    SERVICE = SERVICE
    ENDPOINT_ENV = "COGNITO_IDENTITY"
    SERVICES_KEY = "cognito_identity"

    async def get_id(
        self,
        *,
        identity_pool_id: str,
        account_id: str | None = None,
        logins: dict[str, str] | None = None,
    ) -> GetIdResponse:
        """The identity for these logins (a new unauthenticated one without logins)."""
        return await self._call(
            GET_ID,
            {"identity_pool_id": identity_pool_id, "account_id": account_id, "logins": logins},
        )

    async def get_credentials_for_identity(
        self,
        *,
        identity_id: str,
        logins: dict[str, str] | None = None,
        custom_role_arn: str | None = None,
    ) -> GetCredentialsForIdentityResponse:
        """Temporary credentials for one identity (its logins are required when it has any)."""
        return await self._call(
            GET_CREDENTIALS_FOR_IDENTITY,
            {
                "identity_id": identity_id,
                "logins": logins,
                "custom_role_arn": custom_role_arn,
            },
        )

    async def list_identities(
        self,
        *,
        identity_pool_id: str,
        max_results: int,
        next_token: str | None = None,
        hide_disabled: bool | None = None,
    ) -> ListIdentitiesResponse:
        """One page of a pool's identities (developer credentials; see ``iter_identities``)."""
        return await self._call(
            LIST_IDENTITIES,
            {
                "identity_pool_id": identity_pool_id,
                "max_results": max_results,
                "next_token": next_token,
                "hide_disabled": hide_disabled,
            },
        )

    async def get_open_id_token_for_developer_identity(
        self,
        *,
        identity_pool_id: str,
        logins: dict[str, str],
        identity_id: str | None = None,
        principal_tags: dict[str, str] | None = None,
        token_duration: int | None = None,
    ) -> GetOpenIdTokenForDeveloperIdentityResponse:
        """Register or look up a developer-authenticated user (developer credentials).

        ``logins`` maps the pool's developer provider name to your user's id;
        the answer's ``token`` is then the ``cognito-identity.amazonaws.com`` login.
        """
        return await self._call(
            GET_OPEN_ID_TOKEN_FOR_DEVELOPER_IDENTITY,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "logins": logins,
                "principal_tags": principal_tags,
                "token_duration": token_duration,
            },
        )

    def iter_identities(
        self,
        *,
        identity_pool_id: str,
        hide_disabled: bool | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
        starting_token: str | None = None,
    ) -> IdentityPaginator:
        """Every identity of a pool (``page_size`` is ``MaxResults``, 1..60, default 60)."""
        return IdentityPaginator(
            self.list_identities,
            {"identity_pool_id": identity_pool_id, "hide_disabled": hide_disabled},
            page_size=DEFAULT_IDENTITIES_PAGE if page_size is None else page_size,
            max_items=max_items,
            starting_token=starting_token,
        )


# --------------------------------------------------------------------------
# The credentials provider


class CognitoIdentityCredentials(RefreshableCredentials):
    """Temporary credentials of one Cognito identity, refreshed ahead of expiry.

    Pass it as ``credentials=`` to a client. The first ``get_credentials``
    resolves the identity (``GetId`` with ``logins``, unless ``identity_id`` is
    given), then calls ``GetCredentialsForIdentity``; later calls reuse the
    credentials until ``advisory_refresh`` before they expire, and then one
    refresh runs however many calls wait on it.

    ``logins`` maps provider names to tokens (``{"graph.facebook.com": token}``;
    for a developer-authenticated identity ``{"cognito-identity.amazonaws.com":
    open_id_token}`` with its ``identity_id``), or is an async callable returning
    such a mapping, asked before each refresh so that expiring tokens can be
    renewed. ``region_name`` defaults to the pool id's region prefix.

    Each refresh opens a short-lived ``CognitoIdentityClient`` and closes it
    (pass ``client=`` to use your own, which the provider never closes), so the
    provider keeps nothing open between refreshes. ``await provider.close()``
    (or ``async with``) cancels a refresh in flight and makes later calls raise
    ``ClientStateError``; close it after the clients that use it.
    """

    def __init__(
        self,
        identity_pool_id: str,
        *,
        region_name: str | None = None,
        logins: Logins | None = None,
        identity_id: str | None = None,
        endpoint_url: str | None = None,
        profile_name: str | None = None,
        advisory_refresh: timedelta | float = DEFAULT_ADVISORY_REFRESH,
        client: CognitoIdentityClient | None = None,
    ) -> None:
        val.IDENTITY_POOL_ID(None, val.param("identity_pool_id"), identity_pool_id)
        if identity_id is not None:
            val.IDENTITY_ID(None, val.param("identity_id"), identity_id)
        if logins is not None and not callable(logins):
            logins = dict(logins)
            LOGINS(None, val.param("logins"), logins)
        margin = (
            advisory_refresh
            if isinstance(advisory_refresh, timedelta)
            else timedelta(seconds=advisory_refresh)
        )
        if margin < timedelta(0):
            raise ParamValidationError("advisory_refresh", "must not be negative")
        super().__init__(self._fetch_credentials, advisory_refresh=margin)
        self.identity_pool_id = identity_pool_id
        self.region_name: str = (
            region_name
            or (client.region_or_none if client is not None else None)
            or identity_pool_id.split(":", 1)[0]  # a pool id starts with its region
        )
        self.endpoint_url = endpoint_url
        self.profile_name = profile_name
        self._logins = logins
        self._identity_id = identity_id
        self._client = client
        self._id_lock = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(identity_pool_id={self.identity_pool_id!r}, "
            f"identity_id={self._identity_id!r}, region_name={self.region_name!r})"
        )

    # ------------------------------------------------------------------ public

    @property
    def identity_id(self) -> str | None:
        """The identity resolved so far (None before the first call)."""
        return self._identity_id

    async def get_identity_id(self) -> str:
        """The identity these credentials belong to, calling ``GetId`` if not known yet."""
        self._check_open()
        if self._identity_id is not None:
            return self._identity_id
        async with self._identity_client() as client:
            return await self._resolve_identity_id(client, await self._current_logins())

    async def get_credentials(self) -> Credentials:
        self._check_open()
        return await super().get_credentials()

    async def close(self) -> None:
        """Cancel a refresh in flight; later calls raise ``ClientStateError``. Idempotent."""
        self._closed = True
        task = self._refresh
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def __aenter__(self) -> CognitoIdentityCredentials:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ------------------------------------------------------------------ internals

    def _check_open(self) -> None:
        if self._closed:
            raise ClientStateError("this CognitoIdentityCredentials is closed; create a new one")

    @asynccontextmanager
    async def _identity_client(self) -> AsyncIterator[CognitoIdentityClient]:
        if self._client is not None:
            yield self._client
            return
        async with CognitoIdentityClient(
            self.region_name, endpoint_url=self.endpoint_url, profile_name=self.profile_name
        ) as client:
            yield client

    async def _current_logins(self) -> dict[str, str] | None:
        source = self._logins
        if source is None:
            return None
        if callable(source):
            logins = dict(await source())
            LOGINS(None, val.param("logins"), logins)
        else:
            logins = dict(source)
        return logins or None

    async def _resolve_identity_id(
        self, client: CognitoIdentityClient, logins: dict[str, str] | None
    ) -> str:
        async with self._id_lock:
            if self._identity_id is None:
                resp = await client.get_id(identity_pool_id=self.identity_pool_id, logins=logins)
                if not resp.identity_id:
                    raise ResponseParseError("GetId answered without an IdentityId")
                self._identity_id = resp.identity_id
                log.debug("Cognito Identity: resolved identity %s", resp.identity_id)
            return self._identity_id

    async def _fetch_credentials(self) -> Credentials:
        self._check_open()
        async with self._identity_client() as client:
            logins = await self._current_logins()
            identity_id = await self._resolve_identity_id(client, logins)
            resp = await client.get_credentials_for_identity(
                identity_id=identity_id, logins=logins
            )
        creds = resp.credentials
        if creds is None:
            raise ResponseParseError("GetCredentialsForIdentity answered without Credentials")
        if resp.identity_id and resp.identity_id != identity_id:
            self._identity_id = resp.identity_id  # the service may hand back a merged identity
        log.debug(
            "Cognito Identity: credentials for %s until %s",
            self._identity_id,
            creds.expiration.isoformat() if creds.expiration else "(no expiration)",
        )
        return creds
