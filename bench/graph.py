"""Investigation graph build cost: a story of 100,000 events vs one of 1,000.

The graph merges repeated activity (one edge per process, event kind and
target), and the writer keeps those merged ACTIVITY edges, so building a graph
reads what the processes did, not each event: its cost should follow the
graph's size, not the story's event count. The benchmark writes two stories
straight into the graph, in the shape ingest gives them: the same 100
processes touching the same files, 10 times each in one and 1,000 times each
in the other. It times build_graph on each, rounds interleaved, and reports
medians, graph sizes and the ratio 100k / 1k.

    python -m bench.graph [--rounds 5]
"""

from __future__ import annotations

import argparse
from typing import Any

from app.investigation.graph import build_graph
from app.neo4j.database import Database, cypher
from bench.common import database, median, save, timed, wipe
from bench.timeline import PROCESSES as PROCESS_QUERY
from bench.timeline import STORY

SIZES = (1_000, 100_000)
PROCESSES = 100  # both stories: the same processes, doing the same things more often
BATCH = 10_000

EVENTS = """
UNWIND range($from, $to - 1) AS i
MATCH (p:Process {key: $key + '|' + (i / $per_process)})
MERGE (f:File {key: 'bench-host:/var/lib/app/file-' + ((i / $per_process) % 50) + '-' + (i % 3)})
  ON CREATE SET f.path = '/var/lib/app/file-' + ((i / $per_process) % 50) + '-' + (i % 3),
                f.host_id = 'bench-host'
CREATE (e:Event {id: $key + ':e' + i, correlation_key: $key, host_id: 'bench-host',
                 source: 'bench', pid: p.pid, kind: 'file_open', path: f.path,
                 ts: p.start_time + duration({milliseconds: 100 * (i % $per_process)}),
                 summary: 'open ' + f.path})
CREATE (e)-[:BY]->(p), (e)-[:TOUCHES {pending: true}]->(f)
"""


def build(db: Database, events: int) -> str:
    key, story = f"bench-graph-{events}", f"graph-story-{events}"
    db.query(STORY, {"key": key, "id": story}, write=True)
    db.query(PROCESS_QUERY, {"key": key, "from": 0, "to": PROCESSES}, write=True)
    for start in range(0, events, BATCH):
        params = {"key": key, "from": start, "to": min(start + BATCH, events),
                  "per_process": events // PROCESSES}  # fmt: skip
        db.query(EVENTS, params, write=True)
        ids = [{"id": f"{key}:e{i}"} for i in range(start, min(start + BATCH, events))]
        db.query(cypher("ingest/merge_activity"), {"rows": ids}, write=True)  # as ingest does
    return story


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    db = database()
    wipe(db)
    stories = {n: build(db, n) for n in SIZES}
    times: dict[int, list[float]] = {n: [] for n in SIZES}
    sizes: dict[int, dict[str, Any]] = {}
    for _ in range(args.rounds):
        for n in SIZES:
            built: list[dict[str, Any]] = []
            times[n].append(
                timed(lambda n=n, built=built: built.append(build_graph(db, stories[n])))
            )
            graph = built[0]
            sizes[n] = {
                "nodes": len(graph["nodes"]),
                "edges": len(graph["edges"]),
                "truncated": graph["truncated"],
            }
    result = {
        "command": f"python -m bench.graph --rounds {args.rounds}",
        **{
            f"story_of_{n}_events": {**sizes[n], "build_ms": round(median(times[n]) * 1000, 1)}
            for n in SIZES
        },
        "ratio_100k_to_1k": round(median(times[SIZES[1]]) / median(times[SIZES[0]]), 2),
    }
    save("graph", result)
    db.close()


if __name__ == "__main__":
    main()
