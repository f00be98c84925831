"""Two app replicas refreshing stories at once lose nothing (docs/stories.md)."""

from __future__ import annotations

import json
import threading

from app.ingest import ingest
from app.neo4j.database import Database
from app.pipeline import Pipeline
from tests.graphstate import rows
from tests.rules.test_stories import login
from tests.test_layers import uuid


def test_concurrent_writers_keep_every_routine_session_in_its_story(db: Database) -> None:
    sessions = [
        login("node-1", "alice", 1000, 100 + i, 3000 + 10 * i, 10 + 5 * i) for i in range(24)
    ]
    errors: list[BaseException] = []

    def writer(part: list) -> None:
        try:
            for events, _ in part:
                text = [json.dumps(e) + "\n" for e in events]
                ingest(db, "storyline", text, after_batch=Pipeline(rules=()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(sessions[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    keys = {uuid(bash, "interactive_shell") for _, bash in sessions}
    [(story_keys, signals)] = rows(
        db, "MATCH (s:Story)-[:HAS]->(g:Signal) RETURN s.correlation_keys, count(g)"
    )
    assert set(story_keys) == keys and signals == len(keys)
    assert (
        rows(db, "MATCH (g:Signal) WHERE NOT EXISTS { (:Story)-[:HAS]->(g) } RETURN g.id") == set()
    )
