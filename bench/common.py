"""What the benchmarks share: a database to run on, timing, and results on disk."""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.neo4j.database import Database, connect
from app.neo4j.launcher import LocalNeo4j
from app.settings import Settings

# where results are written; STORYLINE_BENCH_OUT moves them (the smoke tests do)
OUT = Path(os.environ.get("STORYLINE_BENCH_OUT") or Path(__file__).resolve().parent / "out")


def database() -> Database:
    """Connects to NEO4J_URI, or starts (if needed) and connects to the local Neo4j."""
    settings = Settings.from_env()
    local = None
    if settings.uses_local_neo4j:
        local = LocalNeo4j(settings.local)
        local.start(echo=True)
    db = connect(settings, local)
    db.apply_constraints()
    return db


def wipe(db: Database) -> None:
    """Empties the graph (relationships first, so no transaction holds a dense node's)."""
    with db.session() as s:
        s.run("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 50000 ROWS").consume()
        s.run("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 50000 ROWS").consume()


def timed(fn: Callable[[], Any]) -> float:
    """Returns the seconds one call takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(values: list[float]) -> float:
    """Returns the median."""
    return statistics.median(values)


def save(name: str, result: dict[str, Any]) -> Path:
    """Writes a result as bench/out/<name>.json and prints it."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return path
