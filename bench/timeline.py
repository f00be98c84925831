"""Timeline page cost for a story of 1,000 events vs one of 100,000.

A page of a story's timeline must seek from its cursor, not sort or scan the
story. The benchmark writes two stories straight into the graph (UNWIND
Cypher, in the shape ingest gives them: (Event)-[:BY]->(Process), events
stamped with the context's correlation_key, processes IN_CONTEXT, in short
lineages, a signal on 1% of the events, triage changes and related audit
records), walks each timeline once with cursors (checking every entry comes
once), then times, rounds interleaved, pages of --first entries: the first
page, a deep page (from the cursor ~90% through), and the first pages of a
kind filter and a severity filter. It reports medians and the ratios
100k / 1k, and the database hits of the deep page's events and audit record
queries. Ten processes of each story fetch a key from the instance metadata
service and a CloudTrail call is signed with each key (RELATES_TO the fetcher,
as app/relate.py writes it).

    python -m bench.timeline [--rounds 7] [--first 50]
"""

from __future__ import annotations

import argparse
from typing import Any

from app.investigation.timeline import decode_position, timeline_page
from app.neo4j.database import Database, cypher
from bench.common import database, median, save, timed, wipe

SIZES = (1_000, 100_000)
EVENTS_PER_PROCESS = 10
BATCH = 10_000
# the queries of a page whose database hits are reported
QUERIES = ("events", "audit_records")

STORY = """
MERGE (h:Host {id: 'bench-host'})
MERGE (c:Context {key: $key}) SET c.layer = 'interactive_shell', c.host_id = 'bench-host'
MERGE (st:Story {id: $id})
SET st.correlation_key = $key, st.correlation_keys = [$key], st.routine = false,
    st.title = 'bench', st.severity = 'high', st.score = 1.0, st.status = 'open'
MERGE (st)-[:OF]->(c)
"""

PROCESSES = """
UNWIND range($from, $to - 1) AS i
MATCH (c:Context {key: $key}), (h:Host {id: 'bench-host'})
CREATE (p:Process {key: $key + '|' + i, pid: 10000 + i, exe: '/usr/bin/tool-' + (i % 7),
                   start_time: datetime('2026-01-05T08:00:00Z') + duration({seconds: i}),
                   correlation_key: $key, host_id: 'bench-host', placeholder: false})
CREATE (p)-[:IN_CONTEXT]->(c), (p)-[:ON_HOST]->(h)
WITH p, i WHERE i % 10 <> 0
MATCH (parent:Process {key: $key + '|' + (i - 1)})
CREATE (p)-[:CHILD_OF]->(parent)
"""

EVENTS = """
UNWIND range($from, $to - 1) AS i
MATCH (p:Process {key: $key + '|' + (i / $per_process)})
CREATE (e:Event {id: $key + ':e' + i, correlation_key: $key, host_id: 'bench-host',
                 source: 'bench', pid: p.pid,
                 kind: CASE WHEN i % $per_process = 0 THEN 'process_exec'
                            ELSE ['file_open', 'network_connect', 'dns_query'][i % 3] END,
                 ts: p.start_time + duration({milliseconds: 100 * ((i % $per_process) / 2)}),
                 summary: 'event ' + i})
CREATE (e)-[:BY]->(p)
WITH e, i WHERE i % 100 = 7
MATCH (st:Story {id: $id})
CREATE (s:Signal {id: 'sig:' + e.id, rule_id: 'bench.rule', title: 'bench rule',
                  severity: ['low', 'medium', 'high'][(i / 100) % 3], tactic: 'execution',
                  technique: 'T1059', correlation_key: $key, ts: e.ts, compromises: false,
                  actions: ['Look at ' + e.id]})
CREATE (s)-[:ON]->(e), (st)-[:HAS]->(s)
"""

RECORDS = """
MATCH (st:Story {id: $id})
UNWIND range(0, 4) AS i
CREATE (st)-[:TRIAGE]->(:TriageChange {id: $id + ':t' + i, actor: 'bench', field: 'note',
        to: 'note ' + i, ts: datetime('2026-01-05T08:00:00Z') + duration({seconds: i * $span / 5})})
WITH DISTINCT st
UNWIND range(0, 9) AS i
MATCH (p:Process {key: $key + '|' + (i * $processes / 10)})
CREATE (:Event {id: $key + ':imds' + i, kind: 'imds_request', correlation_key: $key,
                access_key_id: 'ASIABENCH' + i, ts: p.start_time + duration({milliseconds: 1}),
                summary: 'credentials from the metadata service'})-[:BY]->(p)
CREATE (:AuditRecord {id: $id + ':a' + i, source: 'cloudtrail', actor: 'role/bench',
        action: 'GetCallerIdentity', outcome: 'success', access_key_id: 'ASIABENCH' + i,
        ts: p.start_time + duration({seconds: 1})})-[:RELATES_TO]->(p)
"""


