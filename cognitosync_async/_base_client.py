"""``BaseClient``: settings, lifecycle, and the one request loop of every client.

A call (``_call``) validates its arguments and builds the exact wire request
once (``_operations``); then each attempt, driven by tenacity's
``AsyncRetrying`` (``_retry``: stop rule, retry predicate, a wait honouring
``Retry-After``, a DEBUG log before each sleep), does, in order:

1. credentials: asked of the provider (``_credentials``), every attempt;
2. limiter: the adaptive rate limiter, when on (``_ratelimit``);
3. sign: SigV4 over the request with a fresh date (``_sigv4``, ``_clock``);
4. send: through the transport (``_transport``, or any ``AsyncTransport``);
5. classify: a 2xx answer becomes its response (``_responses``), anything
   else a typed error that tenacity retries or raises.

A signature refused for its time (the clock is corrected from the answer's
``Date``) or credentials refused as expired (a refreshable provider drops
them) make the next attempt start at once: it is an attempt like any other,
counted against ``max_attempts``, rate limited, logged and seen by the hooks
(``_events``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
from tenacity import RetryCallState

from . import _sigv4
from ._clock import SKEW_CODES, Clock
from ._credential_chain import as_provider
from ._credentials import Credentials, CredentialsProvider
from ._endpoints import check_region, default_endpoint, dns_hint, host_header, is_dns_failure
from ._events import (
    GLOBAL_HOOKS,
    NAMES,
    CallEnd,
    CallStart,
    EventHooks,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    emit,
    hooks_of,
)
from ._exceptions import (
    ClientStateError,
    CognitoSyncError,
    EndpointConnectionError,
    NoRegionError,
    ParamValidationError,
    ServiceError,
)
from ._http import AsyncTransport, HTTPRequest, HTTPResponse
from ._operations import Operation, WireRequest, build_request, validate
from ._ratelimit import AdaptiveRateLimiter
from ._responses import RawReader, read_answer, service_error_of
from ._retry import RetryConfig, log_before_sleep, retrying
from ._settings import Settings, configured_endpoint, resolve_settings
from ._transport import DEFAULT_TIMEOUT, Transport, user_agent

if TYPE_CHECKING:
    import aiohttp

# the package logger, as before the split: what users configure (and filter on) for these lines
log = logging.getLogger("cognitosync_async")

SERVICE = "cognito-sync"
_C = TypeVar("_C", bound="BaseClient")
_R = TypeVar("_R")  # an operation's response class
_EXPIRED_CODES = frozenset({"ExpiredTokenException", "ExpiredToken"})
_Hooks = dict[str, list[Callable[[Any], Any]]]
_GLOBAL_HOOK_LISTS = GLOBAL_HOOKS.values()  # a live view of the process-wide hooks


@attrs.define
class _Call(Generic[_R]):
    """One call's running state, for its events and its error."""

    op: Operation[_R]
    service: str
    hooks: _Hooks | None  # None: nobody listens (the fast path)
    region: str = ""
    attempts: int = 0
    status: int | None = None
    request_id: str | None = None
    reader: RawReader | None = None  # the raw page path (``_call_raw``)


