"""``CognitoSyncClient``: one thin coroutine per operation.

A call goes: ``_call`` has the operation's table entry (``_operations``)
validate the arguments and build the exact wire request; ``_attempt`` gets
credentials, and ``_sign_and_send`` signs (``_sigv4``) and sends
(``_transport``) it, once; only after a retryable failure does ``_call``
hand the rest of the attempts to tenacity (``_retry``), each signed afresh.
The answer becomes an attrs model (``_models``) or a typed error
(``_exceptions``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
import weakref
from datetime import timezone
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from . import _operations as ops
from . import _sigv4
from ._credential_chain import as_provider
from ._credentials import Credentials, CredentialsProvider
from ._dataset import DatasetHandle
from ._endpoints import default_endpoint, host_header
from ._exceptions import (
    ClientStateError,
    CognitoSyncError,
    EndpointConnectionError,
    HTTPClientError,
    NoRegionError,
    ParamValidationError,
    ResponseParseError,
    ServiceError,
    cut_message,
    service_error,
)
from ._models import (
    BulkPublishResponse,
    CognitoStreams,
    DeleteDatasetResponse,
    DescribeDatasetResponse,
    DescribeIdentityPoolUsageResponse,
    DescribeIdentityUsageResponse,
    GetBulkPublishDetailsResponse,
    GetCognitoEventsResponse,
    GetIdentityPoolConfigurationResponse,
    ListDatasetsResponse,
    ListIdentityPoolUsageResponse,
    ListRecordsResponse,
    PushSync,
    RecordPatch,
    RegisterDeviceResponse,
    ResponseMetadata,
    SetCognitoEventsResponse,
    SetIdentityPoolConfigurationResponse,
    SubscribeToDatasetResponse,
    UnsubscribeFromDatasetResponse,
    UpdateRecordsResponse,
    loads,
    parse,
)
from ._operations import Operation, WireRequest, build_request, validate
from ._paginate import DatasetPaginator, IdentityPoolUsagePaginator, RecordPaginator
from ._ratelimit import AdaptiveRateLimiter
from ._retry import RetryConfig, is_retryable, parse_retry_after, retrying
from ._settings import Settings, configured_endpoint, resolve_settings
from ._transport import DEFAULT_TIMEOUT, HTTPResponse, Transport, user_agent
from ._transport import USER_AGENT as USER_AGENT  # the SDK's own, without user_agent_extra

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("cognitosync_async")

SERVICE = "cognito-sync"
_C = TypeVar("_C", bound="BaseClient")
_R = TypeVar("_R")  # an operation's response class
_SKEW_CODES = frozenset(
    {
        "RequestTimeTooSkewed",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "RequestExpired",
        "RequestInTheFuture",
    }
)
_EXPIRED_CODES = frozenset({"ExpiredTokenException", "ExpiredToken"})
# A signature-mismatch message may quote the canonical request, session token included.
_SECURITY_TOKEN = re.compile(r"(?i)(x-amz-security-token:)[^\n']*")
# ... or a signature (valid for minutes: a replay could use it)
_SIGNATURE = re.compile(r"(?i)(signature=)[0-9a-f]{16,}")
# botocore's validate_region_name: a region is one DNS label of the endpoint host
_REGION_NAME = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]{0,61}[a-zA-Z0-9])?")


def _is_dns_failure(exc: BaseException) -> bool:
    """True when the cause chain holds a name-resolution failure."""
    import socket

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror) or type(seen).__name__ == "ClientConnectorDNSError":
            return True
        if isinstance(seen, OSError) and getattr(seen, "os_error", None) is not None:
            if isinstance(seen.os_error, socket.gaierror):  # type: ignore[attr-defined]
                return True
        seen = seen.__cause__ or seen.__context__
    return False


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
            self._check_region(region)
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
        self._transport = Transport(
            session=session,
            max_connections=max_connections,
            keepalive_timeout=keepalive_timeout,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            timeout=timeout,
        )
        self._user_agent = user_agent(user_agent_extra)
        self._clock_offset = 0.0  # seconds to add to the local clock (skew correction)
        self._date_cache: tuple[int, str] = (-1, "")
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

    @staticmethod
    def _check_region(region: str) -> None:
        if not isinstance(region, str) or not _REGION_NAME.fullmatch(region):
            raise ParamValidationError("region_name", "must be a valid region name")

    async def _load_settings(self) -> Settings:
        """Every setting, resolved once (the shared files read off the loop); concurrent
        first calls share one read, and a failed read is tried again next time."""
        if self._settings is not None:
            return self._settings
        self._transport.check_usable()  # closed or another loop: no file I/O
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
        self._check_region(region)
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
        if settings.ssl_context is not None:
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
        """Close the pooled session (not one the caller passed in). Idempotent."""
        await self._transport.close()

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session requests go through: the one passed as ``session=``, else
        the client's own pooled session (None until the client is first used)."""
        return self._transport.session

    # ------------------------------------------------------------------ the call path

    def _now(self) -> float:
        return time.time() + self._clock_offset

    def _amz_date(self) -> str:
        now = int(self._now())
        cached = self._date_cache
        if cached[0] == now:
            return cached[1]
        text = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        self._date_cache = (now, text)
        return text

    async def _call(self, op: Operation[_R], values: dict[str, Any]) -> _R:
        validate(op, values)
        wire = build_request(op, values)
        if self._base is None:
            await self._resolve_settings()
        url = f"{self._base}{wire.path}{'?' + wire.query if wire.query else ''}"
        try:
            return await self._attempt(op, wire, url, 1)
        except CognitoSyncError as exc:
            if self._retry.max_attempts == 1 or not is_retryable(exc):
                raise self._explain(exc, values, 1) from exc.__cause__
            first: list[BaseException] = [exc]

        # Only after a retryable failure: tenacity runs the remaining attempts.
        # Its first "attempt" replays the failure above so that it computes the
        # wait (Retry-After or jitter) and counts attempts as one sequence.
        attempt_no = 1

        async def again() -> _R:
            nonlocal attempt_no
            if first:
                raise first.pop()
            attempt_no += 1
            return await self._attempt(op, wire, url, attempt_no)

        try:
            return await retrying(self._retry)(again)
        except CognitoSyncError as exc:
            raise self._explain(exc, values, attempt_no) from exc.__cause__

    def _explain(
        self, exc: CognitoSyncError, values: dict[str, Any], attempts: int
    ) -> CognitoSyncError:
        """The error a caller sees: how many attempts were made, and for a DNS
        failure of the region's default endpoint, a hint at the region."""
        if (
            not self._endpoint_configured
            and isinstance(exc, EndpointConnectionError)
            and _is_dns_failure(exc)
        ):
            region = self._region or ""
            hint = (
                f"could not resolve {self._host}: is the region {region!r} right? "
                "(region_name=, AWS_REGION / AWS_DEFAULT_REGION or the profile's region)"
            )
            pool = values.get("identity_pool_id")
            if isinstance(pool, str) and ":" in pool and pool.split(":", 1)[0] != region:
                hint += (
                    f"; the identity pool {pool} is in {pool.split(':', 1)[0]}, "
                    f"but the client uses {region}"
                )
            new = EndpointConnectionError(hint)
            new.__cause__ = exc.__cause__
            exc = new
        if attempts > 1:
            exc.attempts = attempts  # type: ignore[attr-defined]
            if not isinstance(exc, ServiceError) and exc.args:
                exc.args = (f"{exc.args[0]} (after {attempts} attempts)", *exc.args[1:])
        return exc

    async def _attempt(self, op: Operation[_R], wire: WireRequest, url: str, attempt: int) -> _R:
        creds = await self._provider.get_credentials() if op.signed else None
        limiter = self.rate_limiter
        if limiter is not None:
            await limiter.acquire()
        start = time.perf_counter()
        try:
            resp, elapsed = await self._sign_and_send(op, wire, url, creds)
        except HTTPClientError as exc:
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s status=- attempt=%d duration=%.1fms error=%s",
                    op.name, attempt, (time.perf_counter() - start) * 1000,
                    type(exc).__name__,
                )
            raise
        if limiter is not None:
            limiter.on_response(resp.status == 429)
        if resp.status >= 300:
            err = self._error(op, resp)
            repaired, creds = await self._repair(op, err, resp, creds)
            if repaired:  # re-sign and re-send once, at once
                resp, elapsed = await self._sign_and_send(op, wire, url, creds)
                if resp.status >= 300:
                    err = self._error(op, resp)
            if resp.status >= 300:
                self._log(op, resp, attempt, elapsed)
                raise err
        self._log(op, resp, attempt, elapsed)
        body = resp.body
        try:
            data = loads(body) if body else {}
            return parse(
                op.output, data,
                ResponseMetadata(resp.headers.get("x-amzn-RequestId"), resp.status, attempt),
            )
        except (
            ValueError, TypeError, AttributeError, OverflowError, OSError, RecursionError
        ) as exc:
            raise ResponseParseError(
                f"{op.name}: unreadable answer (HTTP {resp.status}, "
                f"request id {resp.headers.get('x-amzn-RequestId')}): {cut_message(str(exc))}"
            ) from exc

    async def _repair(
        self, op: Operation[Any], err: ServiceError, resp: HTTPResponse, creds: Credentials | None
    ) -> tuple[bool, Credentials | None]:
        """``(True, credentials to sign with)`` when one immediate re-send can
        succeed: the signature was refused for the time and the clock is now
        corrected from the answer's ``Date``, or the credentials were refused as
        expired and the provider can drop them (``invalidate``) for fresh ones."""
        if err.code in _SKEW_CODES and self._correct_skew(resp):
            log.debug("%s: correcting clock skew to %+.0fs", op.name, self._clock_offset)
            return True, creds
        if err.code in _EXPIRED_CODES and creds is not None:
            invalidate = getattr(self._provider, "invalidate", None)
            if callable(invalidate):
                log.debug("%s: credentials refused as expired; refreshing", op.name)
                invalidate(creds)
                return True, await self._provider.get_credentials()
        return False, creds

    async def _sign_and_send(
        self, op: Operation[Any], wire: WireRequest, url: str, creds: Credentials | None
    ) -> tuple[HTTPResponse, float]:
        headers = dict(wire.headers)
        if creds is not None:  # None: an operation the service takes unsigned
            date = self._amz_date()
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
        start = time.perf_counter()
        resp = await self._transport.send(wire.method, url, headers, wire.body)
        return resp, time.perf_counter() - start

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

    def _correct_skew(self, resp: HTTPResponse) -> bool:
        """Set the clock offset from the answer's ``Date``; True when it moved."""
        date = resp.headers.get("Date")
        if not date:
            return False
        try:
            server = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        if server.tzinfo is None:
            server = server.replace(tzinfo=timezone.utc)
        offset = server.timestamp() - time.time()
        if abs(offset - self._clock_offset) < 60:
            return False
        self._clock_offset = offset
        return True

    def _error(self, op: Operation[Any], resp: HTTPResponse) -> ServiceError:
        """The typed error for an error answer, read as botocore's RestJSONParser reads it."""
        status = resp.status
        body = resp.body
        code: str = str(status)
        message = ""
        stripped = body.strip()
        if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
            from http.client import responses

            message = responses.get(status, "")
        else:
            data: Any = None
            try:
                # decoded first and only an empty body is {}, as botocore reads it
                data = json.loads(body.decode("utf-8", "replace")) if body else {}
            except (ValueError, RecursionError):  # deeply nested JSON
                message = body.decode("utf-8", "replace")
            if isinstance(data, dict):
                raw_message = data.get("message", data.get("Message", ""))
                if raw_message is None:
                    raw_message = ""
                message = raw_message if isinstance(raw_message, str) else str(raw_message)
                type_ = data.get("__type", code)  # present, even "" or null, it is the code
                if type_ is None or isinstance(type_, str):
                    code = type_ or ""
            header_code = resp.headers.get("x-amzn-ErrorType")
            if header_code is not None:
                code = header_code
            elif isinstance(data, dict) and ("code" in data or "Code" in data):
                body_code = data.get("code", data.get("Code", ""))
                if isinstance(body_code, str):
                    code = body_code
            elif data is not None and not isinstance(data, dict):
                message = body.decode("utf-8", "replace")
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
        if "security-token" in message.lower():
            message = _SECURITY_TOKEN.sub(r"\1<redacted>", message)
        message = _SIGNATURE.sub(r"\1<redacted>", message)  # an error path: cheap enough
        message = cut_message(message)  # after the redaction: a cut could hide its marker
        err = service_error(
            code,
            message,
            status_code=status,
            request_id=resp.headers.get("x-amzn-RequestId"),
            operation=op.name,
        )
        err.retry_after = parse_retry_after(resp.headers)
        return err



