"""Row shaping reads flat models' fields off the instance and digests the model's JSON
bytes: the same values model_dump and model_dump_json give, at less cost."""

from __future__ import annotations

import hashlib
import typing
from typing import Any, get_args

from pydantic import BaseModel

from app.adapters import Accepted
from app.events import Event, EventBase
from app.generate import lines
from app.ingest import outcomes
from app.rows import FLAT_MODELS, _digest, _fields, _process_values

PAYLOADS = ("process", "parent", "file", "network", "dns", "imds", "alert")


def models_in(annotation: Any) -> set[type[BaseModel]]:
    """The model classes an annotation names, through unions, lists and Annotated."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {annotation}
    return {m for arg in get_args(annotation) for m in models_in(arg)}


def test_a_flat_model_holds_no_other_model() -> None:
    for model in FLAT_MODELS:
        for name, field in model.model_fields.items():
            assert not models_in(field.annotation), f"{model.__name__}.{name}"


def test_every_payload_row_shaping_reads_is_a_flat_model() -> None:
    event_classes = models_in(get_args(Event)[0])
    assert len(event_classes) == 8
    for cls in event_classes:
        hints = typing.get_type_hints(cls, include_extras=True)
        for name in PAYLOADS:
            if name in hints:
                assert models_in(hints[name]) <= set(FLAT_MODELS), f"{cls.__name__}.{name}"


def generated_events() -> list[EventBase]:
    text = [*lines(3, 4000), *lines(11, 4000, 5)]
    found = [o.item for o in outcomes("storyline", text) if isinstance(o, Accepted)]
    assert {e.kind for e in found} >= {  # type: ignore[attr-defined]
        "process_exec", "process_exit", "file_open", "network_connect",
        "dns_query", "imds_request", "alert",
    }  # fmt: skip
    return found  # type: ignore[return-value]


def test_fields_and_digest_are_what_model_dump_gives() -> None:
    for event in generated_events():
        for name in PAYLOADS:
            payload = getattr(event, name, None)
            if payload is not None:
                assert _fields(payload) == payload.model_dump(exclude_none=True)
        values = _process_values(event.process, "h", "c")
        dumped = event.process.model_dump(exclude={"key"}, exclude_none=True)
        assert values == {**dumped, "host_id": "h", "container_id": "c"}
        expected = hashlib.sha256(event.model_dump_json().encode()).hexdigest()
        assert _digest(event) == expected
