"""The Cognito Sync route table: method and path pattern → operation, handler and
the credentials it takes (docs/service-behaviour.md#wire-format,
#authorization).

``route`` matches the raw (still percent-encoded) path, decoding each segment
itself, so ``%3A``, a raw ``:`` and ``%2F`` inside a label all work.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from urllib.parse import unquote

import attrs

from . import auth
from ._errors import ID_RE, ServiceException, invalid_parameter, not_authorized
from .handlers import devices, pools, records
from .handlers.call import Call

Handler = Callable[[Call], Awaitable[dict[str, Any]]]
Access = Literal["dev", "id", "both"]


@attrs.frozen
class Operation:
    name: str
    method: str
    pattern: tuple[str, ...]
    access: Access
    handler: Handler
    throttled: bool = True


_DATASET_RE = re.compile(r"[a-zA-Z0-9_.:-]+")


def check_path(params: dict[str, str]) -> None:
    for key, label in (("P", "IdentityPoolId"), ("I", "IdentityId")):
        value = params.get(key)
        if value is not None and not (1 <= len(value) <= 55 and ID_RE.fullmatch(value)):
            raise invalid_parameter(f"{label} '{value}' is not valid: expected [\\w-]+:[0-9a-f-]+")
    name = params.get("D")
    if name is not None and not (1 <= len(name) <= 128 and _DATASET_RE.fullmatch(name)):
        raise invalid_parameter(f"DatasetName '{name}' is not valid: expected [a-zA-Z0-9_.:-]+")
    device = params.get("V")
    if device is not None and not 1 <= len(device) <= 256:
        raise invalid_parameter("DeviceId must be 1 to 256 characters")


_IDS = ("identitypools", "{P}", "identities", "{I}")
_DS = (*_IDS, "datasets", "{D}")

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "ListIdentityPoolUsage", "GET", ("identitypools",), "dev",
        records.list_identity_pool_usage,
    ),
    Operation(
        "DescribeIdentityPoolUsage", "GET", ("identitypools", "{P}"), "dev",
        records.describe_identity_pool_usage,
    ),
    Operation(
        "BulkPublish", "POST", ("identitypools", "{P}", "bulkpublish"), "dev", pools.bulk_publish,
        throttled=False,
    ),
    Operation(
        "GetBulkPublishDetails", "POST", ("identitypools", "{P}", "getBulkPublishDetails"), "dev",
        pools.get_bulk_publish_details, throttled=False,
    ),
    Operation(
        "GetCognitoEvents", "GET", ("identitypools", "{P}", "events"), "dev", pools.get_events
    ),
    Operation(
        "SetCognitoEvents", "POST", ("identitypools", "{P}", "events"), "dev", pools.set_events
    ),
    Operation(
        "GetIdentityPoolConfiguration", "GET", ("identitypools", "{P}", "configuration"), "dev",
        pools.get_configuration,
    ),
    Operation(
        "SetIdentityPoolConfiguration", "POST", ("identitypools", "{P}", "configuration"), "dev",
        pools.set_configuration,
    ),
    Operation("DescribeIdentityUsage", "GET", _IDS, "both", records.describe_identity_usage),
    Operation("ListDatasets", "GET", (*_IDS, "datasets"), "both", records.list_datasets),
    Operation("DescribeDataset", "GET", _DS, "both", records.describe_dataset),
    Operation("DeleteDataset", "DELETE", _DS, "both", records.delete_dataset),
    Operation("UpdateRecords", "POST", _DS, "both", records.update_records),
    Operation("ListRecords", "GET", (*_DS, "records"), "both", records.list_records),
    Operation(
        "SubscribeToDataset", "POST", (*_DS, "subscriptions", "{V}"), "id", devices.subscribe
    ),
    Operation(
        "UnsubscribeFromDataset", "DELETE", (*_DS, "subscriptions", "{V}"), "id",
        devices.unsubscribe,
    ),
    Operation(
        "RegisterDevice", "POST", ("identitypools", "{P}", "identity", "{I}", "device"), "id",
        devices.register_device,
    ),
)


def route(method: str, raw_path: str) -> tuple[Operation, dict[str, str]]:
    """Match the raw (still percent-encoded) path; decode each segment here."""
    if not raw_path.startswith("/"):
        raise ServiceException("UnknownOperationException", f"Unknown operation: {raw_path}")
    segments = raw_path[1:].split("/")
    decoded: list[str] = []
    for seg in segments:
        try:
            decoded.append(unquote(seg, errors="strict"))
        except UnicodeDecodeError:
            raise invalid_parameter("The request path is not valid UTF-8") from None
    path_matches = False
    for op in OPERATIONS:
        if len(op.pattern) != len(decoded):
            continue
        params: dict[str, str] = {}
        for pat, seg in zip(op.pattern, decoded, strict=True):
            if pat.startswith("{"):
                if not seg:
                    break
                params[pat[1:-1]] = seg
            elif pat != seg:
                break
        else:
            path_matches = True
            if op.method == method:
                return op, params
    if path_matches:
        raise ServiceException(
            "UnknownOperationException", f"No operation for {method} on this path"
        )
    raise ServiceException("UnknownOperationException", f"Unknown operation: {method} {raw_path}")


def parse_query(raw_query: str) -> dict[str, str]:
    query: dict[str, str] = {}
    if not raw_query:
        return query
    for pair in raw_query.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        try:
            query[unquote(key, errors="strict")] = unquote(value, errors="strict")
        except UnicodeDecodeError:
            raise invalid_parameter("The query string is not valid UTF-8") from None
    return query


def check_access(op: Operation, principal: auth.Principal, params: dict[str, str]) -> None:
    if principal.kind == "developer":
        if op.access == "id":
            raise not_authorized()
        return
    if op.access == "dev":
        raise not_authorized()
    if params.get("P") != principal.identity_pool_id or params.get("I") != principal.identity_id:
        raise not_authorized()
