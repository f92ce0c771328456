"""The Cognito Identity side of the local service, on the same endpoint.

Requests are AWS JSON 1.1: ``POST /`` with ``X-Amz-Target:
AWSCognitoIdentityService.<Operation>`` and a JSON body, as botocore's
``cognito-identity`` client sends them. Answers are JSON
(``application/x-amz-json-1.1``); errors carry the code both in
``x-amzn-ErrorType`` and in the body's ``__type``
(``com.amazonaws.cognito.identity.model#<Code>``), with ``message``.

Operations and the emulator's rules (guesses where AWS does not say):

* ``GetId`` (unsigned): without logins, a new unauthenticated identity
  ``<region>:<uuid>`` every call; with logins, the identity already linked to
  them (linking the others), else a new one linked to all. Logins linked to
  two different identities → ``ResourceConflictException``. A login for a
  public provider is keyed by its token string (tokens are not verified); a
  ``cognito-identity.amazonaws.com`` login must be a live token from
  ``GetOpenIdTokenForDeveloperIdentity`` and names its identity.
* ``GetCredentialsForIdentity`` (unsigned): identity-bound temporary
  credentials with the service's ``identity_credentials_ttl``, minted and
  stored as ``LocalCognitoSync.mint_identity_credentials`` does. An identity
  with linked logins needs one of them (else ``NotAuthorizedException``); a
  login linked to another identity → ``NotAuthorizedException``.
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
    try:
        data = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise _error("SerializationException", "The request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _error("SerializationException", "The request body must be a JSON object")
    return data


def _id(data: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid_parameter(f"{name} is required")
        return None
    if not isinstance(value, str) or not (1 <= len(value) <= 55 and ID_RE.fullmatch(value)):
        raise invalid_parameter(f"1 validation error detected: Value at '{name}' failed to "
                                "satisfy constraint: Member must match [\\w-]+:[0-9a-f-]+")
    return value


def _int(data: dict[str, Any], name: str, low: int, high: int, *, required: bool) -> int | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid_parameter(f"{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid_parameter(f"{name} must be an integer from {low} to {high}")
    return value


def _str_map(
    data: dict[str, Any], name: str, key_max: int, value_max: int, max_entries: int
) -> dict[str, str]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > max_entries:
        raise invalid_parameter(f"{name} must be a map of at most {max_entries} entries")
    for key, item in value.items():
        if not 1 <= len(key) <= key_max:
            raise invalid_parameter(f"{name} keys must be 1 to {key_max} characters")
        if not isinstance(item, str) or not 1 <= len(item) <= value_max:
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

    def __init__(self, storage: Storage, *, strict: bool) -> None:
        self._storage = storage
        self._strict = strict

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

    @staticmethod
    def _owner(
        conn: sqlite3.Connection, pool_id: str, provider: str, token: str
    ) -> str | None:
        """The identity a login names (None: a public-provider login not linked yet)."""
        if provider == COGNITO_LOGIN:
            row = conn.execute(
                "SELECT pool_id, identity_id, expires_ms FROM openid_tokens WHERE token=?",
                (token,),
            ).fetchone()
            if row is None or row["pool_id"] != pool_id or row["expires_ms"] <= now_ms():
                raise _not_authorized("Invalid login token. Token is expired or not valid.")
            return str(row["identity_id"])
        row = conn.execute(
            "SELECT identity_id FROM identity_logins WHERE pool_id=? AND provider=? AND subject=?",
            (pool_id, provider, token),
        ).fetchone()
        return None if row is None else str(row["identity_id"])

    @staticmethod
    def _link(
        conn: sqlite3.Connection, pool_id: str, identity_id: str, logins: dict[str, str]
    ) -> None:
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

    def _resolve(
        self, conn: sqlite3.Connection, pool_id: str, logins: dict[str, str], *, conflict: str
    ) -> str:
        """The one identity these logins name, linking the unlinked ones; new if none."""
        owners = {
            owner
            for provider, token in logins.items()
            if (owner := self._owner(conn, pool_id, provider, token)) is not None
        }
        if len(owners) > 1:
            raise _error(conflict, "The logins are linked to different identities.")
        identity_id = owners.pop() if owners else self._new_identity(conn, pool_id)
        self._link(conn, pool_id, identity_id, logins)
        return identity_id

    def get_id(self, pool_id: str, logins: dict[str, str]) -> str:
        with self._storage._tx() as conn:
            self._pool(conn, pool_id, create=True)
            if not logins:
                return self._new_identity(conn, pool_id)
            return self._resolve(conn, pool_id, logins, conflict="ResourceConflictException")

    def check_credentials_request(self, identity_id: str, logins: dict[str, str]) -> str:
        """The identity's pool, once its logins allow credentials for it."""
        with self._storage._tx() as conn:
            row = conn.execute(
                "SELECT pool_id FROM identities WHERE identity_id=? ORDER BY created_ms LIMIT 1",
                (identity_id,),
            ).fetchone()
            if row is None:
                raise not_found(f"Identity '{identity_id}' not found.")
            pool_id = str(row["pool_id"])
            linked = conn.execute(
                "SELECT 1 FROM identity_logins WHERE pool_id=? AND identity_id=? LIMIT 1",
                (pool_id, identity_id),
            ).fetchone()
            if linked is not None and not logins:
                raise _not_authorized(f"Access to Identity '{identity_id}' is forbidden.")
            for provider, token in logins.items():
                owner = self._owner(conn, pool_id, provider, token)
                if owner is not None and owner != identity_id:
                    raise _not_authorized(
                        "Logins don't match. Please include at least one valid login "
                        "for this identity or identity pool."
                    )
            if logins:
                self._link(conn, pool_id, identity_id, logins)
            return pool_id

    def list_identities(
        self, pool_id: str, max_results: int, next_token: str | None
    ) -> dict[str, Any]:
        after = ""
        if next_token is not None:
            position = decode_token(next_token, "NextToken")
            after = position.get("after", "")
            if not isinstance(after, str) or position.get("pool") != pool_id:
                raise invalid_parameter("Invalid NextToken")
        with self._storage._tx() as conn:
            self._pool(conn, pool_id, create=False)
            rows = conn.execute(
                "SELECT * FROM identities WHERE pool_id=? AND identity_id>? "
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
            if identity_id is None:
                identity_id = self._resolve(
                    conn, pool_id, logins, conflict="ResourceConflictException"
                )
            else:
                known = conn.execute(
                    "SELECT 1 FROM identities WHERE pool_id=? AND identity_id=?",
                    (pool_id, identity_id),
                ).fetchone()
                if known is None:
                    raise not_found(f"Identity '{identity_id}' not found.")
                for provider, token in logins.items():
                    owner = self._owner(conn, pool_id, provider, token)
                    if owner is not None and owner != identity_id:
                        raise _error(
                            "DeveloperUserAlreadyRegisteredException",
                            "The developer user is already registered with a different "
                            "identity ID.",
                        )
                self._link(conn, pool_id, identity_id, logins)
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
    if account is not None and not (
        isinstance(account, str) and re.fullmatch(r"\d{1,15}", account)
    ):
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
    if role is not None and not (isinstance(role, str) and 20 <= len(role) <= 2048):
        raise invalid_parameter("CustomRoleArn must be 20 to 2048 characters")
    pool_id = await asyncio.to_thread(store.check_credentials_request, identity_id, logins)
    creds = await asyncio.to_thread(
        mint_credentials, state.storage, pool_id, identity_id,
        ttl=state.identity_credentials_ttl,
    )
    assert creds.expiration is not None
    return {
        "IdentityId": identity_id,
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
        raise invalid_parameter("HideDisabled must be a boolean")
    result: dict[str, Any] = await asyncio.to_thread(
        store.list_identities, pool_id, max_results, token
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
        store = IdentityStore(state.storage, strict=state.strict)
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
