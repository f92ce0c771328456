"""Hypothesis strategies for ListRecords ``Records`` members: the usual shape the
service sends, and odd ones (members left out or of any type)."""

from __future__ import annotations

from hypothesis import strategies as st

member = st.one_of(
    st.none(), st.text(max_size=5), st.integers(-3, 3), st.booleans(),
    st.floats(min_value=-1e12, max_value=3e11, allow_nan=False), st.just("2024-01-02T03:04:05Z"),
)
usual_record = st.fixed_dictionaries({
    "Key": st.text(max_size=5), "Value": st.one_of(st.none(), st.text(max_size=5)),
    "SyncCount": st.integers(0, 10**6), "LastModifiedBy": st.one_of(st.none(), st.text()),
    "LastModifiedDate": st.floats(min_value=0, max_value=4e9),
    "DeviceLastModifiedDate": st.one_of(st.none(), st.floats(min_value=0, max_value=4e9)),
})
odd_record = st.dictionaries(
    st.sampled_from(["Key", "Value", "SyncCount", "LastModifiedBy", "LastModifiedDate",
                     "DeviceLastModifiedDate"]), member)
#: a page's ``Records``: usual records, a mix with odd ones and non-objects, or not a list
records_member = st.one_of(
    st.lists(usual_record, max_size=6),
    st.lists(st.one_of(usual_record, odd_record, st.integers()), max_size=6),
    st.none(), st.text(),
)
