"""GraphQL types and resolvers for stories: the list, one story, triage mutations."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from app.api.actions import (
    ActionApproval,
    ResponseAction,
    approval_of,
    approvals_for,
    response_actions,
)
from app.api.auth import actor_name
from app.api.types import (
    Annotation,
    Explanation,
    PageInfo,
    Severity,
    Signal,
    StoryEventConnection,
    StoryEventEdge,
    StoryStatus,
    Timestamp,
    TriageChange,
    change_of,
    explanation_of,
    from_row,
    signal_of,
    story_event_of,
)
from app.investigation import stories as story_logic
from app.investigation.paging import decode_cursor, encode_cursor, page_size
from app.investigation.search import story_filter_params
from app.investigation.stories import StoryNotFound
from app.neo4j.database import Database

if TYPE_CHECKING:
    from app.api.graph import InvestigationGraph
    from app.api.indicators import RelatedStory
    from app.api.timeline import TimelineConnection

MAX_SUPPRESSED_SHOWN = 1000  # suppressed signals Story.signals(includeSuppressed) lists


@strawberry.type(
    description="An attack story: the signals of one execution context, or of the routine "
    "contexts (only low or info signals, none compromising) that share a layer, host, user "
    "and rules."
)
class Story:
    id: strawberry.ID
    correlation_key: str = strawberry.field(
        description="The context's key; for a routine story, its first context's key."
    )
    correlation_keys: list[str] = strawberry.field(
        description="Every context the story covers (one, except for a routine story)."
    )
    routine: bool = strawberry.field(
        description="True when the story groups repeats of low-severity activity; a context "
        "that gains a stronger signal leaves it for a story of its own."
    )
    layer: str | None
    title: str
    summary: str
    severity: Severity
    score: float
    status: StoryStatus
    assignee: str | None
    hosts: list[str]
    tactics: list[str]
    rules: list[str]
    signal_count: int
    first_seen: Timestamp | None
    last_seen: Timestamp | None
    root_process_key: str | None
    recommended_actions: list[str]
    merged_from: list[str]
    updated_at: Timestamp | None = strawberry.field(
        description="When what this story shows last changed (signals, score, triage)."
    )
    suppressed: bool = strawberry.field(
        default=False,
        description="True when exceptions suppress every signal of the story: it is kept, "
        "with its triage history, built from those signals, and `stories` lists it only "
        "with `filter: {suppressed: true}`.",
    )

    @strawberry.field(
        description="Why each of the story's contexts exists: its layer, the process that "
        "started it and the attribute, signal or audit record that made it start."
    )
    async def explain(self, info: Info) -> list[Explanation]:
        found = await run_in_threadpool(
            _db(info).read, "queries/story_contexts", keys=self.correlation_keys
        )
        return [explanation_of(r) for r in found]

    @strawberry.field(
        description="The story's investigation graph (also GET /api/v1/stories/{id}/graph): "
        "its processes with their lineage, what they touched, where they ran, related audit "
        "records and findings; repeated activity merged. `from`, `to` (RFC 3339): only the "
        "processes alive in that window (with their ancestors), its activity and audit records."
    )
    async def graph(
        self,
        info: Info,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
    ) -> Annotated[InvestigationGraph, strawberry.lazy("app.api.graph")] | None:
        from app.api.graph import story_graph  # it imports this module's types

        return await story_graph(info, str(self.id), from_, to)

    @strawberry.field(
        description="The story's events and signals per time bucket, for a time scrubber: "
        "`bucket` seconds wide (null: a width giving at most about 100 buckets), every "
        "bucket from the first to the last listed; `from`, `to` (RFC 3339) narrow it."
    )
    async def activity(
        self,
        info: Info,
        bucket: int | None = None,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
    ) -> Activity:
        from app.investigation.activity import activity

        found = await run_in_threadpool(
            activity,
            _db(info),
            self.correlation_keys,
            self.first_seen,
            self.last_seen,
            bucket,
            from_,
            to,
        )
        return Activity(
            bucket_seconds=found["bucket"],
            buckets=[ActivityBucket(**b) for b in found["buckets"]],
        )

    @strawberry.field(
        description="Stories whose processes touched an address, domain or file content "
        "holding an indicator this story's signals matched (on any host), highest score "
        "first, at most 20, with the indicators they share."
    )
    async def related(
        self, info: Info
    ) -> list[Annotated[RelatedStory, strawberry.lazy("app.api.indicators")]]:
        from app.api.indicators import related_of  # it imports this module's types

        return await related_of(info, str(self.id))

    @strawberry.field(
        description="The story's signals, in time order. Those an exception suppressed are "
        "left out unless `includeSuppressed` (then the suppressed signals of its contexts "
        f"come too, at most {MAX_SUPPRESSED_SHOWN}, each with `suppressed` and `suppressedBy`)."
    )
    async def signals(self, info: Info, include_suppressed: bool = False) -> list[Signal]:
        detail = await _detail(info, str(self.id))
        found: list[Signal] = [s for s in detail["signals"] if not s.suppressed] if detail else []
        if include_suppressed:
            from app.investigation.exceptions import story_suppressed

            rows = await run_in_threadpool(
                story_suppressed, _db(info), self.correlation_keys, MAX_SUPPRESSED_SHOWN
            )
            found = sorted([*found, *map(signal_of, rows)], key=lambda s: (s.ts, str(s.id)))
        return found

    @strawberry.field(description="How many signals of its contexts exceptions suppress.")
    async def suppressed_signal_count(self, info: Info) -> int:
        found = await run_in_threadpool(
            _db(info).read, "exceptions/story_suppressed_count",
            stories=[{"id": str(self.id), "keys": self.correlation_keys}],
        )  # fmt: skip
        return int(found[0]["suppressed"]) if found else 0

    @strawberry.field(
        description="The typed response actions the story's rules recommend (strongest "
        "signal first, each once, at most 20), each with its approval when it has one "
        "(approveAction)."
    )
    async def actions(self, info: Info) -> list[ResponseAction]:
        detail = await _detail(info, str(self.id))
        if detail is None:
            return []
        return response_actions(detail["story"], await approvals_for(info, str(self.id)))

    @strawberry.field(
        description="Every approved action of the story, in time order, with its delivery; "
        "also those no longer recommended."
    )
    async def approvals(self, info: Info) -> list[ActionApproval]:
        return [approval_of(a) for a in await approvals_for(info, str(self.id))]

    @strawberry.field(
        description="The story's incident report in Markdown (also GET "
        "/api/v1/stories/{id}/report.md and `storyline story ID --report`): facts, the "
        "narrative by tactic in kill-chain order, key processes with their argv, indicators, "
        "approved actions and the triage history."
    )
    async def report(self, info: Info) -> str:
        from app.investigation.evidence import gather
        from app.investigation.report import render_report

        evidence = await run_in_threadpool(gather, _db(info), str(self.id))
        if evidence is None:
            raise StoryNotFound(f"no story {str(self.id)!r}")
        return render_report(evidence)

    @strawberry.field(description="Every triage change, in time order.")
    async def triage_history(self, info: Info) -> list[TriageChange]:
        detail = await _detail(info, str(self.id))
        return detail["history"] if detail else []

    @strawberry.field(description="The story's events in time order (Relay cursor pagination).")
    async def events(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        kinds: list[str] | None = None,
    ) -> StoryEventConnection:
        return await event_page(
            info, "queries/story_events", first, after, keys=self.correlation_keys, kinds=kinds
        )

    @strawberry.field(
        description="The story's threat timeline (Relay cursor pagination): every event of its "
        "correlation keys, with the signals on it and their recommended actions, its triage "
        "changes, its related audit records and analysts' notes and tags on its events and "
        "processes, in time order; ties follow causality (a parent's exec before its "
        "child's). `kinds`: event kinds, `triage`, `audit_record`, `annotation`. "
        "`severities`: only events carrying a signal of one of them (with it, other entries "
        "appear only when `kinds` names them). An empty list filters nothing. "
        "`from`, `to` (RFC 3339): only the entries of that window, both ends included."
    )
    async def timeline(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        kinds: list[str] | None = None,
        severities: list[Severity] | None = None,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
    ) -> Annotated[TimelineConnection, strawberry.lazy("app.api.timeline")]:
        from app.api.timeline import resolve_timeline  # it imports this module's types

        return await resolve_timeline(
            info, str(self.id), self.correlation_keys, first, after, kinds, severities, from_, to
        )


@strawberry.type(description="Events and signals in one time bucket.")
class ActivityBucket:
    start: Timestamp = strawberry.field(description="The bucket's start (RFC 3339).")
    events: int
    signals: int


@strawberry.type(description="A story's activity over time.")
class Activity:
    bucket_seconds: int
    buckets: list[ActivityBucket]


@strawberry.type
class StoryEdge:
    cursor: str
    node: Story


@strawberry.type(description="A page of stories, by score.")
class StoryConnection:
    edges: list[StoryEdge]
    page_info: PageInfo
    total_count: int


@strawberry.input(
    description="Which stories to list: every field given must hold (null or absent: any). "
    "An entity field (container, image, pod, process, file, ip, domain) keeps the stories "
    "of the execution contexts of the processes that ran in or touched it; host, user, "
    "rule, tactic and technique are matched against the story's own facts."
)
class StoryFilter:
    status: list[StoryStatus] | None = None
    severity: list[Severity] | None = None
    text: str | None = strawberry.field(
        default=None, description="Words the title holds (case-insensitive)."
    )
    host: str | None = strawberry.field(default=None, description="A host id.")
    user: str | None = strawberry.field(
        default=None, description="A user a context's root process ran for."
    )
    rule: str | None = strawberry.field(default=None, description="A rule id.")
    tactic: str | None = strawberry.field(default=None, description="An ATT&CK tactic.")
    technique: str | None = strawberry.field(default=None, description="An ATT&CK technique.")
    container: str | None = strawberry.field(default=None, description="A container id.")
    image: str | None = strawberry.field(default=None, description="A container image.")
    pod: str | None = strawberry.field(default=None, description="A pod uid.")
    process: str | None = strawberry.field(default=None, description="A process key.")
    file: str | None = strawberry.field(default=None, description="A file path, on any host.")
    hash: str | None = strawberry.field(
        default=None, description="A file content hash, as the sensor reports it (sha256:...)."
    )
    ip: str | None = strawberry.field(default=None, description="An IP address.")
    domain: str | None = strawberry.field(default=None, description="A domain name.")
    from_: str | None = strawberry.field(
        default=None, name="from", description="RFC 3339: stories seen at or after it."
    )
    to: str | None = strawberry.field(
        default=None, description="RFC 3339: stories seen at or before it."
    )
    suppressed: bool | None = strawberry.field(
        default=False,
        description="false (the default): the stories with a signal that counts; true: only "
        "those whose every signal an exception suppressed; null: both.",
    )


def filter_values(f: StoryFilter | None) -> dict[str, Any]:
    """Returns a filter's values as app/investigation/search.story_filter_params takes them."""
    if f is None:
        return {}
    values = {
        name: getattr(f, name)
        for name in (
            "text", "host", "user", "rule", "tactic", "technique", "container", "image",
            "pod", "process", "file", "hash", "ip", "domain", "to",
        )
    }  # fmt: skip
    values["from"] = f.from_
    values["statuses"] = [s.value for s in f.status] if f.status else None
    values["severities"] = [s.value for s in f.severity] if f.severity else None
    values["suppressed"] = f.suppressed
    return values


