"""GraphQL subscription: stories as they are created or change.

The app is stateless and any number of replicas may serve one Neo4j, so the
change feed is the database itself: every story write moves `Story.updated_at`
(the server's clock) when what a reader sees changes, and each subscription
polls for stories updated since its last poll. Transactions may commit a little
after the time they stamp, so each poll looks back OVERLAP further and drops
what it already sent (same id, same updated_at).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator
from datetime import datetime, timedelta
from typing import Any

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.types import Info

from app.api.auth import principal_of
from app.api.stories import Story, StoryFilter, filter_params, filter_values, story_of

OVERLAP = timedelta(seconds=10)
BATCH = 200
# Each subscription polls the database: a client may not open them without end.
MAX_PER_TOKEN = 20
MAX_PER_CONNECTION = 10


class SubscriptionRefused(GraphQLError):
    """Too many subscriptions, or the token that opened one is no longer valid."""

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": "FORBIDDEN"})


def _parse(ts: str) -> datetime:
    # Neo4j prints nanoseconds and a Z; Python's fromisoformat takes microseconds
    head, _, frac = ts.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")


async def story_updates(
    info: Info, filter: StoryFilter | None = None
) -> AsyncGenerator[Story, None]:
    """Yields each story created or changed after the subscription starts, in order.

    Bounded per token and per connection; before each poll the token is checked
    again, so a revoked token (or one that lost `read`) stops streaming.
    """
    request = info.context["request"]
    who = principal_of(request)
    token = request.scope.get("state", {}).get("token")
    counts: Counter[Any] = request.app.state.__dict__.setdefault("subscriptions", Counter())
    keys = (("token", who.name), ("connection", id(request)))
    if counts[keys[0]] >= MAX_PER_TOKEN or counts[keys[1]] >= MAX_PER_CONNECTION:
        raise SubscriptionRefused(
            f"at most {MAX_PER_TOKEN} subscriptions per token and {MAX_PER_CONNECTION} per "
            "connection: complete one first"
        )
    counts.update(keys)
    try:
        async for story in _updates(info, filter, request.app.state.auth, who, token):
            yield story
    finally:
        counts.subtract(keys)


async def _updates(
    info: Info, filter: StoryFilter | None, auth: Any, who: Any, token: str | None
) -> AsyncGenerator[Story, None]:
    db = info.context["db"]
    interval = info.context["settings"].subscription_poll_ms / 1000
    values = filter_values(filter)
    # status and severity are asked of the query; any other field of the filter is
    # checked by list_stories on the ids found (entities resolved again each time)
    narrow = any(v for k, v in values.items() if k not in ("statuses", "severities"))
    now = await run_in_threadpool(db.read, "queries/server_time")
    since = _parse(now[0]["now"])
    sent: dict[str, str] = {}  # story id -> the updated_at last sent
    while True:
        if who.authenticated:
            now_who = auth.principal(token)
            if now_who is None or not now_who.can("read"):
                raise SubscriptionRefused("the API token was revoked or lost the 'read' scope")
        after_ts, after_id = (since - OVERLAP).isoformat(), ""
        while True:  # page through everything updated since the look-back point
            found = await run_in_threadpool(
                db.read,
                "queries/stories_updated_since",
                after_ts=after_ts,
                after_id=after_id,
                statuses=values.get("statuses"),
                severities=values.get("severities"),
                limit=BATCH,
            )
            kept = (
                await _matching(db, filter, [r["story"]["id"] for r in found]) if narrow else None
            )
            for row in found:
                props = row["story"]
                stamp = props["updated_at"]
                after_ts, after_id = stamp, props["id"]
                if sent.get(props["id"]) == stamp:
                    continue
                sent[props["id"]] = stamp
                since = max(since, _parse(stamp))
                if kept is None or props["id"] in kept:
                    yield story_of(props)
            if len(found) < BATCH:
                break
        horizon = since - OVERLAP
        sent = {k: v for k, v in sent.items() if _parse(v) >= horizon}
        await asyncio.sleep(interval)


async def _matching(db: Any, filter: StoryFilter | None, ids: list[str]) -> set[str]:
    """Returns which of the stories `ids` the whole filter keeps."""
    if not ids:
        return set()
    params = await run_in_threadpool(filter_params, db, filter)
    params["ids"] = ids
    # a story that an exception just hid is streamed too (suppressed: true), so that a
    # client's list can drop it
    params["suppressed"] = None
    found = await run_in_threadpool(
        db.read,
        "queries/list_stories",
        **params,
        after_score=None,
        after_id=None,
        limit=len(ids),
    )
    return {r["story"]["id"] for r in found}
