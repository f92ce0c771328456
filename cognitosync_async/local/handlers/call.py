"""One routed, authenticated Cognito Sync request, and the readers of its input."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .. import auth
from .._errors import MAX_LONG, invalid_parameter, load_json_object, serialization
from ..context import ServiceState


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
            self.state.storage.records.ensure,
            self.pool,
            self.identity if identity else None,
            create=create,
        )


APP_ARN_RE = re.compile(r"arn:aws:sns:[-0-9a-z]+:\d+:app/[A-Z_]+/[a-zA-Z0-9_.-]+")
ROLE_ARN_RE = re.compile(r"arn:aws:iam::\d+:role/.*", re.DOTALL)
PLATFORMS = ("APNS", "APNS_SANDBOX", "GCM", "ADM")


def int_query(call: Call, name: str, *, minimum: int) -> int | None:
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


def string(data: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise invalid_parameter(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise serialization(name, "a string", value)
    return value


def struct(data: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise serialization(name, "an object", value)
    return value


def role_arn(data: Mapping[str, Any], where: str) -> str | None:
    role = string(data, "RoleArn")
    if role is not None and not (20 <= len(role) <= 2048 and ROLE_ARN_RE.fullmatch(role)):
        raise invalid_parameter(f"{where}.RoleArn is not a valid IAM role ARN")
    return role


def epoch_ms(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise serialization(name, "epoch seconds (a number)", value)
    if not math.isfinite(value):
        raise serialization(name, "a finite number", value)
    if not -1e11 < value < 1e11:
        raise invalid_parameter(f"{name} is out of range")
    return round(value * 1000)
