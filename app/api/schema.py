"""The GraphQL schema (strawberry). schema.graphql is generated from it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import Enum
from typing import Annotated

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.permission import BasePermission
from strawberry.types import ExecutionContext, Info

from app import __version__
from app.api.actions import ActionApproval, approve_action
from app.api.auth import principal_of
from app.api.cost import QueryCostLimiter
from app.api.entities import (
    Container,
    DomainName,
    FilePath,
    Host,
    HostConnection,
    IpAddress,
    Pod,
    SearchConnection,
    get_entity,
    list_hosts,
    run_search,
)
from app.api.errors import ErrorCodes, code_of
from app.api.exceptions import (
    ExceptionConditionsInput,
    ExceptionConnection,
    ExceptionDraft,
    ExceptionPreview,
    ExceptionStatus,
    RuleException,
    create_exception,
    exception_draft,
    get_exception,
    list_exceptions,
    preview_exception,
    revoke_exception,
    update_exception,
)
from app.api.guards import BUSY
from app.api.indicators import (
    Feed,
    FeedFormat,
    IndicatorConnection,
    IndicatorImport,
    IndicatorType,
    import_indicators,
    list_feeds,
    list_indicators,
)
from app.api.processes import Process, get_process
from app.api.stories import (
    MAX_BULK,
    Story,
    StoryConnection,
    StoryFilter,
    annotate,
    get_story,
    list_stories,
    triage,
    triage_many,
)
from app.api.subscriptions import story_updates
from app.api.trace import CypherTrace
from app.api.types import (
    ANNOTATIONS,
    CONFIG,
    LINKS,
    Annotation,
    Explanation,
    Link,
    Severity,
    StoryStatus,
    Timestamp,
    annotations_on,
    event_links,
    explanation_of,
    from_row,
)
from app.errors import Busy, InputError
from app.neo4j.database import Database
from app.settings import Settings


class _Scoped(BasePermission):
    """Lets a root field run only for tokens holding `scope` (app/api/auth.py)."""

    scope = "admin"
    error_extensions = {"code": "FORBIDDEN"}  # subscriptions too (app/api/errors.py)

    def has_permission(self, source: object, info: Info, **kwargs: object) -> bool:
        return principal_of(info.context.get("request")).can(self.scope)


class CanRead(_Scoped):
    scope = "read"
    message = "this API token lacks the 'read' scope"


class CanTriage(_Scoped):
    scope = "triage"
    message = "this API token lacks the 'triage' scope"


class CanIngest(_Scoped):
    scope = "ingest"
    message = "this API token lacks the 'ingest' scope"


class CanAdmin(_Scoped):
    scope = "admin"
    message = "this API token lacks the 'admin' scope"


def database(info: Info) -> Database:
    """Returns the app's database from the request context."""
    return info.context["db"]


@strawberry.type(description="A count of nodes carrying one label.")
class LabelCount:
    label: str
    count: int


@strawberry.type(description="Items waiting for each step of the background stage.")
class PipelineQueues:
    detect: int = strawberry.field(description="Events waiting for the detection rules.")
    stamp: int = strawberry.field(description="Processes waiting for the context layers.")
    relate: int = strawberry.field(description="Audit records, events, contexts to relate.")
    stories: int = strawberry.field(description="Signals waiting to be grouped into stories.")


@strawberry.type(description="The service and the Neo4j behind it.")
class About:
    version: str = strawberry.field(description="Storyline's version.")
    neo4j_version: str = strawberry.field(description="The Neo4j server's version.")
    neo4j_edition: str = strawberry.field(description="community or enterprise.")
    node_counts: list[LabelCount] = strawberry.field(
        description="Nodes per label, from the count store."
    )
    pipeline_lag: float = strawberry.field(
        description="Seconds the oldest event has waited for the background stage "
        "(detection, stamping, relate, stories); 0 when nothing waits. Stories are "
        "up to date with everything ingested this long ago."
    )
    pipeline_queues: PipelineQueues = strawberry.field(
        description="Items waiting for each step of the background stage."
    )
    neo4j_browser_url: str | None = strawberry.field(
        description="Where Neo4j Browser is, to take a view's Cypher further by hand "
        "(STORYLINE_NEO4J_BROWSER_URL, else the local Neo4j's; null when unknown)."
    )


