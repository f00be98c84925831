"""A story's threat timeline as GraphQL types; computed by app/investigation/timeline.py."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from app.api.actions import ActionApproval, approval_of
from app.api.types import (
    LINKS,
    Annotation,
    Link,
    PageInfo,
    Severity,
    Signal,
    StoryEvent,
    Timestamp,
    TriageChange,
    change_of,
    from_row,
    links_of,
    signal_of,
    story_event_of,
)
from app.investigation.timeline import (
    ACTION,
    ANNOTATION,
    AUDIT_RECORD,
    EVENT,
    TRIAGE,
    Item,
    timeline_page,
)

# GraphQL ------------------------------------------------------------------------


@strawberry.enum(description="What a timeline entry is.")
class TimelineEntryType(Enum):
    EVENT = "event"
    TRIAGE = "triage"
    AUDIT_RECORD = "audit_record"
    ANNOTATION = "annotation"
    ACTION = "action"


@strawberry.type(
    description="A control-plane audit record (CloudTrail, Kubernetes audit) related to a "
    "story: it RELATES_TO one of the story's contexts, a process in one, or a container or pod "
    "such a process ran in."
)
class AuditRecord:
    id: strawberry.ID
    source: str = strawberry.field(description="cloudtrail or k8s_audit.")
    ts: Timestamp
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

    @strawberry.field(description=LINKS)
    def links(self, info: Info) -> list[Link]:
        return links_of(info, "audit_record", self, self.ts, self.ts)


@strawberry.type(
    description="One entry of a story's timeline: an event (with the signals on it and their "
    "recommended actions), a triage change, a related audit record, an analyst's note or "
    "tag on one of the story's events or processes, or an approved response action."
)
class TimelineEntry:
    type: TimelineEntryType
    kind: str = strawberry.field(
        description="The event's kind, or triage, audit_record, annotation or action: what "
        "`kinds` filters on."
    )
    ts: Timestamp
    event: StoryEvent | None
    triage: TriageChange | None
    audit_record: AuditRecord | None
    annotation: Annotation | None
    approval: ActionApproval | None = strawberry.field(
        description="An approved response action, with who approved it and its delivery."
    )
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
    return from_row(AuditRecord, r, partial=True)


def _entry(item: Item) -> TimelineEntry:
    signals = [signal_of(s) for s in item.signals]
    return TimelineEntry(
        type=TimelineEntryType(item.type),
        kind=item.kind,
        ts=Timestamp(item.ts),
        event=_story_event(item.record) if item.type == EVENT else None,
        triage=change_of(item.record) if item.type == TRIAGE else None,
        audit_record=_audit_record(item.record) if item.type == AUDIT_RECORD else None,
        annotation=from_row(Annotation, item.record) if item.type == ANNOTATION else None,
        approval=approval_of(item.record) if item.type == ACTION else None,
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
    start: str | None = None,
    end: str | None = None,
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
        start,
        end,
    )
    return TimelineConnection(
        edges=[TimelineEdge(cursor=i.cursor, node=_entry(i)) for i in page.items],
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
    )
