"""The local service's HTTP side: one ``aiohttp.web.Application``.

Every request goes through ``_dispatch``: read the body (bounded), consume the
fault script, verify SigV4 over the *raw* path, route on that same raw path
(each segment percent-decoded here, so ``%3A``, a raw ``:`` and ``%2F`` inside a
label all work), check
the credential class (SERVICE.md section 4), throttle, then run the
operation. Every answer carries ``x-amzn-RequestId`` and ``Date``; errors are
JSON ``{"message": ...}`` with ``x-amzn-ErrorType``; an unexpected exception
becomes a logged 500 ``InternalErrorException``, never a stack trace.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import re
import socket
import struct
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable, Mapping
from datetime import datetime, timezone
from email.utils import formatdate
from typing import Any, Literal
from urllib.parse import unquote

import attrs
from aiohttp import web

from . import auth, identity
from ._errors import (
    ID_RE,
    MAX_LONG,
    STATUS_BY_CODE,
    ServiceException,
    error_response,
    invalid_parameter,
    load_json_object,
    not_authorized,
    serialization,
)
from .faults import SCRIPT_CODES, Faults, TokenBuckets
from .storage import Patch, Storage

#: Apart from the SDK's ``cognitosync_async`` tree, so the SDK's DEBUG shows only the SDK.
logger = logging.getLogger("cognitosync_async_local.server")

DEFAULT_ACCESS_KEY_ID = "AKIDLOCALDEVELOPER"
DEFAULT_SECRET_ACCESS_KEY = "local-developer-secret"
DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
MAX_BODY_BYTES = 6 * 1024 * 1024

#: A SyncTrigger: gets the event dict, returns the (possibly changed) event dict.
SyncTriggerHook = Callable[[dict[str, Any]], "dict[str, Any] | Awaitable[dict[str, Any]]"]


class LambdaThrottled(Exception):
    """Raise from a SyncTrigger hook to answer 429 ``LambdaThrottledException``."""


@attrs.define
class ServiceState:
    """Everything the handlers share. ``faults`` may be replaced at run time."""

    storage: Storage
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    developer_keys: dict[str, str] = attrs.field(  # access key id -> secret
        factory=lambda: {DEFAULT_ACCESS_KEY_ID: DEFAULT_SECRET_ACCESS_KEY}, repr=False
    )
    strict: bool = False
    faults: Faults = attrs.field(factory=Faults)
    sync_session_ttl: float = 900.0
    bulk_publish_delay: float = 0.0
    lambdas: dict[str, SyncTriggerHook] = attrs.field(factory=dict)
    lambda_timeout: float = 5.0
    buckets: TokenBuckets = attrs.field(factory=TokenBuckets)
    #: Lifetime in seconds of the credentials Cognito Identity's GetCredentialsForIdentity mints.
    identity_credentials_ttl: float = 3600.0
    #: Seconds the service's clock runs ahead of this machine's (to test clock skew, C1).
    clock_offset: float = 0.0
    #: Login providers Cognito Identity accepts besides the public ones (OIDC, SAML).
    login_providers: frozenset[str] = frozenset()

    def lookup(self, access_key_id: str) -> auth.KeyRecord | None:
        secret = self.developer_keys.get(access_key_id)
        if secret is not None:
            return auth.KeyRecord(
                secret_access_key=secret,
                principal=auth.Principal(
                    kind="developer", access_key_id=access_key_id, account_id=self.account_id
                ),
            )
        stored = self.storage.get_credentials(access_key_id)
        if stored is None:
            return None
        return auth.KeyRecord(
            secret_access_key=stored.secret_access_key,
            session_token=stored.session_token,
            expiration=datetime.fromtimestamp(stored.expiration_ms / 1000, tz=timezone.utc),
            principal=auth.Principal(
                kind="identity",
                access_key_id=access_key_id,
                identity_pool_id=stored.identity_pool_id,
                identity_id=stored.identity_id,
            ),
        )


STATE_KEY = web.AppKey("cognitosync_local_state", ServiceState)


# ---------------------------------------------------------------------- the call


@attrs.define
class Call:
    """One routed, authenticated request."""

    state: ServiceState
    principal: auth.Principal
    params: dict[str, str]
    query: dict[str, str]
    body: bytes
    headers: Mapping[str, str]

    @property
    def pool(self) -> str:
        return self.params["P"]

    @property
    def identity(self) -> str:
        return self.params["I"]

    @property
    def dataset(self) -> str:
        return self.params["D"]

    def json(self) -> dict[str, Any]:
        return load_json_object(self.body)

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking storage call off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def ensure(self, *, identity: bool) -> None:
        create = not self.state.strict
        await self.run(
            self.state.storage.ensure,
            self.pool,
            self.identity if identity else None,
            create=create,
        )


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


# ---------------------------------------------------------------------- validation

_DATASET_RE = re.compile(r"[a-zA-Z0-9_.:-]+")
_APP_ARN_RE = re.compile(r"arn:aws:sns:[-0-9a-z]+:\d+:app/[A-Z_]+/[a-zA-Z0-9_.-]+")
_ROLE_ARN_RE = re.compile(r"arn:aws:iam::\d+:role/.*", re.DOTALL)
PLATFORMS = ("APNS", "APNS_SANDBOX", "GCM", "ADM")


def _check_path(params: dict[str, str]) -> None:
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


def _int_query(call: Call, name: str, *, minimum: int) -> int | None:
    raw = call.query.get(name)
    if raw is None:
        return None
    if not re.fullmatch(r"-?[0-9]{1,19}", raw):
        raise invalid_parameter(f"{name} must be an integer")
    value = int(raw)
    if value > MAX_LONG:
        raise invalid_parameter(f"{name} must be at most {MAX_LONG}")
    if value < minimum:
        raise invalid_parameter(f"{name} must be at least {minimum}")
    return value


def _string(data: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid_parameter(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise serialization(name, "a string", value)
    return value


def _struct(data: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise serialization(name, "an object", value)
    return value


def _role_arn(data: Mapping[str, Any], where: str) -> str | None:
    role = _string(data, "RoleArn")
    if role is not None and not (20 <= len(role) <= 2048 and _ROLE_ARN_RE.fullmatch(role)):
        raise invalid_parameter(f"{where}.RoleArn is not a valid IAM role ARN")
    return role


def _epoch_ms(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise serialization(name, "epoch seconds (a number)", value)
    if not math.isfinite(value):
        raise serialization(name, "a finite number", value)
    if not -1e11 < value < 1e11:
        raise invalid_parameter(f"{name} is out of range")
    return round(value * 1000)


def _patches(data: Mapping[str, Any]) -> list[Patch]:
    raw = data.get("RecordPatches")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise serialization("RecordPatches", "an array", raw)
    patches: list[Patch] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"RecordPatches[{i}]"
        if not isinstance(item, dict):
            raise serialization(where, "an object", item)
        op = item.get("Op")
        if op is not None and not isinstance(op, str):
            raise serialization(f"{where}.Op", "a string", op)
        if op not in ("replace", "remove"):
            raise invalid_parameter(f"{where}.Op must be 'replace' or 'remove'")
        key = item.get("Key")
        if key is not None and not isinstance(key, str):
            raise serialization(f"{where}.Key", "a string", key)
        if key is None or not 1 <= len(key) <= 1024:
            raise invalid_parameter(f"{where}.Key must be a string of 1 to 1024 characters")
        count = item.get("SyncCount")
        if count is None:
            raise invalid_parameter(f"{where}.SyncCount is required")
        if isinstance(count, bool) or not isinstance(count, int):
            raise serialization(f"{where}.SyncCount", "an integer", count)
        if count > MAX_LONG:
            raise serialization(f"{where}.SyncCount", "a 64-bit integer", count)
        if count < 0:
            raise invalid_parameter(f"{where}.SyncCount must not be negative")
        value = item.get("Value")
        if value is not None and not isinstance(value, str):
            raise serialization(f"{where}.Value", "a string", value)
        if value is not None and len(value) > 1_048_575:
            raise invalid_parameter(f"{where}.Value is longer than 1048575 characters")
        if op == "replace" and value is None:
            raise invalid_parameter(f"{where}: a replace needs a Value")
        if key in seen:
            raise invalid_parameter(f"Duplicate key in RecordPatches: {key}")
        seen.add(key)
        patches.append(
            Patch(
                op=op,
                key=key,
                sync_count=count,
                value=value if op == "replace" else None,
                device_last_modified_ms=_epoch_ms(
                    item.get("DeviceLastModifiedDate"), f"{where}.DeviceLastModifiedDate"
                ),
            )
        )
    return patches


# ---------------------------------------------------------------------- handlers


async def list_identity_pool_usage(call: Call) -> dict[str, Any]:
    max_results = _int_query(call, "maxResults", minimum=1)
    result: dict[str, Any] = await call.run(
        call.state.storage.list_identity_pool_usage, call.query.get("nextToken"), max_results
    )
    return result


async def describe_identity_pool_usage(call: Call) -> dict[str, Any]:
    await call.ensure(identity=False)
    result: dict[str, Any] = await call.run(
        call.state.storage.describe_identity_pool_usage, call.pool
    )
    return result


async def describe_identity_usage(call: Call) -> dict[str, Any]:
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.describe_identity_usage, call.pool, call.identity
    )
    return result


async def list_datasets(call: Call) -> dict[str, Any]:
    max_results = _int_query(call, "maxResults", minimum=1)
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.list_datasets,
        call.pool,
        call.identity,
        call.query.get("nextToken"),
        max_results,
    )
    return result


async def describe_dataset(call: Call) -> dict[str, Any]:
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.describe_dataset, call.pool, call.identity, call.dataset
    )
    return result


async def delete_dataset(call: Call) -> dict[str, Any]:
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.delete_dataset, call.pool, call.identity, call.dataset
    )
    return result


async def list_records(call: Call) -> dict[str, Any]:
    last = _int_query(call, "lastSyncCount", minimum=0)
    max_results = _int_query(call, "maxResults", minimum=1)
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.list_records,
        call.pool,
        call.identity,
        call.dataset,
        last_sync_count=last,
        next_token=call.query.get("nextToken"),
        max_results=max_results,
        sync_session_token=call.query.get("syncSessionToken"),
        session_ttl=call.state.sync_session_ttl,
    )
    return result


async def update_records(call: Call) -> dict[str, Any]:
    data = call.json()
    token = _string(data, "SyncSessionToken", required=True)
    assert token is not None
    device_id = _string(data, "DeviceId")
    if device_id is not None and not 1 <= len(device_id) <= 256:
        raise invalid_parameter("DeviceId must be 1 to 256 characters")
    patches = _patches(data)
    await call.ensure(identity=True)
    storage = call.state.storage
    principal = call.principal
    writer = principal.identity_id if principal.kind == "identity" else call.state.account_id
    assert writer is not None
    if patches and principal.kind == "identity":
        patches = await _run_sync_trigger(call, token, patches)
    result: dict[str, Any] = await call.run(
        storage.update_records,
        call.pool,
        call.identity,
        call.dataset,
        patches=patches,
        sync_session_token=token,
        device_id=device_id,
        writer=writer,
    )
    return result


#: Event members a SyncTrigger may not change (C4; the DG names read-only fields).
_READ_ONLY_EVENT_FIELDS = (
    "version", "eventType", "region", "identityPoolId", "identityId", "datasetName"
)


def _storable(text: str) -> bool:
    """Valid Unicode (no lone surrogate), so it can be stored as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _invoke(hook: SyncTriggerHook, event: dict[str, Any]) -> Any:
    """Call a hook: a coroutine function in the loop, anything else in a thread (so
    the caller's deadline bounds a blocking hook too; a hook past it is abandoned)."""
    if inspect.iscoroutinefunction(hook):
        outcome: Any = hook(event)
    else:
        outcome = await asyncio.to_thread(hook, event)
    if inspect.isawaitable(outcome):
        outcome = await outcome
    return outcome


