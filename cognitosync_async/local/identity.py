"""The Cognito Identity side of the local service, on the same endpoint.

Requests are AWS JSON 1.1: ``POST /`` with ``X-Amz-Target:
AWSCognitoIdentityService.<Operation>`` and a JSON body, as botocore's
``cognito-identity`` client sends them. Answers are JSON
(``application/x-amz-json-1.1``); errors carry the code both in
``x-amzn-ErrorType`` and in the body's ``__type``
(``com.amazonaws.cognito.identity.model#<Code>``), with ``message``.

Operations and the emulator's rules (guesses where AWS does not say):

* Logins: a login of a public provider is keyed by its token string (tokens
  are not verified); only providers the pool accepts (``PUBLIC_PROVIDERS``,
  Cognito user pools ``cognito-idp.<region>.amazonaws.com/<pool>``, and the
  service's ``login_providers``) may be linked, else ``NotAuthorizedException``.
  A ``cognito-identity.amazonaws.com`` login must be a live token from
  ``GetOpenIdTokenForDeveloperIdentity`` and names its identity; a developer
  provider's own name is never accepted as a login. One login per public
  provider on an identity: a second → ``ResourceConflictException`` (SERVICE.md
  C5). A login linked to another identity merges that identity into this one
  (C5): its datasets become ``<name>.<its id>`` here (reported as merged, C3),
  its logins move here, its credentials are revoked and it is disabled.
* ``GetId`` (unsigned): without logins, a new unauthenticated identity
  ``<region>:<uuid>`` every call; with logins, the identity already linked to
  them (linking the others), else a new one linked to all; logins of several
  identities merge them into the oldest.
* ``GetCredentialsForIdentity`` (unsigned): identity-bound temporary
  credentials with the service's ``identity_credentials_ttl``, minted and
  stored as ``LocalCognitoSync.mint_identity_credentials`` does. An identity
  with linked logins needs at least one of them (else
  ``NotAuthorizedException``, nothing linked); one without may be given new
  logins of accepted providers (they are linked), or the login of another
  identity (a guest signing in: the guest is merged into that identity, and
  the answer's ``IdentityId`` is that identity). A disabled identity →
  ``NotAuthorizedException``.
* ``ListIdentities`` (developer credentials, SigV4 service
  ``cognito-identity``): ordered by identity id, ``MaxResults`` 1..60,
  opaque ``NextToken``.
* ``GetOpenIdTokenForDeveloperIdentity`` (developer credentials): any
  provider name is accepted as the pool's developer provider; returns the
  identity and an opaque token (``TokenDuration`` seconds, default 900)
  accepted later as the ``cognito-identity.amazonaws.com`` login. A developer
  user linked to another identity than ``IdentityId`` →
  ``DeveloperUserAlreadyRegisteredException``.

Pools are created on first use unless the service is ``strict`` (then an
unknown pool is ``ResourceNotFoundException``). Fault injection and
throttling apply to the Cognito Sync side only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import _errors, auth
from ._errors import ID_RE, STATUS_BY_CODE, ServiceException, invalid_parameter, not_found
from .storage import Storage, decode_token, encode_token, now_ms

if TYPE_CHECKING:
    from .server import ServiceState

logger = logging.getLogger("cognitosync_async_local.identity")

TARGET_PREFIX = "AWSCognitoIdentityService."
SIGNING_NAME = "cognito-identity"
CONTENT_TYPE = "application/x-amz-json-1.1"
ERROR_NAMESPACE = "com.amazonaws.cognito.identity.model"
ERROR_TYPE_SUFFIX = "http://internal.amazon.com/coral/com.amazonaws.cognito.identity.model/"
COGNITO_LOGIN = "cognito-identity.amazonaws.com"
DEFAULT_TOKEN_DURATION = 900
MAX_IDENTITIES_PAGE = 60
#: The public login providers every pool accepts here (a real pool accepts those it is
#: configured with; ``LocalCognitoSync(login_providers=...)`` adds OIDC/SAML names).
PUBLIC_PROVIDERS = frozenset(
    {
        "graph.facebook.com",
        "accounts.google.com",
        "www.amazon.com",
        "api.twitter.com",
        "appleid.apple.com",
        "www.digits.com",
    }
)
_USER_POOL_PROVIDER = re.compile(r"cognito-idp\.[a-z0-9-]+\.amazonaws\.com/[\w-]+_[0-9a-zA-Z]+")

_STATUS = {
    **STATUS_BY_CODE,
    "DeveloperUserAlreadyRegisteredException": 400,
    "ExternalServiceException": 400,
    "InvalidIdentityPoolConfigurationException": 400,
    "SerializationException": 400,
}


def is_identity_request(request: web.Request) -> bool:
    """A Cognito Identity call: ``POST /`` with an ``AWSCognitoIdentityService.*`` target."""
    target = request.headers.get("X-Amz-Target", "")
    return request.method == "POST" and target.startswith(TARGET_PREFIX)


def _error(code: str, message: str) -> ServiceException:
    return ServiceException(code, message, status=_STATUS.get(code, 400))


def _not_authorized(message: str) -> ServiceException:
    return _error("NotAuthorizedException", message)


def _response(status: int, body: dict[str, Any], headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        headers={**headers, "Content-Type": CONTENT_TYPE},
    )


def error_response(exc: ServiceException, request_id: str) -> web.Response:
    return _errors.error_response(
        exc, request_id, error_type_suffix=ERROR_TYPE_SUFFIX, content_type=CONTENT_TYPE,
        type_namespace=ERROR_NAMESPACE,
    )


# ---------------------------------------------------------------------- input checks


def _json(body: bytes) -> dict[str, Any]:
    return _errors.load_json_object(body)


def _id(data: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid_parameter(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise _errors.serialization(name, "a string", value)
    if not (1 <= len(value) <= 55 and ID_RE.fullmatch(value)):
        raise invalid_parameter(f"1 validation error detected: Value at '{name}' failed to "
                                "satisfy constraint: Member must match [\\w-]+:[0-9a-f-]+")
    return value


def _int(data: dict[str, Any], name: str, low: int, high: int, *, required: bool) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid_parameter(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _errors.serialization(name, "an integer", value)
    if not low <= value <= high:
        raise invalid_parameter(f"{name} must be an integer from {low} to {high}")
    return value


def _str_map(
    data: dict[str, Any], name: str, key_max: int, value_max: int, max_entries: int
) -> dict[str, str]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _errors.serialization(name, "an object", value)
    if len(value) > max_entries:
        raise invalid_parameter(f"{name} must be a map of at most {max_entries} entries")
    for key, item in value.items():
        if not 1 <= len(key) <= key_max:
            raise invalid_parameter(f"{name} keys must be 1 to {key_max} characters")
        if not isinstance(item, str):
            raise _errors.serialization(f"{name}.<value>", "a string", item)
        if not 1 <= len(item) <= value_max:
            raise invalid_parameter(f"{name} values must be strings of 1 to {value_max} characters")
    return value


def _logins(data: dict[str, Any], *, required: bool = False) -> dict[str, str]:
    logins = _str_map(data, "Logins", 128, 50_000, 10)
    if required and not logins:
        raise invalid_parameter("Logins is required")
    return logins


# ---------------------------------------------------------------------- the store


class IdentityStore:
    """The Cognito Identity rules that need a transaction, on the service's ``Storage``."""

    def __init__(
        self, storage: Storage, *, strict: bool, providers: frozenset[str] = frozenset()
    ) -> None:
        self._storage = storage
        self._strict = strict
        self._providers = providers

    def _pool(self, conn: sqlite3.Connection, pool_id: str, *, create: bool) -> None:
        if conn.execute("SELECT 1 FROM pools WHERE pool_id=?", (pool_id,)).fetchone():
            return
        if not create or self._strict:
            raise not_found(f"IdentityPool '{pool_id}' not found.")
        t = now_ms()
        conn.execute(
            "INSERT INTO pools (pool_id, created_ms, last_modified_ms) VALUES (?,?,?)",
            (pool_id, t, t),
        )

    @staticmethod
    def _new_identity(conn: sqlite3.Connection, pool_id: str) -> str:
        identity_id = f"{pool_id.split(':', 1)[0]}:{uuid.uuid4()}"
        t = now_ms()
        conn.execute("INSERT INTO identities VALUES (?,?,?,?)", (pool_id, identity_id, t, t))
        return identity_id

    def _disabled(self, conn: sqlite3.Connection, pool_id: str, identity_id: str) -> bool:
        row = conn.execute(
            "SELECT 1 FROM disabled_identities WHERE pool_id=? AND identity_id=?",
            (pool_id, identity_id),
        ).fetchone()
        return row is not None

    def _accepts(self, conn: sqlite3.Connection, pool_id: str, provider: str) -> bool:
        """Whether the pool accepts a new login of this provider (a guess: see module doc)."""
        if provider in PUBLIC_PROVIDERS or provider in self._providers:
            return True
        return _USER_POOL_PROVIDER.fullmatch(provider) is not None

    def _owner(
        self, conn: sqlite3.Connection, pool_id: str, provider: str, token: str
    ) -> str | None:
        """The identity a login names (None: a login not linked yet, of a provider the
        pool accepts); a login no caller may present → ``NotAuthorizedException``."""
        if provider == COGNITO_LOGIN:
            row = conn.execute(
                "SELECT pool_id, identity_id, expires_ms FROM openid_tokens WHERE token=?",
                (token,),
            ).fetchone()
            if row is None or row["pool_id"] != pool_id or row["expires_ms"] <= now_ms():
                raise _not_authorized("Invalid login token. Token is expired or not valid.")
            return str(row["identity_id"])
        developer = conn.execute(
            "SELECT 1 FROM developer_providers WHERE pool_id=? AND provider=?", (pool_id, provider)
        ).fetchone()
        if developer is not None:  # only through a token of GetOpenIdTokenForDeveloperIdentity
            raise _not_authorized(
                f"Invalid login token. {provider} is a developer provider: present a "
                f"{COGNITO_LOGIN} token instead."
            )
        row = conn.execute(
            "SELECT identity_id FROM identity_logins WHERE pool_id=? AND provider=? AND subject=?",
            (pool_id, provider, token),
        ).fetchone()
        if row is not None:
            return str(row["identity_id"])
        if not self._accepts(conn, pool_id, provider):
            raise _not_authorized(
                f"Invalid login token. The identity pool does not accept logins from {provider}."
            )
        return None

    @staticmethod
    def _check_one_per_provider(
        conn: sqlite3.Connection, pool_id: str, identity_ids: set[str], logins: dict[str, str]
    ) -> None:
        """C5: one login per public provider on an identity (after any merge)."""
        by_provider: dict[str, set[str]] = {}
        for provider, token in logins.items():
            if provider != COGNITO_LOGIN:
                by_provider.setdefault(provider, set()).add(token)
        for identity_id in identity_ids:
            for row in conn.execute(
                "SELECT provider, subject FROM identity_logins WHERE pool_id=? AND identity_id=?",
                (pool_id, identity_id),
            ):
                by_provider.setdefault(row["provider"], set()).add(row["subject"])
        for provider, subjects in by_provider.items():
            if len(subjects) > 1:
                raise _error(
                    "ResourceConflictException",
                    f"This identity already has a login of {provider} linked; "
                    "one login per provider can be linked to an identity.",
                )

    def _link(
        self,
        conn: sqlite3.Connection,
        pool_id: str,
        identity_id: str,
        logins: dict[str, str],
        owners: set[str],
        *,
        developer: bool = False,
    ) -> None:
        """Link ``logins`` to ``identity_id``, merging the other identities that own some
        of them into it (C5: they are disabled, their datasets reported as merged)."""
        others = owners - {identity_id}
        if not developer:
            self._check_one_per_provider(conn, pool_id, {identity_id, *others}, logins)
        for other in sorted(others):
            self._storage.merge_in(conn, pool_id, other, identity_id)
        for provider, token in logins.items():
            if provider != COGNITO_LOGIN:
                conn.execute(
                    "INSERT OR IGNORE INTO identity_logins VALUES (?,?,?,?)",
                    (pool_id, provider, token, identity_id),
                )
        conn.execute(
            "UPDATE identities SET last_modified_ms=? WHERE pool_id=? AND identity_id=?",
            (now_ms(), pool_id, identity_id),
        )

    def _owners(self, conn: sqlite3.Connection, pool_id: str, logins: dict[str, str]) -> set[str]:
        return {
            owner
            for provider, token in logins.items()
            if (owner := self._owner(conn, pool_id, provider, token)) is not None
        }

    @staticmethod
    def _oldest(conn: sqlite3.Connection, pool_id: str, identity_ids: set[str]) -> str:
        return str(
            conn.execute(
                "SELECT identity_id FROM identities WHERE pool_id=? AND identity_id IN "
                f"({','.join('?' * len(identity_ids))}) ORDER BY created_ms, identity_id LIMIT 1",
                (pool_id, *sorted(identity_ids)),
            ).fetchone()[0]
        )

    def _resolve(self, conn: sqlite3.Connection, pool_id: str, logins: dict[str, str]) -> str:
        """The identity these logins name, linking the unlinked ones; new if none. Logins
        of several identities merge them into the oldest (a guess: AWS does not say)."""
        owners = self._owners(conn, pool_id, logins)
        if owners:
            identity_id = self._oldest(conn, pool_id, owners)
        else:
            identity_id = self._new_identity(conn, pool_id)
        self._link(conn, pool_id, identity_id, logins, owners)
        return identity_id

    def get_id(self, pool_id: str, logins: dict[str, str]) -> str:
        with self._storage._tx() as conn:
            self._pool(conn, pool_id, create=True)
            if not logins:
                return self._new_identity(conn, pool_id)
            return self._resolve(conn, pool_id, logins)

    def check_credentials_request(
        self, identity_id: str, logins: dict[str, str]
    ) -> tuple[str, str]:
        """The identity's pool and the identity credentials are for, once the logins
        allow them.

        Allowed: an identity with no linked login, given no login or new logins of
        providers the pool accepts (which are linked), or a login of another identity
        (the unauthenticated identity is merged into that one, whose credentials these
        are, as when a guest signs in); an identity with linked logins, given at least
        one of them (other logins given are linked, merging the identities that own
        them into it). Anything else → ``NotAuthorizedException``, and nothing is linked.
        """
        with self._storage._tx() as conn:
            row = conn.execute(
                "SELECT pool_id FROM identities WHERE identity_id=? ORDER BY created_ms LIMIT 1",
                (identity_id,),
            ).fetchone()
            if row is None:
                raise not_found(f"Identity '{identity_id}' not found.")
            pool_id = str(row["pool_id"])
            if self._disabled(conn, pool_id, identity_id):
                raise _not_authorized(f"Identity '{identity_id}' is disabled.")
            linked = conn.execute(
                "SELECT 1 FROM identity_logins WHERE pool_id=? AND identity_id=? LIMIT 1",
                (pool_id, identity_id),
            ).fetchone() is not None
            owners = self._owners(conn, pool_id, logins)
            if linked and identity_id not in owners:
                raise _not_authorized(
                    f"Access to Identity '{identity_id}' is forbidden: include at least one "
                    "login linked to it."
                    if not logins
                    else "Logins don't match. Please include at least one valid login "
                    "for this identity or identity pool."
                )
            if not linked and owners - {identity_id}:
                survivor = self._oldest(conn, pool_id, owners)
                self._link(conn, pool_id, survivor, logins, owners | {identity_id})
                return pool_id, survivor
            if logins:
                self._link(conn, pool_id, identity_id, logins, owners)
            return pool_id, identity_id

    def list_identities(
        self, pool_id: str, max_results: int, next_token: str | None, hide_disabled: bool = False
    ) -> dict[str, Any]:
        after = ""
        if next_token is not None:
            position = decode_token(next_token, "NextToken")
            after = position.get("after", "")
            if not isinstance(after, str) or position.get("pool") != pool_id:
                raise invalid_parameter("Invalid NextToken")
        with self._storage._tx() as conn:
            self._pool(conn, pool_id, create=False)
            hidden = (
                "AND identity_id NOT IN (SELECT identity_id FROM disabled_identities "
                "WHERE pool_id=identities.pool_id) "
                if hide_disabled
                else ""
            )
            rows = conn.execute(
                f"SELECT * FROM identities WHERE pool_id=? AND identity_id>? {hidden}"
                "ORDER BY identity_id LIMIT ?",
                (pool_id, after, max_results + 1),
            ).fetchall()
            page = rows[:max_results]
            identities = []
            for row in page:
                providers = [
                    r["provider"]
                    for r in conn.execute(
                        "SELECT DISTINCT provider FROM identity_logins "
                        "WHERE pool_id=? AND identity_id=? ORDER BY provider",
                        (pool_id, row["identity_id"]),
                    )
                ]
                identities.append(
                    {
                        "IdentityId": row["identity_id"],
                        "Logins": providers,
                        "CreationDate": row["created_ms"] / 1000,
                        "LastModifiedDate": row["last_modified_ms"] / 1000,
                    }
                )
        out: dict[str, Any] = {"IdentityPoolId": pool_id, "Identities": identities}
        if len(rows) > max_results:
            out["NextToken"] = encode_token({"pool": pool_id, "after": page[-1]["identity_id"]})
        return out

    def open_id_token(
        self, pool_id: str, identity_id: str | None, logins: dict[str, str], duration: int
    ) -> dict[str, Any]:
        with self._storage._tx() as conn:
            self._pool(conn, pool_id, create=True)
            for provider in logins:
                if provider != COGNITO_LOGIN:
                    conn.execute(
                        "INSERT OR IGNORE INTO developer_providers VALUES (?,?)",
                        (pool_id, provider),
                    )
            owners = {
                str(r["identity_id"])
                for provider, user in logins.items()
                for r in conn.execute(
                    "SELECT identity_id FROM identity_logins "
                    "WHERE pool_id=? AND provider=? AND subject=?",
                    (pool_id, provider, user),
                )
            }
            if identity_id is None:
                if len(owners) > 1:
                    raise _error(
                        "DeveloperUserAlreadyRegisteredException",
                        "The developer users are registered with different identity IDs.",
                    )
                identity_id = owners.pop() if owners else self._new_identity(conn, pool_id)
                self._link(conn, pool_id, identity_id, logins, set(), developer=True)
            else:
                known = conn.execute(
                    "SELECT 1 FROM identities WHERE pool_id=? AND identity_id=?",
                    (pool_id, identity_id),
                ).fetchone()
                if known is None or self._disabled(conn, pool_id, identity_id):
                    raise not_found(f"Identity '{identity_id}' not found.")
                if owners - {identity_id}:
                    raise _error(
                        "DeveloperUserAlreadyRegisteredException",
                        "The developer user is already registered with a different "
                        "identity ID.",
                    )
                self._link(conn, pool_id, identity_id, logins, set(), developer=True)
            token = secrets.token_urlsafe(48)
            conn.execute(
                "INSERT INTO openid_tokens VALUES (?,?,?,?)",
                (token, pool_id, identity_id, now_ms() + duration * 1000),
            )
        return {"IdentityId": identity_id, "Token": token}


