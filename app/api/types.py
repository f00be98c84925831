"""The GraphQL types every part of the API shares: severities, statuses, signals,
triage changes, events, explanations, pages; and the builders from Cypher rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NewType, TypeVar

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from app.events import format_ts, normalize_ts
from app.links import FIELDS, render

if TYPE_CHECKING:
    from app.api.exceptions import RuleException

T = TypeVar("T")

# Every time the API returns: UTC RFC 3339 with nine fractional digits and a Z
# (app.events.format_ts), whatever form the Cypher row held it in.
Timestamp = NewType("Timestamp", str)
TIMESTAMP = strawberry.scalar(
    name="Timestamp",
    description="A time: UTC, RFC 3339, nine fractional digits and a Z "
    "(`2022-01-19T11:16:29.378000000Z`), so that text order is time order. "
    "As an input, any RFC 3339 time.",
    serialize=format_ts,
    parse_value=normalize_ts,
)
# the schema's configuration: a schema built from these types needs it (tests build some)
CONFIG = StrawberryConfig(scalar_map={Timestamp: TIMESTAMP})


def from_row(cls: type[T], row: Mapping[str, Any], *, partial: bool = False, **values: Any) -> T:
    """Builds a GraphQL type from a Cypher row: each field from the row's key of its name.

    `values` give the fields whose key or value differs (renamed, converted);
    fields with a resolver are left to it. A field missing from the row is an
    error naming it, so that a column renamed in a Cypher file fails loudly
    instead of reading as null; with `partial`, missing fields are null (rows
    built from stored properties, where an absent property means unknown).
    """
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not f.init or f.name in values:
            continue
        if f.name in row:
            values[f.name] = row[f.name]
        elif partial:
            values[f.name] = None
        else:
            raise KeyError(f"{cls.__name__}.{f.name}: the row has no {f.name!r}")
    return cls(**values)


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
    ts: Timestamp
    event_id: str | None
    event_summary: str | None
    process_key: str | None
    process_exe: str | None
    process_pid: int | None
    host_id: str | None
    recommended_actions: list[str]
    suppressed: bool = strawberry.field(
        description="True when an exception suppresses it: kept, but not counted in stories."
    )
    suppressed_by_ids: strawberry.Private[list[str]]

    @strawberry.field(description="The exceptions that suppress it (none: it counts).")
    async def suppressed_by(
        self, info: Info
    ) -> list[Annotated[RuleException, strawberry.lazy("app.api.exceptions")]]:
        from app.api.exceptions import exceptions_by_ids

        return await exceptions_by_ids(info, self.suppressed_by_ids)


@strawberry.type(description="One triage change: who changed what, when, from what to what.")
class TriageChange:
    id: strawberry.ID
    ts: Timestamp
    actor: str
    field: str = strawberry.field(
        description="status, assignee, note, merge or exception (an exception suppressed or "
        "released some of the story's signals: to_value is its id)."
    )
    from_value: str | None
    to_value: str | None
    comment: str | None


@strawberry.type(description="An analyst's note or tag on an event or a process; never edited.")
class Annotation:
    id: strawberry.ID
    kind: str = strawberry.field(description="note or tag.")
    text: str = strawberry.field(description="The note, or the tag.")
    actor: str = strawberry.field(description="Who wrote it (the API token's name).")
    ts: Timestamp
    target_kind: str = strawberry.field(description="event or process.")
    target_key: str = strawberry.field(description="The event's id or the process's key.")


@strawberry.type(description="A link out to other telemetry, from STORYLINE_LINKS_FILE.")
class Link:
    title: str
    url: str


LINKS = "Links out to other telemetry (STORYLINE_LINKS_FILE); none when it has none."


def links_of(info: Info, kind: str, entity: Any, start: Any = None, end: Any = None) -> list[Link]:
    """Renders the pivot links of one entity (app/links.py): the fields its templates may
    name (links.FIELDS) are read from the GraphQL object's attributes of those names."""
    values = {name: getattr(entity, name, None) for name in FIELDS[kind]}
    found = render(info.context.get("links") or {}, kind, values, start, end)
    return [Link(title=title, url=url) for title, url in found]


@strawberry.type(description="An event of a story's timeline.")
class StoryEvent:
    id: strawberry.ID
    kind: str
    ts: Timestamp
    summary: str | None
    host_id: str | None
    process_key: str | None
    process_pid: int | None
    process_exe: str | None
    signal_rules: list[str]

    @strawberry.field(description=LINKS)
    def links(self, info: Info) -> list[Link]:
        return event_links(info, self)


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
    return from_row(
        Explanation, r, root_process_key=r["root_key"], root_process_exe=r["root_exe"],
        root_process_pid=r["root_pid"], root_process_args=r["root_args"],
    )  # fmt: skip


def story_event_of(r: dict[str, Any]) -> StoryEvent:
    """Builds a StoryEvent from an event row (rules: the rule ids of its signals)."""
    return from_row(StoryEvent, r, signal_rules=r["rules"])


def signal_of(s: dict[str, Any]) -> Signal:
    """Builds a Signal from a signal row (optional keys may be absent)."""
    return from_row(
        Signal, s, partial=True, severity=Severity(s["severity"]),
        compromises=bool(s.get("compromises")), recommended_actions=s.get("actions") or [],
        suppressed=bool(s.get("suppressed")), suppressed_by_ids=s.get("suppressed_by") or [],
    )  # fmt: skip


def change_of(t: dict[str, Any]) -> TriageChange:
    """Builds a TriageChange from a history row."""
    return from_row(TriageChange, t, partial=True, from_value=t.get("from"), to_value=t.get("to"))


def event_links(info: Info, event: Any) -> list[Link]:
    """The pivot links of an event (StoryEvent or Event)."""
    return links_of(info, "event", event, event.ts, event.ts)


async def annotations_on(info: Info, key: str) -> list[Annotation]:
    """The notes and tags on one event or process, oldest first."""
    from starlette.concurrency import run_in_threadpool

    from app.investigation.annotations import annotations_of

    found = await run_in_threadpool(annotations_of, info.context["db"], [key])
    return [from_row(Annotation, a) for a in found[key]]


ANNOTATIONS = "Analysts' notes and tags on it, oldest first (annotateEvent, annotateProcess)."
