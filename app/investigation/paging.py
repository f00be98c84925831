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