# ---------------------------------------------------------------------- handlers

Handler = Callable[["ServiceState", IdentityStore, dict[str, Any]], Awaitable[dict[str, Any]]]


async def get_id(state: ServiceState, store: IdentityStore, data: dict[str, Any]) -> dict[str, Any]:
    pool_id = _id(data, "IdentityPoolId", required=True)
    assert pool_id is not None
    account = data.get("AccountId")
    if account is not None and not isinstance(account, str):
        raise _errors.serialization("AccountId", "a string", account)
    if account is not None and not re.fullmatch(r"\d{1,15}", account):
        raise invalid_parameter("AccountId must be 1 to 15 digits")
    logins = _logins(data)
    identity_id = await asyncio.to_thread(store.get_id, pool_id, logins)
    return {"IdentityId": identity_id}


async def get_credentials_for_identity(
    state: ServiceState, store: IdentityStore, data: dict[str, Any]
) -> dict[str, Any]:
    from ._service import mint_credentials  # here: _service imports server, which imports us

    identity_id = _id(data, "IdentityId", required=True)
    assert identity_id is not None
    logins = _logins(data)
    role = data.get("CustomRoleArn")
    if role is not None and not isinstance(role, str):
        raise _errors.serialization("CustomRoleArn", "a string", role)
    if role is not None and not 20 <= len(role) <= 2048:
        raise invalid_parameter("CustomRoleArn must be 20 to 2048 characters")
    pool_id, granted = await asyncio.to_thread(
        store.check_credentials_request, identity_id, logins
    )
    creds = await asyncio.to_thread(
        mint_credentials, state.storage, pool_id, granted,
        ttl=state.identity_credentials_ttl,
    )
    assert creds.expiration is not None
    return {
        "IdentityId": granted,
        "Credentials": {
            "AccessKeyId": creds.access_key_id,
            "SecretKey": creds.secret_access_key,
            "SessionToken": creds.session_token,
            "Expiration": creds.expiration.timestamp(),
        },
    }


