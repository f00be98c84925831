"""GraphQL types and resolvers for exceptions: "this is benign" for one rule, under
conditions; computed by app/investigation/exceptions.py."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from app.api.types import PageInfo, Signal, Timestamp, from_row, signal_of
from app.investigation import exceptions as logic
from app.neo4j.database import Database

if TYPE_CHECKING:
    from app.api.stories import Story

CONDITIONS = (
    "Conditions on what a signal concerns; every one given must hold, each by one of its "
    "values. A value is exact, or ends in `*` and is a prefix. At most "
    f"{logic.MAX_VALUES} values per condition, {logic.MAX_CONDITIONS} in all, "
    f"{logic.MAX_VALUE} characters each."
)


@strawberry.enum(description="Where an exception stands.")
class ExceptionStatus(Enum):
    ACTIVE = strawberry.enum_value(
        "active", description="It suppresses the matching signals of its rule as they come."
    )
    EXPIRED = strawberry.enum_value(
        "expired",
        description="Past its expiry: new signals count again; those it suppressed stay so.",
    )
    REVOKED = strawberry.enum_value(
        "revoked", description="Revoked: every signal it suppressed counts again."
    )


@strawberry.input(description=CONDITIONS)
class ExceptionConditionsInput:
    process: list[str] | None = strawberry.field(
        default=None, description="The process's executable path."
    )
    user: list[str] | None = strawberry.field(default=None, description="The process's user.")
    host: list[str] | None = strawberry.field(default=None, description="The host id.")
    container: list[str] | None = strawberry.field(default=None, description="The container id.")
    image: list[str] | None = strawberry.field(
        default=None, description="The image of the event's container."
    )
    path: list[str] | None = strawberry.field(
        default=None, description="The file path of the event (file events)."
    )


def _given(conditions: ExceptionConditionsInput) -> dict[str, list[str] | None]:
    return {name: getattr(conditions, name) for name in logic.CONDITIONS}


@strawberry.type(description=CONDITIONS)
class ExceptionConditions:
    process: list[str]
    user: list[str]
    host: list[str]
    container: list[str]
    image: list[str]
    path: list[str]


def conditions_of(row: dict[str, Any]) -> ExceptionConditions:
    """Builds the conditions of a stored exception (or a draft's values) from a row."""
    return ExceptionConditions(**{n: list(row.get(n) or []) for n in logic.CONDITIONS})


@strawberry.type(description="One field of an exception changed: from what to what.")
class FieldChange:
    field: str
    from_value: str | None
    to_value: str | None


@strawberry.type(description="One change to an exception: who, when, what, why.")
class ExceptionChange:
    id: strawberry.ID
    ts: Timestamp
    actor: str
    action: str = strawberry.field(description="create, update, revoke or expire.")
    comment: str | None = strawberry.field(description="Why (the reason, for create and revoke).")
    changes: list[FieldChange]


def change_of(c: dict[str, Any]) -> ExceptionChange:
    """Builds an ExceptionChange from a history row."""
    return from_row(
        ExceptionChange,
        c,
        changes=[FieldChange(field=f["field"], from_value=f["from"], to_value=f["to"])
                 for f in c["changes"]],
    )  # fmt: skip


@strawberry.type(
    name="RuleException",
    description='An analyst\'s "this is benign": the signals of one rule that meet its '
    "conditions are suppressed (kept, never deleted, and no longer counted in stories) "
    "while it is active.",
)
class RuleException:
    id: strawberry.ID
    rule_id: str
    conditions: ExceptionConditions
    owner: str
    reason: str
    status: ExceptionStatus
    expires_at: Timestamp
    created_by: str
    created_at: Timestamp
    updated_at: Timestamp | None
    revoked_by: str | None
    revoked_at: Timestamp | None
    suppressed_count: int = strawberry.field(description="How many signals it suppresses.")

    @strawberry.field(description="Every change to it, oldest first: who, when, what.")
    async def history(self, info: Info) -> list[ExceptionChange]:
        found = await run_in_threadpool(logic.history, _db(info), [str(self.id)])
        return [change_of(c) for c in found[str(self.id)]]

    @strawberry.field(description="The signals it suppresses, newest first.")
    async def suppressed_signals(self, info: Info, first: int = 20) -> list[Signal]:
        found = await run_in_threadpool(logic.suppressed_signals, _db(info), str(self.id), first)
        return [signal_of(s) for s in found]


def exception_of(row: dict[str, Any]) -> RuleException:
    """Builds a RuleException from an exceptions/get row."""
    return from_row(
        RuleException, row, partial=True, conditions=conditions_of(row),
        status=ExceptionStatus(row["status"]), suppressed_count=row["suppressed_count"] or 0,
    )  # fmt: skip


@strawberry.type
class ExceptionEdge:
    cursor: str
    node: RuleException


@strawberry.type(description="A page of exceptions, newest first.")
class ExceptionConnection:
    edges: list[ExceptionEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="What an exception made from a signal would name.")
class ExceptionDraft:
    signal_id: strawberry.ID
    rule_id: str
    rule_title: str | None
    conditions: ExceptionConditions = strawberry.field(
        description="The signal's own values: the narrowest exception; widen it by dropping "
        "conditions or ending a value in `*`."
    )


@strawberry.type(description="A story an exception would change, with its signal counts.")
class StoryImpact:
    story: Annotated[Story, strawberry.lazy("app.api.stories")] | None
    signals_before: int = strawberry.field(description="Signals that count now.")
    signals_after: int = strawberry.field(description="Signals that would still count.")
    hidden: bool = strawberry.field(
        description="None would be left: the story would be flagged suppressed and hidden."
    )


@strawberry.type(
    description="What an exception would have suppressed among its rule's signals of a past "
    "window: what saving it would suppress there. Nothing is written."
)
class ExceptionPreview:
    rule_id: str
    from_: Timestamp = strawberry.field(name="from")
    to: Timestamp
    scanned: int = strawberry.field(description="The rule's signals in the window, read.")
    matched: int = strawberry.field(description="Those the conditions match.")
    suppressed: int = strawberry.field(
        description="Of those, the ones that count now: what it would suppress."
    )
    already_suppressed: int = strawberry.field(
        description="Matched, but another exception suppresses them already."
    )
    complete: bool = strawberry.field(
        description=f"False when the window held more than {logic.PREVIEW_SCAN} signals of "
        "the rule (the numbers are of the first ones, in time order)."
    )
    sample: list[Signal] = strawberry.field(
        description=f"The first {logic.PREVIEW_SAMPLE} signals it would suppress."
    )
    affected_stories: list[StoryImpact] = strawberry.field(
        description=f"The stories holding a signal it would suppress (at most "
        f"{logic.PREVIEW_STORIES}), most affected first. A routine story may also regroup."
    )
    stories_changed: int
    stories_hidden: int


def _db(info: Info) -> Database:
    return info.context["db"]


def _routine(info: Info) -> bool:
    return bool(info.context["settings"].routine_stories)


def _known_rules(info: Info) -> set[str]:
    pipeline = info.context.get("pipeline")
    return {r.id for r in pipeline.rules} if pipeline is not None else set()


async def exceptions_by_ids(info: Info, ids: list[str]) -> list[RuleException]:
    """The exceptions of some ids; the loads of one request go out together."""
    loader = info.context.get("exception_loader")
    if loader is None:
        db = _db(info)

        async def load(keys: list[str]) -> list[RuleException | None]:
            found = await run_in_threadpool(logic.get_many, db, list(keys))
            return [exception_of(found[k]) if k in found else None for k in keys]

        loader = info.context["exception_loader"] = DataLoader(load_fn=load, max_batch_size=500)
    found = [await loader.load(i) for i in ids]
    return [x for x in found if x is not None]


async def get_exception(info: Info, exception_id: str) -> RuleException | None:
    """One exception, or None."""
    found = await run_in_threadpool(logic.get_many, _db(info), [exception_id])
    return exception_of(found[exception_id]) if exception_id in found else None


async def list_exceptions(
    info: Info,
    status: list[ExceptionStatus] | None,
    rule: str | None,
    first: int,
    after: str | None,
) -> ExceptionConnection:
    """Lists exceptions, newest first, with Relay cursors."""
    page = await run_in_threadpool(
        logic.list_exceptions,
        _db(info),
        [str(s.value) for s in status] if status else None,
        rule,
        first,
        after,
    )
    from app.investigation.paging import encode_cursor

    edges = [
        ExceptionEdge(cursor=encode_cursor(x["created_at"], x["id"]), node=exception_of(x))
        for x in page.exceptions
    ]
    return ExceptionConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        total_count=page.total,
    )


