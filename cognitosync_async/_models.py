"""attrs classes: structured inputs (validated) and outputs (plain).

Output classes carry their wire member name in field metadata (``wire``),
and the converter of a member that needs one (``conv``: timestamps, nested
classes, lists of them); ``parse`` turns a JSON object into an instance,
ignoring unknown members and reading ``null`` as absent, as botocore does.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from . import _validation as val
from ._exceptions import ParamValidationError

T = TypeVar("T")

_fast_loads: Callable[[bytes], Any] | None
try:  # the ``speedups`` extra
    import orjson as _orjson
except ImportError:  # pragma: no cover - the default install
    _fast_loads = None
else:
    _fast_loads = _orjson.loads


def loads(body: bytes) -> Any:
    """An answer's JSON, read as ``json.loads`` reads it.

    With orjson installed (the ``speedups`` extra) it reads the body; a body
    orjson refuses but ``json.loads`` accepts (integers beyond 64 bits, lone
    surrogates, NaN, UTF-16) is read by ``json.loads``, so both installs
    accept the same answers and give the same values.
    """
    if _fast_loads is not None:
        try:
            return _fast_loads(body)
        except ValueError:
            pass
    return json.loads(body)
_UTC = timezone.utc
Converter = Callable[[Any], Any]


def _wire(name: str, *, conv: Converter | None = None, **kw: Any) -> Any:
    """A field read from the wire member ``name``, through ``conv`` when given
    (``parse`` applies it to a present, non-null value)."""
    metadata: dict[str, Any] = {"wire": name}
    if conv is not None:
        metadata["conv"] = conv
    return attrs.field(default=None, metadata=metadata, **kw)


# --------------------------------------------------------------------------
# Inputs


_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_VALUE_MAX = 1_048_575


# the rules of each field, run only for a patch that failed the one-expression check
# of ``RecordPatch.__init__``: they decide which field broke which rule and word the
# ParamValidationError
_PATCH_RULES = {
    "op": val.OPERATION,
    "key": val.RECORD_KEY,
    "sync_count": val.LONG,
    "value": val.optional(val.RECORD_VALUE),
    "device_last_modified_date": val.optional(val.timestamp()),
}


class _SentForm:
    """A slot for a patch's wire form, made when the patch is built and checked.

    It holds the field values it was made from next to the wire dict; a call
    sends the dict when every field is still that very object (an assigned
    field is a different object, or an identical one: the same immutable
    value), else checks the patch again and makes it anew. Not a field: it is
    not compared, shown, pickled or copied (a copy is checked when sent).
    """

    __slots__ = ("_sent",)
    _sent: tuple[Any, Any, Any, Any, Any, dict[str, Any]]


@attrs.define(kw_only=False)
class RecordPatch(_SentForm):
    """One change to a record: ``op`` is ``"replace"`` (with ``value``) or ``"remove"``.

    ``sync_count`` is the record's current sync count (0 for a key never seen).
    Validated when built (one check of all fields), and again, with any field
    assigned since, when a call sends it.
    """

    op: str
    key: str
    sync_count: int
    value: str | None = None
    device_last_modified_date: datetime | None = None

    # attrs' own __init__ would set the fields and call a post-init hook; this one
    # sets them, checks the arguments in one expression (the only place a patch's
    # rules are checked; ``_PATCH_RULES`` word an error) and keeps the wire form
    def __init__(
        self,
        op: str,
        key: str,
        sync_count: int,
        value: str | None = None,
        device_last_modified_date: datetime | None = None,
    ) -> None:
        self.op = op
        self.key = key
        self.sync_count = sync_count
        self.value = value
        self.device_last_modified_date = device_last_modified_date
        if not (
            type(op) is str and (op == "replace" or op == "remove")
            and type(key) is str and 0 < len(key) <= 1024
            and (key.isascii() or not _SURROGATE.search(key))
            and type(sync_count) is int and _LONG_MIN <= sync_count <= _LONG_MAX
            and (value is None or (
                type(value) is str and len(value) <= _VALUE_MAX
                and (value.isascii() or not _SURROGATE.search(value))
            ))
            and (device_last_modified_date is None or val.timestamp_ok(device_last_modified_date))
        ):
            _explain_patch(self)
        # the wire dict, members in boto3's order
        if value is None:
            d: dict[str, Any] = {"Op": op, "Key": key, "SyncCount": sync_count}
        else:
            d = {"Op": op, "Key": key, "Value": value, "SyncCount": sync_count}
        if device_last_modified_date is not None:
            d["DeviceLastModifiedDate"] = epoch_seconds(device_last_modified_date)
        self._sent = (op, key, sync_count, value, device_last_modified_date, d)  # type: ignore[misc]

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Op": self.op, "Key": self.key}
        if self.value is not None:
            out["Value"] = self.value
        out["SyncCount"] = self.sync_count
        if self.device_last_modified_date is not None:
            out["DeviceLastModifiedDate"] = epoch_seconds(self.device_last_modified_date)
        return out


def _explain_patch(patch: RecordPatch) -> None:
    for field in attrs.fields(RecordPatch):
        _PATCH_RULES[field.name](patch, field, getattr(patch, field.name))


def patches_wire(value: Any) -> list[dict[str, Any]]:
    """The wire form of a call's ``record_patches`` (``validate`` has checked that it
    is a list of ``RecordPatch``): each patch's form made when it was built, or, for
    a patch with a field assigned since (or a copy), the patch checked again by
    building it anew from its fields, and that form kept."""
    if type(value) is not list:
        raise ParamValidationError("record_patches", "must be a list of RecordPatch")
    out: list[dict[str, Any]] = []
    append = out.append
    for p in value:
        try:
            op, key, n, v, date, d = p._sent
        except AttributeError:  # a copy or an unpickled patch: no form kept
            d = None
        if (
            d is None or p.op is not op or p.key is not key or p.sync_count is not n
            or p.value is not v or p.device_last_modified_date is not date
        ):
            sent = RecordPatch(
                p.op, p.key, p.sync_count, p.value, p.device_last_modified_date
            )._sent
            p._sent = sent
            d = sent[5]
        append(d)
    return out


@attrs.frozen
class PushSync:
    """Push synchronization settings of an identity pool."""

    application_arns: list[str] | None = _wire(
        "ApplicationArns", validator=val.optional(val.APPLICATION_ARNS)
    )
    role_arn: str | None = _wire("RoleArn", validator=val.optional(val.ROLE_ARN))

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.application_arns is not None:
            out["ApplicationArns"] = list(self.application_arns)
        if self.role_arn is not None:
            out["RoleArn"] = self.role_arn
        return out


@attrs.frozen
class CognitoStreams:
    """Kinesis stream settings of an identity pool."""

    stream_name: str | None = _wire(
        "StreamName", validator=val.optional(val.STREAM_NAME)
    )
    role_arn: str | None = _wire("RoleArn", validator=val.optional(val.ROLE_ARN))
    streaming_status: str | None = _wire(
        "StreamingStatus", validator=val.optional(val.STREAMING_STATUS)
    )

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.stream_name is not None:
            out["StreamName"] = self.stream_name
        if self.role_arn is not None:
            out["RoleArn"] = self.role_arn
        if self.streaming_status is not None:
            out["StreamingStatus"] = self.streaming_status
        return out


def epoch_seconds(value: datetime) -> int | float:
    """Epoch seconds, as botocore sends a timestamp (naive means UTC).

    An integer, or with microseconds a float rounded once, as botocore's
    default timestamp precision does.
    """
    if value.tzinfo is not None:
        value = value.astimezone(_UTC)
    seconds = calendar.timegm(value.timetuple())
    if value.microsecond:
        return (seconds * 10**6 + value.microsecond) / 10**6
    return seconds


# --------------------------------------------------------------------------
# Outputs


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from epoch seconds (number or numeric string) or ISO 8601."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, _UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), _UTC)
        except ValueError:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=_UTC)
            return parsed.astimezone(_UTC)
    raise TypeError(f"not a timestamp: {value!r}")


def _identity(value: Any) -> Any:
    return value


class AnswerShapeError(TypeError):
    """A member of an answer has the wrong JSON type (named in the message);
    the client turns it into ``ResponseParseError``."""


def _kind_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value), "?")


def _shape_error(member: str, expected: str, value: Any) -> AnswerShapeError:
    return AnswerShapeError(f"member {member}: expected {expected}, got {_kind_name(value)}")


_from_epoch = datetime.fromtimestamp
# the range datetime.fromtimestamp(v, utc) accepts (years 1..9999)
_MIN_EPOCH = -62135596800.0
_MAX_EPOCH = 253402300799.0


def _timestamp(member: str, value: Any) -> datetime | None:
    """A checked, eagerly converted timestamp (numbers, numeric or ISO strings)."""
    if value is None:
        return None
    if type(value) is bool or not isinstance(value, (int, float, str)):
        raise _shape_error(member, "a timestamp", value)
    return parse_timestamp(value)


class _LazyTimes:
    """Slots for the raw epoch numbers of a parsed record's two timestamps.

    A parsed ``Record`` leaves a numeric timestamp's own slot unset and keeps
    the number here; the first read of the attribute (``__getattr__`` runs
    only for an unset slot) converts it to the aware datetime and fills the
    slot, so later reads cost a plain slot read. Numbers are range-checked
    while parsing, so that conversion cannot fail. A ``Record`` built by
    hand sets both slots in ``__init__`` and never comes here.
    """

    __slots__ = ("_lmd_raw", "_dlmd_raw")
    _lmd_raw: float
    _dlmd_raw: float

    if not TYPE_CHECKING:  # (a __getattr__ would make every attribute name type-check)

        def __getattr__(self, name: str) -> Any:
            if name == "last_modified_date":
                value = _from_epoch(self._lmd_raw, _UTC)
            elif name == "device_last_modified_date":
                value = _from_epoch(self._dlmd_raw, _UTC)
            else:
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {name!r}"
                )
            object.__setattr__(self, name, value)
            return value


@attrs.define
class Record(_LazyTimes):
    """A record of a dataset; a removed record (tombstone) has ``value`` None."""

    key: str | None = _wire("Key")
    value: str | None = _wire("Value")
    sync_count: int | None = _wire("SyncCount")
    last_modified_date: datetime | None = _wire("LastModifiedDate", conv=parse_timestamp)
    last_modified_by: str | None = _wire("LastModifiedBy")
    device_last_modified_date: datetime | None = _wire(
        "DeviceLastModifiedDate", conv=parse_timestamp
    )


def _records(value: Any, member: str = "Records") -> list[Record]:
    """The hot path of ListRecords/UpdateRecords: a page of records, checked.

    Each record is built without ``__init__`` (six slot stores), its member
    types checked in one expression for the usual shape (string key, string
    or null value and modifier, integer sync count, numeric or null dates);
    anything else goes through ``_record_slow``, which converts or names the
    member of the wrong type. Numeric timestamps are converted when first read.
    """
    if value is None:
        return []
    if type(value) is not list:
        raise _shape_error(member, "a list", value)
    new = object.__new__
    cls = Record
    fl, st, it, none = float, str, int, None
    lo, hi = _MIN_EPOCH, _MAX_EPOCH
    out: list[Record] = []
    append = out.append
    for d in value:
        if type(d) is not dict:
            raise _shape_error(f"{member}[{len(out)}]", "an object", d)
        g = d.get
        try:  # the members the service always sends (a subscript costs less than a get)
            k = d["Key"]
            n = d["SyncCount"]
            lmd = d["LastModifiedDate"]
            by = d["LastModifiedBy"]
        except KeyError:  # one left out: read as null, as every member is
            k = g("Key")
            n = g("SyncCount")
            lmd = g("LastModifiedDate")
            by = g("LastModifiedBy")
        v = g("Value")
        dlmd = g("DeviceLastModifiedDate")
        r = new(cls)
        if (
            type(k) is st
            and (v is none or type(v) is st)
            and type(n) is it
            and (by is none or type(by) is st)
            and type(lmd) is fl
            and lo <= lmd <= hi
            and (dlmd is none or (type(dlmd) is fl and lo <= dlmd <= hi))
        ):
            r.key = k
            r.value = v
            r.sync_count = n
            r.last_modified_by = by
            r._lmd_raw = lmd  # type: ignore[misc]  # a slot of the base class
            if dlmd is none:
                r.device_last_modified_date = none
            else:
                r._dlmd_raw = dlmd  # type: ignore[misc]
        else:
            _record_slow(r, d, f"{member}[{len(out)}]")
        append(r)
    return out


def usual_records(
    value: Any, make: Callable[[str, str | None, int, float, str | None, float | None], T]
) -> list[T] | None:
    """``make(key, value, sync_count, last_modified_date, last_modified_by,
    device_last_modified_date)`` for each record of a page's parsed ``Records``
    member, when every record has the usual shape (``_records``' fast path:
    string key, string or null value and modifier, integer sync count, epoch
    seconds in range, the device date or null); None for anything else, which the
    caller then reads with ``_records`` (its conversions and its errors). For bulk
    jobs that need no ``Record``s on the way through (export, mirror)."""
    if type(value) is not list:
        return None
    st, it, fl, none = str, int, float, None
    lo, hi = _MIN_EPOCH, _MAX_EPOCH
    out: list[T] = []
    append = out.append
    for d in value:
        if type(d) is not dict:
            return None
        try:  # the members the service always sends (a subscript costs less than a get)
            k = d["Key"]
            n = d["SyncCount"]
            lmd = d["LastModifiedDate"]
            by = d["LastModifiedBy"]
        except KeyError:  # one left out: the typed parser reads it as null
            return None
        v = d.get("Value")
        dlmd = d.get("DeviceLastModifiedDate")
        if not (
            type(k) is st
            and (v is none or type(v) is st)
            and type(n) is it
            and (by is none or type(by) is st)
            and type(lmd) is fl
            and lo <= lmd <= hi
            and (dlmd is none or (type(dlmd) is fl and lo <= dlmd <= hi))
        ):
            return None
        append(make(k, v, n, lmd, by, dlmd))
    return out


def records_reader(
    convert: Callable[[Any], list[Any]],
) -> Callable[[Any, ResponseMetadata], ListRecordsResponse]:
    """A raw-page reader (``BaseClient._call_raw``) for ListRecords: every member but
    ``Records`` parsed and checked as the typed path does, and ``records`` holding
    ``convert(Records)`` (the bulk job's own rows) instead of ``Record``s."""

    def read(data: Any, metadata: ResponseMetadata) -> ListRecordsResponse:
        if type(data) is not dict:
            return parse(ListRecordsResponse, data, metadata)  # raises, as the typed path
        page = parse(ListRecordsResponse, {k: v for k, v in data.items() if k != "Records"},
                     metadata)
        page.records = convert(data.get("Records"))
        return page

    return read


def _record_slow(r: Record, d: dict[str, Any], where: str) -> None:
    g = d.get
    item: Any
    for name, wire in (("key", "Key"), ("value", "Value"), ("last_modified_by", "LastModifiedBy")):
        item = g(wire)
        if item is not None and type(item) is not str:
            raise _shape_error(f"{where}.{wire}", "a string", item)
        object.__setattr__(r, name, item)
    n = g("SyncCount")
    if n is not None and (type(n) is not int):
        raise _shape_error(f"{where}.SyncCount", "an integer", n)
    r.sync_count = n
    for name, raw, wire in (
        ("last_modified_date", "_lmd_raw", "LastModifiedDate"),
        ("device_last_modified_date", "_dlmd_raw", "DeviceLastModifiedDate"),
    ):
        item = g(wire)
        if type(item) in (int, float) and _MIN_EPOCH <= item <= _MAX_EPOCH:
            object.__setattr__(r, raw, item)  # converted when first read
        else:
            object.__setattr__(r, name, _timestamp(f"{where}.{wire}", item))


@attrs.frozen
class ResponseMetadata:
    """What boto3 puts in ``ResponseMetadata``: the answer's ``x-amzn-RequestId``,
    its HTTP status, and the attempts the call took (1 when the first succeeded)."""

    request_id: str | None = attrs.field(default=None, metadata={"wire": "RequestId"})
    http_status_code: int = attrs.field(default=0, metadata={"wire": "HTTPStatusCode"})
    attempts: int = attrs.field(default=0, metadata={"wire": "Attempts"})


_NO_METADATA = ResponseMetadata()


class _Response:
    """Base of every ``<Operation>Response``, whose last field is
    ``response_metadata`` (keyword-only, not compared: equal answers compare
    equal); a response built by hand has ``ResponseMetadata()``."""

    __slots__ = ()


def _metadata_field() -> Any:
    return attrs.field(
        default=_NO_METADATA, kw_only=True, eq=False, metadata={"wire": "ResponseMetadata"}
    )


def _list_field(name: str) -> Any:
    """A list output member: ``[]`` when the service left it out."""
    return attrs.field(factory=list, metadata={"wire": name})


@attrs.define
class Dataset:
    identity_id: str | None = _wire("IdentityId")
    dataset_name: str | None = _wire("DatasetName")
    creation_date: datetime | None = _wire("CreationDate", conv=parse_timestamp)
    last_modified_date: datetime | None = _wire("LastModifiedDate", conv=parse_timestamp)
    last_modified_by: str | None = _wire("LastModifiedBy")
    data_storage: int | None = _wire("DataStorage")
    num_records: int | None = _wire("NumRecords")


@attrs.define
class IdentityPoolUsage:
    identity_pool_id: str | None = _wire("IdentityPoolId")
    sync_sessions_count: int | None = _wire("SyncSessionsCount")
    data_storage: int | None = _wire("DataStorage")
    last_modified_date: datetime | None = _wire("LastModifiedDate", conv=parse_timestamp)


@attrs.define
class IdentityUsage:
    identity_id: str | None = _wire("IdentityId")
    identity_pool_id: str | None = _wire("IdentityPoolId")
    last_modified_date: datetime | None = _wire("LastModifiedDate", conv=parse_timestamp)
    dataset_count: int | None = _wire("DatasetCount")
    data_storage: int | None = _wire("DataStorage")


@attrs.define
class BulkPublishResponse(_Response):
    identity_pool_id: str | None = _wire("IdentityPoolId")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class DeleteDatasetResponse(_Response):
    dataset: Dataset | None = _wire("Dataset")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class DescribeDatasetResponse(_Response):
    dataset: Dataset | None = _wire("Dataset")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class DescribeIdentityPoolUsageResponse(_Response):
    identity_pool_usage: IdentityPoolUsage | None = _wire(
        "IdentityPoolUsage"
    )
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class DescribeIdentityUsageResponse(_Response):
    identity_usage: IdentityUsage | None = _wire("IdentityUsage")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class GetBulkPublishDetailsResponse(_Response):
    identity_pool_id: str | None = _wire("IdentityPoolId")
    bulk_publish_start_time: datetime | None = _wire("BulkPublishStartTime", conv=parse_timestamp)
    bulk_publish_complete_time: datetime | None = _wire(
        "BulkPublishCompleteTime", conv=parse_timestamp
    )
    bulk_publish_status: str | None = _wire("BulkPublishStatus")
    failure_message: str | None = _wire("FailureMessage")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class GetCognitoEventsResponse(_Response):
    events: dict[str, str] | None = _wire("Events")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class GetIdentityPoolConfigurationResponse(_Response):
    identity_pool_id: str | None = _wire("IdentityPoolId")
    push_sync: PushSync | None = _wire("PushSync")
    cognito_streams: CognitoStreams | None = _wire("CognitoStreams")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class ListDatasetsResponse(_Response):
    datasets: list[Dataset] = _list_field("Datasets")
    count: int | None = _wire("Count")
    next_token: str | None = _wire("NextToken")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class ListIdentityPoolUsageResponse(_Response):
    identity_pool_usages: list[IdentityPoolUsage] = _list_field("IdentityPoolUsages")
    max_results: int | None = _wire("MaxResults")
    count: int | None = _wire("Count")
    next_token: str | None = _wire("NextToken")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class ListRecordsResponse(_Response):
    records: list[Record] = _list_field("Records")
    next_token: str | None = _wire("NextToken")
    count: int | None = _wire("Count")
    dataset_sync_count: int | None = _wire("DatasetSyncCount")
    last_modified_by: str | None = _wire("LastModifiedBy")
    merged_dataset_names: list[str] = _list_field("MergedDatasetNames")
    dataset_exists: bool | None = _wire("DatasetExists")
    dataset_deleted_after_requested_sync_count: bool | None = _wire(
        "DatasetDeletedAfterRequestedSyncCount"
    )
    sync_session_token: str | None = _wire("SyncSessionToken")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class RegisterDeviceResponse(_Response):
    device_id: str | None = _wire("DeviceId")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class SetCognitoEventsResponse(_Response):
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class SetIdentityPoolConfigurationResponse(_Response):
    identity_pool_id: str | None = _wire("IdentityPoolId")
    push_sync: PushSync | None = _wire("PushSync")
    cognito_streams: CognitoStreams | None = _wire("CognitoStreams")
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class SubscribeToDatasetResponse(_Response):
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class UnsubscribeFromDatasetResponse(_Response):
    response_metadata: ResponseMetadata = _metadata_field()


@attrs.define
class UpdateRecordsResponse(_Response):
    records: list[Record] = _list_field("Records")
    response_metadata: ResponseMetadata = _metadata_field()


# --------------------------------------------------------------------------
# Parsing: one compiled function per output class, made on first use from its
# fields: the wire name (``wire`` in the metadata), the annotation (the JSON
# type checked: str, int, bool, a timestamp, a nested class, a list of
# either) and any custom converter (``conv``). Unknown members are ignored,
# ``null`` is an absent member; a member of the wrong JSON type raises
# ``AnswerShapeError`` naming it. Enums are plain strings (an unknown value is kept).

_PARSERS: dict[type, Callable[[Any, str], Any]] = {}
_UNVALIDATED = (PushSync, CognitoStreams)
_CLASSES: dict[str, type] = {}


def _check_list(member: str, value: Any, item: Callable[[Any, str], Any] | None) -> list[Any]:
    if type(value) is not list:
        raise _shape_error(member, "a list", value)
    if item is None:  # list of strings
        for i, x in enumerate(value):
            if type(x) is not str:
                raise _shape_error(f"{member}[{i}]", "a string", x)
        return value
    out = []
    for i, x in enumerate(value):
        if type(x) is not dict:
            raise _shape_error(f"{member}[{i}]", "an object", x)
        out.append(item(x, f"{member}[{i}]."))
    return out


def _check_map(member: str, value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _shape_error(member, "an object", value)
    for k, x in value.items():
        if x is not None and type(x) is not str:
            raise _shape_error(f"{member}.{k}", "a string", x)
    return value


def _compile(cls: type) -> Callable[[Any, str], Any]:
    """``parse_<cls>(data, prefix)``, generated from the fields of ``cls``."""
    names: dict[str, Any] = {
        "_err": _shape_error, "_ts": _timestamp, "_list": _check_list, "_map": _check_map,
        "_records": _records, "cls": cls, "_new": object.__new__, "_set": object.__setattr__,
    }
    lines = [
        "def parse(data, p):",
        "    if type(data) is not dict:",
        f"        raise _err(p.rstrip('.') or {cls.__name__!r}, 'an object', data)",
        "    g = data.get",
    ]
    args = []
    for i, f in enumerate(attrs.fields(cls)):
        if f.name == "response_metadata":
            continue  # not an output member: ``parse`` sets it
        wire = f.metadata["wire"]
        v = f"a{i}"
        args.append((f.name, v))
        lines.append(f"    {v} = g({wire!r})")
        where = f"p + {wire!r}"
        conv = f.metadata.get("conv")
        typ = str(f.type).replace(" ", "")
        optional = typ.endswith("|None")
        base = typ.removesuffix("|None")
        if conv is not None and conv is not parse_timestamp:
            names[f"c{i}"] = conv
            lines.append(f"    if {v} is not None: {v} = c{i}({v})")
        elif base == "datetime":
            lines.append(f"    if {v} is not None: {v} = _ts({where}, {v})")
        elif base in ("str", "int", "bool"):
            what = {"str": "a string", "int": "an integer", "bool": "a boolean"}[base]
            lines.append(
                f"    if {v} is not None and type({v}) is not {base}: "
                f"raise _err({where}, {what!r}, {v})"
            )
        elif base == "list[Record]":
            lines.append(f"    {v} = _records({v}, {where})")
        elif base.startswith("list[") and base.endswith("]"):
            item = base[5:-1]
            if item == "str":
                names[f"i{i}"] = None
            else:
                names[f"i{i}"] = _parser(_CLASSES[item])
            empty = "None" if optional else "[]"
            lines.append(f"    {v} = {empty} if {v} is None else _list({where}, {v}, i{i})")
        elif base.startswith("dict["):
            lines.append(f"    if {v} is not None: {v} = _map({where}, {v})")
        elif base in _CLASSES:
            names[f"n{i}"] = _parser(_CLASSES[base])
            lines.append(f"    if {v} is not None: {v} = n{i}({v}, {where} + '.')")
        else:  # pragma: no cover - a new annotation needs a rule here
            raise TypeError(f"no parse rule for {cls.__name__}.{f.name}: {f.type}")
    if cls in _UNVALIDATED:  # built without validators: an unknown enum value is kept
        lines.append("    inst = _new(cls)")
        lines += [f"    _set(inst, {name!r}, {v})" for name, v in args]
        lines.append("    return inst")
    else:
        lines.append(f"    return cls({', '.join(v for _, v in args)})")
    exec("\n".join(lines), names)  # noqa: S102 - code generated from the class's own fields
    fn: Callable[[Any, str], Any] = names["parse"]
    return fn


def _parser(cls: type) -> Callable[[Any, str], Any]:
    fn = _PARSERS.get(cls)
    if fn is None:
        _CLASSES.setdefault(cls.__name__, cls)
        fn = _PARSERS[cls] = _compile(cls)
    return fn


for _cls in (Dataset, IdentityPoolUsage, IdentityUsage, PushSync, CognitoStreams, Record):
    _CLASSES[_cls.__name__] = _cls


def parse(cls: type[T], data: Any, metadata: ResponseMetadata | None = None) -> T:
    """An instance of ``cls`` from a JSON object of the service's output
    (``AnswerShapeError`` names a member of the wrong type); ``metadata``
    becomes a response's ``response_metadata``."""
    fn = _PARSERS.get(cls) or _parser(cls)
    inst: T = fn(data, "")
    if metadata is not None and isinstance(inst, _Response):
        inst.response_metadata = metadata  # type: ignore[attr-defined]
    return inst
