"""GraphQL for indicators of compromise: feeds, indicators, imports, related stories.

`importIndicators` (admin scope) imports a feed and re-checks the stored events
(app/indicators/imports.py); `indicators` and `feeds` read them back;
`Story.related` lists the stories that touched the same indicators
(app/investigation/related.py).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from app.api.guards import BUSY
from app.api.stories import Story, story_of
from app.api.types import PageInfo, Severity, Timestamp
from app.errors import Busy
from app.indicators import imports as logic
from app.investigation.paging import decode_cursor, encode_cursor
from app.investigation.related import related
from app.neo4j.database import Database


def _db(info: Info) -> Database:
    return info.context["db"]


@strawberry.enum(description="What an indicator's value is.")
class IndicatorType(Enum):
    IP = "ip"
    DOMAIN = "domain"
    SHA256 = "sha256"
    SHA1 = "sha1"
    MD5 = "md5"


@strawberry.enum(
    description="The format of an indicator feed: STIX, a STIX 2.1 bundle (JSON); CSV, a header "
    "naming type and value (and description, tactic, technique, valid_until), one indicator "
    "a line."
)
class FeedFormat(Enum):
    STIX = "stix"
    CSV = "csv"


@strawberry.type(description="One feed's listing of an indicator.")
class IndicatorSource:
    feed: str
    description: str | None
    valid_until: Timestamp | None = strawberry.field(
        description="After this time (RFC 3339) the indicator matches no event of the feed."
    )
    tactic: str | None
    technique: str | None
    ref: str | None = strawberry.field(description="The STIX indicator's id, for a STIX feed.")


@strawberry.type(description="A known-bad IP address, domain or file hash, from one or more feeds.")
class Indicator:
    id: strawberry.ID = strawberry.field(description="type:value, e.g. ip:203.0.113.50.")
    type: IndicatorType
    value: str = strawberry.field(
        description="Normalised: an IP as ipaddress writes it, a domain lower-cased without "
        "its trailing dot, a hash in lower-case hex."
    )
    feeds: list[str] = strawberry.field(description="The feeds listing it, by name.")
    sources: list[IndicatorSource]


def indicator_of(row: dict[str, Any]) -> Indicator:
    """Builds an Indicator from a row {id, type, value, sources}."""
    sources = sorted(row["sources"], key=lambda s: s["feed"])
    return Indicator(
        id=strawberry.ID(row["id"]),
        type=IndicatorType(row["type"]),
        value=row["value"],
        feeds=[s["feed"] for s in sources],
        sources=[IndicatorSource(**s) for s in sources],
    )


@strawberry.type
class IndicatorEdge:
    cursor: str
    node: Indicator


@strawberry.type(description="A page of indicators, in id order.")
class IndicatorConnection:
    edges: list[IndicatorEdge]
    page_info: PageInfo


@strawberry.type(description="An indicator feed and what its last import did.")
class Feed:
    name: str
    format: str | None
    severity: Severity | None = strawberry.field(description="The severity of its signals.")
    imported_at: Timestamp | None
    indicator_count: int | None
    read: int | None = strawberry.field(description="Indicator objects or lines read.")
    skipped: int | None = strawberry.field(description="Entries read that cannot match.")
    errors: int | None = strawberry.field(description="Objects or lines that could not be read.")


@strawberry.type(description="How many entries of a feed were skipped for one reason.")
class SkipCount:
    reason: str
    count: int


@strawberry.type(description="An object (STIX, by position in the bundle) or line (CSV) not read.")
class FeedLineError:
    position: int
    reason: str


@strawberry.type(description="The stored events an import re-checked against the feed.")
class Recheck:
    events: int = strawberry.field(description="Events read through the indicators' entities.")
    signals: int = strawberry.field(description="Signals written (again, when they existed).")
    complete: bool = strawberry.field(description="False when it stopped at its bound.")


@strawberry.type(description="What an import of a feed did.")
class IndicatorImport:
    feed: str
    format: str
    read: int = strawberry.field(description="Indicator objects (STIX) or data lines (CSV).")
    indicators: int = strawberry.field(description="Indicators the feed lists now.")
    dropped: int = strawberry.field(description="Listings of earlier imports no longer in it.")
    skipped: list[SkipCount]
    errors: list[FeedLineError] = strawberry.field(description="The first 100 errors.")
    error_count: int
    recheck: Recheck


@strawberry.type(
    description="A story related to this one: its processes touched an entity (address, "
    "domain, file content) holding an indicator this story's signals matched."
)
class RelatedStory:
    story: Story
    indicators: list[Indicator] = strawberry.field(description="The indicators both share.")
    nodes: list[str] = strawberry.field(
        description="The ids (Kind:key) of this story's graph nodes holding them."
    )


async def list_indicators(
    info: Info,
    feed: str | None,
    type_: IndicatorType | None,
    value: str | None,
    first: int,
    after: str | None,
) -> IndicatorConnection:
    """Lists indicators in id order with Relay cursors."""
    after_id = decode_cursor(after)[1] if after else None
    found, more = await run_in_threadpool(
        logic.list_indicators, _db(info), feed, type_.value if type_ else None, value, first,
        after_id,
    )  # fmt: skip
    edges = [IndicatorEdge(cursor=encode_cursor("id", r["id"]), node=indicator_of(r))
             for r in found]  # fmt: skip
    return IndicatorConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
    )


async def list_feeds(info: Info) -> list[Feed]:
    """Lists every feed by name."""
    found = await run_in_threadpool(logic.feeds, _db(info))
    return [
        Feed(**{**r, "severity": Severity(r["severity"]) if r["severity"] else None}) for r in found
    ]


def _import(info: Info, feed: str, fmt: FeedFormat, content: str, severity: Severity) -> Any:
    gate = info.context["gate"]  # an import is as heavy as an ingest: it takes a place
    if not gate.enter():
        raise Busy(BUSY)
    try:
        return logic.import_feed(_db(info), feed, fmt.value, content, severity.value)
    finally:
        gate.leave()


async def import_indicators(
    info: Info, feed: str, fmt: FeedFormat, content: str, severity: Severity
) -> IndicatorImport:
    """Imports a feed and re-checks the stored events; returns what it did."""
    report = await run_in_threadpool(_import, info, feed, fmt, content, severity)
    return IndicatorImport(
        feed=report.feed,
        format=report.format,
        read=report.read,
        indicators=report.indicators,
        dropped=report.dropped,
        skipped=[SkipCount(reason=r, count=n) for r, n in report.skipped],
        errors=[FeedLineError(position=p, reason=r) for p, r in report.errors],
        error_count=report.error_count,
        recheck=Recheck(
            events=report.recheck.events,
            signals=report.recheck.signals,
            complete=report.recheck.complete,
        ),
    )


async def related_of(info: Info, story_id: str) -> list[RelatedStory]:
    """The stories related to one through the indicators it holds."""
    found = await run_in_threadpool(related, _db(info), story_id)
    return [
        RelatedStory(
            story=story_of(r["story"]),
            indicators=[indicator_of(i) for i in r["indicators"]],
            nodes=r["nodes"],
        )
        for r in found
    ]
