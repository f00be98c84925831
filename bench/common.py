"""What the benchmarks share: a database to run on, timing, and results on disk."""

from __future__ import annotations

import json
import os
import resource
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.neo4j.database import Database, connect
from app.neo4j.launcher import LocalNeo4j
from app.settings import Settings

# where results are written; STORYLINE_BENCH_OUT moves them (the smoke tests do)
OUT = Path(os.environ.get("STORYLINE_BENCH_OUT") or Path(__file__).resolve().parent / "out")


def stop_on_sigterm(name: str) -> None:
    """Turns SIGTERM (`timeout`, `kill`) into SystemExit with a message: the bench's
    `finally` blocks and `subprocess.run` then stop the servers and commands it
    started, which would otherwise outlive it, and the run says why it wrote no JSON."""

    def stop(signum: int, frame: object) -> None:
        sys.exit(f"{name}: stopped by SIGTERM before it finished; no result written")

    signal.signal(signal.SIGTERM, stop)


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


class Cpu:
    """CPU seconds used since the last reading: this process and its waited-for
    children (`app`), and the local Neo4j's process with all its threads (`neo4j`,
    None when the bench runs on a Neo4j elsewhere). Less swayed by the other
    tenants of a shared machine than wall time, and it says which side the time
    went to."""

    def __init__(self) -> None:
        settings = Settings.from_env()
        pid = LocalNeo4j(settings.local).running_pid() if settings.uses_local_neo4j else None
        self.stat = Path(f"/proc/{pid}/stat") if pid is not None else None
        self.last = self._now()

    def _now(self) -> tuple[float, float | None]:
        own, children = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        app = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
        neo4j = None
        if self.stat is not None and self.stat.exists():
            fields = self.stat.read_text().rsplit(")", 1)[1].split()
            neo4j = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return app, neo4j

    def since(self) -> dict[str, float | None]:
        """Returns {app, neo4j} CPU seconds since the last call (or the start)."""
        (app0, neo0), (app1, neo1) = self.last, self._now()
        self.last = (app1, neo1)
        used = None if neo0 is None or neo1 is None else round(neo1 - neo0, 2)
        return {"app": round(app1 - app0, 2), "neo4j": used}


class MachineBusy:
    """The share of the whole machine's CPU time (every core, every process, other
    tenants too) that was not idle since the last reading, from /proc/stat (None
    where there is none). Near 1, a path cannot get faster by running more of
    itself at once."""

    def __init__(self) -> None:
        self.last = self._now()

    @staticmethod
    def _now() -> tuple[int, int] | None:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        except (OSError, ValueError):
            return None
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    def since(self) -> float | None:
        """Returns the busy share since the last call (or the start), 0 to 1."""
        before, self.last = self.last, self._now()
        if before is None or self.last is None or self.last[0] == before[0]:
            return None
        return round(1 - (self.last[1] - before[1]) / (self.last[0] - before[0]), 2)


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