async def _run_sync_trigger(call: Call, token: str, patches: list[Patch]) -> list[Patch]:
    """Run the pool's SyncTrigger hook, if one is set and registered (SERVICE.md 5)."""
    storage = call.state.storage
    events: dict[str, str] = await call.run(storage.get_events, call.pool)
    hook = call.state.lambdas.get(events.get("SyncTrigger", ""))
    if hook is None:
        return patches
    await call.run(storage.check_session, token, call.pool, call.identity, call.dataset)
    snapshot: dict[str, tuple[str | None, int]] = await call.run(
        storage.read_dataset, call.pool, call.identity, call.dataset
    )
    for p in patches:
        server = snapshot.get(p.key, (None, 0))[1]
        if server != p.sync_count:
            raise ServiceException(
                "ResourceConflictException",
                f"Current SyncCount for: {p.key} is: {server} not: {p.sync_count}",
            )
    records: dict[str, dict[str, Any]] = {
        key: {"oldValue": value, "newValue": value, "op": "replace"}
        for key, (value, _) in snapshot.items()
        if value is not None
    }
    for p in patches:
        records[p.key] = {
            "oldValue": snapshot.get(p.key, (None, 0))[0],
            "newValue": p.value,
            "op": p.op,
        }
    event: dict[str, Any] = {
        "version": 2,
        "eventType": "SyncTrigger",
        "region": call.state.region,
        "identityPoolId": call.pool,
        "identityId": call.identity,
        "datasetName": call.dataset,
        "datasetRecords": records,
    }
    try:
        outcome = await asyncio.wait_for(
            _invoke(hook, json.loads(json.dumps(event))), call.state.lambda_timeout
        )
    except LambdaThrottled:
        raise ServiceException("LambdaThrottledException", "Lambda was throttled") from None
    except asyncio.TimeoutError:
        raise ServiceException(
            "LambdaSocketTimeoutException", "The SyncTrigger timed out"
        ) from None
    except ServiceException:
        raise
    except Exception as exc:
        raise ServiceException(
            "InvalidLambdaFunctionOutputException", f"The SyncTrigger failed: {exc!r}"
        ) from None
    out_records = outcome.get("datasetRecords") if isinstance(outcome, dict) else None
    if not isinstance(out_records, dict):
        raise ServiceException(
            "InvalidLambdaFunctionOutputException", "The SyncTrigger output has no datasetRecords"
        )
    assert isinstance(outcome, dict)
    for name in _READ_ONLY_EVENT_FIELDS:  # C4: a changed read-only field fails the update
        if outcome.get(name) != event[name]:
            raise ServiceException(
                "InvalidLambdaFunctionOutputException",
                f"The SyncTrigger changed the read-only field {name}",
            )
    by_key = {p.key: p for p in patches}
    final: list[Patch] = []
    for key, rec in out_records.items():
        if not (isinstance(key, str) and 1 <= len(key) <= 1024 and isinstance(rec, dict)):
            raise ServiceException("InvalidLambdaFunctionOutputException", "Bad record in output")
        op, value = rec.get("op"), rec.get("newValue")
        if op not in ("replace", "remove") or not (value is None or isinstance(value, str)):
            raise ServiceException(
                "InvalidLambdaFunctionOutputException", "Bad op or newValue in output"
            )
        if not _storable(key) or (
            value is not None and not (len(value) <= 1_048_575 and _storable(value))
        ):
            raise ServiceException(
                "InvalidLambdaFunctionOutputException",
                "A key or newValue in the output is too long or not valid Unicode",
            )
        if "oldValue" in rec and rec["oldValue"] != records.get(key, {}).get("oldValue"):
            raise ServiceException(
                "InvalidLambdaFunctionOutputException",
                "The SyncTrigger changed the read-only field oldValue",
            )
        current_value, current_count = snapshot.get(key, (None, 0))
        # C4: "to remove a record, either set the op to remove, or set the value to null"
        new_value = value if op == "replace" else None
        op = "replace" if new_value is not None else "remove"
        if key not in by_key and new_value == current_value:
            continue
        original = by_key.get(key)
        final.append(
            Patch(
                op=op,
                key=key,
                sync_count=current_count,
                value=new_value,
                device_last_modified_ms=original.device_last_modified_ms if original else None,
            )
        )
    return final


