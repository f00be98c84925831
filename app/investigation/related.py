"""Stories related through indicators of compromise: the same known-bad address, domain
or file content touched by the processes of two stories, on one host or several.

A story holds an indicator when one of its signals MATCHED it (app/indicators/).
Its related stories are those of the execution contexts of every process that
touched an entity holding that value, found through the merged ACTIVITY edges
(cypher/indicators/related_stories.cypher): a process on another host that
connected to the same C2 address is related even if the feed arrived after it
and before its own event was matched. Every step is bounded.
"""

from __future__ import annotations

from typing import Any

from app.indicators.imports import sources
from app.neo4j.database import Database

MAX_RELATED = 20  # related stories listed
MAX_INDICATORS = 50  # a story's indicators followed
SCAN = 5000  # processes (and signals) read per indicator


def related(db: Database, story_id: str, limit: int = MAX_RELATED) -> list[dict[str, Any]]:
    """Returns the stories related to a story, highest score first: each {story (its
    properties), indicators [{id, type, value, sources}], nodes [graph node id]}."""
    found = db.read(
        "indicators/related_stories", id=story_id, indicators=MAX_INDICATORS, scan=SCAN,
        limit=max(1, min(limit, MAX_RELATED)),
    )  # fmt: skip
    for row in found:
        row["indicators"] = sorted(row["indicators"], key=lambda i: i["id"])
        for indicator in row["indicators"]:
            indicator["sources"] = sources(indicator["sources"])
        row["nodes"] = sorted(row["nodes"])
    return found
