"""The HTTP boundary: the only module that uses aiohttp at run time.

One pooled ``aiohttp.ClientSession`` per client, opened in the running loop
on first use. aiohttp's exceptions become the SDK's here, and nowhere else.
"""

from __future__ import annotations

import asyncio
import io
import math
import platform
import ssl
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._exceptions import (
    ClientStateError,
    CognitoSyncError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
    ResponseParseError,
)
from ._http import SECRET_HEADERS as _SECRET_HEADERS
from ._http import HTTPRequest, HTTPResponse
from ._version import __version__

USER_AGENT = (
    f"cognitosync-async/{__version__} python/{platform.python_version()} "
    f"aiohttp/{aiohttp.__version__}"
)


# TLS handshake failures a new connection may not meet (botocore retries them)
_TRANSIENT_TLS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError)

#: The whole-attempt deadline by default, in seconds. The largest legitimate
#: answer is one page of a 1 MB dataset (and a SyncTrigger has 5 s to run),
#: which takes seconds even on a slow link; 60 s is also botocore's read
#: timeout, so no attempt waits longer than one boto3 read may.
DEFAULT_TIMEOUT = 60.0
#: The largest answer body read. A dataset holds at most 1 MB of keys and
#: values; JSON escaping can make that up to six times larger (``\u0001``),
#: plus each record's metadata: 16 MiB is twice the worst legitimate page, and
#: a bound on what a hostile or broken server can make the client hold.
MAX_RESPONSE_BYTES = 16 * 2**20


def _seconds(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """A finite number of seconds (> 0, or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamValidationError(name, f"must be a number of seconds, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ParamValidationError(
            name, f"must be a finite number of seconds {'>= 0' if allow_zero else '> 0'}"
        )
    return float(value)


def user_agent(extra: str | None) -> str:
    """The User-Agent header: the SDK's, then ``user_agent_extra``."""
    if extra is None or extra == "":
        return USER_AGENT
    if not isinstance(extra, str):
        raise ParamValidationError(
            "user_agent_extra", f"must be a str, got {type(extra).__name__}"
        )
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in extra) or not extra.isascii():
        # CR/LF would split the header; non-ASCII is not a valid header value
        raise ParamValidationError(
            "user_agent_extra", "must be printable ASCII (no CR, LF or other control characters)"
        )
    return f"{USER_AGENT} {extra}"


