"""The JSON shape of a record and of a dataset: the export's lines and the
command line's ``--output json`` use the same one (ISO 8601 UTC dates)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .._models import Dataset, Record


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