async def get_configuration(call: Call) -> dict[str, Any]:
    await call.ensure(identity=False)
    result: dict[str, Any] = await call.run(call.state.storage.get_configuration, call.pool)
    return result


async def set_configuration(call: Call) -> dict[str, Any]:
    data = call.json()
    push = _struct(data, "PushSync")
    push_value: dict[str, Any] | None = None
    if push is not None:
        push_value = {}
        arns = push.get("ApplicationArns")
        if arns is not None:
            if not isinstance(arns, list):
                raise serialization("PushSync.ApplicationArns", "an array", arns)
            for arn in arns:
                if not isinstance(arn, str):
                    raise serialization("PushSync.ApplicationArns[]", "a string", arn)
            for arn in arns:
                if not _APP_ARN_RE.fullmatch(arn):
                    raise invalid_parameter(f"'{arn}' is not a valid SNS platform application ARN")
            push_value["ApplicationArns"] = arns
        role = _role_arn(push, "PushSync")
        if role is not None:
            push_value["RoleArn"] = role
    streams = _struct(data, "CognitoStreams")
    streams_value: dict[str, Any] | None = None
    if streams is not None:
        streams_value = {}
        name = _string(streams, "StreamName")
        if name is not None:
            if not 1 <= len(name) <= 128:
                raise invalid_parameter("CognitoStreams.StreamName must be 1 to 128 characters")
            streams_value["StreamName"] = name
        role = _role_arn(streams, "CognitoStreams")
        if role is not None:
            streams_value["RoleArn"] = role
        status = _string(streams, "StreamingStatus")
        if status is not None:
            if status not in ("ENABLED", "DISABLED"):
                raise invalid_parameter("CognitoStreams.StreamingStatus must be ENABLED|DISABLED")
            streams_value["StreamingStatus"] = status
    await call.ensure(identity=False)
    result: dict[str, Any] = await call.run(
        call.state.storage.set_configuration, call.pool, push_value, streams_value
    )
    return result


