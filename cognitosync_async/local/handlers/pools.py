"""Cognito Sync's pool operations: configuration, Cognito Events, bulk publish."""

from __future__ import annotations

from typing import Any

from .._errors import invalid_parameter, serialization
from .call import APP_ARN_RE, Call, role_arn, string, struct


async def get_configuration(call: Call) -> dict[str, Any]:
    await call.ensure(identity=False)
    result: dict[str, Any] = await call.run(call.state.storage.pools.get_configuration, call.pool)
    return result


async def set_configuration(call: Call) -> dict[str, Any]:
    data = call.json()
    push = struct(data, "PushSync")
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
                if not APP_ARN_RE.fullmatch(arn):
                    raise invalid_parameter(f"'{arn}' is not a valid SNS platform application ARN")
            push_value["ApplicationArns"] = arns
        role = role_arn(push, "PushSync")
        if role is not None:
            push_value["RoleArn"] = role
    streams = struct(data, "CognitoStreams")
    streams_value: dict[str, Any] | None = None
    if streams is not None:
        streams_value = {}
        name = string(streams, "StreamName")
        if name is not None:
            if not 1 <= len(name) <= 128:
                raise invalid_parameter("CognitoStreams.StreamName must be 1 to 128 characters")
            streams_value["StreamName"] = name
        role = role_arn(streams, "CognitoStreams")
        if role is not None:
            streams_value["RoleArn"] = role
        status = string(streams, "StreamingStatus")
        if status is not None:
            if status not in ("ENABLED", "DISABLED"):
                raise invalid_parameter("CognitoStreams.StreamingStatus must be ENABLED|DISABLED")
            streams_value["StreamingStatus"] = status
    await call.ensure(identity=False)
    result: dict[str, Any] = await call.run(
        call.state.storage.pools.set_configuration, call.pool, push_value, streams_value
    )
    return result


async def get_events(call: Call) -> dict[str, Any]:
    await call.ensure(identity=False)
    events = await call.run(call.state.storage.pools.get_events, call.pool)
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
    await call.run(call.state.storage.pools.set_events, call.pool, events)
    return {}


async def bulk_publish(call: Call) -> dict[str, Any]:
    await call.ensure(identity=False)
    result: dict[str, Any] = await call.run(
        call.state.storage.pools.bulk_publish, call.pool, call.state.bulk_publish_delay
    )
    return result


async def get_bulk_publish_details(call: Call) -> dict[str, Any]:
    await call.ensure(identity=False)
    result: dict[str, Any] = await call.run(
        call.state.storage.pools.get_bulk_publish_details, call.pool
    )
    return result
