"""The native format (`format=storyline`): app/events.py's models as JSON, one per record."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pydantic import ValidationError

from app.adapters import Accepted, Outcome, RawRecord, Rejected
from app.events import EVENT_ADAPTER, EVENT_KINDS, record_id

name = "storyline"
framing = "json"


def describe(error: ValidationError) -> str:
    """Turns a pydantic error into one readable line: field path and message."""
    parts = []
    for item in error.errors()[:5]:
        loc = list(item["loc"])
        if loc and loc[0] in EVENT_KINDS:
            loc = loc[1:]  # the union's tag: the record's own kind, not a field
        where = ".".join(str(p) for p in loc) or "record"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Validates each record as a native event."""
    for record in records:
        value = record.value
        if not isinstance(value, dict):
            yield Rejected(record.position, "a native event must be a JSON object", record.text)
            continue
        if "kind" not in value:
            reason = f"missing field 'kind' (one of: {', '.join(EVENT_KINDS)})"
            yield Rejected(record.position, reason, record.text)
            continue
        if not value.get("id"):
            value = {**value, "id": record_id(name, value)}
        try:
            event = EVENT_ADAPTER.validate_python(value)
        except ValidationError as exc:
            yield Rejected(record.position, describe(exc), record.text)
            continue
        yield Accepted(record.position, event)
