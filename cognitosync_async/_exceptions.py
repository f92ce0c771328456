"""Everything the SDK raises on purpose::

    CognitoSyncError
    ├── ParamValidationError (also ValueError)   bad input, raised before any I/O
    ├── ClientStateError (also RuntimeError)      used after close(), or from another loop
    ├── NoRegionError (also ValueError)           no region given and none in the environment
    ├── NoCredentialsError                        no credentials found anywhere
    ├── HTTPClientError                           the request did not get a readable answer
    │   ├── EndpointConnectionError               connect failed, or the connection dropped
    │   ├── ConnectTimeoutError / ReadTimeoutError
    │   └── ResponseParseError                    an answer that is not what the service sends
    ├── PaginationError                           the service sent the same nextToken twice
    └── ServiceError                              the service answered with an error
        ├── AlreadyStreamedException ... TooManyRequestsException (one per modelled code
        │   of Cognito Sync and of Cognito Identity)
        └── (an unknown code is a plain ServiceError)

Foreign exceptions are translated where they arise and attached as
``__cause__``: aiohttp's (network, timeouts) in ``_transport``, with the
request's ``Authorization`` and ``X-Amz-Security-Token`` redacted from them
first; an unreadable JSON body in ``_responses.read_answer`` (``ResponseParseError``).
"""

from __future__ import annotations


class CognitoSyncError(Exception):
    """Base of everything the SDK raises on purpose."""


class ParamValidationError(CognitoSyncError, ValueError):
    """An input breaks the service model; raised before any network call."""

    def __init__(self, param: str, rule: str) -> None:
        self.param = param
        self.rule = rule
        super().__init__(f"Invalid parameter {param}: {rule}")


class ClientStateError(CognitoSyncError, RuntimeError):
    """The client cannot be used here: it is closed, or bound to another event loop."""


class NoRegionError(CognitoSyncError, ValueError):
    """No region was given and none is set in the environment."""


class NoCredentialsError(CognitoSyncError):
    """No credentials were given and none were found in the environment or files."""


class HTTPClientError(CognitoSyncError):
    """The request did not end with a readable answer from the service."""


class EndpointConnectionError(HTTPClientError):
    """Could not connect, or the connection was closed or reset mid-request."""


class ConnectTimeoutError(EndpointConnectionError):
    """Connecting took longer than the connect timeout."""


class ReadTimeoutError(HTTPClientError):
    """The answer took longer than the read timeout."""


class ResponseParseError(HTTPClientError):
    """A successful status with a body that is not the JSON the service sends."""


class PaginationError(CognitoSyncError):
    """A paginator stopped: the service answered a page with the very ``nextToken``
    that fetched it, so following it would loop forever (botocore raises its
    ``PaginationError`` for the same). ``token`` is that token."""

    def __init__(self, token: str, operation: str | None = None) -> None:
        self.token = token
        self.operation = operation
        where = f" by {operation}" if operation else ""
        super().__init__(
            f"The same next token was received twice{where}: {cut_message(token, 200)}"
        )


#: How much of an answer an error message quotes.
MAX_MESSAGE_CHARS = 4096


def cut_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text``, cut to ``limit`` characters with a note of how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


class ServiceError(CognitoSyncError):
    """The service answered with an error.

    ``code`` is read as botocore reads it; ``status_code``, ``message`` and
    ``request_id`` are those of the answer.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status_code: int,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.status_code = status_code
        self.request_id = request_id
        self.operation = operation
        #: Seconds the service asked us to wait (``Retry-After``), if it did.
        self.retry_after: float | None = None
        #: True when the client corrected the cause (its clock, expired credentials):
        #: the next attempt starts at once.
        self.resend_now = False
        super().__init__(message)

    def __str__(self) -> str:
        where = f" when calling {self.operation}" if self.operation else ""
        attempts = getattr(self, "attempts", 1)
        tries = f", after {attempts} attempts" if attempts > 1 else ""
        return (
            f"{self.code}{where} (HTTP {self.status_code}, request id {self.request_id}"
            f"{tries}): {self.message}"
        )


class AlreadyStreamedException(ServiceError):
    pass


class ConcurrentModificationException(ServiceError):
    pass


class DeveloperUserAlreadyRegisteredException(ServiceError):
    """Cognito Identity: the developer user is already linked to another identity."""


class ExternalServiceException(ServiceError):
    """Cognito Identity: a login provider (Facebook, Google, ...) failed."""


class DuplicateRequestException(ServiceError):
    pass


class InternalErrorException(ServiceError):
    pass


class InvalidConfigurationException(ServiceError):
    pass


class InvalidIdentityPoolConfigurationException(ServiceError):
    """Cognito Identity: the pool's roles cannot be assumed (e.g. a bad trust policy)."""


class InvalidLambdaFunctionOutputException(ServiceError):
    pass


class InvalidParameterException(ServiceError):
    pass


class LambdaThrottledException(ServiceError):
    pass


class LimitExceededException(ServiceError):
    pass


class NotAuthorizedException(ServiceError):
    pass


class ResourceConflictException(ServiceError):
    pass


class ResourceNotFoundException(ServiceError):
    pass


class TooManyRequestsException(ServiceError):
    pass


ERROR_CLASSES: dict[str, type[ServiceError]] = {
    cls.__name__: cls
    for cls in (
        AlreadyStreamedException,
        ConcurrentModificationException,
        DeveloperUserAlreadyRegisteredException,
        DuplicateRequestException,
        ExternalServiceException,
        InternalErrorException,
        InvalidConfigurationException,
        InvalidIdentityPoolConfigurationException,
        InvalidLambdaFunctionOutputException,
        InvalidParameterException,
        LambdaThrottledException,
        LimitExceededException,
        NotAuthorizedException,
        ResourceConflictException,
        ResourceNotFoundException,
        TooManyRequestsException,
    )
}


def service_error(
    code: str,
    message: str,
    *,
    status_code: int,
    request_id: str | None = None,
    operation: str | None = None,
) -> ServiceError:
    """The typed exception for an error code (a plain ServiceError when unknown)."""
    cls = ERROR_CLASSES.get(code, ServiceError)
    return cls(
        message, code=code, status_code=status_code, request_id=request_id, operation=operation
    )


class ProfileNotFound(CognitoSyncError):
    """The named profile is in neither shared file (``AWS_CONFIG_FILE``,
    ``AWS_SHARED_CREDENTIALS_FILE``)."""

    def __init__(self, profile: str) -> None:
        self.profile = profile
        super().__init__(
            f"The config profile ({profile}) could not be found in the shared config "
            "or credentials file"
        )


class InvalidConfigError(CognitoSyncError):
    """The shared files or the environment hold a configuration that cannot work
    (unreadable file, a ``source_profile`` that does not exist, ...)."""


class CredentialRetrievalError(CognitoSyncError):
    """A configured credential source (STS, SSO, ``credential_process``, the
    container endpoint) failed to give credentials; the message says which and why."""


class PartialCredentialsError(NoCredentialsError):
    """A source holds half a key pair (botocore raises its PartialCredentialsError there)."""
