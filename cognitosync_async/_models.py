"""attrs classes: structured inputs (validated) and outputs (plain).

Output classes carry their wire member name in field metadata (``wire``),
and the converter of a member that needs one (``conv``: timestamps, nested
classes, lists of them); ``parse`` turns a JSON object into an instance,
ignoring unknown members and reading ``null`` as absent, as botocore does.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs

from . import _validation as val

T = TypeVar("T")
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


@attrs.frozen(kw_only=False)
class RecordPatch:
    """One change to a record: ``op`` is ``"replace"`` (with ``value``) or ``"remove"``.

    ``sync_count`` is the record's current sync count (0 for a key never seen).
    """

    op: str = attrs.field(validator=val.OPERATION)
    key: str = attrs.field(validator=val.RECORD_KEY)
    sync_count: int = attrs.field(validator=val.LONG)
    value: str | None = attrs.field(
        default=None, validator=val.optional(val.RECORD_VALUE)
    )
    device_last_modified_date: datetime | None = attrs.field(
        default=None, validator=val.optional(val.timestamp())
    )

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Op": self.op, "Key": self.key}
        if self.value is not None:
            out["Value"] = self.value
        out["SyncCount"] = self.sync_count
        if self.device_last_modified_date is not None:
            out["DeviceLastModifiedDate"] = epoch_seconds(self.device_last_modified_date)
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


def _list(conv: Converter) -> Converter:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        return [None if item is None else conv(item) for item in value]

    return convert


def _nested(cls: type) -> Converter:
    def convert(value: Any) -> Any:
        return None if value is None else parse(cls, value)

    return convert


_from_epoch = datetime.fromtimestamp


@attrs.define
class Record:
    """A record of a dataset; a removed record (tombstone) has ``value`` None."""

    key: str | None = _wire("Key")
    value: str | None = _wire("Value")
    sync_count: int | None = _wire("SyncCount")
    last_modified_date: datetime | None = _wire("LastModifiedDate", conv=parse_timestamp)
    last_modified_by: str | None = _wire("LastModifiedBy")
    device_last_modified_date: datetime | None = _wire(
        "DeviceLastModifiedDate", conv=parse_timestamp
    )


def _records(value: Any) -> Any:
    """The hot path of ListRecords/UpdateRecords: a page of records.

    JSON numbers with a fraction (the service's timestamps) go straight to
    the datetime, anything else through ``parse_timestamp``. The records that
    one sync wrote share their ``LastModifiedDate`` (the server's write time),
    and those a device wrote at once their ``DeviceLastModifiedDate``, so
    within a page each distinct timestamp is converted once.
    """
    if value is None:
        return None
    record = Record
    utc = _UTC
    from_epoch = _from_epoch
    times: dict[float, datetime] = {}
    out: list[Record | None] = []
    append = out.append
    for d in value:
        if d is None:
            append(None)
            continue
        g = d.get
        lmd = g("LastModifiedDate")
        dlmd = g("DeviceLastModifiedDate")
        if type(lmd) is float:
            last = times.get(lmd)
            if last is None:
                last = times[lmd] = from_epoch(lmd, utc)
        else:
            last = parse_timestamp(lmd)
        if type(dlmd) is float:
            device = times.get(dlmd)
            if device is None:
                device = times[dlmd] = from_epoch(dlmd, utc)
        else:
            device = parse_timestamp(dlmd)
        append(record(g("Key"), g("Value"), g("SyncCount"), last, g("LastModifiedBy"), device))
    return out


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
class BulkPublishResponse:
    identity_pool_id: str | None = _wire("IdentityPoolId")


@attrs.define
class DeleteDatasetResponse:
    dataset: Dataset | None = _wire("Dataset", conv=_nested(Dataset))


@attrs.define
class DescribeDatasetResponse:
    dataset: Dataset | None = _wire("Dataset", conv=_nested(Dataset))


@attrs.define
class DescribeIdentityPoolUsageResponse:
    identity_pool_usage: IdentityPoolUsage | None = _wire(
        "IdentityPoolUsage", conv=_nested(IdentityPoolUsage)
    )


@attrs.define
class DescribeIdentityUsageResponse:
    identity_usage: IdentityUsage | None = _wire("IdentityUsage", conv=_nested(IdentityUsage))


@attrs.define
class GetBulkPublishDetailsResponse:
    identity_pool_id: str | None = _wire("IdentityPoolId")
    bulk_publish_start_time: datetime | None = _wire("BulkPublishStartTime", conv=parse_timestamp)
    bulk_publish_complete_time: datetime | None = _wire(
        "BulkPublishCompleteTime", conv=parse_timestamp
    )
    bulk_publish_status: str | None = _wire("BulkPublishStatus")
    failure_message: str | None = _wire("FailureMessage")


@attrs.define
class GetCognitoEventsResponse:
    events: dict[str, str] | None = _wire("Events")


@attrs.define
class GetIdentityPoolConfigurationResponse:
    identity_pool_id: str | None = _wire("IdentityPoolId")
    push_sync: PushSync | None = _wire("PushSync", conv=_nested(PushSync))
    cognito_streams: CognitoStreams | None = _wire("CognitoStreams", conv=_nested(CognitoStreams))


@attrs.define
class ListDatasetsResponse:
    datasets: list[Dataset] | None = _wire("Datasets", conv=_list(_nested(Dataset)))
    count: int | None = _wire("Count")
    next_token: str | None = _wire("NextToken")


@attrs.define
class ListIdentityPoolUsageResponse:
    identity_pool_usages: list[IdentityPoolUsage] | None = _wire(
        "IdentityPoolUsages", conv=_list(_nested(IdentityPoolUsage))
    )
    max_results: int | None = _wire("MaxResults")
    count: int | None = _wire("Count")
    next_token: str | None = _wire("NextToken")


@attrs.define
class ListRecordsResponse:
    records: list[Record] | None = _wire("Records", conv=_records)
    next_token: str | None = _wire("NextToken")
    count: int | None = _wire("Count")
    dataset_sync_count: int | None = _wire("DatasetSyncCount")
    last_modified_by: str | None = _wire("LastModifiedBy")
    merged_dataset_names: list[str] | None = _wire("MergedDatasetNames")
    dataset_exists: bool | None = _wire("DatasetExists")
    dataset_deleted_after_requested_sync_count: bool | None = _wire(
        "DatasetDeletedAfterRequestedSyncCount"
    )
    sync_session_token: str | None = _wire("SyncSessionToken")


@attrs.define
class RegisterDeviceResponse:
    device_id: str | None = _wire("DeviceId")


@attrs.define
class SetCognitoEventsResponse:
    pass


@attrs.define
class SetIdentityPoolConfigurationResponse:
    identity_pool_id: str | None = _wire("IdentityPoolId")
    push_sync: PushSync | None = _wire("PushSync", conv=_nested(PushSync))
    cognito_streams: CognitoStreams | None = _wire("CognitoStreams", conv=_nested(CognitoStreams))


@attrs.define
class SubscribeToDatasetResponse:
    pass


@attrs.define
class UnsubscribeFromDatasetResponse:
    pass


@attrs.define
class UpdateRecordsResponse:
    records: list[Record] | None = _wire("Records", conv=_records)


# --------------------------------------------------------------------------
# Parsing: one converter per field (``conv`` in its metadata), read once per class.

_PLANS: dict[type, tuple[tuple[str, Converter], ...]] = {}


def _plan(cls: type) -> tuple[tuple[str, Converter], ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = tuple(
            (f.metadata["wire"], f.metadata.get("conv", _identity))
            for f in attrs.fields(cls)
        )
        _PLANS[cls] = plan
    return plan


_UNVALIDATED = (PushSync, CognitoStreams)


def parse(cls: type[T], data: Any) -> T:
    """An instance of ``cls`` from a JSON object of the service's output.

    Input classes that also appear in outputs are built without their
    validators: an answer's unknown enum value is kept, never an error.
    """
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")
    g = data.get
    args = []
    for wire, conv in _plan(cls):
        value = g(wire)
        args.append(value if value is None or conv is _identity else conv(value))
    if cls in _UNVALIDATED:
        inst = object.__new__(cls)
        for field, value in zip(attrs.fields(cls), args, strict=True):  # type: ignore[arg-type]
            object.__setattr__(inst, field.name, value)
        return inst
    return cls(*args)
