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
  provider on an identity: a second → ``ResourceConflictException``
  (docs/service-behaviour.md#c5). A login linked to another identity merges
  that identity into this one (#c5): its datasets become ``<name>.<its id>``
  here (reported as merged, #c3),
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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .. import _errors, auth
from .._errors import ID_RE, ServiceException, identity_error, invalid_parameter
from ..storage import mint_credentials
from ..stores.identity import IdentityStore

if TYPE_CHECKING:
    from ..context import ServiceState

logger = logging.getLogger("cognitosync_async_local.identity")

TARGET_PREFIX = "AWSCognitoIdentityService."
SIGNING_NAME = "cognito-identity"
CONTENT_TYPE = "application/x-amz-json-1.1"
ERROR_NAMESPACE = "com.amazonaws.cognito.identity.model"
ERROR_TYPE_SUFFIX = "http://internal.amazon.com/coral/com.amazonaws.cognito.identity.model/"
DEFAULT_TOKEN_DURATION = 900
MAX_IDENTITIES_PAGE = 60

def is_identity_request(request: web.Request) -> bool:
    """A Cognito Identity call: ``POST /`` with an ``AWSCognitoIdentityService.*`` target."""
    target = request.headers.get("X-Amz-Target", "")
    return request.method == "POST" and target.startswith(TARGET_PREFIX)


def _error(code: str, message: str) -> ServiceException:
    return identity_error(code, message)


def _not_authorized(message: str) -> ServiceException:
    return identity_error("NotAuthorizedException", message)


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
            state.storage.database, state.storage.records, strict=state.strict,
            providers=state.login_providers,
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
