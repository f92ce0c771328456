"""Opaque paging tokens (``nextToken``/``NextToken``) of both services."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ._errors import MAX_LONG, invalid_parameter

#: Leading bytes of every token: they encode as ``+/+/``, so each token exercises a
#: client's percent-encoding of ``+`` and ``/`` (the JSON after them is ASCII, which
#: alone never yields either); ``=`` padding follows the JSON's length.
_TOKEN_MARK = b"\xfb\xff\xbf"


def encode_token(data: dict[str, Any]) -> str:
    """An opaque paging token in standard base64, ``+ / =`` included
    (docs/service-behaviour.md#c7)."""
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.b64encode(_TOKEN_MARK + raw).decode()


def decode_token(token: str, name: str = "nextToken") -> dict[str, Any]:
    """The position a token holds; any token this service did not issue is a 400."""
    try:
        raw = base64.b64decode(token, validate=True)
        if not raw.startswith(_TOKEN_MARK):
            raise ValueError("not a token of this service")
        data = json.loads(raw[len(_TOKEN_MARK):])
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise invalid_parameter(f"Invalid {name}") from None
    if not isinstance(data, dict):
        raise invalid_parameter(f"Invalid {name}")
    for value in data.values():  # positions are flat: strings and 64-bit counts only
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise invalid_parameter(f"Invalid {name}")
        if isinstance(value, int) and not 0 <= value <= MAX_LONG:
            raise invalid_parameter(f"Invalid {name}")
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise invalid_parameter(f"Invalid {name}") from None
    return data
