"""The local service's HTTP side: one ``aiohttp.web.Application``.

Every request goes through ``_dispatch``: read the body (bounded), hand a
Cognito Identity request (AWS JSON 1.1) to ``handlers.identity``, consume the
fault script, verify SigV4 over the *raw* path, route that same raw path
(``routes``), check the credential class
(docs/service-behaviour.md#authorization), throttle, then run the operation's
handler. Every answer carries ``x-amzn-RequestId`` and ``Date``; errors are
JSON ``{"message": ...}`` with ``x-amzn-ErrorType``; an unexpected exception
becomes a logged 500 ``InternalErrorException``, never a stack trace.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import struct
import time
import uuid
from collections.abc import Hashable
from email.utils import formatdate
from typing import Any

from aiohttp import web

from . import auth
from ._errors import (
    STATUS_BY_CODE,
    ServiceException,
    error_response,
    invalid_parameter,
)
from .context import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    DEFAULT_SECRET_ACCESS_KEY,
    ServiceState,
    SyncTriggerHook,
)
from .faults import SCRIPT_CODES, Faults
from .handlers import identity
from .handlers.call import Call
from .routes import Operation, check_access, check_path, parse_query, route
from .storage import Storage

#: Apart from the SDK's ``cognitosync_async`` tree, so the SDK's DEBUG shows only the SDK.
logger = logging.getLogger("cognitosync_async_local.server")

MAX_BODY_BYTES = 6 * 1024 * 1024

STATE_KEY = web.AppKey("cognitosync_local_state", ServiceState)


# ---------------------------------------------------------------------- responses


def _json_response(status: int, body: dict[str, Any], headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers,
    )


def _drop(request: web.Request) -> None:
    """Reset the connection: no answer at all."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:  # pragma: no cover - platform dependent
            pass
    transport.abort()


class _Dropped(Exception):
    pass


def _scripted(entry: int | str, faults: Faults) -> ServiceException | None:
    if isinstance(entry, int):
        code = SCRIPT_CODES.get(entry, "InternalErrorException")
        headers = {"Retry-After": str(faults.script_retry_after)} if entry == 429 else {}
        return ServiceException(
            code, "Rate exceeded" if entry == 429 else f"Injected fault {entry}",
            status=entry, headers=headers,
        )
    if entry == "drop":
        raise _Dropped
    if entry == "ok":
        return None
    if entry == "TooManyRequestsException":
        return ServiceException(
            entry, "Rate exceeded", headers={"Retry-After": str(faults.script_retry_after)}
        )
    return ServiceException(
        entry, f"Injected fault {entry}", status=STATUS_BY_CODE.get(entry, 400)
    )


async def _injected(request: web.Request, faults: Faults) -> ServiceException | None:
    """Apply the script, then the random faults; return an error to answer with."""
    if faults.script:
        entry = faults.script.pop(0)
        if entry is not None:
            return _scripted(entry, faults)
        return None
    if faults.latency > 0:
        await asyncio.sleep(faults.latency)
    if faults.drop_rate > 0 and faults.rng.random() < faults.drop_rate:
        raise _Dropped
    if faults.error_rate > 0 and faults.rng.random() < faults.error_rate:
        return ServiceException("InternalErrorException", "Injected internal error")
    return None


def _throttle(state: ServiceState, op: Operation, params: dict[str, str]) -> None:
    faults = state.faults
    if faults.throttle_rate is None or not op.throttled:
        return
    keys: list[Hashable] = []
    if "P" in params:
        keys.append(("pool", params["P"]))
        if "I" in params:
            keys.append(("identity", params["P"], params["I"]))
    else:
        keys.append(("account",))
    wait = state.buckets.take(keys, faults.throttle_rate, faults.throttle_burst)
    if wait > 0:
        retry_after = max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
        raise ServiceException(
            "TooManyRequestsException", "Rate exceeded", headers={"Retry-After": str(retry_after)}
        )


async def _dispatch(request: web.Request) -> web.StreamResponse:
    response = await _answer(request)
    offset = request.app[STATE_KEY].clock_offset
    if offset:  # a service clock set apart: its answers' Date says so (#c1)
        response.headers["Date"] = formatdate(time.time() + offset, usegmt=True)
    return response


async def _answer(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    request_id = str(uuid.uuid4())
    try:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise invalid_parameter(
                f"The request body is larger than {MAX_BODY_BYTES} bytes"
            ) from None
        if identity.is_identity_request(request):  # Cognito Identity (AWS JSON 1.1)
            return await identity.handle(request, state, body, request_id)
        injected = await _injected(request, state.faults)
        if injected is not None:
            raise injected
        # verify first, over the raw path that is then routed: a signature binds the
        # request to the resource it names, whatever path it is replayed onto
        principal = await auth.verify_request(
            request, body, lookup=state.lookup, region=state.region,
            clock_offset=state.clock_offset,
        )
        raw_path, _, raw_query = request.raw_path.partition("?")
        op, params = route(request.method, raw_path)
        check_access(op, principal, params)
        _throttle(state, op, params)
        check_path(params)
        call = Call(
            state=state,
            principal=principal,
            params=params,
            query=parse_query(raw_query),
            body=body,
            headers=request.headers,
        )
        result = await op.handler(call)
        logger.debug("%s %s -> 200", request_id, op.name)
        return _json_response(200, result, {"x-amzn-RequestId": request_id})
    except ServiceException as exc:
        logger.debug("%s -> %s %s", request_id, exc.status, exc.code)
        return error_response(exc, request_id)
    except _Dropped:
        _drop(request)
        return web.Response(status=500)
    except Exception:
        logger.exception("%s: unexpected error", request_id)
        return error_response(
            ServiceException("InternalErrorException", "An internal error occurred"), request_id
        )


def create_app(
    *,
    state: ServiceState | None = None,
    db_path: str | None = None,
    region: str = DEFAULT_REGION,
    access_key_id: str = DEFAULT_ACCESS_KEY_ID,
    secret_access_key: str = DEFAULT_SECRET_ACCESS_KEY,
    account_id: str = DEFAULT_ACCOUNT_ID,
    strict: bool = False,
    faults: Faults | None = None,
    sync_session_ttl: float = 900.0,
    bulk_publish_delay: float = 0.0,
    lambdas: dict[str, SyncTriggerHook] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> web.Application:
    """The local Cognito Sync service as an ``aiohttp`` application.

    Pass a ready ``state`` (as :class:`LocalCognitoSync` does) or let this open
    the storage at ``db_path`` (``None`` = in memory); storage opened here is
    closed on the application's cleanup.
    """
    app = web.Application(client_max_size=max_body_bytes)
    if state is None:
        storage = Storage(db_path)
        state = ServiceState(
            storage=storage,
            region=region,
            account_id=account_id,
            developer_keys={access_key_id: secret_access_key},
            strict=strict,
            faults=faults or Faults(),
            sync_session_ttl=sync_session_ttl,
            bulk_publish_delay=bulk_publish_delay,
            lambdas=dict(lambdas or {}),
        )

        async def _close(_: web.Application) -> None:
            storage.close()

        app.on_cleanup.append(_close)
    app[STATE_KEY] = state
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app
