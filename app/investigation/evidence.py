"""What a story's exports for other tools and for people say, read once: the story, its
signals with their events and processes, its indicators, approvals and triage history.

The OCSF findings (app/investigation/ocsf.py) and the incident report
(app/investigation/report.py) render it. Every list is bounded: at most MAX_SIGNALS
signals (in time order; `truncated` says when there were more) and MAX_INDICATORS
indicators of each kind, read from at most SCAN_EVENTS events per key and kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.investigation.approvals import approvals_of
from app.neo4j.database import Database

MAX_SIGNALS = 5000
MAX_INDICATORS = 200
SCAN_EVENTS = 100_000


@dataclass
class Evidence:
    """A story and what its exports say of it."""

    story: dict[str, Any]
    signals: list[dict[str, Any]]  # {signal, event, process, parent, container, pod, hashes}
    truncated: bool
    history: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    contexts: list[dict[str, Any]]
    indicators: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def gather(db: Database, story_id: str, indicators: bool = True) -> Evidence | None:
    """Reads what a story's exports say; None when there is no such story."""
    found = db.read("queries/stories_by_ids", ids=[story_id])
    if not found:
        return None
    story = found[0]["story"]
    keys = story.get("correlation_keys") or [story["correlation_key"]]
    rows = db.read("exports/story_findings", id=story_id, limit=MAX_SIGNALS + 1)
    evidence = Evidence(
        story=story,
        signals=rows[:MAX_SIGNALS],
        truncated=len(rows) > MAX_SIGNALS,
        history=found[0]["history"],
        approvals=approvals_of(db, [story_id])[story_id],
        contexts=db.read("queries/story_contexts", keys=keys),
    )
    if indicators:
        [row] = db.read(
            "exports/story_indicators", keys=keys, limit=MAX_INDICATORS, scan=SCAN_EVENTS
        )
        evidence.indicators = dict(row)
    return evidence