def _scrub(exc: BaseException) -> None:
    """Drop the secret request headers from aiohttp exceptions, in place.

    ``ClientResponseError`` keeps the request's ``RequestInfo`` (headers
    included: ``Authorization``, ``X-Amz-Security-Token``) and its repr shows
    them; every exception in the chain loses them before it is chained.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        link = todo.pop()
        if link is None or id(link) in seen:
            continue
        seen.add(id(link))
        if isinstance(link, aiohttp.ClientResponseError):
            info, history = link.request_info, link.history
            headers = CIMultiDict(
                (k, "<redacted>" if k.lower() in _SECRET_HEADERS else v)
                for k, v in info.headers.items()
            )
            clean = aiohttp.RequestInfo(
                info.url, info.method, CIMultiDictProxy(headers), info.real_url
            )
            link.request_info = clean
            link.history = ()  # earlier responses hold their requests too
            # ``args`` holds the originals too (``BaseException.__reduce__`` uses them)
            link.args = tuple(
                clean if a is info else () if a is history else a for a in link.args
            )
        todo.extend((link.__cause__, link.__context__))


class Transport:
    """The default transport (``AsyncTransport``): one pooled aiohttp session,
    opened in the running loop on first use; sends one request and reads the
    whole answer."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        keepalive_timeout: float = 15.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ParamValidationError(
                "session", f"must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise ParamValidationError("max_connections", "must be an integer >= 1")
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._keepalive_timeout = _seconds(
            "keepalive_timeout", keepalive_timeout, allow_zero=True
        )
        self._deadline = _seconds("timeout", timeout)
        # sock_connect, not connect: aiohttp's ``connect`` also times the wait for
        # a free pooled connection, which is no network failure (botocore times
        # the connect only). ``total`` is the attempt's deadline, from the request
        # to the last byte of the answer (a wait for a pooled connection
        # included): a server that sends a byte now and then, or ``100 Continue``
        # and nothing more, never trips the per-read timeout alone.
        self._timeout = aiohttp.ClientTimeout(
            total=self._deadline,
            sock_connect=_seconds("connect_timeout", connect_timeout),
            sock_read=_seconds("read_timeout", read_timeout),
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        #: TLS context for the session the transport opens (AWS_CA_BUNDLE / ca_bundle);
        #: set before first use. None: aiohttp's default verification.
        self.ssl_context: ssl.SSLContext | None = None
        self._proxies: dict[str, str | None] = {}  # "scheme://host" -> proxy URL or None

    @property
    def session(self) -> aiohttp.ClientSession | None:
        return self._session

    def check_usable(self) -> None:
        """ClientStateError if closed or bound to another loop; opens nothing."""
        if self._closed:
            raise ClientStateError("this client is closed; create a new one")
        if self._session is not None and self._session.closed:  # else aiohttp's RuntimeError
            raise ClientStateError("the aiohttp session passed as session= is closed")
        if self._loop is not None and asyncio.get_running_loop() is not self._loop:
            raise ClientStateError(
                "this client belongs to another event loop; create one client per loop"
            )

    def _check(self) -> None:
        self.check_usable()
        if self._loop is None:
            self._open(asyncio.get_running_loop())

    def _open(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_timeout,
                ttl_dns_cache=300,
                ssl=self.ssl_context if self.ssl_context is not None else True,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                # the body is read undecoded (the client asks for identity encoding)
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # AWS APIs set no cookies
            )
        self._loop = loop

    def open(self) -> None:
        """Bind to the running loop and open the session (idempotent)."""
        self._check()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_session and self._session is not None:
            await self._session.close()

    def _proxy(self, url: URL) -> str | None:
        """HTTP_PROXY / HTTPS_PROXY unless NO_PROXY covers the host (urllib's reading of
        them, as botocore's), looked up once per origin. None for a caller's session:
        its own settings (its ``proxy=``, its ``trust_env``) are the explicit choice."""
        if not self._owns_session:
            return None
        origin = f"{url.scheme}://{url.host}"
        if origin not in self._proxies:
            import urllib.request

            proxies = urllib.request.getproxies_environment()
            proxy = proxies.get(url.scheme)
            if proxy and urllib.request.proxy_bypass(url.host or ""):
                proxy = None
            self._proxies[origin] = proxy or None
        return self._proxies[origin]

    async def send(self, request: HTTPRequest) -> HTTPResponse:
        self._check()
        method, url, headers, body = request.method, request.url, request.headers, request.body
        assert self._session is not None
        target = URL(url, encoded=True)
        try:
            async with self._session.request(
                method,
                target,
                proxy=self._proxy(target),
                headers=headers,
                # per request, so that a caller's session sends the same headers
                skip_auto_headers=("Content-Type", "Accept"),
                # over 1 MiB, raw bytes make aiohttp warn (ResourceWarning): stream them
                data=(body or None) if len(body) <= 2**20 else io.BytesIO(body),
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                status = resp.status
                if not 100 <= status <= 599:
                    raise ResponseParseError(
                        f"{URL(url).origin()} answered HTTP status {status}, "
                        "which is not an HTTP status (100-599)"
                    )
                length = resp.content_length
                if length is not None and length <= MAX_RESPONSE_BYTES:
                    data = await resp.read()  # aiohttp reads no more than Content-Length
                else:
                    data = await _read_bounded(resp, url)
                return HTTPResponse(status, resp.headers, data)
        except CognitoSyncError:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            _scrub(exc)
            raise self._translate(exc, URL(url).origin()) from exc

    def _translate(self, exc: BaseException, origin: URL) -> CognitoSyncError:
        """The SDK's error for an aiohttp (or timeout) exception."""
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return ConnectTimeoutError(f"timed out connecting to {origin}")
        if isinstance(exc, aiohttp.ServerTimeoutError):
            return ReadTimeoutError(f"timed out reading from {origin}")
        if isinstance(exc, asyncio.TimeoutError):  # aiohttp's ``total``: the deadline
            return ReadTimeoutError(
                f"no complete answer from {origin} within timeout={self._deadline:g}s"
            )
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            # certificate or hostname refused: a retry cannot fix it
            return HTTPClientError(f"TLS certificate failure with {origin}: {exc}")
        if isinstance(exc, aiohttp.ClientSSLError):
            if isinstance(exc.os_error, _TRANSIENT_TLS):
                # the handshake was cut short: retried, as botocore retries it
                return EndpointConnectionError(
                    f"TLS handshake with {origin} cut short: "
                    f"{type(exc.os_error).__name__}: {exc.os_error}"
                )
            return HTTPClientError(  # e.g. not TLS at all: a retry cannot fix it
                f"TLS failure with {origin}: {type(exc).__name__}: {exc}"
            )
        if isinstance(exc, aiohttp.ClientConnectorError):
            return EndpointConnectionError(f"could not connect to {origin}: {exc.os_error}")
        if isinstance(
            exc,
            (
                aiohttp.ServerDisconnectedError,
                aiohttp.ClientOSError,
                aiohttp.ClientPayloadError,
                aiohttp.ClientConnectionError,
            ),
        ):
            return EndpointConnectionError(
                f"connection to {origin} failed: {type(exc).__name__}: {exc}"
            )
        if isinstance(exc, aiohttp.ClientResponseError):
            # we never raise_for_status: this is an answer aiohttp could not parse
            # (a bad status line or header)
            return ResponseParseError(
                f"unreadable answer from {origin}: {type(exc).__name__}: "
                f"{_cut(exc.message)}"
            )
        return HTTPClientError(f"request to {origin} failed: {type(exc).__name__}: {exc}")


def _cut(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."


async def _read_bounded(resp: aiohttp.ClientResponse, url: str) -> bytes:
    """The body, refused once it passes ``MAX_RESPONSE_BYTES`` (never held whole)."""
    if resp.content_length is not None:  # declared too large: not read at all
        size = resp.content_length
    else:
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_RESPONSE_BYTES:
            chunk = await resp.content.readany()
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            chunks.append(chunk)
        chunks.clear()
    raise ResponseParseError(
        f"the answer from {URL(url).origin()} is over {MAX_RESPONSE_BYTES} bytes "
        f"({'at least ' if resp.content_length is None else ''}{size}); refused"
    )