async def get_events(call: Call) -> dict[str, Any]:
    await call.ensure(identity=False)
    events = await call.run(call.state.storage.get_events, call.pool)
    return {"Events": events}


async def set_events(call: Call) -> dict[str, Any]:
    data = call.json()
    events = data.get("Events")
    if events is None:
        raise invalid_parameter("Events is required")
    if not isinstance(events, dict):
        raise serialization("Events", "an object", events)
    for arn in events.values():
        if not isinstance(arn, str):
            raise serialization("Events.<value>", "a string", arn)
    if len(events) > 1:
        raise invalid_parameter("Events may hold at most 1 entry")
    for key in events:
        if key != "SyncTrigger":
            raise invalid_parameter(f"Unsupported event type: {key}")
    await call.ensure(identity=False)
    await call.run(call.state.storage.set_events, call.pool, events)
    return {}


async def bulk_publish(call: Call) -> dict[str, Any]:
    await call.ensure(identity=False)
    result: dict[str, Any] = await call.run(
        call.state.storage.bulk_publish, call.pool, call.state.bulk_publish_delay
    )
    return result


async def get_bulk_publish_details(call: Call) -> dict[str, Any]:
    await call.ensure(identity=False)
    result: dict[str, Any] = await call.run(call.state.storage.get_bulk_publish_details, call.pool)
    return result


