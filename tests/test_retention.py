"""Retention: `storyline prune` removes what is old and outside every story, keeps a
story's evidence (its events, its processes with their whole lineage, the roots of
its contexts) as long as the story, and leaves every kept story exactly as it was.

The world: a shell exec'd into container c1 on node-2 with a story (open); a JVM
exploit on node-3 with a story that is then archived; an SSH session and cron jobs on
node-1 with no signal at all. Everything happened on 2026-01-05.
"""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.errors import InputError
from app.ingest import ingest
from app.investigation.graph import build_graph
from app.investigation.stories import record
from app.investigation.timeline import timeline_page
from app.neo4j.database import Database
from app.pipeline import Pipeline, Worker
from app.retention import Pruner, cutoff, parse_age, prune
from tests.api.test_search import scenario
from tests.rules.test_stories import load
from tests.server import storyline_command
from tests.test_layers import cron_jobs, ssh_session

LIMIT = datetime(2026, 6, 1, tzinfo=UTC)


def count(db: Database, query: str, **params: Any) -> int:
    return int(db.query(query, params)[1][0]["n"])


def story_view(db: Database, story: str) -> dict[str, Any]:
    """What an analyst sees of a story: its graph and its whole timeline."""
    keys = db.query("MATCH (s:Story {id: $id}) RETURN s.correlation_keys AS k", {"id": story})
    page = timeline_page(db, story, keys[1][0]["k"], 200, None)
    assert not page.has_next_page
    return {
        "graph": build_graph(db, story),
        "timeline": [(i.type, i.kind, i.ts, i.record.get("id")) for i in page.items],
    }


def world(db: Database) -> dict[str, str]:
    found = scenario(db)
    noise = ssh_session("node-1")[0] + cron_jobs()[0]
    load(db, noise)
    record(db, found["jvm"], "status", "archived", "alice", "handled")
    # the archiving happened long ago too
    db.query(
        "MATCH (s:Story {id: $id})-[:TRIAGE]->(t) "
        "SET s.updated_at = datetime('2026-01-06T00:00:00Z'), t.ts = s.updated_at",
        {"id": found["jvm"]},
        write=True,
    )
    return found


def test_ages_and_limits_are_parsed_strictly() -> None:
    assert parse_age("30d") == timedelta(days=30)
    assert parse_age(" 2w ") == timedelta(weeks=2)
    for bad in ("30", "d", "-1d", "1.5d", "30 days", "0s", "9999999d", ""):
        with pytest.raises(InputError):
            parse_age(bad)
    assert cutoff(before="2026-06-01T00:00:00Z") == LIMIT
    with pytest.raises(InputError):
        cutoff(before="June")
    with pytest.raises(InputError):
        cutoff("30d", "2026-06-01T00:00:00Z")


