"""The HTTP boundary: the only module that uses aiohttp at run time.

One pooled ``aiohttp.ClientSession`` per client, opened in the running loop
on first use. aiohttp's exceptions become the SDK's here, and nowhere else.
"""

from __future__ import annotations

import asyncio
import io
import platform
import ssl
from collections.abc import Mapping

import aiohttp
import attrs
from yarl import URL

from ._exceptions import (
    ClientStateError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ReadTimeoutError,
)
from ._version import __version__

USER_AGENT = (
    f"cognitosync-async/{__version__} python/{platform.python_version()} "
    f"aiohttp/{aiohttp.__version__}"
)


# TLS handshake failures a new connection may not meet (botocore retries them)
_TRANSIENT_TLS = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError)


@attrs.frozen
class HTTPResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes


class Transport:
    """Sends one request and reads the whole answer."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        keepalive_timeout: float = 15.0,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._keepalive_timeout = keepalive_timeout
        # sock_connect, not connect: aiohttp's ``connect`` also times the wait for
        # a free pooled connection, which is no network failure (botocore times
        # the connect only)
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=connect_timeout, sock_read=read_timeout
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
        them, as botocore's), looked up once per origin."""
        origin = f"{url.scheme}://{url.host}"
        if origin not in self._proxies:
            import urllib.request

            proxies = urllib.request.getproxies_environment()
            proxy = proxies.get(url.scheme)
            if proxy and urllib.request.proxy_bypass(url.host or ""):
                proxy = None
            self._proxies[origin] = proxy or None
        return self._proxies[origin]

    async def send(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> HTTPResponse:
        self._check()
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
                data = await resp.read()
                return HTTPResponse(resp.status, resp.headers, data)
        except aiohttp.ConnectionTimeoutError as exc:
            raise ConnectTimeoutError(f"timed out connecting to {URL(url).origin()}") from exc
        except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
            raise ReadTimeoutError(f"timed out reading from {URL(url).origin()}") from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            # certificate or hostname refused: a retry cannot fix it
            raise HTTPClientError(
                f"TLS certificate failure with {URL(url).origin()}: {exc}"
            ) from exc
        except aiohttp.ClientSSLError as exc:
            if isinstance(exc.os_error, _TRANSIENT_TLS):
                # the handshake was cut short: retried, as botocore retries it
                raise EndpointConnectionError(
                    f"TLS handshake with {URL(url).origin()} cut short: "
                    f"{type(exc.os_error).__name__}: {exc.os_error}"
                ) from exc
            raise HTTPClientError(  # e.g. not TLS at all: a retry cannot fix it
                f"TLS failure with {URL(url).origin()}: {type(exc).__name__}: {exc}"
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise EndpointConnectionError(
                f"could not connect to {URL(url).origin()}: {exc.os_error}"
            ) from exc
        except (
            aiohttp.ServerDisconnectedError,
            aiohttp.ClientOSError,
            aiohttp.ClientPayloadError,
            aiohttp.ClientConnectionError,
        ) as exc:
            raise EndpointConnectionError(
                f"connection to {URL(url).origin()} failed: {type(exc).__name__}: {exc}"
            ) from exc
        except aiohttp.ClientError as exc:
            raise HTTPClientError(
                f"request to {URL(url).origin()} failed: {type(exc).__name__}: {exc}"
            ) from exc
