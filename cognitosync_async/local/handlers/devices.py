"""Cognito Sync's push operations: RegisterDevice, Subscribe/UnsubscribeFromDataset."""

from __future__ import annotations

from typing import Any

from .._errors import invalid_parameter
from .call import PLATFORMS, Call, string


async def register_device(call: Call) -> dict[str, Any]:
    data = call.json()
    platform = string(data, "Platform", required=True)
    if platform not in PLATFORMS:
        raise invalid_parameter("Platform must be one of " + ", ".join(PLATFORMS))
    token = string(data, "Token", required=True)
    if not token:
        raise invalid_parameter("Token must not be empty")
    await call.ensure(identity=True)
    result: dict[str, Any] = await call.run(
        call.state.storage.devices.register_device, call.pool, call.identity, platform, token
    )
    return result


async def subscribe(call: Call) -> dict[str, Any]:
    await call.ensure(identity=True)
    await call.run(
        call.state.storage.devices.subscribe,
        call.pool, call.identity, call.dataset, call.params["V"],
    )
    return {}


async def unsubscribe(call: Call) -> dict[str, Any]:
    await call.ensure(identity=True)
    await call.run(
        call.state.storage.devices.unsubscribe,
        call.pool, call.identity, call.dataset, call.params["V"],
    )
    return {}
