"""The error the local service answers with, and the status of each code."""

from __future__ import annotations

import json
import re

from aiohttp import web

ERROR_TYPE_SUFFIX = "http://internal.amazon.com/coral/com.amazonaws.cognito.sync.model/"

#: An identity pool id or identity id (``region:uuid``), as both services check it.
ID_RE = re.compile(r"[\w-]+:[0-9a-f-]+", re.ASCII)

#: HTTP status per error code (SERVICE.md section 1; the non-model codes are AWS-standard).
STATUS_BY_CODE: dict[str, int] = {
    "AlreadyStreamedException": 400,
    "ConcurrentModificationException": 400,
    "DuplicateRequestException": 400,
    "InvalidConfigurationException": 400,
    "InvalidLambdaFunctionOutputException": 400,
    "InvalidParameterException": 400,
    "LimitExceededException": 400,
    "NotAuthorizedException": 403,
    "ResourceNotFoundException": 404,
    "ResourceConflictException": 409,
    "TooManyRequestsException": 429,
    "LambdaThrottledException": 429,
    "InternalErrorException": 500,
    # Not in the model: answered by the AWS front end or by the emulator's own plumbing.
    "LambdaSocketTimeoutException": 500,
    "MissingAuthenticationTokenException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "IncompleteSignatureException": 400,
    "ExpiredTokenException": 403,
    "UnknownOperationException": 404,
    "ServiceUnavailableException": 503,
}


class ServiceException(Exception):
    """An error answer: ``code`` (e.g. ``InvalidParameterException``) and ``message``."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status if status is not None else STATUS_BY_CODE.get(code, 400)
        self.headers = dict(headers or {})


def invalid_parameter(message: str) -> ServiceException:
    return ServiceException("InvalidParameterException", message)


def not_found(message: str) -> ServiceException:
    return ServiceException("ResourceNotFoundException", message)


def not_authorized() -> ServiceException:
    return ServiceException(
        "NotAuthorizedException", "These credentials are not valid for accessing this resource"
    )


def error_response(
    exc: ServiceException,
    request_id: str,
    *,
    error_type_suffix: str = ERROR_TYPE_SUFFIX,
    content_type: str = "application/json",
    type_namespace: str | None = None,
) -> web.Response:
    """The error answer: ``x-amzn-ErrorType: <code>:<error_type_suffix>`` and a JSON
    body ``{"message": ...}``, with ``"__type": "<type_namespace>#<code>"`` first when
    ``type_namespace`` is given (Cognito Identity's JSON 1.1 shape)."""
    headers = {
        "x-amzn-RequestId": request_id,
        "x-amzn-ErrorType": f"{exc.code}:{error_type_suffix}",
        **exc.headers,
        "Content-Type": content_type,
    }
    body: dict[str, str] = {}
    if type_namespace is not None:
        body["__type"] = f"{type_namespace}#{exc.code}"
    body["message"] = exc.message
    return web.Response(
        status=exc.status, body=json.dumps(body, separators=(",", ":")).encode(), headers=headers
    )
