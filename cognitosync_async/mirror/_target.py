"""The target protocol, its rows, and the registry of target schemes.

A target is where ``mirror`` keeps the copy, and it is also the mirror's
whole state: each dataset row is that dataset's cursor. A target is one
class implementing :class:`Target`; a new kind of target (PostgreSQL, say)
is one module with such a class and one line in :data:`SCHEMES`.

The engine relies on these rules, which every target must keep:

* ``write_records`` (``exact=False``) is an idempotent upsert that never
  replaces a record with one of a lower or equal sync count (a conditional
  write in DynamoDB, ``ON CONFLICT ... WHERE`` in SQLite);
* ``write_records(..., exact=True)`` makes the dataset's records exactly
  the given ones (a full re-read: the first copy, or a re-created dataset
  whose old incarnation must go), whatever their sync counts;
* a method returns only once its writes are durable; the engine calls
  ``write_dataset`` (the cursor) only after ``write_records`` returned;
* ``delete_dataset`` removes the records, then writes the row with
  ``deleted`` true.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

import attrs

from .._exceptions import ParamValidationError


@attrs.frozen
class DatasetRow:
    """A dataset as the target keeps it (dates in epoch milliseconds).

    ``dataset_sync_count`` is the cursor: every record with a sync count up
    to it is in the target.
    """

    identity_pool_id: str
    identity_id: str
    dataset_name: str
    dataset_sync_count: int
    num_records: int | None = None
    data_storage: int | None = None
    creation_date: int | None = None
    last_modified_date: int | None = None
    last_modified_by: str | None = None
    deleted: bool = False


@attrs.frozen
class RecordRow:
    """A record as the target keeps it; a tombstone has ``value`` None and ``deleted`` True."""

    key: str
    value: str | None
    sync_count: int
    last_modified_date: int | None = None
    last_modified_by: str | None = None
    device_last_modified_date: int | None = None

    @property
    def deleted(self) -> bool:
        return self.value is None


@attrs.frozen
class WriteResult:
    """What one ``write_records`` changed: rows written, rows removed (``exact`` only)."""

    written: int = 0
    removed: int = 0


@runtime_checkable
class Target(Protocol):
    """Where the copy lives. See the module docstring for the rules."""

    #: ``"sqlite:copy.db"``: what the user named (for messages).
    spec: str

    async def open(self) -> None:
        """Connect; create the layout if missing (a target refuses one whose
        existing tables or keys differ from the layout: :class:`TargetLayoutError`)."""

    async def close(self) -> None:
        """Release connections (idempotent)."""

    async def datasets(self, identity_id: str) -> dict[str, DatasetRow]:
        """Every dataset row of an identity, deleted ones included, by name."""

    async def write_records(
        self, identity_id: str, dataset_name: str, records: Sequence[RecordRow], *,
        exact: bool = False,
    ) -> WriteResult:
        """Store records durably (see the rules); return what changed."""

    async def write_dataset(self, row: DatasetRow) -> None:
        """Store the dataset row (the cursor), durably. Called last."""

    async def delete_dataset(self, row: DatasetRow) -> int:
        """Remove the dataset's records, then store ``row`` with ``deleted`` true;
        return the number of records removed."""

    async def records(self, identity_id: str, dataset_name: str) -> list[RecordRow]:
        """Every record of a dataset (tombstones included), for ``verify``."""

    def identities(self) -> AsyncIterator[str]:
        """Every identity with a dataset row, for ``verify``."""


class TargetError(Exception):
    """A target that cannot be used as given (a usage error: exit 2)."""


class TargetUnavailable(TargetError):
    """A known scheme whose module or extra is not installed."""


class TargetLayoutError(TargetError):
    """The target exists but does not have the layout's tables, columns or keys."""


#: scheme -> ("module:Class", what to install when the module is missing).
#: The class is built as ``Class(rest_of_spec, spec=spec, create_table=...)``.
SCHEMES: dict[str, tuple[str, str]] = {
    "sqlite": ("cognitosync_async.mirror.sqlite:SqliteTarget", ""),
    "dynamodb": (
        "cognitosync_async.mirror.dynamodb:DynamoDBTarget",
        "the dynamodb target needs the 'dynamodb' extra: "
        "pip install 'cognitosync-async[dynamodb]'",
    ),
}


def parse_target(spec: str) -> tuple[str, str]:
    """``"sqlite:copy.db"`` -> ``("sqlite", "copy.db")``; refuses an unknown scheme.

    Raises ``ParamValidationError`` (parameter ``target``) without touching anything.
    """
    if not isinstance(spec, str):
        raise ParamValidationError("target", "must be a string such as sqlite:PATH")
    scheme, sep, rest = spec.partition(":")
    if not sep or scheme not in SCHEMES:
        known = ", ".join(f"{s}:..." for s in SCHEMES)
        raise ParamValidationError("target", f"must be one of {known} (got scheme "
                                   f"{scheme if sep else '(none)'!r})")
    if not rest:
        raise ParamValidationError("target", f"{scheme}: needs a name after the colon")
    return scheme, rest


def make_target(spec: str, *, create_table: bool = False, existing: bool = False) -> Target:
    """The target named by ``spec`` (not opened: nothing is created until ``open``).

    ``existing``: the copy must already be there (``verify`` reads it; a missing
    SQLite file or DynamoDB table is a :class:`TargetError`, and nothing is created)."""
    scheme, rest = parse_target(spec)
    where, missing = SCHEMES[scheme]
    module_name, _, class_name = where.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (exc.name == module_name or
                                     not exc.name.startswith("cognitosync_async")):
            raise TargetUnavailable(missing or f"the {scheme} target is not installed") \
                from None
        raise
    cls = getattr(module, class_name)
    target: Target = cls(rest, spec=spec, create_table=create_table and not existing,
                         existing=existing)
    return target