def test_prune_keeps_open_stories_whole_and_removes_the_rest(db: Database) -> None:
    found = world(db)
    shell = found["shell"]
    before = story_view(db, shell)
    shell_events = count(
        db,
        "MATCH (s:Story {id: $id}) MATCH (e:Event) WHERE e.correlation_key IN s.correlation_keys "
        "RETURN count(e) AS n",
        id=shell,
    )
    assert shell_events > 0
    # lineage of the shell story: sh <- runc <- containerd-shim, all kept
    lineage = {
        r["exe"]
        for r in db.query(
            "MATCH (:Process {key: $k})-[:CHILD_OF*0..]->(p) RETURN p.exe AS exe",
            {"k": found["sh"]},
        )[1]
    }

    events = count(db, "MATCH (e:Event) RETURN count(e) AS n")
    processes = count(db, "MATCH (p:Process) RETURN count(p) AS n")
    done = prune(db, LIMIT, batch=3)  # tiny batches: many transactions, each bounded

    assert done.done and done.transactions > 10
    assert done.stories == 1  # the archived JVM story
    assert count(db, "MATCH (s:Story) RETURN count(s) AS n") == 1
    assert count(db, "MATCH (s:Story {id: $id}) RETURN count(s) AS n", id=shell) == 1
    # every event left is the shell story's
    assert count(db, "MATCH (e:Event) RETURN count(e) AS n") == shell_events
    assert story_view(db, shell) == before
    assert {
        r["exe"]
        for r in db.query(
            "MATCH (:Process {key: $k})-[:CHILD_OF*0..]->(p) RETURN p.exe AS exe",
            {"k": found["sh"]},
        )[1]
    } == lineage
    # nothing of node-1 (no signal) or of the archived JVM story is left
    assert (
        count(db, "MATCH (p:Process) WHERE p.host_id IN ['node-1', 'node-3'] RETURN count(p) AS n")
        == 0
    )
    assert count(db, "MATCH (c:Context) WHERE c.key STARTS WITH 'node-1' RETURN count(c) AS n") == 0
    assert count(db, "MATCH (t:TriageChange) RETURN count(t) AS n") == 0
    assert (
        count(db, "MATCH (s:Signal) WHERE NOT EXISTS { (:Story)-[:HAS]->(s) } RETURN count(s) AS n")
        == 0
    )
    # the JVM's reverse shell endpoint went with it; the shell story's endpoint stayed
    ip = found["jvm_ip"]
    assert count(db, "MATCH (n:Endpoint {ip: $ip}) RETURN count(n) AS n", ip=ip) == 0
    assert count(db, "MATCH (n:Endpoint {ip: '203.0.113.9'}) RETURN count(n) AS n") == 1
    # the counts say what went
    assert done.events == events - shell_events == done.events_read - shell_events
    assert done.processes == processes - count(db, "MATCH (p:Process) RETURN count(p) AS n") > 10

    again = prune(db, LIMIT)
    assert (again.stories, again.events, again.processes, again.contexts) == (0, 0, 0, 0)
    assert story_view(db, shell) == before


def test_prune_keeps_what_is_newer_than_the_limit(db: Database) -> None:
    world(db)
    nodes = count(db, "MATCH (n) RETURN count(n) AS n")
    done = prune(db, datetime(2026, 1, 5, tzinfo=UTC))  # before everything
    assert (done.stories, done.events, done.processes, done.events_read) == (0, 0, 0, 0)
    assert count(db, "MATCH (n) RETURN count(n) AS n") == nodes


def test_events_not_yet_detected_or_stamped_stay(db: Database) -> None:
    events = ssh_session("node-1")[0]
    # written, never processed: queued for detection, processes unstamped
    report = ingest(db, "storyline", [json.dumps(e) + "\n" for e in events], after_batch=None)
    assert report.rejected == []
    done = prune(db, LIMIT)
    assert (done.events, done.processes) == (0, 0)
    assert count(db, "MATCH (e:Event) RETURN count(e) AS n") == len(events)


def test_storyline_prune_on_the_command_line(db: Database, neo4j_env: dict[str, str]) -> None:
    world(db)
    run = subprocess.run(
        [*storyline_command(), "prune", "--before", "2026-06-01T00:00:00Z", "--json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["stories"] == 1 and out["events"] > 0 and out["done"] is True
    assert out["before"] == "2026-06-01T00:00:00+00:00"
    assert count(db, "MATCH (s:Story) RETURN count(s) AS n") == 1
    bad = subprocess.run(
        [*storyline_command(), "prune", "--older-than", "soon"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 1 and "30d" in bad.stderr


def test_the_background_stage_prunes_between_its_cycles(db: Database) -> None:
    found = world(db)
    shell = found["shell"]
    before = story_view(db, shell)
    kept = count(
        db,
        "MATCH (s:Story {id: $id}) MATCH (e:Event) WHERE e.correlation_key IN s.correlation_keys "
        "RETURN count(e) AS n",
        id=shell,
    )
    # everything happened in January 2026: older than 30 days
    pruner = Pruner(parse_age("30d"), every=0, batches=2)
    worker = Worker(db, Pipeline(rules=()), idle_seconds=0.05, pruner=pruner).start()
    try:
        deadline = time.monotonic() + 120
        while count(db, "MATCH (e:Event) RETURN count(e) AS n") > kept:
            assert time.monotonic() < deadline, "the worker did not prune"
            time.sleep(0.2)
        while not pruner.runs:  # the run finishes (audit records, leftovers)
            assert time.monotonic() < deadline, "the run did not finish"
            time.sleep(0.2)
    finally:
        worker.stop()
    assert worker.error is None
    assert count(db, "MATCH (s:Story) RETURN count(s) AS n") == 1
    assert story_view(db, shell) == before
