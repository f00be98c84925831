"""The GraphQL types every part of the API shares: severities, statuses, signals,
triage changes, events, explanations, pages; and the builders from Cypher rows."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry


@strawberry.enum(description="Triage status of a story.")
class StoryStatus(Enum):
    OPEN = "open"
    UNDER_REVIEW = "under_review"
    ARCHIVED = "archived"


@strawberry.enum(description="Severity of a signal or story.")
class Severity(Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@strawberry.type(description="A rule match on an event.")
class Signal:
    id: strawberry.ID
    rule_id: str
    title: str
    severity: Severity
    tactic: str | None
    technique: str | None
    source: str | None
    compromises: bool
    ts: str
    event_id: str | None
    event_summary: str | None
    process_key: str | None
    process_exe: str | None
    process_pid: int | None
    host_id: str | None
    recommended_actions: list[str]


@strawberry.type(description="One triage change: who changed what, when, from what to what.")
class TriageChange:
    id: strawberry.ID
    ts: str
    actor: str
    field: str = strawberry.field(description="status, assignee, note or merge.")
    from_value: str | None
    to_value: str | None
    comment: str | None


@strawberry.type(description="An event of a story's timeline.")
class StoryEvent:
    id: strawberry.ID
    kind: str
    ts: str
    summary: str | None
    host_id: str | None
    process_key: str | None
    process_pid: int | None
    process_exe: str | None
    signal_rules: list[str]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class StoryEventEdge:
    cursor: str
    node: StoryEvent


@strawberry.type(description="A page of a story's events, in time order.")
class StoryEventConnection:
    edges: list[StoryEventEdge]
    page_info: PageInfo


@strawberry.type(
    description="Why an event has its correlation key, or why a story's context exists."
)
class Explanation:
    layer: str = strawberry.field(description="The context layer the key comes from.")
    context_class: str = strawberry.field(description="session or ambient.")
    correlation_key: str
    root_process_key: str | None = strawberry.field(
        description="The process that started the context."
    )
    root_process_exe: str | None
    root_process_pid: int | None
    root_process_args: list[str] | None
    reason: str | None = strawberry.field(
        description="The attribute or signal that started the context."
    )


def explanation_of(r: dict[str, Any]) -> Explanation:
    """Builds an Explanation from a context row (event_by_id, story_contexts)."""
    return Explanation(
        layer=r["layer"],
        context_class=r["context_class"],
        correlation_key=r["correlation_key"],
        root_process_key=r["root_key"],
        root_process_exe=r["root_exe"],
        root_process_pid=r["root_pid"],
        root_process_args=r["root_args"],
        reason=r["reason"],
    )


def story_event_of(r: dict[str, Any]) -> StoryEvent:
    """Builds a StoryEvent from an event row (rules: the rule ids of its signals)."""
    return StoryEvent(
        id=strawberry.ID(r["id"]),
        kind=r["kind"],
        ts=r["ts"],
        summary=r["summary"],
        host_id=r["host_id"],
        process_key=r["process_key"],
        process_pid=r["process_pid"],
        process_exe=r["process_exe"],
        signal_rules=r["rules"],
    )


def signal_of(s: dict[str, Any]) -> Signal:
    return Signal(
        id=strawberry.ID(s["id"]),
        rule_id=s["rule_id"],
        title=s["title"],
        severity=Severity(s["severity"]),
        tactic=s.get("tactic"),
        technique=s.get("technique"),
        source=s.get("source"),
        compromises=bool(s.get("compromises")),
        ts=s["ts"],
        event_id=s.get("event_id"),
        event_summary=s.get("event_summary"),
        process_key=s.get("process_key"),
        process_exe=s.get("process_exe"),
        process_pid=s.get("process_pid"),
        host_id=s.get("host_id"),
        recommended_actions=s.get("actions") or [],
    )


def change_of(t: dict[str, Any]) -> TriageChange:
    return TriageChange(
        id=strawberry.ID(t["id"]),
        ts=t["ts"],
        actor=t["actor"],
        field=t["field"],
        from_value=t.get("from"),
        to_value=t.get("to"),
        comment=t.get("comment"),
    )