def filter_params(db: Database, f: StoryFilter | None) -> dict[str, Any]:
    """Returns the parameters of queries/list_stories for a filter."""
    return story_filter_params(db, filter_values(f))


def _db(info: Info) -> Database:
    return info.context["db"]


async def event_page(
    info: Info, query: str, first: int, after: str | None, **params: Any
) -> StoryEventConnection:
    """Runs an events query (story_events, process_events) for one page after a cursor."""
    first = page_size(first)
    after_ts, after_id = decode_cursor(after) if after else (None, None)
    found = await run_in_threadpool(
        _db(info).read, query, after_ts=after_ts, after_id=after_id, limit=first + 1, **params
    )
    edges = [
        StoryEventEdge(cursor=encode_cursor(r["ts"], r["id"]), node=story_event_of(r))
        for r in found[:first]
    ]
    return StoryEventConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(found) > first, end_cursor=edges[-1].cursor if edges else None
        ),
    )


def story_of(props: dict[str, Any]) -> Story:
    """Builds a Story from a story node's properties."""
    return Story(
        id=strawberry.ID(props["id"]),
        correlation_key=props["correlation_key"],
        correlation_keys=props.get("correlation_keys") or [props["correlation_key"]],
        routine=bool(props.get("routine")),
        layer=props.get("layer"),
        title=props.get("title") or "",
        summary=props.get("summary") or "",
        severity=Severity(props.get("severity") or "medium"),
        score=float(props.get("score") or 0),
        status=StoryStatus(props.get("status") or "open"),
        assignee=props.get("assignee"),
        hosts=props.get("hosts") or [],
        tactics=props.get("tactics") or [],
        rules=props.get("rules") or [],
        signal_count=props.get("signal_count") or 0,
        first_seen=props.get("first_seen"),
        last_seen=props.get("last_seen"),
        root_process_key=props.get("root"),
        recommended_actions=props.get("recommended_actions") or [],
        merged_from=props.get("merged_from") or [],
        updated_at=props.get("updated_at"),
        suppressed=bool(props.get("suppressed")),
    )


