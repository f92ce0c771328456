"""The HTTP boundary's types, without aiohttp: what a transport is given and returns.

``AsyncTransport`` is anything with ``async def send(request) -> HTTPResponse``:
the aiohttp ``Transport`` (``_transport``) is the default; ``MockTransport``
answers from a function, for unit tests (as httpx's ``MockTransport`` does).
A transport raises the SDK's errors for a failed exchange
(``EndpointConnectionError`` and the other ``HTTPClientError`` subclasses):
the client retries those that are retryable.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol, runtime_checkable

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from ._exceptions import ParamValidationError

# Request headers that carry a secret: never shown by a repr.
SECRET_HEADERS = frozenset({"authorization", "x-amz-security-token"})


def _ci_headers(value: Mapping[str, str]) -> Mapping[str, str]:
    """Headers looked up case-insensitively (aiohttp's own are kept as they are)."""
    if isinstance(value, (CIMultiDictProxy, CIMultiDict)):
        return value
    return CIMultiDictProxy(CIMultiDict(value))


@attrs.frozen(repr=False)
class HTTPRequest:
    """One signed request, as it goes on the wire: ``url`` already percent-encoded."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""

    def __repr__(self) -> str:
        shown = {
            k: "<redacted>" if k.lower() in SECRET_HEADERS else v
            for k, v in self.headers.items()
        }
        return (
            f"HTTPRequest(method={self.method!r}, url={self.url!r}, headers={shown!r}, "
            f"body=<{len(self.body)} bytes>)"
        )


@attrs.frozen
class HTTPResponse:
    """One whole answer: status, headers (looked up case-insensitively) and body."""

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_ci_headers)
    body: bytes = b""


@runtime_checkable
class AsyncTransport(Protocol):
    """What ``transport=`` accepts: sends one request, reads the whole answer."""

    async def send(self, request: HTTPRequest) -> HTTPResponse: ...


Handler = Callable[[HTTPRequest], "HTTPResponse | Awaitable[HTTPResponse]"]


class MockTransport:
    """A transport that answers each request by calling ``handler(request)``.

    The handler, a function or a coroutine function, returns the
    ``HTTPResponse``; raising ``EndpointConnectionError`` plays a network
    failure. The client's retries, signing, hooks and error mapping run as
    they do over the network.
    """

    def __init__(self, handler: Handler) -> None:
        if not callable(handler):
            raise ParamValidationError("handler", "must be callable")
        self.handler = handler

    async def send(self, request: HTTPRequest) -> HTTPResponse:
        answer = self.handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if not isinstance(answer, HTTPResponse):
            raise TypeError(
                f"MockTransport handler must return an HTTPResponse, got {type(answer).__name__}"
            )
        return answer
