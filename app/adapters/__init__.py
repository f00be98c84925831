"""Sensor adapters: one module per format, each turning raw records into events.

An adapter is chosen by name with `format=` (HTTP) or `--format` (CLI). It reads
`RawRecord`s framed by app/framing.py (JSON values, or text lines) and yields, for
each record, either `Accepted` items (events, audit records or findings, possibly with
warnings about fields that were lost) or one `Rejected` with a clear reason.
A record an adapter does not understand is rejected, never guessed at; a
well-formed record is never rejected.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from app.events import AuditRecord, EventBase, Finding

Item = EventBase | AuditRecord | Finding


@dataclass(frozen=True)
class RawRecord:
    """One record of the input: its 1-based position, raw text and parsed JSON value."""

    position: int
    text: str
    value: Any = None


@dataclass(frozen=True)
class Accepted:
    """A record turned into an event, audit record or finding; `warnings` say what was lost."""

    position: int
    item: Item
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Rejected:
    """A record that could not be used, with the reason and the raw text kept."""

    position: int
    reason: str
    raw: str


Outcome = Accepted | Rejected


class Adapter(Protocol):
    """What every adapter module provides (as module-level names)."""

    name: str
    framing: Literal["json", "lines"]

    def parse(self, records: Iterable[RawRecord]) -> Iterator[Outcome]: ...


# format name -> module under app.adapters; the README lists them.
FORMATS: dict[str, str] = {
    "storyline": "native",
    "tetragon": "tetragon",
    "sysmon-linux": "sysmon",
    "datadog": "datadog",
    "auditd": "auditd",
    "falco": "falco",
    "k8s-audit": "k8s_audit",
    "cloudtrail": "cloudtrail",
    "trivy": "trivy",
}


class UnknownFormat(ValueError):
    """The format name is not one of FORMATS."""


def get_adapter(name: str) -> Any:
    """Returns the adapter module for a format name."""
    module = FORMATS.get(name)
    if module is None:
        raise UnknownFormat(f"unknown format {name!r}; one of: {', '.join(sorted(FORMATS))}")
    try:
        return importlib.import_module(f"app.adapters.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"app.adapters.{module}":
            raise UnknownFormat(f"format {name!r} is not available yet") from None
        raise


def available_formats() -> list[str]:
    """Lists the format names whose adapter module exists."""
    found = []
    for name in FORMATS:
        try:
            get_adapter(name)
        except UnknownFormat:
            continue
        found.append(name)
    return found