async def list_identities(
    state: ServiceState, store: IdentityStore, data: dict[str, Any]
) -> dict[str, Any]:
    pool_id = _id(data, "IdentityPoolId", required=True)
    assert pool_id is not None
    max_results = _int(data, "MaxResults", 1, MAX_IDENTITIES_PAGE, required=True)
    assert max_results is not None
    token = data.get("NextToken")
    if token is not None and not (isinstance(token, str) and token):
        raise invalid_parameter("NextToken must be a non-empty string")
    hide = data.get("HideDisabled")
    if hide is not None and not isinstance(hide, bool):
        raise _errors.serialization("HideDisabled", "a boolean", hide)
    result: dict[str, Any] = await asyncio.to_thread(
        store.list_identities, pool_id, max_results, token, bool(hide)
    )
    return result


async def get_open_id_token_for_developer_identity(
    state: ServiceState, store: IdentityStore, data: dict[str, Any]
) -> dict[str, Any]:
    pool_id = _id(data, "IdentityPoolId", required=True)
    assert pool_id is not None
    identity_id = _id(data, "IdentityId", required=False)
    logins = _logins(data, required=True)
    _str_map(data, "PrincipalTags", 128, 256, 50)
    duration = _int(data, "TokenDuration", 1, 86_400, required=False)
    result: dict[str, Any] = await asyncio.to_thread(
        store.open_id_token, pool_id, identity_id, logins, duration or DEFAULT_TOKEN_DURATION
    )
    return result


