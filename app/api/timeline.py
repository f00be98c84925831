"""A story's threat timeline: its events, triage changes and related audit records in order.

Entries are ordered by time; ties at one time put audit records first (an exec
audit record explains the processes it starts), then events, then triage changes
(an analyst reacts to what happened). Events at one time follow causality: a
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
from enum import Enum
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from app.api.stories import (
    PageInfo,
    Severity,
    Signal,
    StoryEvent,
    TriageChange,
    change_of,
    page_size,
    signal_of,
    story_event_of,
)
from app.errors import InputError
from app.neo4j.database import Database

EVENT = "event"
TRIAGE = "triage"
AUDIT_RECORD = "audit_record"

# entry type rank at one time: audit records, then events, then triage changes
_RANK = {AUDIT_RECORD: 0, EVENT: 1, TRIAGE: 2}
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
    return tuple(parts)  # type: ignore[return-value]


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
) -> Page:
    """Computes one page of a story's timeline.

    `keys` are the story's correlation keys. `kinds` keeps entries of those kinds:
    event kinds, 'triage', 'audit_record' (None: all). `severities` keeps only
    events carrying a signal of one of them; triage changes and audit records
    carry none, so with `severities` they appear only when `kinds` names them.
    """
    first = page_size(first)
    kinds, severities = kinds or None, severities or None  # an empty filter keeps everything
    position = decode_position(after) if after else None
    after_ns = position[0] if position else _BEGINNING_NS
    after_s, after_sub = divmod(after_ns, 10**9)
    window = {"after_s": after_s, "after_ns": after_sub, "limit": first + 1}
    event_kinds = None if kinds is None else [k for k in kinds if k not in (TRIAGE, AUDIT_RECORD)]

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

    if position is not None:
        found = [f for f in found if f[0] > position]
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
        items.append(Item(type_, kind, record["ts"], encode_position(pos), record, signals))
    return Page(
        items=items,
        has_next_page=len(found) > first,
        end_cursor=encode_position(page[-1][0]) if page else None,
    )


# GraphQL ------------------------------------------------------------------------


@strawberry.enum(description="What a timeline entry is.")
class TimelineEntryType(Enum):
    EVENT = "event"
    TRIAGE = "triage"
    AUDIT_RECORD = "audit_record"


@strawberry.type(
    description="A control-plane audit record (CloudTrail, Kubernetes audit) related to a "
    "story: it RELATES_TO one of the story's contexts, a process in one, or a container or pod "
    "such a process ran in."
)
class AuditRecord:
    id: strawberry.ID
    source: str = strawberry.field(description="cloudtrail or k8s_audit.")
    ts: str
    actor: str | None
    action: str | None
    target: str | None
    outcome: str | None
    source_ip: str | None
    user_agent: str | None
    access_key_id: str | None
    cluster: str | None
    namespace: str | None
    pod: str | None
    container: str | None
    command: list[str] | None


@strawberry.type(
    description="One entry of a story's timeline: an event (with the signals on it and their "
    "recommended actions), a triage change, or a related audit record."
)
class TimelineEntry:
    type: TimelineEntryType
    kind: str = strawberry.field(
        description="The event's kind, or triage, or audit_record: what `kinds` filters on."
    )
    ts: str
    event: StoryEvent | None
    triage: TriageChange | None
    audit_record: AuditRecord | None
    signals: list[Signal] = strawberry.field(description="The signals on the event.")
    recommended_actions: list[str] = strawberry.field(
        description="The recommended actions of the event's signals, each once."
    )


@strawberry.type
class TimelineEdge:
    cursor: str
    node: TimelineEntry


@strawberry.type(description="A page of a story's timeline, in time order.")
class TimelineConnection:
    edges: list[TimelineEdge]
    page_info: PageInfo


def _story_event(r: dict[str, Any]) -> StoryEvent:
    return story_event_of({**r, "rules": [s["rule_id"] for s in r["signals"]]})


def _audit_record(r: dict[str, Any]) -> AuditRecord:
    return AuditRecord(
        id=strawberry.ID(r["id"]),
        source=r["source"],
        ts=r["ts"],
        actor=r.get("actor"),
        action=r.get("action"),
        target=r.get("target"),
        outcome=r.get("outcome"),
        source_ip=r.get("source_ip"),
        user_agent=r.get("user_agent"),
        access_key_id=r.get("access_key_id"),
        cluster=r.get("cluster"),
        namespace=r.get("namespace"),
        pod=r.get("pod"),
        container=r.get("container"),
        command=r.get("command"),
    )


def _entry(item: Item) -> TimelineEntry:
    signals = [signal_of(s) for s in item.signals]
    return TimelineEntry(
        type=TimelineEntryType(item.type),
        kind=item.kind,
        ts=item.ts,
        event=_story_event(item.record) if item.type == EVENT else None,
        triage=change_of(item.record) if item.type == TRIAGE else None,
        audit_record=_audit_record(item.record) if item.type == AUDIT_RECORD else None,
        signals=signals,
        recommended_actions=list(dict.fromkeys(a for s in signals for a in s.recommended_actions)),
    )


async def resolve_timeline(
    info: Info,
    story_id: str,
    keys: list[str],
    first: int,
    after: str | None,
    kinds: list[str] | None,
    severities: list[Severity] | None,
) -> TimelineConnection:
    """Resolves Story.timeline: one page of entries with Relay cursors."""
    page = await run_in_threadpool(
        timeline_page,
        info.context["db"],
        story_id,
        keys,
        first,
        after,
        kinds,
        [s.value for s in severities] if severities else None,
    )
    return TimelineConnection(
        edges=[TimelineEdge(cursor=i.cursor, node=_entry(i)) for i in page.items],
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
    )