class BaseClient:
    """Lifecycle and call path shared by the SDK's clients (one AWS service each).

    Use one per event loop, as an async context manager or closing it with
    ``await client.close()``. Constructing it does no I/O.
    """

    #: SigV4 service name and endpoint prefix.
    SERVICE = SERVICE
    #: ``AWS_ENDPOINT_URL_<this>`` and the key of the profile's ``services`` section.
    ENDPOINT_ENV = "COGNITO_SYNC"
    SERVICES_KEY = "cognito_sync"

    def __init__(
        self,
        region_name: str | None = None,
        *,
        credentials: Credentials | CredentialsProvider | None = None,
        endpoint_url: str | None = None,
        profile_name: str | None = None,
        max_attempts: int | None = None,
        retry_base_delay: float = 0.1,
        retry_max_delay: float = 20.0,
        max_connections: int = 100,
        keepalive_timeout: float = 15.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        timeout: float = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
        user_agent_extra: str | None = None,
        adaptive_rate_limit: bool = False,
        transport: AsyncTransport | None = None,
        event_hooks: EventHooks | None = None,
    ) -> None:
        if max_attempts is not None and (not isinstance(max_attempts, int) or max_attempts < 1):
            raise ParamValidationError("max_attempts", "must be an integer >= 1")
        if profile_name is not None and (not isinstance(profile_name, str) or not profile_name):
            raise ParamValidationError("profile_name", "must be a non-empty string")
        self._profile_name = profile_name
        self._explicit_region = region_name
        self._explicit_endpoint = endpoint_url
        self._explicit_attempts = max_attempts
        self._region: str | None = None
        self._endpoint: str | None = endpoint_url
        self._endpoint_configured = endpoint_url is not None  # not the region's default
        self._base: str | None = None  # set once settings are resolved: URL prefix and Host
        self._host = ""
        self._settings: Settings | None = None
        self._settings_lookup: asyncio.Future[Settings] | None = None  # the files, read once
        if endpoint_url is not None:
            host_header(endpoint_url)  # refuse a bad URL now
        # what is known without reading a file (the environment is no I/O)
        env = os.environ
        region = region_name or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            check_region(region)
            self._region = region
        if endpoint_url is None:
            from ._config_files import SharedConfig

            env_endpoint = configured_endpoint(
                env, SharedConfig(), "default", self.ENDPOINT_ENV, self.SERVICES_KEY
            )
            if env_endpoint:
                self._endpoint, self._endpoint_configured = env_endpoint, True
        if self._endpoint is None and self._region is not None:
            self._endpoint = default_endpoint(self._region, self.SERVICE)
        self._provider = as_provider(
            credentials, profile_name=profile_name, settings=self._load_settings
        )
        self._retry = RetryConfig(max_attempts or 5, retry_base_delay, retry_max_delay)
        if transport is None:
            transport = Transport(
                session=session,
                max_connections=max_connections,
                keepalive_timeout=keepalive_timeout,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                timeout=timeout,
            )
        elif session is not None:
            raise ParamValidationError("transport", "give either session= or transport=")
        elif not callable(getattr(transport, "send", None)):
            raise ParamValidationError("transport", "must have an async send(request) method")
        self._transport: AsyncTransport = transport
        self._event_hooks = hooks_of(event_hooks)  # type: ignore[arg-type]
        self._hook_lists = self._event_hooks.values()  # a live view: lists set or changed count
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._user_agent = user_agent(user_agent_extra)
        self._clock = Clock()  # corrected from the service's Date on skew
        #: The client-wide adaptive rate limiter (None unless ``adaptive_rate_limit=True``,
        #: or retry mode ``adaptive`` from AWS_RETRY_MODE / the profile, once resolved).
        self.rate_limiter: AdaptiveRateLimiter | None = (
            AdaptiveRateLimiter() if adaptive_rate_limit else None
        )

    def __repr__(self) -> str:
        endpoint = self._endpoint
        if endpoint is not None and "@" in endpoint:  # no user:password@ in a repr
            from yarl import URL

            endpoint = str(URL(endpoint).with_user(None))
        return (
            f"{type(self).__name__}(region_name={self._region!r}, "
            f"endpoint_url={endpoint!r})"
        )

    async def _load_settings(self) -> Settings:
        """Every setting, resolved once (the shared files read off the loop); concurrent
        first calls share one read, and a failed read is tried again next time."""
        if self._settings is not None:
            return self._settings
        self._check_usable(bind=False)  # closed or another loop: no file I/O
        lookup = self._settings_lookup
        if lookup is None or (lookup.done() and lookup.exception() is not None):
            lookup = self._settings_lookup = asyncio.ensure_future(
                asyncio.to_thread(
                    resolve_settings,
                    profile=self._profile_name,
                    region_name=self._explicit_region,
                    endpoint_url=self._explicit_endpoint,
                    env_suffix=self.ENDPOINT_ENV,
                    service_key=self.SERVICES_KEY,
                )
            )
        elif lookup.get_loop() is not asyncio.get_running_loop():
            raise ClientStateError(
                "this client belongs to another event loop; create one client per loop"
            )
        settings = await asyncio.shield(lookup)
        self._settings = settings
        return settings

    async def _resolve_settings(self) -> None:
        """Apply the resolved settings: region, endpoint, attempts, retry mode, CA bundle."""
        if self._base is not None:
            return
        settings = await self._load_settings()
        if self._base is not None:  # another call applied them meanwhile
            return
        region = settings.region
        if not region:
            # read again next time: the user may add the region meanwhile
            self._settings = None
            self._settings_lookup = None
            raise NoRegionError(
                "no region: pass region_name=, set AWS_REGION / AWS_DEFAULT_REGION, or set "
                f"region in profile {settings.profile!r} of the shared config file "
                "(AWS_CONFIG_FILE)"
            )
        check_region(region)
        endpoint = settings.endpoint_url
        self._endpoint_configured = endpoint is not None
        if endpoint is None:
            endpoint = default_endpoint(region, self.SERVICE)
        base, host = host_header(endpoint)
        if self._explicit_attempts is None:
            attempts = settings.max_attempts or (
                3 if settings.retry_mode in ("standard", "adaptive") else 5
            )
            self._retry = attrs.evolve(self._retry, max_attempts=attempts)
        if settings.retry_mode == "adaptive" and self.rate_limiter is None:
            self.rate_limiter = AdaptiveRateLimiter()
        if settings.ssl_context is not None and isinstance(self._transport, Transport):
            self._transport.ssl_context = settings.ssl_context
        self._endpoint, self._region = endpoint, region
        self._host, self._base = host, base

    # kept for callers of the former name
    _resolve_region = _resolve_settings

    @property
    def region_name(self) -> str:
        """The region; when it comes from the shared config file, known after the
        first call (or ``async with``), and NoRegionError before."""
        if self._region is None:
            raise NoRegionError(
                "the region is read from the shared config file at the first call "
                "(or on `async with`); none is known yet"
            )
        return self._region

    @property
    def region_or_none(self) -> str | None:
        """The region, or None while it is still to be read from the shared config file."""
        return self._region

    @property
    def endpoint_url(self) -> str:
        """The endpoint (from the region unless given or configured); final once the
        settings are resolved (first call or ``async with``)."""
        if self._endpoint is None:
            raise NoRegionError("the endpoint depends on the region, which is not known yet")
        return self._endpoint

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self: _C) -> _C:
        await self._resolve_settings()  # first: a failure leaves no session behind
        self._check_usable()
        if isinstance(self._transport, Transport):
            self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pooled session (not one the caller passed in). Idempotent.

        A transport passed as ``transport=`` is closed too when it has an
        ``async close()`` (as httpx closes its transport)."""
        if self._closed:
            return
        self._closed = True
        close = getattr(self._transport, "close", None)
        if callable(close):
            await close()

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session requests go through: the one passed as ``session=``, else
        the client's own pooled session (None until the client is first used)."""
        return self._transport.session if isinstance(self._transport, Transport) else None

    @property
    def event_hooks(self) -> EventHooks:
        """The client's hooks, by event name; the lists may be changed in place."""
        return self._event_hooks

    def _check_usable(self, *, bind: bool = True) -> None:
        """ClientStateError when closed or used from another event loop than the
        one it was first used in (``bind``: this use binds it)."""
        if self._closed:
            raise ClientStateError("this client is closed; create a new one")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            if bind:
                self._loop = loop
        elif loop is not self._loop:
            raise ClientStateError(
                "this client belongs to another event loop; create one client per loop"
            )
        if isinstance(self._transport, Transport):
            self._transport.check_usable()

    # ------------------------------------------------------------------ the request loop

    def _hooks(self) -> _Hooks | None:
        """This call's hooks (the client's, then the process-wide ones); None if none."""
        if not any(self._hook_lists) and not any(_GLOBAL_HOOK_LISTS):
            return None
        own: _Hooks = self._event_hooks  # type: ignore[assignment]
        return {name: [*own[name], *GLOBAL_HOOKS[name]] for name in NAMES}

    async def _call(
        self, op: Operation[_R], values: dict[str, Any], reader: RawReader | None = None
    ) -> _R:
        validate(op, values)
        wire = build_request(op, values)
        call: _Call[_R] = _Call(op, self.SERVICE, self._hooks(), self._region or "")
        call.reader = reader
        hooks = call.hooks
        if hooks is None:
            return await self._run(call, wire, values)
        start = time.perf_counter()
        await emit(hooks["call_start"], CallStart(call.service, op.name, call.region))
        try:
            result = await self._run(call, wire, values)
        except BaseException as exc:
            await self._end(call, start, exc)
            raise
        await self._end(call, start, None)
        return result

    async def _call_raw(
        self, op: Operation[Any], values: dict[str, Any], reader: RawReader
    ) -> Any:
        """``_call`` for bulk jobs: the same request loop (validation, signing, retries,
        hooks, error answers), but a 2xx answer's parsed JSON goes to ``reader``
        (``(data, metadata) -> result``) instead of the operation's typed parser."""
        return await self._call(op, values, reader)

    async def _end(self, call: _Call[Any], start: float, error: BaseException | None) -> None:
        assert call.hooks is not None
        await emit(call.hooks["call_end"], CallEnd(
            call.service, call.op.name, self._region or call.region, call.attempts,
            call.status, call.request_id, time.perf_counter() - start, error,
        ))

    async def _run(self, call: _Call[_R], wire: WireRequest, values: dict[str, Any]) -> _R:
        """Every attempt of one call, as tenacity decides; the error a caller sees."""
        try:
            if self._base is None:
                await self._resolve_settings()
            self._check_usable()
            call.region = self._region or ""
            url = f"{self._base}{wire.path}{'?' + wire.query if wire.query else ''}"
            async for attempt in retrying(self._retry, self._before_sleep(call)):
                with attempt:
                    return await self._attempt(call, wire, url, attempt.retry_state.attempt_number)
        except CognitoSyncError as exc:
            raise self._explain(exc, values, call.attempts) from exc.__cause__
        raise AssertionError("unreachable: tenacity re-raises the last attempt's error")

    def _before_sleep(self, call: _Call[Any]) -> Callable[[RetryCallState], Any]:
        hooks = call.hooks
        if hooks is None or not hooks["retry"]:
            return log_before_sleep

        async def before_sleep(state: RetryCallState) -> None:
            log_before_sleep(state)
            error = state.outcome.exception() if state.outcome is not None else None
            assert error is not None  # only a failed attempt is retried
            await emit(hooks["retry"], RetryEvent(
                call.service, call.op.name, call.region, state.attempt_number,
                state.upcoming_sleep, error,
            ))

        return before_sleep

    async def _attempt(self, call: _Call[_R], wire: WireRequest, url: str, n: int) -> _R:
        """One attempt: credentials, limiter, sign, send, classify."""
        op, hooks = call.op, call.hooks
        call.attempts = n
        creds = await self._provider.get_credentials() if op.signed else None
        limiter = self.rate_limiter
        if limiter is not None:
            await limiter.acquire()
        request = self._sign(wire, url, creds)
        if hooks is not None and hooks["request"]:
            await emit(hooks["request"], RequestEvent(call.service, op.name, call.region, n))
        start = time.perf_counter()
        try:
            resp = await self._transport.send(request)
        except CognitoSyncError as exc:
            elapsed = time.perf_counter() - start
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s status=- attempt=%d duration=%.1fms error=%s",
                    op.name, n, elapsed * 1000, type(exc).__name__,
                )
            call.status = call.request_id = None
            if hooks is not None:
                await self._response(call, n, elapsed, exc)
            raise
        elapsed = time.perf_counter() - start
        if limiter is not None:
            limiter.on_response(resp.status == 429)
        call.status, call.request_id = resp.status, resp.headers.get("x-amzn-RequestId")
        self._log(op, resp, n, elapsed)
        try:
            if resp.status >= 300:
                err = service_error_of(op, resp)
                self._prepare_resend(op, err, resp, creds)
                raise err
            result = read_answer(op, resp, n, call.reader)
        except CognitoSyncError as exc:
            if hooks is not None:
                await self._response(call, n, elapsed, exc)
            raise
        if hooks is not None:  # (no coroutine made and awaited when nobody listens)
            await self._response(call, n, elapsed, None)
        return result

    async def _response(
        self, call: _Call[Any], n: int, elapsed: float, error: BaseException | None
    ) -> None:
        hooks = call.hooks
        if hooks is not None and hooks["response"]:
            await emit(hooks["response"], ResponseEvent(
                call.service, call.op.name, call.region, n, call.status, call.request_id,
                elapsed, error,
            ))

    def _prepare_resend(
        self, op: Operation[Any], err: ServiceError, resp: HTTPResponse, creds: Credentials | None
    ) -> None:
        """Mark ``err`` for a re-send at once (the next attempt) when one can succeed:
        the signature was refused for its time and the clock is now corrected from
        the answer's ``Date``, or the credentials were refused as expired and the
        provider can drop them (``invalidate``) for fresh ones."""
        if err.code in SKEW_CODES and self._clock.correct(resp.headers):
            log.debug("%s: correcting clock skew to %+.0fs", op.name, self._clock.offset)
            err.resend_now = True
        elif err.code in _EXPIRED_CODES and creds is not None:
            invalidate = getattr(self._provider, "invalidate", None)
            if callable(invalidate):
                log.debug("%s: credentials refused as expired; refreshing", op.name)
                invalidate(creds)
                err.resend_now = True

    def _sign(self, wire: WireRequest, url: str, creds: Credentials | None) -> HTTPRequest:
        headers = dict(wire.headers)
        if creds is not None:  # None: an operation the service takes unsigned
            date = self._clock.amz_date()
            headers["X-Amz-Date"] = date
            if creds.session_token:
                headers["X-Amz-Security-Token"] = creds.session_token
            signed = [("host", self._host), *headers.items()]
            auth, _ = _sigv4.sign(
                method=wire.method,
                path=wire.path,
                query=wire.query,
                headers=signed,
                body=wire.body,
                access_key_id=creds.access_key_id,
                secret_access_key=creds.secret_access_key,
                region=self._region or "",
                service=self.SERVICE,
                date=date,
                normalize=False,
            )
            headers["Authorization"] = auth
        headers["User-Agent"] = self._user_agent
        # as boto3 (http.client) asks: the body is read undecoded, so it must not be gzip'd
        headers["Accept-Encoding"] = "identity"
        if not wire.body and wire.method != "GET":
            headers["Content-Length"] = "0"
        return HTTPRequest(wire.method, url, headers, wire.body)

    def _log(self, op: Operation[Any], resp: HTTPResponse, attempt: int, elapsed: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s status=%d attempt=%d duration=%.1fms request_id=%s",
                op.name,
                resp.status,
                attempt,
                elapsed * 1000,
                resp.headers.get("x-amzn-RequestId"),
            )

    def _explain(
        self, exc: CognitoSyncError, values: dict[str, Any], attempts: int
    ) -> CognitoSyncError:
        """The error a caller sees: how many attempts were made, and for a DNS
        failure of the region's default endpoint, a hint at the region."""
        if (
            not self._endpoint_configured
            and isinstance(exc, EndpointConnectionError)
            and is_dns_failure(exc)
        ):
            new = EndpointConnectionError(
                dns_hint(self._host, self._region or "", values.get("identity_pool_id"))
            )
            new.__cause__ = exc.__cause__
            exc = new
        if attempts > 1:
            exc.attempts = attempts  # type: ignore[attr-defined]
            if not isinstance(exc, ServiceError) and exc.args:
                exc.args = (f"{exc.args[0]} (after {attempts} attempts)", *exc.args[1:])
        return exc