#: Operation → (handler, signed with developer credentials).
OPERATIONS: dict[str, tuple[Handler, bool]] = {
    "GetId": (get_id, False),
    "GetCredentialsForIdentity": (get_credentials_for_identity, False),
    "ListIdentities": (list_identities, True),
    "GetOpenIdTokenForDeveloperIdentity": (get_open_id_token_for_developer_identity, True),
}


async def handle(
    request: web.Request, state: ServiceState, body: bytes, request_id: str
) -> web.Response:
    """Answer one Cognito Identity request (``is_identity_request`` is true)."""
    name = request.headers.get("X-Amz-Target", "")[len(TARGET_PREFIX):]
    try:
        entry = OPERATIONS.get(name)
        if entry is None:
            raise _error("UnknownOperationException", f"Unknown operation: {name}")
        handler, signed = entry
        if signed:
            principal = await auth.verify_request(
                request, body, lookup=state.lookup, region=state.region, service=SIGNING_NAME,
                clock_offset=state.clock_offset,
            )
            if principal.kind != "developer":
                raise _not_authorized(
                    "These credentials are not valid for accessing this resource"
                )
        store = IdentityStore(
            state.storage, strict=state.strict, providers=state.login_providers
        )
        result = await handler(state, store, _json(body))
        logger.debug("%s %s -> 200", request_id, name)
        return _response(200, result, {"x-amzn-RequestId": request_id})
    except ServiceException as exc:
        logger.debug("%s %s -> %s %s", request_id, name, exc.status, exc.code)
        return error_response(exc, request_id)
    except Exception:
        logger.exception("%s: unexpected error", request_id)
        return error_response(
            _error("InternalErrorException", "An internal error occurred"), request_id
        )
