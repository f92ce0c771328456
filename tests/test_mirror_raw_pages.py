"""The mirror's raw page path (``record_rows`` over ``_call_raw``): the same target
rows as the typed records give, epoch seconds turned into milliseconds as
``epoch_ms(datetime.fromtimestamp(...))`` does, the same error for a bad page."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.records import records_member

from cognitosync_async._models import _MAX_EPOCH, _MIN_EPOCH, _records
from cognitosync_async.mirror._engine import epoch_ms, ms_of_epoch, record_row, record_rows


@given(st.floats(min_value=_MIN_EPOCH, max_value=_MAX_EPOCH - 1))
def test_ms_of_epoch_is_epoch_ms_of_the_datetime(value: float) -> None:
    assert ms_of_epoch(value) == epoch_ms(datetime.fromtimestamp(value, timezone.utc))


@pytest.mark.parametrize("value", [0.0, -0.0, -0.5, -1e-7, 1700000000.9999995,
                                   1700000000.0000005, 1700000000.0005, 1700000000.0015,
                                   _MIN_EPOCH, _MAX_EPOCH, 1.0000015, 951782400.25])
def test_ms_of_epoch_edges(value: float) -> None:
    assert ms_of_epoch(value) == epoch_ms(datetime.fromtimestamp(value, timezone.utc))


def _outcome(read: Any, page: Any) -> Any:
    try:
        return read(page)
    except Exception as exc:  # the typed parser's error, to compare
        return (type(exc), str(exc))


@given(records_member)
def test_raw_rows_are_the_typed_records_rows(page: Any) -> None:
    """Same rows for every page (a record without a key has none), same error
    (type and message) for a bad one."""
    def typed(p: Any) -> Any:
        return [record_row(r) for r in _records(p) if r.key is not None]

    assert _outcome(record_rows, page) == _outcome(typed, page)


def test_a_raw_row_is_a_whole_frozen_record_row() -> None:
    import attrs

    from cognitosync_async.mirror import RecordRow

    (row,) = record_rows([{"Key": "k", "Value": "v", "SyncCount": 3,
                           "LastModifiedDate": 1700000000.5, "LastModifiedBy": "me",
                           "DeviceLastModifiedDate": None}])
    want = RecordRow("k", "v", 3, 1700000000500, "me", None)
    assert row == want and hash(row) == hash(want) and repr(row) == repr(want)
    assert attrs.asdict(row) == attrs.asdict(want)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        row.value = "changed"  # type: ignore[misc]