def _about(db: Database, settings: Settings) -> About:
    from app.pipeline import queued

    [found] = db.read("queries/about")
    state = queued(db)
    return About(
        pipeline_lag=state["lag_seconds"],
        pipeline_queues=PipelineQueues(
            detect=state["detect"],
            stamp=state["stamp"],
            relate=state["relate"],
            stories=state["stories"],
        ),
        version=__version__,
        neo4j_browser_url=settings.browser_url,
        neo4j_version=found["version"],
        neo4j_edition=found["edition"],
        node_counts=[
            LabelCount(label=r["label"], count=r["count"])
            for r in sorted(found["counts"], key=lambda r: r["label"])
        ],
    )


@strawberry.type(description="A record that was not ingested: its position and why.")
class Rejection:
    position: int
    reason: str


@strawberry.type(description="Warnings about fields lost from a record that was ingested.")
class RecordWarning:
    position: int
    warnings: list[str]


@strawberry.enum(description="When an ingest answers.")
class IngestWait(Enum):
    COMMITTED = strawberry.enum_value(
        "committed", description="once the records are stored (the background stage follows)"
    )
    PROCESSED = strawberry.enum_value(
        "processed",
        description="once detection, stamping, relate and stories have processed them too",
    )


@strawberry.type(description="What an ingest did. Accepted means committed.")
class IngestReport:
    format: str
    accepted: int
    events: int
    audit_records: int
    findings: int
    rejected: list[Rejection]
    warnings: list[RecordWarning]
    batches: int


def _ingest(info: Info, format: str, records: str, wait: IngestWait) -> IngestReport:
    from app.adapters import UnknownFormat, get_adapter

    settings = info.context["settings"]
    try:
        get_adapter(format)
    except UnknownFormat as exc:
        raise InputError(str(exc)) from None
    if len(records.encode()) > settings.max_body_bytes:
        raise InputError(f"records pass the limit of {settings.max_body_bytes} bytes")
    gate = info.context["gate"]
    if not gate.enter():
        raise Busy(BUSY)
    try:
        return _ingest_admitted(info, format, records, wait)
    finally:
        gate.leave()