def build(db: Database, events: int) -> dict[str, Any]:
    """Writes one story of `events` events; returns its id and key."""
    key = f"bench-timeline-{events}"
    story = f"story-{events}"
    processes = events // EVENTS_PER_PROCESS
    db.query(STORY, {"key": key, "id": story}, write=True)
    for start in range(0, processes, BATCH):
        params = {"key": key, "from": start, "to": min(start + BATCH, processes)}
        db.query(PROCESSES, params, write=True)
    for start in range(0, events, BATCH):
        params = {"key": key, "id": story, "from": start, "to": min(start + BATCH, events),
                  "per_process": EVENTS_PER_PROCESS}  # fmt: skip
        db.query(EVENTS, params, write=True)
    db.query(RECORDS, {"key": key, "id": story, "span": processes, "processes": processes}, True)
    return {"id": story, "keys": [key], "events": events, "processes": processes}


def walk(db: Database, story: dict[str, Any]) -> tuple[int, str]:
    """Walks the whole timeline 200 at a time; returns its length and a cursor ~90% through."""
    seen: set[tuple[str, str]] = set()
    after, deep, count = None, None, 0
    while True:
        page = timeline_page(db, story["id"], story["keys"], 200, after)
        seen.update((i.type, i.record["id"]) for i in page.items)
        count += len(page.items)
        if deep is None and count >= 0.9 * story["events"]:
            deep = page.end_cursor
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert count == len(seen), "an entry came twice"
    assert deep is not None
    return count, deep


def db_hits(db: Database, name: str, story: dict[str, Any], cursor: str, first: int) -> int:
    """Returns the database hits of cypher/timeline/<name> for the page after `cursor`."""
    ts_ns = decode_position(cursor)[0]
    params = {"keys": story["keys"], "after_s": ts_ns // 10**9, "after_ns": ts_ns % 10**9,
              "limit": first + 1}  # fmt: skip
    with db.session(write=False) as s:
        summary = s.run("PROFILE " + cypher(f"timeline/{name}"), params).consume()

    def total(op: dict[str, Any]) -> int:
        return op.get("dbHits", 0) + sum(total(c) for c in op.get("children", []))

    return total(summary.profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--first", type=int, default=50)
    args = parser.parse_args()
    db = database()
    wipe(db)
    stories = {n: build(db, n) for n in SIZES}
    pages: dict[int, dict[str, Any]] = {}
    for n, story in stories.items():
        entries, deep = walk(db, story)
        sid, keys = story["id"], story["keys"]
        pages[n] = {
            "entries": entries,
            "first_page": lambda s=sid, k=keys: timeline_page(db, s, k, args.first),
            "deep_page": lambda s=sid, k=keys, d=deep: timeline_page(db, s, k, args.first, d),
            "deep_page_of_a_kind": lambda s=sid, k=keys, d=deep: timeline_page(
                db, s, k, args.first, d, kinds=["process_exec"]
            ),
            "first_page_of_high_severity": lambda s=sid, k=keys: timeline_page(
                db, s, k, args.first, severities=["high"]
            ),
            "db_hits": {q: db_hits(db, q, story, deep, args.first) for q in QUERIES},
        }
    measures = ("first_page", "deep_page", "deep_page_of_a_kind", "first_page_of_high_severity")
    times: dict[int, dict[str, list[float]]] = {n: {m: [] for m in measures} for n in SIZES}
    for n in SIZES:  # warm the page cache and the query plans
        for m in measures:
            pages[n][m]()
    for _ in range(args.rounds):
        for m in measures:
            for n in SIZES:
                times[n][m].append(timed(pages[n][m]))
    small, large = SIZES
    result: dict[str, Any] = {
        "command": f"python -m bench.timeline --rounds {args.rounds} --first {args.first}",
    }
    for n in SIZES:
        result[f"story_of_{n}_events"] = {
            "processes": stories[n]["processes"],
            "timeline_entries_walked": pages[n]["entries"],
            **{f"{q}_query_db_hits_deep_page": pages[n]["db_hits"][q] for q in QUERIES},
            **{f"{m}_ms": round(median(times[n][m]) * 1000, 2) for m in measures},
        }
    result["ratio_100k_to_1k"] = {
        m: round(median(times[large][m]) / median(times[small][m]), 2) for m in measures
    }
    for q in QUERIES:
        result["ratio_100k_to_1k"][f"{q}_query_db_hits_deep_page"] = round(
            pages[large]["db_hits"][q] / pages[small]["db_hits"][q], 2
        )
    save("timeline", result)
    db.close()


if __name__ == "__main__":
    main()
