"""The JSON shape of a record and of a dataset: the export's lines and the
command line's ``--output json`` use the same one (ISO 8601 UTC dates)."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from .._models import _MAX_EPOCH, _MIN_EPOCH, Dataset, Record, _records


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def record_json(record: Record) -> dict[str, Any]:
    return {
        "key": record.key,
        "value": record.value,
        "sync_count": record.sync_count,
        "last_modified_date": _iso(record.last_modified_date),
        "last_modified_by": record.last_modified_by,
        "device_last_modified_date": _iso(record.device_last_modified_date),
    }


def dataset_json(dataset: Dataset) -> dict[str, Any]:
    return {
        "dataset_name": dataset.dataset_name,
        "creation_date": _iso(dataset.creation_date),
        "last_modified_date": _iso(dataset.last_modified_date),
        "last_modified_by": dataset.last_modified_by,
        "data_storage": dataset.data_storage,
        "num_records": dataset.num_records,
    }


# "YYYY-MM-DDT" by days since the epoch (timestamps of real data fall on few days)
_DAYS: dict[int, str] = {}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def iso_of_epoch(value: float) -> str:
    """``_iso(datetime.fromtimestamp(value, timezone.utc))`` for epoch seconds in
    ``datetime``'s range, without building the datetime: the microseconds rounded
    half to even as ``fromtimestamp`` rounds them, shown only when not zero."""
    frac, whole = math.modf(value)
    us = round(frac * 1e6)
    seconds = int(whole)
    if us >= 1_000_000:
        us -= 1_000_000
        seconds += 1
    elif us < 0:
        us += 1_000_000
        seconds -= 1
    days, rest = divmod(seconds, 86400)
    day = _DAYS.get(days)
    if day is None:
        if len(_DAYS) >= 4096:
            _DAYS.clear()
        day = _DAYS[days] = date.fromordinal(days + _EPOCH_ORDINAL).isoformat() + "T"
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if us:
        return f"{day}{hours:02d}:{minutes:02d}:{secs:02d}.{us:06d}Z"
    return f"{day}{hours:02d}:{minutes:02d}:{secs:02d}Z"


def records_json_raw(value: Any) -> list[dict[str, Any]]:
    """``[record_json(r) for r in records]`` from a ListRecords page's parsed
    ``Records`` member, without the typed ``Record``s: the same output, and for
    anything but the usual shape (string key, string or null value and modifier,
    integer sync count, float or null dates in range) the typed parser's
    conversions and errors (``_records`` then reads the whole page)."""
    if type(value) is not list:
        return [record_json(r) for r in _records(value)]
    iso, st, it, fl, none = iso_of_epoch, str, int, float, None
    lo, hi = _MIN_EPOCH, _MAX_EPOCH
    out: list[dict[str, Any]] = []
    append = out.append
    for d in value:
        if type(d) is not dict:
            return [record_json(r) for r in _records(value)]
        g = d.get
        k = g("Key")
        v = g("Value")
        n = g("SyncCount")
        lmd = g("LastModifiedDate")
        by = g("LastModifiedBy")
        dlmd = g("DeviceLastModifiedDate")
        if not (
            type(k) is st
            and (v is none or type(v) is st)
            and type(n) is it
            and (by is none or type(by) is st)
            and type(lmd) is fl
            and lo <= lmd <= hi
            and (dlmd is none or (type(dlmd) is fl and lo <= dlmd <= hi))
        ):
            return [record_json(r) for r in _records(value)]
        append({
            "key": k,
            "value": v,
            "sync_count": n,
            "last_modified_date": iso(lmd),
            "last_modified_by": by,
            "device_last_modified_date": none if dlmd is none else iso(dlmd),
        })
    return out
