"""A story's activity over time: events and signals per bucket, for a time scrubber."""

from __future__ import annotations

from typing import Any

from app.errors import InputError
from app.events import normalize_ts
from app.investigation.paging import epoch_ns, time_window
from app.neo4j.database import Database

MAX_BUCKETS = 1000
# the widths an automatic bucket picks from, in seconds
WIDTHS = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)
AUTO_BUCKETS = 100


def _iso(seconds: int) -> str:
    return normalize_ts(seconds)


def _epoch(ts: str | None) -> int | None:
    return epoch_ns(normalize_ts(ts)) // 10**9 if ts else None


def activity(
    db: Database,
    keys: list[str],
    first_seen: str | None,
    last_seen: str | None,
    bucket: int | None = None,
    start: str | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    """Counts a story's events and signals per bucket of `bucket` seconds (None: a
    width that gives at most about 100 buckets over the story's span or the window).
    Every bucket from the first to the last is listed, empty ones with zeros."""
    lo, hi = time_window(start, end)
    span_from, span_to = _epoch(lo or first_seen), _epoch(hi or last_seen)
    span = (span_to - span_from) if span_from is not None and span_to is not None else 0
    if bucket is None:
        bucket = next((w for w in WIDTHS if span / w <= AUTO_BUCKETS), WIDTHS[-1])
    if bucket < 1:
        raise InputError("bucket must be at least one second")
    rows = db.read("queries/story_activity", keys=keys, bucket=bucket, **{"from": lo, "to": hi})
    counts = {r["start"]: (r["events"], r["signals"]) for r in rows}
    if not counts:
        return {"bucket": bucket, "buckets": []}
    first, last = min(counts), max(counts)
    if (last - first) // bucket + 1 > MAX_BUCKETS:
        raise InputError(
            f"more than {MAX_BUCKETS} buckets of {bucket} s: ask for a wider bucket or a window"
        )
    buckets = []
    for at in range(first, last + bucket, bucket):
        events, signals = counts.get(at, (0, 0))
        buckets.append({"start": _iso(at), "events": events, "signals": signals})
    return {"bucket": bucket, "buckets": buckets}
