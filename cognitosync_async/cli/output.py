"""``--output json|text|table``: how a command prints what it got.

- ``json``: indented, non-ASCII as is, fields in a fixed order (each object's
  own: a dataset's as :func:`.serialize.dataset_json` lists them, a mirror
  summary's as ``cognitosync_async.mirror`` documents), a dataset's values
  (``get``) sorted by key, lists in the service's order: the same data always
  prints the same bytes. The default
  of the data commands (``datasets``, ``records``, ``get``, ``put``, ``delete``),
  as in the aws CLI.
- ``text``: tab-separated, one row per item, a header line of column names
  first (``tail -n +2`` skips it); in a cell, a backslash, tab, newline or
  carriage return is written ``\\\\``, ``\\t``, ``\\n``, ``\\r``, so one row stays one
  line; an absent value is an empty cell. For the jobs (``export``, ``import``,
  ``mirror``, ``verify``, ``demo``) and for ``put`` / ``delete``, ``text`` is the
  report written for a person: the default of the jobs.
- ``table``: the rows of ``text`` in aligned columns under a header and a rule;
  for a single object (a job's summary, ``put``'s result), FIELD and VALUE
  columns, nested objects flattened to dotted names.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import IO, Any

FORMATS = ("json", "text", "table")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def output_format(value: str) -> str:
    """The ``--output`` type: a format name."""
    if value in FORMATS:
        return value
    raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from json, text, table)")


def output_format_or_hint(value: str) -> str:
    """The ``--output`` type of a command that writes a file (``export``, ``demo``):
    a file name, as ``--output FILE`` took before, is refused with a hint."""
    if value in FORMATS:
        return value
    raise argparse.ArgumentTypeError(
        f"invalid choice: {value!r} (choose from json, text, table; "
        "the file to write to is --outfile FILE)"
    )


def dumps(value: Any) -> str:
    """Stable JSON: indented, each object's fields in the order it defines."""
    return json.dumps(value, ensure_ascii=False, indent=2)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value).translate(_ESCAPES)


def tab_separated(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["\t".join(columns)]
    lines += ["\t".join(cell(v) for v in row) for row in rows]
    return "\n".join(lines)


def aligned(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, cells)])


def fields(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted name, value)`` for every scalar (or list) of a nested object, sorted."""
    out: list[tuple[str, Any]] = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, dict) and value:
            out += fields(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def emit_rows(fmt: str, data: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]],
              stream: IO[str] | None = None) -> None:
    """A collection: ``data`` as JSON, or ``rows`` under ``columns``."""
    if fmt == "json":
        text = dumps(data)
    elif fmt == "text":
        text = tab_separated(columns, rows)
    else:
        text = aligned(columns, rows)
    print(text, file=stream or sys.stdout)


def emit_object(fmt: str, data: dict[str, Any], report: str,
                stream: IO[str] | None = None) -> None:
    """One object (a summary, a result): JSON, the ``report`` for a person, or FIELD/VALUE."""
    if fmt == "json":
        text = dumps(data)
    elif fmt == "text":
        text = report
    else:
        text = aligned(("FIELD", "VALUE"), fields(data))
    print(text, file=stream or sys.stdout)