def _ingest_admitted(info: Info, format: str, records: str, wait: IngestWait) -> IngestReport:
    from app.framing import split_lines
    from app.ingest import ingest
    from app.pipeline import wait_processed

    settings = info.context["settings"]
    report = ingest(
        database(info),
        format,
        split_lines(records),
        batch_size=settings.ingest_batch_size,
        origin="graphql",
        after_batch=None,
    )
    if wait is IngestWait.PROCESSED:
        wait_processed(database(info), report.last_batch, info.context["pipeline"])
    return IngestReport(
        format=report.format,
        accepted=report.accepted,
        events=report.events,
        audit_records=report.audit_records,
        findings=report.findings,
        rejected=[Rejection(**r) for r in report.rejected],
        warnings=[RecordWarning(**w) for w in report.warnings],
        batches=report.batches,
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Sets a story's triage status, with a comment; recorded.",
        permission_classes=[CanTriage],
    )
    async def set_story_status(
        self, info: Info, id: strawberry.ID, status: StoryStatus, comment: str | None = None
    ) -> Story:
        return await triage(info, str(id), "status", status.value, comment)

    @strawberry.mutation(
        description="Assigns a story (null unassigns); recorded.", permission_classes=[CanTriage]
    )
    async def assign_story(
        self, info: Info, id: strawberry.ID, assignee: str | None, comment: str | None = None
    ) -> Story:
        return await triage(info, str(id), "assignee", assignee, comment)

    @strawberry.mutation(
        description="Adds a note to a story's triage history.", permission_classes=[CanTriage]
    )
    async def add_story_note(self, info: Info, id: strawberry.ID, note: str) -> Story:
        return await triage(info, str(id), "note", note, None)

    @strawberry.mutation(
        description="Sets the triage status of several stories at once, with one comment; "
        f"each change recorded as if made alone. At most {MAX_BULK} stories; an unknown id "
        "is an error and changes nothing.",
        permission_classes=[CanTriage],
    )
    async def set_stories_status(
        self,
        info: Info,
        ids: list[strawberry.ID],
        status: StoryStatus,
        comment: str | None = None,
    ) -> list[Story]:
        return await triage_many(info, [str(i) for i in ids], status.value, comment, MAX_BULK)

    @strawberry.mutation(
        description="Adds a note and/or tags to an event (by id), with who and when; they "
        "show in the timeline of every story holding the event.",
        permission_classes=[CanTriage],
    )
    async def annotate_event(
        self, info: Info, id: strawberry.ID, note: str | None = None, tags: list[str] | None = None
    ) -> list[Annotation]:
        return await annotate(info, "event", str(id), note, tags)

    @strawberry.mutation(
        description="Adds a note and/or tags to a process (by key), with who and when; they "
        "show in the timeline of every story holding the process.",
        permission_classes=[CanTriage],
    )
    async def annotate_process(
        self, info: Info, key: strawberry.ID, note: str | None = None, tags: list[str] | None = None
    ) -> list[Annotation]:
        return await annotate(info, "process", str(key), note, tags)

    @strawberry.mutation(
        description="Approves one of a story's response actions (by its id in "
        "`Story.actions`) and sends it, signed, to the action webhook; recorded with who and "
        "when, and shown in the story's timeline. Approving again retries a failed delivery "
        "and sends nothing once delivered. Refused when no webhook is configured.",
        permission_classes=[CanTriage],
    )
    async def approve_action(
        self, info: Info, story: strawberry.ID, action: strawberry.ID, comment: str | None = None
    ) -> ActionApproval:
        return await approve_action(info, str(story), str(action), comment)

    @strawberry.mutation(
        description='Saves an exception ("this is benign") for one rule under conditions, '
        "with a reason, an owner (default: you) and an expiry (RFC 3339; default 90 days, at "
        "most 365 ahead). Every stored signal of the rule it matches is suppressed at once "
        "(kept, no longer counted) and the stories regroup; new signals it matches are "
        "suppressed as they come until it expires or is revoked. Recorded with who and when.",
        permission_classes=[CanTriage],
    )
    async def create_exception(
        self,
        info: Info,
        rule_id: str,
        conditions: ExceptionConditionsInput,
        reason: str,
        owner: str | None = None,
        expires_at: str | None = None,
    ) -> RuleException:
        return await create_exception(info, rule_id, conditions, reason, owner, expires_at)

    @strawberry.mutation(
        description="Changes an exception: `conditions` replace its conditions whole (and "
        "are applied to the rule's stored signals at once: those no longer matched count "
        "again); owner, reason, expiry (a later expiry makes an expired exception active "
        "again). A revoked exception cannot change. Recorded with who, when and what.",
        permission_classes=[CanTriage],
    )
    async def update_exception(
        self,
        info: Info,
        id: strawberry.ID,
        conditions: ExceptionConditionsInput | None = None,
        owner: str | None = None,
        reason: str | None = None,
        expires_at: str | None = None,
        comment: str | None = None,
    ) -> RuleException:
        return await update_exception(info, str(id), conditions, owner, reason, expires_at, comment)

    @strawberry.mutation(
        description="Revokes an exception: every signal it suppressed counts again (unless "
        "another exception suppresses it) and the stories regroup. Recorded.",
        permission_classes=[CanTriage],
    )
    async def revoke_exception(self, info: Info, id: strawberry.ID, reason: str) -> RuleException:
        return await revoke_exception(info, str(id), reason)

    @strawberry.mutation(
        description="Ingests records of a format (JSON array, NDJSON or log lines, as text).",
        permission_classes=[CanIngest],
    )
    async def ingest(
        self,
        info: Info,
        records: str,
        format: str = "storyline",
        wait: IngestWait = IngestWait.COMMITTED,
    ) -> IngestReport:
        return await run_in_threadpool(_ingest, info, format, records, wait)

    @strawberry.mutation(
        description="Imports an indicator feed (a STIX 2.1 bundle or CSV, as text) under a "
        "name: its indicators replace the feed's earlier ones, and the stored events are "
        "re-checked against them; a match is a signal `indicator:<feed>` of `severity`.",
        permission_classes=[CanAdmin],
    )
    async def import_indicators(
        self,
        info: Info,
        feed: str,
        format: FeedFormat,
        content: str,
        severity: Severity = Severity.HIGH,
    ) -> IndicatorImport:
        return await import_indicators(info, feed, format, content, severity)