class CognitoSyncClient(BaseClient):
    """An asyncio client for Amazon Cognito Sync.

    Use one per event loop, as an async context manager or closing it with
    ``await client.close()``. Constructing it does no I/O.
    """

    #: One lock per dataset, shared by all its handles (see ``dataset``); made on first use.
    _dataset_locks: weakref.WeakValueDictionary[tuple[str, str, str], asyncio.Lock] | None = None

    # ------------------------------------------------------------------ operations

    async def bulk_publish(
        self,
        *,
        identity_pool_id: str,
    ) -> BulkPublishResponse:
        """Start a bulk publish of all existing datasets of a pool to its configured stream
        (developer credentials).
        """
        return await self._call(ops.BULK_PUBLISH, {"identity_pool_id": identity_pool_id})

    async def delete_dataset(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
    ) -> DeleteDatasetResponse:
        """Delete a dataset; returns the deleted dataset's description."""
        return await self._call(
            ops.DELETE_DATASET,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
            },
        )

    async def describe_dataset(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
    ) -> DescribeDatasetResponse:
        """Metadata of a dataset: creation and modification dates, records, storage."""
        return await self._call(
            ops.DESCRIBE_DATASET,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
            },
        )

    async def describe_identity_pool_usage(
        self,
        *,
        identity_pool_id: str,
    ) -> DescribeIdentityPoolUsageResponse:
        """Usage of an identity pool: sync sessions, storage, last modification."""
        return await self._call(
            ops.DESCRIBE_IDENTITY_POOL_USAGE, {"identity_pool_id": identity_pool_id}
        )

    async def describe_identity_usage(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
    ) -> DescribeIdentityUsageResponse:
        """Usage of one identity: datasets, storage, last modification."""
        return await self._call(
            ops.DESCRIBE_IDENTITY_USAGE,
            {"identity_pool_id": identity_pool_id, "identity_id": identity_id},
        )

    async def get_bulk_publish_details(
        self,
        *,
        identity_pool_id: str,
    ) -> GetBulkPublishDetailsResponse:
        """Status of the latest bulk publish of a pool."""
        return await self._call(
            ops.GET_BULK_PUBLISH_DETAILS, {"identity_pool_id": identity_pool_id}
        )

    async def get_cognito_events(
        self,
        *,
        identity_pool_id: str,
    ) -> GetCognitoEventsResponse:
        """The Cognito events (e.g. ``SyncTrigger``) configured on a pool."""
        return await self._call(
            ops.GET_COGNITO_EVENTS, {"identity_pool_id": identity_pool_id}
        )

    async def get_identity_pool_configuration(
        self,
        *,
        identity_pool_id: str,
    ) -> GetIdentityPoolConfigurationResponse:
        """Push sync and Cognito streams configuration of a pool."""
        return await self._call(
            ops.GET_IDENTITY_POOL_CONFIGURATION, {"identity_pool_id": identity_pool_id}
        )

    async def list_datasets(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> ListDatasetsResponse:
        """One page of an identity's datasets (see ``iter_datasets`` for all)."""
        return await self._call(
            ops.LIST_DATASETS,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "next_token": next_token,
                "max_results": max_results,
            },
        )

    async def list_identity_pool_usage(
        self,
        *,
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> ListIdentityPoolUsageResponse:
        """One page of usage for the account's identity pools (see ``iter_identity_pool_usage``)."""
        return await self._call(
            ops.LIST_IDENTITY_POOL_USAGE,
            {"next_token": next_token, "max_results": max_results},
        )

    async def list_records(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        last_sync_count: int | None = None,
        next_token: str | None = None,
        max_results: int | None = None,
        sync_session_token: str | None = None,
    ) -> ListRecordsResponse:
        """One page of records changed after ``last_sync_count``, with the sync session token (see
        ``iter_records``).
        """
        return await self._call(
            ops.LIST_RECORDS,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
                "last_sync_count": last_sync_count,
                "next_token": next_token,
                "max_results": max_results,
                "sync_session_token": sync_session_token,
            },
        )

    async def register_device(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        platform: str,
        token: str,
    ) -> RegisterDeviceResponse:
        """Register a device for push sync (identity credentials); returns its ``device_id``."""
        return await self._call(
            ops.REGISTER_DEVICE,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "platform": platform,
                "token": token,
            },
        )

    async def set_cognito_events(
        self,
        *,
        identity_pool_id: str,
        events: dict[str, str],
    ) -> SetCognitoEventsResponse:
        """Configure a pool's Cognito events; at most one event per call."""
        return await self._call(
            ops.SET_COGNITO_EVENTS,
            {"identity_pool_id": identity_pool_id, "events": events},
        )

    async def set_identity_pool_configuration(
        self,
        *,
        identity_pool_id: str,
        push_sync: PushSync | None = None,
        cognito_streams: CognitoStreams | None = None,
    ) -> SetIdentityPoolConfigurationResponse:
        """Set push sync and/or Cognito streams of a pool; returns the whole configuration."""
        return await self._call(
            ops.SET_IDENTITY_POOL_CONFIGURATION,
            {
                "identity_pool_id": identity_pool_id,
                "push_sync": push_sync,
                "cognito_streams": cognito_streams,
            },
        )

    async def subscribe_to_dataset(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        device_id: str,
    ) -> SubscribeToDatasetResponse:
        """Subscribe a registered device to a dataset's changes (identity credentials)."""
        return await self._call(
            ops.SUBSCRIBE_TO_DATASET,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
                "device_id": device_id,
            },
        )

    async def unsubscribe_from_dataset(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        device_id: str,
    ) -> UnsubscribeFromDatasetResponse:
        """Unsubscribe a device from a dataset's changes (identity credentials)."""
        return await self._call(
            ops.UNSUBSCRIBE_FROM_DATASET,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
                "device_id": device_id,
            },
        )

    async def update_records(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        device_id: str | None = None,
        record_patches: list[RecordPatch] | None = None,
        sync_session_token: str | None,
        client_context: str | None = None,
    ) -> UpdateRecordsResponse:
        """Apply record patches in one atomic request, with the token from ``list_records``.

        ``sync_session_token`` is required (no default) and typed as
        ``ListRecordsResponse.sync_session_token`` is, so that one call's answer
        passes straight to the next; ``None`` is refused before the network
        (``ParamValidationError``).
        """
        return await self._call(
            ops.UPDATE_RECORDS,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
                "device_id": device_id,
                "record_patches": record_patches,
                "sync_session_token": sync_session_token,
                "client_context": client_context,
            },
        )

    # ------------------------------------------------------------------ helpers

    def dataset(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        max_rounds: int = 5,
        device_id: str | None = None,
    ) -> DatasetHandle:
        """A handle for read-modify-write on one dataset (``get``, ``put``, ``pull``...).

        Its arguments are validated now, before any call.
        """
        validate(
            ops.DESCRIBE_DATASET,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
            },
        )
        # the conflict lock belongs to the dataset: handles on one dataset share it
        locks = self._dataset_locks
        if locks is None:
            locks = self._dataset_locks = weakref.WeakValueDictionary()
        key = (identity_pool_id, identity_id, dataset_name)
        lock = locks.get(key)
        if lock is None:
            lock = locks[key] = asyncio.Lock()
        return DatasetHandle(
            self,
            identity_pool_id=identity_pool_id,
            identity_id=identity_id,
            dataset_name=dataset_name,
            max_rounds=max_rounds,
            device_id=device_id,
            lock=lock,
        )

    # ------------------------------------------------------------------ paginators

    def iter_datasets(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        page_size: int | None = None,
        max_items: int | None = None,
        starting_token: str | None = None,
    ) -> DatasetPaginator:
        """Every dataset of an identity, following ``nextToken``."""
        return DatasetPaginator(
            self.list_datasets,
            {"identity_pool_id": identity_pool_id, "identity_id": identity_id},
            page_size=page_size,
            max_items=max_items,
            starting_token=starting_token,
        )

    def iter_records(
        self,
        *,
        identity_pool_id: str,
        identity_id: str,
        dataset_name: str,
        last_sync_count: int | None = None,
        sync_session_token: str | None = None,
        page_size: int | None = None,
        max_items: int | None = None,
        starting_token: str | None = None,
    ) -> RecordPaginator:
        """Every record changed after ``last_sync_count`` (all when None), tombstones included."""
        return RecordPaginator(
            self.list_records,
            {
                "identity_pool_id": identity_pool_id,
                "identity_id": identity_id,
                "dataset_name": dataset_name,
                "last_sync_count": last_sync_count,
                "sync_session_token": sync_session_token,
            },
            page_size=page_size,
            max_items=max_items,
            starting_token=starting_token,
        )

    def iter_identity_pool_usage(
        self,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        starting_token: str | None = None,
    ) -> IdentityPoolUsagePaginator:
        """Usage of every identity pool of the account."""
        return IdentityPoolUsagePaginator(
            self.list_identity_pool_usage,
            {},
            page_size=page_size,
            max_items=max_items,
            starting_token=starting_token,
        )
