"""Reading answers: a success into its response class, an error answer into
its typed ``ServiceError`` (as botocore's RestJSONParser reads it), with any
session token or signature the message quotes redacted."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from ._exceptions import ResponseParseError, ServiceError, cut_message, service_error
from ._http import HTTPResponse
from ._models import ResponseMetadata, loads, parse
from ._operations import Operation
from ._retry import parse_retry_after

_R = TypeVar("_R")
# A signature-mismatch message may quote the canonical request, session token included.
_SECURITY_TOKEN = re.compile(r"(?i)(x-amz-security-token:)[^\n']*")
# ... or a signature (valid for minutes: a replay could use it)
_SIGNATURE = re.compile(r"(?i)(signature=)[0-9a-f]{16,}")


#: An internal reader of an answer's parsed JSON (the raw page path of bulk jobs):
#: ``(data, metadata) -> result``; a wrong shape raises ``AnswerShapeError``.
RawReader = Callable[[Any, ResponseMetadata], Any]


def read_answer(
    op: Operation[_R], resp: HTTPResponse, attempt: int, reader: RawReader | None = None
) -> _R:
    """The response of a 2xx answer, with its ``response_metadata`` (request id,
    status, and ``attempt``: the attempts the call took); with ``reader``, what
    it makes of the parsed JSON (checked the same way: a wrong shape is a
    ``ResponseParseError`` of this attempt)."""
    body = resp.body
    try:
        data = loads(body) if body else {}
        metadata = ResponseMetadata(resp.headers.get("x-amzn-RequestId"), resp.status, attempt)
        if reader is not None:
            result: _R = reader(data, metadata)
            return result
        return parse(op.output, data, metadata)
    except (
        ValueError, TypeError, AttributeError, OverflowError, OSError, RecursionError
    ) as exc:
        raise ResponseParseError(
            f"{op.name}: unreadable answer (HTTP {resp.status}, "
            f"request id {resp.headers.get('x-amzn-RequestId')}): {cut_message(str(exc))}"
        ) from exc


def service_error_of(op: Operation[Any], resp: HTTPResponse) -> ServiceError:
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
