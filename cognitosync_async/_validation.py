"""Validation rules of the service model, built from attrs validators.

Each rule is an attrs validator wrapped once so that it raises
``ParamValidationError`` naming the parameter and the rule. The same rules
check the fields of input classes (``RecordPatch``...) and the keyword
arguments of each operation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs
from attrs import validators as v

from ._exceptions import ParamValidationError

Validator = Callable[[Any, Any, Any], None]


@attrs.frozen
class _Param:
    """Stands in for ``attrs.Attribute`` when a rule checks a keyword argument."""

    name: str


def rule(*validators: Validator) -> Validator:
    """One attrs validator from several, raising ParamValidationError."""
    combined = v.and_(*validators)

    def check(inst: Any, attribute: Any, value: Any) -> None:
        try:
            combined(inst, attribute, value)
        except ParamValidationError:
            raise
        except (TypeError, ValueError) as exc:
            msg = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
            raise ParamValidationError(attribute.name, msg) from None

    return check


def param(name: str) -> Any:
    return _Param(name)


def _not_bool(inst: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool):
        raise TypeError(f"'{attribute.name}' must be an integer, not a bool")


def _no_dot_segment(inst: Any, attribute: Any, value: Any) -> None:
    if value in (".", ".."):
        raise ValueError(
            f"'{attribute.name}' must not be '.' or '..': such a path segment "
            "does not survive URL normalisation"
        )


def _fast(ok: Callable[[Any], bool], slow: Validator, *, optional: bool = False) -> Validator:
    """A validator whose valid values pass ``ok`` alone; any other value goes
    through the attrs validators ``slow``, which decide and word the error.
    (Validators run for every field of every ``RecordPatch``: valid input
    must stay cheap.) ``optional`` also lets None through."""
    if optional:

        def check_optional(inst: Any, attribute: Any, value: Any) -> None:
            if value is not None and not ok(value):
                slow(inst, attribute, value)

        return check_optional

    def check(inst: Any, attribute: Any, value: Any) -> None:
        if not ok(value):
            slow(inst, attribute, value)

    return check


# The optional form of each fast rule (None or valid), for ``optional``.
_OPTIONAL: dict[Validator, Validator] = {}


def _rule(ok: Callable[[Any], bool], slow: Validator) -> Validator:
    check = _fast(ok, slow)
    _OPTIONAL[check] = _fast(ok, slow, optional=True)
    return check


def string(
    *, min_len: int | None = None, max_len: int | None = None, pattern: str | None = None,
    path: bool = False,
) -> Validator:
    parts: list[Validator] = [v.instance_of(str)]
    if min_len is not None:
        parts.append(v.min_len(min_len))
    if max_len is not None:
        parts.append(v.max_len(max_len))
    # the model's patterns are Java regexes: \w and \d are ASCII there
    regex = re.compile(pattern, re.ASCII) if pattern is not None else None
    if regex is not None:
        parts.append(v.matches_re(regex, func=re.fullmatch))
    if path:
        parts.append(_no_dot_segment)
    low = min_len or 0
    high = max_len if max_len is not None else float("inf")
    fullmatch = regex.fullmatch if regex is not None else None

    def ok(value: Any) -> bool:
        return (
            type(value) is str
            and low <= len(value) <= high
            and (fullmatch is None or fullmatch(value) is not None)
            and not (path and value in (".", ".."))
        )

    return _rule(ok, rule(*parts))


def integer(*, minimum: int | None = None) -> Validator:
    parts: list[Validator] = [v.instance_of(int), _not_bool]
    if minimum is not None:
        parts.append(v.ge(minimum))
    low = minimum if minimum is not None else float("-inf")
    return _rule(lambda x: type(x) is int and x >= low, rule(*parts))


def optional(check: Validator) -> Validator:
    """``None``, or what ``check`` accepts."""
    fast = _OPTIONAL.get(check)
    if fast is not None:
        return fast

    def optional_check(inst: Any, attribute: Any, value: Any) -> None:
        if value is not None:
            check(inst, attribute, value)

    return optional_check


def one_of(*values: str) -> Validator:
    allowed = frozenset(values)
    return _rule(lambda x: type(x) is str and x in allowed, rule(v.instance_of(str), v.in_(values)))


def boolean() -> Validator:
    return rule(v.instance_of(bool))


def timestamp() -> Validator:
    return _rule(lambda x: isinstance(x, datetime), rule(v.instance_of(datetime)))


def list_of(member: Validator) -> Validator:
    return rule(v.deep_iterable(member_validator=member, iterable_validator=v.instance_of(list)))


def instance(cls: type) -> Validator:
    return rule(v.instance_of(cls))


def list_of_instances(cls: type) -> Validator:
    return _rule(
        lambda x: type(x) is list and all(type(item) is cls for item in x),
        list_of(v.instance_of(cls)),
    )


def str_map(*, max_entries: int | None = None) -> Validator:
    parts: list[Validator] = [
        v.deep_mapping(
            key_validator=v.instance_of(str),
            value_validator=v.instance_of(str),
            mapping_validator=v.instance_of(dict),
        )
    ]
    if max_entries is not None:
        parts.append(v.max_len(max_entries))
    return rule(*parts)


# Shapes of the Cognito Sync model (botocore's cognito-sync 2014-06-30).
IDENTITY_ID = string(min_len=1, max_len=55, pattern=r"[\w-]+:[0-9a-f-]+")
IDENTITY_POOL_ID = IDENTITY_ID
DATASET_NAME = string(min_len=1, max_len=128, pattern=r"[a-zA-Z0-9_.:-]+", path=True)
DEVICE_ID = string(min_len=1, max_len=256, path=True)
RECORD_KEY = string(min_len=1, max_len=1024)
RECORD_VALUE = string(max_len=1_048_575)
ANY_STRING = string()
# A header value cannot carry control characters (HTTP refuses them: header injection).
HEADER_VALUE = string(pattern=r"[^\x00-\x08\x0a-\x1f\x7f]*")
LONG = integer()
INTEGER = integer()
STREAM_NAME = string(min_len=1, max_len=128)
ROLE_ARN = string(min_len=20, max_len=2048, pattern=r"arn:aws:iam::\d+:role/.*")
APPLICATION_ARN_PATTERN = r"arn:aws:sns:[-0-9a-z]+:\d+:app/[A-Z_]+/[a-zA-Z0-9_.-]+"
APPLICATION_ARNS = list_of(
    v.and_(v.instance_of(str), v.matches_re(APPLICATION_ARN_PATTERN, re.ASCII, func=re.fullmatch))
)
PLATFORM = one_of("APNS", "APNS_SANDBOX", "GCM", "ADM")
OPERATION = one_of("replace", "remove")
STREAMING_STATUS = one_of("ENABLED", "DISABLED")
EVENTS = str_map(max_entries=1)
