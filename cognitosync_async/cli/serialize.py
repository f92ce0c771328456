"""The JSON shape of a record and of a dataset: the export's lines and the
command line's ``--output json`` use the same one (ISO 8601 UTC dates)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

from .._models import Dataset, Record, _records, usual_records


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


# "YYYY-MM-DDTHH:MM:" by minutes since the epoch (the records of a sync, and those a
# device wrote at once, fall within few minutes); bounded, cleared when full
_MINUTES: dict[int, str] = {}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


_SECONDS = [f"{i:02d}" for i in range(60)]
_modf = math.modf


def iso_of_epoch(value: float) -> str:
    """``_iso(datetime.fromtimestamp(value, timezone.utc))`` for epoch seconds in
    ``datetime``'s range, without building the datetime: the microseconds rounded
    half to even as ``fromtimestamp`` rounds them, shown only when not zero."""
    frac, whole = _modf(value)
    us = round(frac * 1e6)
    seconds = int(whole)
    if us >= 1_000_000:
        us -= 1_000_000
        seconds += 1
    elif us < 0:
        us += 1_000_000
        seconds -= 1
    minute, secs = divmod(seconds, 60)
    prefix = _MINUTES.get(minute)
    if prefix is None:
        if len(_MINUTES) >= 4096:
            _MINUTES.clear()
        prefix = _MINUTES[minute] = (_EPOCH + timedelta(minutes=minute)).isoformat()[:17]
    if us:
        return prefix + _SECONDS[secs] + "." + str(us + 1_000_000)[1:] + "Z"
    return prefix + _SECONDS[secs] + "Z"


def records_json_raw(value: Any) -> list[dict[str, Any]]:
    """``[record_json(r) for r in records]`` from a ListRecords page's parsed
    ``Records`` member, without the typed ``Record``s: the same output, and for
    anything but the usual shape (``usual_records``) the typed parser's
    conversions and errors."""
    # each distinct timestamp of a page formatted once (a sync's records share one)
    seen: dict[float, str] = {}
    get, fmt = seen.get, iso_of_epoch

    def line(k: str, v: str | None, n: int, lmd: float, by: str | None,
             dlmd: float | None) -> dict[str, Any]:
        t = get(lmd)
        if t is None:
            t = seen[lmd] = fmt(lmd)
        if dlmd is None:
            dt = None
        else:
            dt = get(dlmd)
            if dt is None:
                dt = seen[dlmd] = fmt(dlmd)
        return {"key": k, "value": v, "sync_count": n, "last_modified_date": t,
                "last_modified_by": by, "device_last_modified_date": dt}

    out = usual_records(value, line)
    return out if out is not None else [record_json(r) for r in _records(value)]
