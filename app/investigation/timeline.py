"""A story's threat timeline: its events, triage changes and related audit records in order.

Entries are ordered by time; ties at one time put audit records first (an exec
audit record explains the processes it starts), then events, then triage changes
(an analyst reacts to what happened), then analysts' notes and tags on the story's
events and processes. Events at one time follow causality: a
process's lineage depth (a parent's exec before its child's), then the
process's start time and key, then fork, exec, other kinds, exit, then event id.

A cursor is that ordering key, so a page seeks from it: per correlation key,
the events after the cursor's time are read in Event(correlation_key, ts) index
order up to the page size (cypher/timeline/events.cypher), with the tie groups
at both ends; Python merges the keys, triage changes and audit records and cuts
the page. No page sorts or scans the story's other events.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from app.errors import InputError
from app.events import format_ts
from app.investigation.paging import epoch_ns, page_size, time_window
from app.neo4j.database import Database

EVENT = "event"
TRIAGE = "triage"
AUDIT_RECORD = "audit_record"
ANNOTATION = "annotation"
ACTION = "action"

# entry type rank at one time: audit records, then events, then triage changes, then
# analysts' notes and tags on events and processes, then approved response actions
_RANK = {AUDIT_RECORD: 0, EVENT: 1, TRIAGE: 2, ANNOTATION: 3, ACTION: 4}
# kind rank for one process at one time
_KIND_RANK = {"process_fork": 0, "process_exec": 1, "process_exit": 3}
_OTHER_KIND = 2
# the cursor time of the first page: before every event (0001-01-01T00:00:00Z)
_BEGINNING_NS = -62_135_596_800 * 10**9

# (ts in ns, entry rank, lineage depth, process start in ns, process key, kind rank, id)
Position = tuple[int, int, int, int, str, int, str]
_POSITION_TYPES = (int, int, int, int, str, int, str)


@dataclass(frozen=True)
class Item:
    """One timeline entry: its type (event, triage, audit_record), kind, time and record."""

    type: str
    kind: str
    ts: str
    cursor: str
    record: dict[str, Any]
    signals: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    """One page of a timeline."""

    items: list[Item]
    has_next_page: bool
    end_cursor: str | None


def encode_position(position: Position) -> str:
    """Returns the opaque cursor of a position."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decode_position(cursor: str) -> Position:
    """Returns the position a cursor names; ValueError when it is not one of ours."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:  # binascii, unicode and JSON errors all are
        raise InputError("invalid cursor") from None
    if not (
        isinstance(parts, list)
        and len(parts) == len(_POSITION_TYPES)
        and all(
            isinstance(p, t) and not isinstance(p, bool)
            for p, t in zip(parts, _POSITION_TYPES, strict=True)
        )
    ):
        raise InputError("invalid cursor")
    return tuple(parts)  # type: ignore[return-value,unused-ignore]


def _event_position(row: dict[str, Any]) -> Position:
    return (
        row["ts_ns"],
        _RANK[EVENT],
        row["depth"],
        row["start_ns"] or 0,
        row["process_key"] or "",
        _KIND_RANK.get(row["kind"], _OTHER_KIND),
        row["id"],
    )


def _record_position(kind: str, ts_ns: int, record_id: str) -> Position:
    return (ts_ns, _RANK[kind], 0, 0, "", 0, record_id)


def _wanted(kind: str, kinds: list[str] | None, severities: list[str] | None) -> bool:
    # a severity filter keeps flagged events; other entries only when kinds names them
    return kind in kinds if kinds is not None else severities is None


def timeline_page(
    db: Database,
    story_id: str,
    keys: list[str],
    first: int = 50,
    after: str | None = None,
    kinds: list[str] | None = None,
    severities: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Page:
    """Computes one page of a story's timeline.

    `keys` are the story's correlation keys. `kinds` keeps entries of those kinds:
    event kinds, 'triage', 'audit_record', 'annotation', 'action' (None: all).
    `severities` keeps only events carrying a signal of one of them; the other entries
    carry none, so with `severities` they appear only when `kinds` names them.
    `start` and `end` (RFC 3339, either may be None) keep the entries of that
    window, both ends included.
    """
    first = page_size(first)
    kinds, severities = kinds or None, severities or None  # an empty filter keeps everything
    start, end = time_window(start, end)
    position = decode_position(after) if after else None
    after_ns = position[0] if position else _BEGINNING_NS
    if start is not None:  # the queries read after a time: one nanosecond before start
        after_ns = max(after_ns, epoch_ns(start) - 1)
    after_s, after_sub = divmod(after_ns, 10**9)
    window = {"after_s": after_s, "after_ns": after_sub, "limit": first + 1}
    event_kinds = (
        None
        if kinds is None
        else [k for k in kinds if k not in (TRIAGE, AUDIT_RECORD, ANNOTATION, ACTION)]
    )

    found: list[tuple[Position, str, str, dict[str, Any]]] = []
    if event_kinds is None or event_kinds:
        if severities:
            rows = db.read(
                "timeline/flagged_events",
                keys=keys,
                severities=severities,
                kinds=event_kinds,
                **window,
            )
        elif event_kinds is None:
            rows = db.read("timeline/events", keys=keys, **window)
        else:
            rows = db.read("timeline/events_of_kinds", keys=keys, kinds=event_kinds, **window)
        found += [(_event_position(r), EVENT, r["kind"], {"id": r["id"]}) for r in rows]
    if _wanted(TRIAGE, kinds, severities):
        for r in db.read("timeline/triage_changes", id=story_id, **window):
            pos = _record_position(TRIAGE, r["ts_ns"], r["change"]["id"])
            found.append((pos, TRIAGE, TRIAGE, r["change"]))
    if _wanted(AUDIT_RECORD, kinds, severities):
        for r in db.read("timeline/audit_records", keys=keys, **window):
            pos = _record_position(AUDIT_RECORD, r["ts_ns"], r["record"]["id"])
            found.append((pos, AUDIT_RECORD, AUDIT_RECORD, r["record"]))

    if _wanted(ANNOTATION, kinds, severities):
        for r in db.read("timeline/annotations", keys=keys, **window):
            pos = _record_position(ANNOTATION, r["ts_ns"], r["annotation"]["id"])
            found.append((pos, ANNOTATION, ANNOTATION, r["annotation"]))

    if _wanted(ACTION, kinds, severities):
        for r in db.read("timeline/approvals", id=story_id, **window):
            pos = _record_position(ACTION, r["ts_ns"], r["approval"]["id"])
            found.append((pos, ACTION, ACTION, r["approval"]))

    if position is not None:
        found = [f for f in found if f[0] > position]
    if end is not None:
        # each source read in time order from the same point: what is left of the
        # window is a prefix of each, so the page and has_next_page stay exact
        end_ns = epoch_ns(end)
        found = [f for f in found if f[0][0] <= end_ns]
    found.sort(key=lambda f: f[0])
    page = found[:first]

    event_ids = [record["id"] for _, type_, _, record in page if type_ == EVENT]
    details = (
        {r["id"]: r for r in db.read("timeline/event_details", ids=event_ids)} if event_ids else {}
    )
    items = []
    for pos, type_, kind, record in page:
        signals: list[dict[str, Any]] = []
        if type_ == EVENT:
            if record["id"] not in details:
                continue  # deleted since the candidates were read
            record = details[record["id"]]
            signals = record["signals"]
        ts = format_ts(record["ts"]) or ""
        items.append(Item(type_, kind, ts, encode_position(pos), record, signals))
    return Page(
        items=items,
        has_next_page=len(found) > first,
        end_cursor=encode_position(page[-1][0]) if page else None,
    )
