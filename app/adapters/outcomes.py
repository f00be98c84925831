"""Answers records with outcomes: what a record maps to is Accepted, why it cannot be Rejected.

Every adapter answers a record through `answer`: its mapping returns the items
(each with its warnings) or raises Unusable or pydantic's ValidationError, whose
reason becomes the one Rejected. A record that holds records (an envelope:
CloudTrail's `Records`, an EventList's `items`, a Logs API search's `data`) is
answered item by item through `answer_each`, so that one bad item is rejected
alone, by its index, with its own JSON as its raw text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from pydantic import ValidationError

from app.adapters import Accepted, Item, Outcome, RawRecord, Rejected
from app.adapters.fields import Unusable
from app.events import EVENT_KINDS

# What a record maps to: its items, each with the warnings about what it lost.
Mapped = Sequence[tuple[Item, Sequence[str]]]


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


def answer(
    position: int, raw: str, where: str, build: Callable[..., Mapped], *args: Any
) -> Iterator[Outcome]:
    """Maps one record with build(*args); a reason rejects it whole, prefixed by `where`."""
    try:
        mapped = build(*args)
    except Unusable as exc:
        yield Rejected(position, f"{where}{exc}", raw)
        return
    except ValidationError as exc:
        yield Rejected(position, f"{where}{describe(exc)}", raw)
        return
    for item, warnings in mapped:
        yield Accepted(position, item, tuple(warnings))


def answer_each(
    record: RawRecord, key: str, values: Iterable[Any], build: Callable[[Any], Mapped]
) -> Iterator[Outcome]:
    """Maps each value an envelope's `key` list holds alone; reasons name `key[index]`."""
    for index, value in enumerate(values):
        yield from answer(record.position, compact(value), f"{key}[{index}]: ", build, value)


def compact(value: Any) -> str:
    """Returns a JSON value as compact text: the raw text of a record cut out of another."""
    return json.dumps(value, separators=(",", ":"))