@strawberry.type(description="A normalised event.")
class Event:
    id: strawberry.ID
    kind: str | None
    ts: Timestamp | None
    source: str | None
    summary: str | None
    host_id: str | None
    correlation_key: str | None
    process_key: str | None
    process_exe: str | None
    process_pid: int | None
    explain: Explanation | None = strawberry.field(
        description="Why this event has its correlation key: layer, root process, reason."
    )

    @strawberry.field(description=LINKS)
    def links(self, info: Info) -> list[Link]:
        return event_links(info, self)

    @strawberry.field(description=ANNOTATIONS)
    async def annotations(self, info: Info) -> list[Annotation]:
        return await annotations_on(info, str(self.id))

    versions: list[EventVersion] = strawberry.field(
        description="Versions of this event that arrived later with other content. Stored "
        "evidence is never rewritten: the first content stays, and each disagreeing version "
        "is kept here (fields it only added are filled in, and are no disagreement)."
    )


@strawberry.type(description="A later version of an event that disagreed with the stored one.")
class EventVersion:
    digest: str = strawberry.field(description="SHA-256 of the version as received.")
    received_at: Timestamp = strawberry.field(description="When Storyline received it.")
    ts: Timestamp | None = strawberry.field(description="The time the version claimed.")
    summary: str | None
    fields: list[str] = strawberry.field(
        description="The fields whose value differs from the stored event's."
    )


def _event(db: Database, event_id: str) -> Event | None:
    found = db.read("queries/event_by_id", id=event_id)
    if not found:
        return None
    r = found[0]
    explanation = explanation_of(r) if r["layer"] is not None else None
    return from_row(
        Event,
        r,
        explain=explanation,
        versions=[EventVersion(**v) for v in r["versions"]],
    )