async def _detail(info: Info, story_id: str) -> dict[str, Any] | None:
    """A story with its signals and history; the loads of one request go out together."""
    loader = info.context.get("story_details")
    if loader is None:
        db = _db(info)

        async def load(ids: list[str]) -> list[dict[str, Any] | None]:
            found = await run_in_threadpool(db.read, "queries/stories_by_ids", ids=list(ids))
            by_id = {
                r["story"]["id"]: {
                    "story": r["story"],
                    "signals": [signal_of(s) for s in r["signals"]],
                    "history": [change_of(t) for t in r["history"]],
                }
                for r in found
            }
            return [by_id.get(i) for i in ids]

        loader = info.context["story_details"] = DataLoader(load_fn=load, max_batch_size=500)
    return await loader.load(story_id)


async def list_stories(
    info: Info, filter: StoryFilter | None, first: int, after: str | None
) -> StoryConnection:
    """Lists stories by score with Relay cursors."""
    first = page_size(first)
    after_score, after_id = decode_cursor(after) if after else (None, None)
    db = _db(info)
    params = await run_in_threadpool(filter_params, db, filter)
    found = await run_in_threadpool(
        db.read,
        "queries/list_stories",
        **params,
        after_score=after_score,
        after_id=after_id,
        limit=first + 1,
    )
    total = await run_in_threadpool(db.read, "queries/count_stories", **params)
    edges = [
        StoryEdge(
            cursor=encode_cursor(r["story"]["score"], r["story"]["id"]), node=story_of(r["story"])
        )
        for r in found[:first]
    ]
    return StoryConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(found) > first, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=total[0]["total"],
    )


