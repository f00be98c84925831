"""Importing a feed into the graph, and reading feeds and indicators back.

An import reads the whole feed first (app/indicators/feeds.py): a feed that
cannot be read changes nothing. Then, holding the feed's claim (one import of
a feed at a time, across every process):

1. the feed's indicators are merged in batches of WRITE_BATCH, each listing
   (:Indicator)-[:FROM]->(:Feed) stamped with this import's id;
2. the listings this import did not renew are dropped: a feed is a snapshot,
   and what it no longer lists stops matching (signals already made stay);
3. the stored events are re-checked (app/indicators/matching.py), so that the
   signals do not depend on whether the feed or the events came first.

Importing the same feed again writes the same indicators and the same signals.
The signals' stories follow in the background stage, as for detection's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.errors import Busy, InputError
from app.events import format_ts
from app.indicators.feeds import Parsed, parse
from app.indicators.matching import RECHECK_LIMIT, Recheck, recheck
from app.indicators.values import TYPES, BadValue, indicator_id, lookups, normalise
from app.investigation.paging import page_size
from app.neo4j.database import Database

FEED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SEVERITIES = ("info", "low", "medium", "high", "critical")
WRITE_BATCH = 5000  # indicators per transaction
DROP_BATCH = 10_000  # stale listings dropped per transaction
CLAIM_STALE_SECONDS = 3600  # a claim older than this belongs to an import that died
MAX_FEEDS = 500  # feeds listed


def check_feed_name(name: str) -> str:
    """Returns a feed name when valid (it names the feed's signals), else raises InputError."""
    if not isinstance(name, str) or not FEED_NAME.fullmatch(name):
        shown = name[:70] if isinstance(name, str) else name
        raise InputError(
            f"a feed name is 1-64 letters, digits and ._- starting with a letter or digit, "
            f"got {shown!r}"
        )
    return name


@dataclass
class ImportReport:
    """What an import did."""

    feed: str
    format: str
    read: int  # indicator objects or data lines read
    indicators: int  # indicators the feed lists after the import
    dropped: int  # listings of earlier imports the feed no longer holds
    skipped: list[tuple[str, int]]  # (reason, count), by reason
    errors: list[tuple[int, str]]  # (position, reason): the first of them
    error_count: int
    recheck: Recheck = field(default_factory=Recheck)


def import_feed(
    db: Database,
    feed: str,
    fmt: str,
    content: str | bytes,
    severity: str = "high",
    progress: Callable[[Recheck], object] | None = None,
    now: str | None = None,
    recheck_limit: int = RECHECK_LIMIT,
) -> ImportReport:
    """Imports a feed (format `stix` or `csv`) and re-checks the stored events against it.

    `severity` is the severity of the feed's signals; `now` (RFC 3339, default the
    clock) decides which indicators have expired; `progress` hears from the re-check.
    """
    check_feed_name(feed)
    if severity not in SEVERITIES:
        raise InputError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    parsed = parse(fmt, content, now)
    import_id = uuid.uuid4().hex
    claimed = db.run(
        "indicators/start_import", feed=feed, import_id=import_id,
        stale_seconds=CLAIM_STALE_SECONDS,
    )  # fmt: skip
    if not claimed:
        raise Busy(f"feed {feed!r} is being imported by another import: try again when it ends")
    try:
        rows = _rows(parsed)
        for start in range(0, len(rows), WRITE_BATCH):
            db.run(
                "indicators/merge_indicators", feed=feed, import_id=import_id,
                rows=rows[start : start + WRITE_BATCH],
            )  # fmt: skip
        dropped = 0
        while found := db.run(
            "indicators/drop_stale", feed=feed, import_id=import_id, limit=DROP_BATCH
        )[0]["dropped"]:
            dropped += found
        [finished] = db.run(
            "indicators/finish_feed", feed=feed, format=fmt, severity=severity,
            read=parsed.read, skipped=sum(parsed.skipped.values()), errors=parsed.error_count,
        )  # fmt: skip
        checked = recheck(db, feed, progress, recheck_limit)
    finally:
        db.run("indicators/end_import", feed=feed, import_id=import_id)
    return ImportReport(
        feed=feed,
        format=fmt,
        read=parsed.read,
        indicators=finished["indicator_count"],
        dropped=dropped,
        skipped=sorted(parsed.skipped.items()),
        errors=parsed.errors,
        error_count=parsed.error_count,
        recheck=checked,
    )


def _rows(parsed: Parsed) -> list[dict[str, Any]]:
    return [
        {
            "id": indicator_id(e.type, e.value),
            "type": e.type,
            "value": e.value,
            "lookups": lookups(e.type, e.value),
            "description": e.description,
            "valid_until": e.valid_until,
            "tactic": e.tactic,
            "technique": e.technique,
            "ref": e.ref,
        }
        for e in sorted(parsed.entries.values(), key=lambda e: (e.type, e.value))
    ]


def feeds(db: Database) -> list[dict[str, Any]]:
    """Returns every feed by name (at most MAX_FEEDS) with what its last import did."""
    found = db.read("indicators/feeds", limit=MAX_FEEDS)
    return [{**r, "imported_at": format_ts(r["imported_at"])} for r in found]


def sources(listings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Returns an indicator's listings by feed, their times in the one format."""
    return sorted(
        ({**s, "valid_until": format_ts(s["valid_until"])} for s in listings),
        key=lambda s: s["feed"],
    )


def value_ids(value: str, type_: str | None = None) -> list[str]:
    """Returns the indicator ids a value may be: of `type_`, else of every type it is
    valid for. Raises InputError when it is none."""
    types = [type_] if type_ else list(TYPES)
    found = []
    for candidate in types:
        try:
            found.append(indicator_id(candidate, normalise(candidate, value)))
        except BadValue as exc:
            if type_:
                raise InputError(str(exc)) from None
    if not found:
        raise InputError(f"{value[:80]!r} is no IP address, domain or hash")
    return found


def list_indicators(
    db: Database,
    feed: str | None = None,
    type_: str | None = None,
    value: str | None = None,
    first: int = 50,
    after: str | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Returns one page of indicators in id order after `after` (an id), and whether more
    follow: those of a feed, a type, or a value (as any type it is valid for)."""
    first = page_size(first)
    if type_ is not None and type_ not in TYPES:
        raise InputError(f"an indicator type is one of {', '.join(TYPES)}, got {type_!r}")
    if feed is not None:
        check_feed_name(feed)
    ids = value_ids(value, type_) if value is not None else None
    found = db.read(
        "indicators/list_indicators", ids=ids, feed=feed, type=type_, after=after or "",
        limit=first + 1,
    )  # fmt: skip
    return [{**r, "sources": sources(r["sources"])} for r in found[:first]], len(found) > first
