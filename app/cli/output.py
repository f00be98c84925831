"""How the CLI prints: aligned tables that fit the terminal."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from typing import Any

from app.events import format_ts

# Keys whose values are times in the rows the CLI prints (Cypher rows print them as
# Neo4j's toString() does, trailing zeros trimmed): printed in the API's one format.
TIME_KEYS = frozenset({
    "ts", "first_seen", "last_seen", "updated_at", "received_at", "start_time",
    "exit_time", "created_at", "expires_at", "seen", "approved_at", "revoked_at",
})  # fmt: skip


def with_times(value: Any, key: str | None = None) -> Any:
    """Returns a row (maps, lists) with its times in the API's one format (format_ts):
    Neo4j temporal values anywhere, and the text under TIME_KEYS."""
    if isinstance(value, dict):
        return {k: with_times(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [with_times(v, key) for v in value]
    if hasattr(value, "iso_format") or (key in TIME_KEYS and isinstance(value, str)):
        return format_ts(value)
    return value


def print_table(
    columns: Sequence[str], rows: Sequence[dict[str, Any]], shrink: str | None = None
) -> None:
    """Prints rows as an aligned text table with a row count.

    With `shrink`, that column's cells are cut (ending in "…") so that the table
    fits the terminal (120 columns when the output is not a terminal).
    """
    cells = [[cell(with_times(row.get(c), c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if shrink is not None and columns:
        index = list(columns).index(shrink)
        spare = terminal_width() - (sum(widths) + 3 * (len(widths) - 1))
        if spare < 0:
            widths[index] = max(len(shrink), widths[index] + spare)
            for r in cells:
                r[index] = fit(r[index], widths[index])
    if columns:
        print(" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
        print("-+-".join("-" * w for w in widths))
    for r in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    print(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def terminal_width() -> int:
    """Returns the terminal's width, or 120 columns when the output is not a terminal."""
    return shutil.get_terminal_size((120, 24)).columns


def fit(text: str, width: int) -> str:
    """Cuts text to width characters, ending in "…" when it was longer."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def cell(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)
