"""Page sizes and opaque cursors, as every list of the API and the CLI uses them."""

from __future__ import annotations

import base64
import json
from typing import Any

from app.errors import InputError

MAX_PAGE = 200


def page_size(first: int) -> int:
    """Returns `first` when it is a page size the service serves, else raises InputError."""
    if first < 1 or first > MAX_PAGE:
        raise InputError(f"first must be between 1 and {MAX_PAGE}")
    return first


def encode_cursor(*parts: Any) -> str:
    """Returns an opaque cursor holding `parts`."""
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, Any]:
    """Returns the two parts of a cursor, or raises InputError."""
    try:
        first, second = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise InputError("invalid cursor") from None
    return first, second


def time_bound(value: str | None, name: str) -> str | None:
    """Returns a `from`/`to` bound as normalised RFC 3339 UTC, or raises InputError."""
    from app.events import normalize_ts

    if value is None:
        return None
    try:
        return normalize_ts(value)
    except ValueError:
        raise InputError(f"{name} is not an RFC 3339 time: {value[:64]!r}") from None


def time_window(start: str | None, end: str | None) -> tuple[str | None, str | None]:
    """Returns a checked (from, to) pair: each RFC 3339 or None, from not after to."""
    lo, hi = time_bound(start, "from"), time_bound(end, "to")
    if lo is not None and hi is not None and lo > hi:
        raise InputError("from is after to")
    return lo, hi


def epoch_ns(ts: str) -> int:
    """Returns nanoseconds since the epoch of a normalised time (normalize_ts's form)."""
    from datetime import UTC, datetime

    seconds, _, fraction = ts.rstrip("Z").partition(".")
    whole = datetime.strptime(seconds, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(whole.timestamp()) * 10**9 + int((fraction or "0").ljust(9, "0")[:9])