async def exception_draft(info: Info, signal_id: str) -> ExceptionDraft:
    """What an exception made from a signal would name."""
    found = await run_in_threadpool(logic.draft, _db(info), signal_id)
    return ExceptionDraft(
        signal_id=strawberry.ID(found["id"]),
        rule_id=found["rule_id"],
        rule_title=found["title"],
        conditions=conditions_of({n: [found[n]] if found[n] is not None else [] for n in
                                  logic.CONDITIONS}),
    )  # fmt: skip


async def preview_exception(
    info: Info,
    rule_id: str,
    conditions: ExceptionConditionsInput,
    start: str | None,
    end: str | None,
) -> ExceptionPreview:
    """Previews an exception over a past window."""
    from app.api.stories import stories_by_ids

    seen = await run_in_threadpool(
        logic.preview, _db(info), rule_id, _given(conditions), start, end, _known_rules(info)
    )
    stories = await stories_by_ids(info, [s["story"] for s in seen.stories])
    return ExceptionPreview(
        rule_id=seen.rule_id,
        from_=Timestamp(seen.start),
        to=Timestamp(seen.end),
        scanned=seen.scanned,
        matched=seen.matched,
        suppressed=seen.suppressed,
        already_suppressed=seen.already_suppressed,
        complete=seen.complete,
        sample=[signal_of(s) for s in seen.sample],
        affected_stories=[
            StoryImpact(
                story=stories.get(s["story"]),
                signals_before=s["before"],
                signals_after=s["after"],
                hidden=s["after"] == 0,
            )
            for s in seen.stories
        ],
        stories_changed=seen.stories_changed,
        stories_hidden=seen.stories_hidden,
    )


