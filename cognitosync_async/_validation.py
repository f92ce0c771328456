"""Validation rules of the service model, built from attrs validators.

Each rule is an attrs validator wrapped once so that it raises
``ParamValidationError`` naming the parameter and the rule. The same rules
check the fields of input classes (``RecordPatch``...) and the keyword
arguments of each operation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
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
    """One attrs validator from several, raising ParamValidationError.

    The error names the parameter and words the rule it broke, never the
    value (a record value, a token, a secret): attrs's own messages quote it.
    """

    def check(inst: Any, attribute: Any, value: Any) -> None:
        for validator in validators:
            try:
                validator(inst, attribute, value)
            except (TypeError, ValueError) as exc:
                broken = _broken_rule(validator, exc, inst, attribute, value)
                raise ParamValidationError(attribute.name, broken) from None

    return check


def _broken_rule(validator: Any, exc: BaseException, inst: Any, attribute: Any, value: Any) -> str:
    """The words for the rule that ``validator`` found broken by ``value``: its
    bounds, pattern, options or expected type, with at most a length or a type
    name from the value itself."""
    # deep_iterable / deep_mapping: find the part that broke, word its rule
    for where, part, part_value in _parts(validator, value):
        try:
            part(inst, attribute, part_value)
        except (TypeError, ValueError) as part_exc:
            broken = _broken_rule(part, part_exc, inst, attribute, part_value)
            if not where:
                return broken
            return f"{where} {broken}" if broken.startswith("must") else f"{where}: {broken}"
    if isinstance(exc, ParamValidationError):  # one of ours, already worded
        return exc.rule
    # instance_of, matches_re, in_: exc.args is (msg, attribute, rule, value)
    if len(exc.args) == 4:
        expected, got = exc.args[2], exc.args[3]
        if isinstance(expected, type):
            return f"must be of type {expected.__name__}, got {type(got).__name__}"
        if isinstance(expected, re.Pattern):
            return f"must match the pattern {expected.pattern!r}"
        return f"must be one of {tuple(expected)!r}"
    # min_len, max_len, ge/gt/le/lt: only a message (ge's quotes the value)
    if hasattr(validator, "max_length"):
        return f"length must be <= {validator.max_length} (got {len(value)})"
    if hasattr(validator, "min_length"):
        return f"length must be >= {validator.min_length} (got {len(value)})"
    if hasattr(validator, "bound"):
        return f"must be {validator.compare_op} {validator.bound}"
    return f"is not valid ({type(exc).__name__})"


def _parts(validator: Any, value: Any) -> Iterator[tuple[str, Validator, Any]]:
    """The checks a deep_iterable or deep_mapping validator makes, in its order:
    (where, validator, value checked); nothing for any other validator."""
    if hasattr(validator, "member_validator"):
        if validator.iterable_validator is not None:
            yield "", validator.iterable_validator, value
        for item in value:
            yield "each item", validator.member_validator, item
    elif hasattr(validator, "key_validator"):
        if validator.mapping_validator is not None:
            yield "", validator.mapping_validator, value
        for key in value:
            if validator.key_validator is not None:
                yield "each key", validator.key_validator, key
            if validator.value_validator is not None:
                yield "each value", validator.value_validator, value[key]


def param(name: str) -> Any:
    return _Param(name)


def _not_bool(inst: Any, attribute: Any, value: Any) -> None:
    if isinstance(value, bool):
        raise ParamValidationError(attribute.name, "must be of type int, got bool")


def path_segment(check: Validator) -> Validator:
    """``check``, and not ``.`` or ``..``: the rule of every value that goes in
    a URI path as a segment of its own."""

    def path_check(inst: Any, attribute: Any, value: Any) -> None:
        check(inst, attribute, value)
        if value == "." or value == "..":
            raise ParamValidationError(
                attribute.name,
                "must not be '.' or '..': such a path segment does not survive "
                "URL normalisation",
            )

    return path_check


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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf8(inst: Any, attribute: Any, value: Any) -> None:
    """A string must be encodable as UTF-8: no lone surrogates (never quoted)."""
    if not value.isascii() and _SURROGATE.search(value):
        raise ParamValidationError(
            attribute.name, "must be valid Unicode text (no lone surrogates)"
        )


def string(
    *, min_len: int | None = None, max_len: int | None = None, pattern: str | None = None
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
    parts.append(_utf8)
    low = min_len or 0
    high = max_len if max_len is not None else float("inf")
    fullmatch = regex.fullmatch if regex is not None else None

    def ok(value: Any) -> bool:
        return (
            type(value) is str
            and low <= len(value) <= high
            and (fullmatch is None or fullmatch(value) is not None)
            and (value.isascii() or not _SURROGATE.search(value))
        )

    return _rule(ok, rule(*parts))


def integer(*, minimum: int | None = None, maximum: int | None = None) -> Validator:
    parts: list[Validator] = [v.instance_of(int), _not_bool]
    if minimum is not None:
        parts.append(v.ge(minimum))
    if maximum is not None:
        parts.append(v.le(maximum))
    low = minimum if minimum is not None else float("-inf")
    high = maximum if maximum is not None else float("inf")
    return _rule(lambda x: type(x) is int and low <= x <= high, rule(*parts))


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


def _in_utc_range(inst: Any, attribute: Any, value: datetime) -> None:
    """An aware datetime must have a UTC equivalent (``datetime.min`` at +05:00 has none)."""
    if value.tzinfo is not None:
        try:
            value.astimezone(timezone.utc)
        except OverflowError:
            raise ParamValidationError(
                attribute.name, "must fall within years 1-9999 once converted to UTC"
            ) from None


def timestamp_ok(x: Any) -> bool:
    """Cheap: an aware datetime two years clear of the ends surely has a UTC equivalent
    (one nearer the ends is decided by ``timestamp()``'s full rule)."""
    return isinstance(x, datetime) and (x.tzinfo is None or 2 <= x.year <= 9998)


def timestamp() -> Validator:
    return _rule(timestamp_ok, rule(v.instance_of(datetime), _in_utc_range))


def list_of(member: Validator) -> Validator:
    return rule(v.deep_iterable(member_validator=member, iterable_validator=v.instance_of(list)))


def instance(cls: type) -> Validator:
    return rule(v.instance_of(cls))


def list_of_instances(cls: type) -> Validator:
    return _rule(
        lambda x: type(x) is list and all(type(item) is cls for item in x),
        list_of(v.instance_of(cls)),
    )


def str_map(
    *, key: Validator | None = None, value: Validator | None = None,
    max_entries: int | None = None,
) -> Validator:
    """A dict of str to str; ``key`` and ``value`` can narrow the strings."""
    parts: list[Validator] = [
        v.deep_mapping(
            key_validator=key or string(),
            value_validator=value or string(),
            mapping_validator=v.instance_of(dict),
        )
    ]
    if max_entries is not None:
        parts.append(v.max_len(max_entries))
    return rule(*parts)


# Shapes of the Cognito Sync model (botocore's cognito-sync 2014-06-30).
IDENTITY_ID = string(min_len=1, max_len=55, pattern=r"[\w-]+:[0-9a-f-]+")
IDENTITY_POOL_ID = IDENTITY_ID
DATASET_NAME = string(min_len=1, max_len=128, pattern=r"[a-zA-Z0-9_.:-]+")
DEVICE_ID = string(min_len=1, max_len=256)
RECORD_KEY = string(min_len=1, max_len=1024)
RECORD_VALUE = string(max_len=1_048_575)
ANY_STRING = string()
# A header value cannot carry control characters (HTTP refuses them: header injection).
HEADER_VALUE = string(pattern=r"[^\x00-\x08\x0a-\x1f\x7f]*")
# The model's Integer / IntegerString (MaxResults) and Long (SyncCount,
# LastSyncCount): 32- and 64-bit signed, as the service's Java types.
INTEGER = integer(minimum=-(2**31), maximum=2**31 - 1)
LONG = integer(minimum=-(2**63), maximum=2**63 - 1)
STREAM_NAME = string(min_len=1, max_len=128)
ROLE_ARN = string(min_len=20, max_len=2048, pattern=r"arn:aws:iam::\d+:role/.*")
APPLICATION_ARN_PATTERN = r"arn:aws:sns:[-0-9a-z]+:\d+:app/[A-Z_]+/[a-zA-Z0-9_.-]+"
APPLICATION_ARNS = list_of(string(pattern=APPLICATION_ARN_PATTERN))
PLATFORM = one_of("APNS", "APNS_SANDBOX", "GCM", "ADM")
OPERATION = one_of("replace", "remove")
STREAMING_STATUS = one_of("ENABLED", "DISABLED")
EVENTS = str_map(max_entries=1)
