"""The wire shape of every operation, in one table.

Each operation names its HTTP method, URI template, output class, and for
each keyword argument: the wire name, where it goes (``uri``, ``query``,
``header`` or ``body``), whether it is required, and its validation rule.
``build_request`` turns validated keyword arguments into the exact method,
encoded path, encoded query, headers and body that boto3 sends.

An ``Operation`` is generic over its response class, and each one is a
module constant (``LIST_RECORDS: Operation[ListRecordsResponse]``), so a
client method that calls it is typed without a ``cast``. A required argument
is required by the method's signature (no default); ``validate`` refuses a
required member given as ``None``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Generic, Literal, TypeVar

import attrs

from . import _models as m
from . import _validation as val
from ._exceptions import ParamValidationError

Location = Literal["uri", "query", "header", "body"]
#: The response class of an operation.
R = TypeVar("R")


@attrs.frozen
class Member:
    name: str  # the keyword argument
    wire: str  # the service model's name (or query key / header name)
    location: Location
    check: val.Validator
    required: bool = False


@attrs.frozen
class Operation(Generic[R]):
    name: str  # the service model's operation name, e.g. "ListRecords"
    method: str
    uri: str  # template with {Label} placeholders, as in the model
    output: type[R]
    members: tuple[Member, ...]
    #: For AWS JSON 1.1 services (Cognito Identity): the ``X-Amz-Target`` value.
    target: str | None = None
    #: False for the few operations a service accepts without a signature.
    signed: bool = True
    has_body: bool = attrs.field(init=False)
    path_parts: tuple[str | Member, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        has_body = self.target is not None or any(x.location == "body" for x in self.members)
        object.__setattr__(self, "has_body", has_body)
        by_wire = {x.wire: x for x in self.members if x.location == "uri"}
        parts: list[str | Member] = []
        for i, piece in enumerate(re.split(r"\{(\w+)\}", self.uri)):
            parts.append(by_wire[piece] if i % 2 else piece)
        object.__setattr__(self, "path_parts", tuple(p for p in parts if p != ""))


def encode(value: str) -> str:
    """The one percent-encoder: UTF-8, only ``A-Za-z0-9-._~`` left literal.

    Used for path labels and query values alike, as botocore does; the
    result is handed to yarl as already encoded and is what gets signed.
    Equivalent to ``urllib.parse.quote(value, safe="~")``, without its
    per-character work: most values are already literal, the others (ids
    hold one ``:``) have few runs to encode, and the same ids come back call
    after call (remembered, bounded).
    """
    encoded = _ENCODED.get(value)
    if encoded is not None:
        return encoded
    encoded = value if _LITERAL.fullmatch(value) else _TO_ENCODE.sub(_percent, value)
    if len(_ENCODED) >= 512:
        _ENCODED.clear()
    _ENCODED[value] = encoded
    return encoded


_ENCODED: dict[str, str] = {}
_LITERAL = re.compile(r"[A-Za-z0-9._~-]*")
_TO_ENCODE = re.compile(r"[^A-Za-z0-9._~-]+")
_PERCENT = tuple(f"%{b:02X}" for b in range(256))


def _percent(match: re.Match[str]) -> str:
    return "".join([_PERCENT[b] for b in match.group().encode("utf-8")])


def _uri(name: str, wire: str, check: val.Validator) -> Member:
    """A path label: required, and never ``.`` or ``..`` whatever its shape."""
    return Member(name, wire, "uri", val.path_segment(check), required=True)


POOL = _uri("identity_pool_id", "IdentityPoolId", val.IDENTITY_POOL_ID)
IDENTITY = _uri("identity_id", "IdentityId", val.IDENTITY_ID)
DATASET = _uri("dataset_name", "DatasetName", val.DATASET_NAME)
DEVICE = _uri("device_id", "DeviceId", val.DEVICE_ID)
NEXT_TOKEN = Member("next_token", "nextToken", "query", val.ANY_STRING)
MAX_RESULTS = Member("max_results", "maxResults", "query", val.INTEGER)

_D = "/identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets/{DatasetName}"

BULK_PUBLISH = Operation(
    "BulkPublish",
    "POST",
    "/identitypools/{IdentityPoolId}/bulkpublish",
    m.BulkPublishResponse,
    (POOL,),
)

DELETE_DATASET = Operation(
    "DeleteDataset", "DELETE", _D, m.DeleteDatasetResponse, (POOL, IDENTITY, DATASET)
)

DESCRIBE_DATASET = Operation(
    "DescribeDataset", "GET", _D, m.DescribeDatasetResponse, (POOL, IDENTITY, DATASET)
)

DESCRIBE_IDENTITY_POOL_USAGE = Operation(
    "DescribeIdentityPoolUsage",
    "GET",
    "/identitypools/{IdentityPoolId}",
    m.DescribeIdentityPoolUsageResponse,
    (POOL,),
)

DESCRIBE_IDENTITY_USAGE = Operation(
    "DescribeIdentityUsage",
    "GET",
    "/identitypools/{IdentityPoolId}/identities/{IdentityId}",
    m.DescribeIdentityUsageResponse,
    (POOL, IDENTITY),
)

GET_BULK_PUBLISH_DETAILS = Operation(
    "GetBulkPublishDetails",
    "POST",
    "/identitypools/{IdentityPoolId}/getBulkPublishDetails",
    m.GetBulkPublishDetailsResponse,
    (POOL,),
)

GET_COGNITO_EVENTS = Operation(
    "GetCognitoEvents",
    "GET",
    "/identitypools/{IdentityPoolId}/events",
    m.GetCognitoEventsResponse,
    (POOL,),
)

GET_IDENTITY_POOL_CONFIGURATION = Operation(
    "GetIdentityPoolConfiguration",
    "GET",
    "/identitypools/{IdentityPoolId}/configuration",
    m.GetIdentityPoolConfigurationResponse,
    (POOL,),
)

LIST_DATASETS = Operation(
    "ListDatasets",
    "GET",
    "/identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets",
    m.ListDatasetsResponse,
    (POOL, IDENTITY, NEXT_TOKEN, MAX_RESULTS),
)

LIST_IDENTITY_POOL_USAGE = Operation(
    "ListIdentityPoolUsage",
    "GET",
    "/identitypools",
    m.ListIdentityPoolUsageResponse,
    (NEXT_TOKEN, MAX_RESULTS),
)

LIST_RECORDS = Operation(
    "ListRecords",
    "GET",
    _D + "/records",
    m.ListRecordsResponse,
    (
        POOL,
        IDENTITY,
        DATASET,
        Member("last_sync_count", "lastSyncCount", "query", val.LONG),
        NEXT_TOKEN,
        MAX_RESULTS,
        Member("sync_session_token", "syncSessionToken", "query", val.ANY_STRING),
    ),
)

REGISTER_DEVICE = Operation(
    "RegisterDevice",
    "POST",
    "/identitypools/{IdentityPoolId}/identity/{IdentityId}/device",
    m.RegisterDeviceResponse,
    (
        POOL,
        IDENTITY,
        Member("platform", "Platform", "body", val.PLATFORM, required=True),
        Member("token", "Token", "body", val.ANY_STRING, required=True),
    ),
)

SET_COGNITO_EVENTS = Operation(
    "SetCognitoEvents",
    "POST",
    "/identitypools/{IdentityPoolId}/events",
    m.SetCognitoEventsResponse,
    (POOL, Member("events", "Events", "body", val.EVENTS, required=True)),
)

SET_IDENTITY_POOL_CONFIGURATION = Operation(
    "SetIdentityPoolConfiguration",
    "POST",
    "/identitypools/{IdentityPoolId}/configuration",
    m.SetIdentityPoolConfigurationResponse,
    (
        POOL,
        Member("push_sync", "PushSync", "body", val.instance(m.PushSync)),
        Member("cognito_streams", "CognitoStreams", "body", val.instance(m.CognitoStreams)),
    ),
)

SUBSCRIBE_TO_DATASET = Operation(
    "SubscribeToDataset",
    "POST",
    _D + "/subscriptions/{DeviceId}",
    m.SubscribeToDatasetResponse,
    (POOL, IDENTITY, DATASET, DEVICE),
)

UNSUBSCRIBE_FROM_DATASET = Operation(
    "UnsubscribeFromDataset",
    "DELETE",
    _D + "/subscriptions/{DeviceId}",
    m.UnsubscribeFromDatasetResponse,
    (POOL, IDENTITY, DATASET, DEVICE),
)

UPDATE_RECORDS = Operation(
    "UpdateRecords",
    "POST",
    _D,
    m.UpdateRecordsResponse,
    (
        POOL,
        IDENTITY,
        DATASET,
        Member("device_id", "DeviceId", "body", val.DEVICE_ID),
        Member("record_patches", "RecordPatches", "body", val.list_of_instances(m.RecordPatch)),
        Member("sync_session_token", "SyncSessionToken", "body", val.ANY_STRING, required=True),
        Member("client_context", "x-amz-Client-Context", "header", val.HEADER_VALUE),
    ),
)

#: Every operation by its service-model name.
OPERATIONS: dict[str, Operation[Any]] = {
    op.name: op
    for op in (
        BULK_PUBLISH,
        DELETE_DATASET,
        DESCRIBE_DATASET,
        DESCRIBE_IDENTITY_POOL_USAGE,
        DESCRIBE_IDENTITY_USAGE,
        GET_BULK_PUBLISH_DETAILS,
        GET_COGNITO_EVENTS,
        GET_IDENTITY_POOL_CONFIGURATION,
        LIST_DATASETS,
        LIST_IDENTITY_POOL_USAGE,
        LIST_RECORDS,
        REGISTER_DEVICE,
        SET_COGNITO_EVENTS,
        SET_IDENTITY_POOL_CONFIGURATION,
        SUBSCRIBE_TO_DATASET,
        UNSUBSCRIBE_FROM_DATASET,
        UPDATE_RECORDS,
    )
}


# Path labels (ids, dataset names) that passed their rule, by (rule, value): the
# rules are pure functions of an immutable str, and the same ids come back call
# after call, so a success is remembered (bounded; cleared when full). Other
# members (tokens, unique per call) are not: they would only evict the ids.
_VALID_URI: dict[tuple[val.Validator, str], None] = {}
_VALID_URI_MAX = 512


def validate(op: Operation[Any], values: dict[str, Any]) -> None:
    """Check every argument against the model; raise ParamValidationError.

    A required argument has no default in the method's signature (leaving it
    out is a ``TypeError``); given as ``None`` it is refused here.
    """
    for member in op.members:
        value = values.get(member.name)
        if value is None:
            if member.required:
                raise ParamValidationError(member.name, "missing required parameter")
            continue
        if member.location != "uri" or type(value) is not str:
            member.check(None, member, value)  # a Member has the .name a rule words
            continue
        key = (member.check, value)
        if key in _VALID_URI:
            continue
        member.check(None, member, value)
        if len(_VALID_URI) >= _VALID_URI_MAX:
            _VALID_URI.clear()
        _VALID_URI[key] = None


def _body_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_body_value(item) for item in value]
    to_wire = getattr(value, "to_wire", None)
    return to_wire() if to_wire is not None else value


def _query_value(value: Any) -> str:
    return encode(value if isinstance(value, str) else str(value))


@attrs.frozen
class WireRequest:
    method: str
    path: str  # percent-encoded, exactly as sent and signed
    query: str  # percent-encoded, without the "?"
    headers: dict[str, str]  # besides host, date, auth: content-type and x-amz-*
    body: bytes


def build_request(op: Operation[Any], values: dict[str, Any]) -> WireRequest:
    """The exact request boto3 sends for these (already validated) arguments."""
    path = "".join(
        part if isinstance(part, str) else encode(values[part.name]) for part in op.path_parts
    )
    query: list[str] = []
    headers: dict[str, str] = {}
    body: dict[str, Any] = {}
    for member in op.members:
        loc = member.location
        if loc == "uri":
            continue
        value = values.get(member.name)
        if value is None:
            continue
        if loc == "query":
            query.append(f"{member.wire}={_query_value(value)}")
        elif loc == "header":
            headers[member.wire] = value
        elif member.name == "record_patches":  # checked again and serialised in one pass
            body[member.wire] = m.patches_wire(value)
        else:
            body[member.wire] = _body_value(value)
    payload = b""
    if op.target is not None:
        headers["X-Amz-Target"] = op.target
        headers["Content-Type"] = "application/x-amz-json-1.1"
        payload = json.dumps(body).encode("utf-8")
    elif op.has_body:
        payload = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    return WireRequest(op.method, path, "&".join(query), headers, payload)
