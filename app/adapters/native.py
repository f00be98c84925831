"""The native format (`format=storyline`): app/events.py's models as JSON, one per record."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from app.adapters import Outcome, RawRecord
from app.adapters.fields import Unusable
from app.adapters.outcomes import Mapped, answer
from app.events import EVENT_ADAPTER, EVENT_KINDS, SHORT_RECORD, WITHIN_BOUNDS, record_id

name = "storyline"
framing = "json"


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Validates each record as a native event."""
    for record in records:
        short = len(record.text) <= SHORT_RECORD
        yield from answer(record.position, record.text, "", _event, record.value, short)


def _event(value: Any, short: bool) -> Mapped:
    if not isinstance(value, dict):
        raise Unusable("a native event must be a JSON object")
    if "kind" not in value:
        raise Unusable(f"missing field 'kind' (one of: {', '.join(EVENT_KINDS)})")
    if not value.get("id"):
        value = {**value, "id": record_id(name, value)}
    # a short record cannot hold a value past the bounds (see SHORT_RECORD)
    context = WITHIN_BOUNDS if short else None
    return [(EVENT_ADAPTER.validate_python(value, context=context), ())]