async def register_device(call: Call) -> dict[str, Any]:
    data = call.json()
    platform = _string(data, "Platform", required=True)
    if platform not in PLATFORMS:
        raise invalid_parameter("Platform must be one of " + ", ".join(PLATFORMS))
    token = _string(data, "Token", required=True)
    if not token:
        raise invalid_parameter("Token must not be empty")
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.register_device, call.pool, call.identity, platform, token
    )
    return result


async def subscribe(call: Call) -> dict[str, Any]:
    await call.ensure(identity=True)
    await call.run(
        call.state.storage.subscribe, call.pool, call.identity, call.dataset, call.params["V"]
    )
    return {}


async def unsubscribe(call: Call) -> dict[str, Any]:
    await call.ensure(identity=True)
    await call.run(
        call.state.storage.unsubscribe, call.pool, call.identity, call.dataset, call.params["V"]
    )
    return {}


_IDS = ("identitypools", "{P}", "identities", "{I}")
_DS = (*_IDS, "datasets", "{D}")

OPERATIONS: tuple[Operation, ...] = (
    Operation("ListIdentityPoolUsage", "GET", ("identitypools",), "dev", list_identity_pool_usage),
    Operation(
        "DescribeIdentityPoolUsage", "GET", ("identitypools", "{P}"), "dev",
        describe_identity_pool_usage,
    ),
    Operation(
        "BulkPublish", "POST", ("identitypools", "{P}", "bulkpublish"), "dev", bulk_publish,
        throttled=False,
    ),
    Operation(
        "GetBulkPublishDetails", "POST", ("identitypools", "{P}", "getBulkPublishDetails"), "dev",
        get_bulk_publish_details, throttled=False,
    ),
    Operation("GetCognitoEvents", "GET", ("identitypools", "{P}", "events"), "dev", get_events),
    Operation("SetCognitoEvents", "POST", ("identitypools", "{P}", "events"), "dev", set_events),
    Operation(
        "GetIdentityPoolConfiguration", "GET", ("identitypools", "{P}", "configuration"), "dev",
        get_configuration,
    ),
    Operation(
        "SetIdentityPoolConfiguration", "POST", ("identitypools", "{P}", "configuration"), "dev",
        set_configuration,
    ),
    Operation("DescribeIdentityUsage", "GET", _IDS, "both", describe_identity_usage),
    Operation("ListDatasets", "GET", (*_IDS, "datasets"), "both", list_datasets),
    Operation("DescribeDataset", "GET", _DS, "both", describe_dataset),
    Operation("DeleteDataset", "DELETE", _DS, "both", delete_dataset),
    Operation("UpdateRecords", "POST", _DS, "both", update_records),
    Operation("ListRecords", "GET", (*_DS, "records"), "both", list_records),
    Operation("SubscribeToDataset", "POST", (*_DS, "subscriptions", "{V}"), "id", subscribe),
    Operation(
        "UnsubscribeFromDataset", "DELETE", (*_DS, "subscriptions", "{V}"), "id", unsubscribe
    ),
    Operation(
        "RegisterDevice", "POST", ("identitypools", "{P}", "identity", "{I}", "device"), "id",
        register_device,
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


def _check_access(op: Operation, principal: auth.Principal, params: dict[str, str]) -> None:
    if principal.kind == "developer":
        if op.access == "id":
            raise not_authorized()
        return
    if op.access == "dev":
        raise not_authorized()
    if params.get("P") != principal.identity_pool_id or params.get("I") != principal.identity_id:
        raise not_authorized()


# ---------------------------------------------------------------------- responses


def _json_response(status: int, body: dict[str, Any], headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body, separators=(",", ":")).encode(),
        content_type="application/json",
        headers=headers,
    )


def _drop(request: web.Request) -> None:
    """Reset the connection: no answer at all."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:  # pragma: no cover - platform dependent
            pass
    transport.abort()


class _Dropped(Exception):
    pass


def _scripted(entry: int | str, faults: Faults) -> ServiceException | None:
    if isinstance(entry, int):
        code = SCRIPT_CODES.get(entry, "InternalErrorException")
        headers = {"Retry-After": str(faults.script_retry_after)} if entry == 429 else {}
        return ServiceException(
            code, "Rate exceeded" if entry == 429 else f"Injected fault {entry}",
            status=entry, headers=headers,
        )
    if entry == "drop":
        raise _Dropped
    if entry == "ok":
        return None
    if entry == "TooManyRequestsException":
        return ServiceException(
            entry, "Rate exceeded", headers={"Retry-After": str(faults.script_retry_after)}
        )
    return ServiceException(
        entry, f"Injected fault {entry}", status=STATUS_BY_CODE.get(entry, 400)
    )


async def _injected(request: web.Request, faults: Faults) -> ServiceException | None:
    """Apply the script, then the random faults; return an error to answer with."""
    if faults.script:
        entry = faults.script.pop(0)
        if entry is not None:
            return _scripted(entry, faults)
        return None
    if faults.latency > 0:
        await asyncio.sleep(faults.latency)
    if faults.drop_rate > 0 and faults.rng.random() < faults.drop_rate:
        raise _Dropped
    if faults.error_rate > 0 and faults.rng.random() < faults.error_rate:
        return ServiceException("InternalErrorException", "Injected internal error")
    return None


def _throttle(state: ServiceState, op: Operation, params: dict[str, str]) -> None:
    faults = state.faults
    if faults.throttle_rate is None or not op.throttled:
        return
    keys: list[Hashable] = []
    if "P" in params:
        keys.append(("pool", params["P"]))
        if "I" in params:
            keys.append(("identity", params["P"], params["I"]))
    else:
        keys.append(("account",))
    wait = state.buckets.take(keys, faults.throttle_rate, faults.throttle_burst)
    if wait > 0:
        retry_after = max(1, math.ceil(wait)) if math.isfinite(wait) else 3600
        raise ServiceException(
            "TooManyRequestsException", "Rate exceeded", headers={"Retry-After": str(retry_after)}
        )


async def _dispatch(request: web.Request) -> web.StreamResponse:
    response = await _answer(request)
    offset = request.app[STATE_KEY].clock_offset
    if offset:  # a service clock set apart: its answers' Date says so (C1)
        response.headers["Date"] = formatdate(time.time() + offset, usegmt=True)
    return response


async def _answer(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    request_id = str(uuid.uuid4())
    try:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise invalid_parameter(
                f"The request body is larger than {MAX_BODY_BYTES} bytes"
            ) from None
        if identity.is_identity_request(request):  # Cognito Identity (AWS JSON 1.1)
            return await identity.handle(request, state, body, request_id)
        injected = await _injected(request, state.faults)
        if injected is not None:
            raise injected
        # verify first, over the raw path that is then routed: a signature binds the
        # request to the resource it names, whatever path it is replayed onto
        principal = await auth.verify_request(
            request, body, lookup=state.lookup, region=state.region,
            clock_offset=state.clock_offset,
        )
        raw_path, _, raw_query = request.raw_path.partition("?")
        op, params = route(request.method, raw_path)
        _check_access(op, principal, params)
        _throttle(state, op, params)
        _check_path(params)
        call = Call(
            state=state,
            principal=principal,
            params=params,
            query=parse_query(raw_query),
            body=body,
            headers=request.headers,
        )
        result = await op.handler(call)
        logger.debug("%s %s -> 200", request_id, op.name)
        return _json_response(200, result, {"x-amzn-RequestId": request_id})
    except ServiceException as exc:
        logger.debug("%s -> %s %s", request_id, exc.status, exc.code)
        return error_response(exc, request_id)
    except _Dropped:
        _drop(request)
        return web.Response(status=500)
    except Exception:
        logger.exception("%s: unexpected error", request_id)
        return error_response(
            ServiceException("InternalErrorException", "An internal error occurred"), request_id
        )


def create_app(
    *,
    state: ServiceState | None = None,
    db_path: str | None = None,
    region: str = DEFAULT_REGION,
    access_key_id: str = DEFAULT_ACCESS_KEY_ID,
    secret_access_key: str = DEFAULT_SECRET_ACCESS_KEY,
    account_id: str = DEFAULT_ACCOUNT_ID,
    strict: bool = False,
    faults: Faults | None = None,
    sync_session_ttl: float = 900.0,
    bulk_publish_delay: float = 0.0,
    lambdas: dict[str, SyncTriggerHook] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> web.Application:
    """The local Cognito Sync service as an ``aiohttp`` application.

    Pass a ready ``state`` (as :class:`LocalCognitoSync` does) or let this open
    the storage at ``db_path`` (``None`` = in memory); storage opened here is
    closed on the application's cleanup.
    """
    app = web.Application(client_max_size=max_body_bytes)
    if state is None:
        storage = Storage(db_path)
        state = ServiceState(
            storage=storage,
            region=region,
            account_id=account_id,
            developer_keys={access_key_id: secret_access_key},
            strict=strict,
            faults=faults or Faults(),
            sync_session_ttl=sync_session_ttl,
            bulk_publish_delay=bulk_publish_delay,
            lambdas=dict(lambdas or {}),
        )

        async def _close(_: web.Application) -> None:
            storage.close()

        app.on_cleanup.append(_close)
    app[STATE_KEY] = state
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app