async def stories_by_ids(info: Info, ids: list[str]) -> dict[str, Story]:
    """The stories of some ids that exist, by id (one batched read)."""
    found = await asyncio.gather(*(_detail(info, i) for i in ids))
    return {i: story_of(d["story"]) for i, d in zip(ids, found, strict=True) if d}


async def get_story(info: Info, story_id: str) -> Story | None:
    """Returns one story, or None."""
    detail = await _detail(info, story_id)
    return story_of(detail["story"]) if detail else None


def actor(info: Info) -> str:
    """Returns who makes a change: the API token's name (app/api/auth.py)."""
    return actor_name(info.context.get("request"))


async def triage(
    info: Info, story_id: str, field: str, to: str | None, comment: str | None
) -> Story:
    """Applies one triage change and returns the story as it is now."""
    await run_in_threadpool(
        story_logic.record, _db(info), story_id, field, to, actor(info), comment
    )
    info.context.pop("story_details", None)
    story = await get_story(info, story_id)
    if story is None:
        raise StoryNotFound(f"no story {story_id!r}")
    return story


MAX_BULK = 100


async def triage_many(
    info: Info, ids: list[str], status: str, comment: str | None, limit: int
) -> list[Story]:
    """Sets the status of several stories in one transaction; returns them as they are now."""
    if not ids or len(ids) > limit:
        raise story_logic.TriageError(f"give between 1 and {limit} story ids")
    ids = list(dict.fromkeys(ids))
    await run_in_threadpool(story_logic.record_many, _db(info), ids, status, actor(info), comment)
    info.context.pop("story_details", None)
    return [s for s in [await get_story(info, i) for i in ids] if s is not None]


async def annotate(
    info: Info, kind: str, key: str, note: str | None, tags: list[str] | None
) -> list[Annotation]:
    """Adds an analyst's note and tags to an event or process."""
    from app.investigation.annotations import annotate as add

    found = await run_in_threadpool(add, _db(info), kind, key, actor(info), note, tags)
    return [from_row(Annotation, a) for a in found]