def _fresh(info: Info) -> None:
    """Forgets what this request loaded: a mutation changed it."""
    for key in ("story_details", "exception_loader"):
        info.context.pop(key, None)


async def create_exception(
    info: Info,
    rule_id: str,
    conditions: ExceptionConditionsInput,
    reason: str,
    owner: str | None,
    expires_at: str | None,
) -> RuleException:
    """Saves an exception, suppressing what it matches; the stories regroup."""
    from app.api.stories import actor

    found = await run_in_threadpool(
        logic.create, _db(info), rule_id, _given(conditions), reason, actor(info), owner,
        expires_at, _routine(info), _known_rules(info),
    )  # fmt: skip
    _fresh(info)
    return exception_of(found)


async def update_exception(
    info: Info,
    exception_id: str,
    conditions: ExceptionConditionsInput | None,
    owner: str | None,
    reason: str | None,
    expires_at: str | None,
    comment: str | None,
) -> RuleException:
    """Changes an exception; recorded."""
    from app.api.stories import actor

    found = await run_in_threadpool(
        logic.update, _db(info), exception_id, actor(info),
        _given(conditions) if conditions is not None else None, owner, reason, expires_at,
        comment, _routine(info),
    )  # fmt: skip
    _fresh(info)
    return exception_of(found)


async def revoke_exception(info: Info, exception_id: str, reason: str) -> RuleException:
    """Revokes an exception: what it suppressed counts again; recorded."""
    from app.api.stories import actor

    found = await run_in_threadpool(
        logic.revoke, _db(info), exception_id, reason, actor(info), _routine(info)
    )
    _fresh(info)
    return exception_of(found)