@strawberry.type
class Query:
    @strawberry.field(
        description="Stories by score, highest first (Relay cursor pagination).",
        permission_classes=[CanRead],
    )
    async def stories(
        self,
        info: Info,
        filter: StoryFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> StoryConnection:
        return await list_stories(info, filter, first, after)

    @strawberry.field(description="One story by id.", permission_classes=[CanRead])
    async def story(self, info: Info, id: strawberry.ID) -> Story | None:
        return await get_story(info, str(id))

    @strawberry.field(
        description="One process by key, with its lineage, events and execution contexts.",
        permission_classes=[CanRead],
    )
    async def process(self, info: Info, key: strawberry.ID) -> Process | None:
        return await get_process(info, str(key))

    @strawberry.field(
        description="One event by id, with the explanation of its correlation key.",
        permission_classes=[CanRead],
    )
    async def event(self, info: Info, id: strawberry.ID) -> Event | None:
        return await run_in_threadpool(_event, database(info), str(id))

    @strawberry.field(
        description="Hosts, users, containers, images, pods, processes (exe, argv), files, "
        "IP addresses, domains, rules, tactics, techniques and story titles matching the "
        "words of `query` (each word must match; a plain word also as a prefix), best "
        "first, each with the first stories it appears in.",
        permission_classes=[CanRead],
    )
    async def search(
        self, info: Info, query: str, first: int = 20, after: str | None = None
    ) -> SearchConnection:
        return await run_search(info, query, first, after)

    @strawberry.field(description="One host by id.", permission_classes=[CanRead])
    async def host(self, info: Info, id: strawberry.ID) -> Host | None:
        return await get_entity(info, "host", str(id))

    @strawberry.field(
        description="Hosts, most recently seen first, with their status (Relay pagination).",
        permission_classes=[CanRead],
    )
    async def hosts(self, info: Info, first: int = 50, after: str | None = None) -> HostConnection:
        return await list_hosts(info, first, after)

    @strawberry.field(description="One container by id.", permission_classes=[CanRead])
    async def container(self, info: Info, id: strawberry.ID) -> Container | None:
        return await get_entity(info, "container", str(id))

    @strawberry.field(description="One pod by uid.", permission_classes=[CanRead])
    async def pod(self, info: Info, uid: strawberry.ID) -> Pod | None:
        return await get_entity(info, "pod", str(uid))

    @strawberry.field(
        description="One IP address processes connected to, bound or listened on.",
        permission_classes=[CanRead],
    )
    async def ip(self, info: Info, address: str) -> IpAddress | None:
        return await get_entity(info, "ip", address)

    @strawberry.field(
        description="One domain name processes resolved.", permission_classes=[CanRead]
    )
    async def domain(self, info: Info, name: str) -> DomainName | None:
        return await get_entity(info, "domain", name)

    @strawberry.field(
        description="One file path, on every host and container it was seen in.",
        permission_classes=[CanRead],
    )
    async def file(self, info: Info, path: str) -> FilePath | None:
        return await get_entity(info, "file", path)

    @strawberry.field(
        description="Exceptions, newest first (Relay cursor pagination), by status (as of "
        "now) and rule.",
        permission_classes=[CanRead],
    )
    async def exceptions(
        self,
        info: Info,
        status: list[ExceptionStatus] | None = None,
        rule: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ExceptionConnection:
        return await list_exceptions(info, status, rule, first, after)

    @strawberry.field(description="One exception by id.", permission_classes=[CanRead])
    async def exception(self, info: Info, id: strawberry.ID) -> RuleException | None:
        return await get_exception(info, str(id))

    @strawberry.field(
        description="What an exception made from a signal would name: its rule, and the "
        "signal's process, user, host, container, image and path as conditions.",
        permission_classes=[CanRead],
    )
    async def exception_draft(self, info: Info, signal_id: strawberry.ID) -> ExceptionDraft:
        return await exception_draft(info, str(signal_id))

    @strawberry.field(
        description="What an exception would have suppressed among the rule's signals of a "
        "past window (`from`, `to`: RFC 3339; default the 30 days before now; at most 366 "
        "days): counts, a sample and the stories that would change or be hidden. The same "
        "matching as saving it; nothing is written.",
        permission_classes=[CanRead],
    )
    async def preview_exception(
        self,
        info: Info,
        rule_id: str,
        conditions: ExceptionConditionsInput,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
    ) -> ExceptionPreview:
        return await preview_exception(info, rule_id, conditions, from_, to)

    @strawberry.field(
        description="Indicators of compromise in id order (Relay pagination): those of a "
        "feed, of a type, or of one value (an IP address, domain or hash, as any type it is).",
        permission_classes=[CanRead],
    )
    async def indicators(
        self,
        info: Info,
        feed: str | None = None,
        type: IndicatorType | None = None,
        value: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> IndicatorConnection:
        return await list_indicators(info, feed, type, value, first, after)

    @strawberry.field(description="Indicator feeds, by name.", permission_classes=[CanRead])
    async def feeds(self, info: Info) -> list[Feed]:
        return await list_feeds(info)

    @strawberry.field(
        description="The service's version and the Neo4j behind it.", permission_classes=[CanRead]
    )
    async def about(self, info: Info) -> About:
        return await run_in_threadpool(_about, database(info), info.context["settings"])


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Stories as they are created or change (signals, score, triage), from "
        "the moment of subscribing, oldest change first; filter as in `stories`.",
        permission_classes=[CanRead],
    )
    async def story_updates(
        self, info: Info, filter: StoryFilter | None = None
    ) -> AsyncGenerator[Story, None]:
        async for story in story_updates(info, filter):
            yield story


# Abusive queries are refused before they run: nesting, aliases and size are bounded
# (page sizes are bounded by each connection's `first`).
MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 2000

LIMITS = [
    lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
    lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
    lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
    QueryCostLimiter,  # it validates, then prices the document (app/api/cost.py)
    ErrorCodes,  # every error gets extensions.code (app/api/errors.py)
    CypherTrace,  # extensions.cypher when the request asks (app/api/trace.py)
]


class StorylineSchema(strawberry.Schema):
    """The schema; it logs faults of the service, not clients' mistakes."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        faults = [e for e in errors if code_of(e) == "INTERNAL_SERVER_ERROR"]
        if faults:
            super().process_errors(faults, execution_context)


schema = StorylineSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=LIMITS,
    config=CONFIG,
)
