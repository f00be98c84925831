"""Stamping cost per event at depth 1 vs depth 50, into an empty graph vs a large one.

A new process must be stamped from its parent: its cost must not grow with the
depth of its lineage or the size of the graph. The benchmark builds two
lineages (depth 1 and depth 50) and stamps them, then measures, rounds
interleaved, the time to ingest and stamp new leaf processes under each (each
leaf with its exec and a few events). It does so on an empty graph, then after
loading a generated workload of --events events (default 1,000,000), and
reports costs per event and the ratios depth 50 / depth 1 and large / empty.
The late-evidence path is measured too: a compromise mark at the top of a
depth-50 lineage re-stamps its whole subtree, one level per round.

    python -m bench.stamping [--events 1000000] [--leaves 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from app.generate import lines
from app.ingest import ingest
from app.neo4j.database import Database
from bench.common import database, median, save, timed, wipe

HOST = "bench-host"


def _proc(pid: int, start: int, exe: str = "/bin/sh") -> dict[str, Any]:
    return {"pid": pid, "start_time": start, "exe": exe, "args": [exe.rsplit("/", 1)[-1]]}


def _exec(n: str, proc: dict, parent: dict | None, ts: int) -> dict[str, Any]:
    e = {"id": n, "ts": ts, "source": "bench", "host": {"id": HOST}, "kind": "process_exec",
         "process": proc}  # fmt: skip
    if parent is not None:
        e["parent"] = parent
    return e


def _lineage(db: Database, depth: int, base_pid: int) -> dict[str, Any]:
    """Ingests a chain of `depth` processes under a service; returns the deepest."""
    start = 1_700_000_000
    parent = {"pid": base_pid, "start_time": start, "exe": "/usr/sbin/daemon",
              "cgroup": "/system.slice/daemon.service"}  # fmt: skip
    events = [_exec(f"lin-{base_pid}-0", parent, None, start)]
    for level in range(1, depth + 1):
        child = _proc(base_pid + level, start + level)
        events.append(_exec(f"lin-{base_pid}-{level}", child, parent, start + level))
        parent = child
    ingest(db, "storyline", [json.dumps(e) + "\n" for e in events])
    return parent


def _leaves(parent: dict[str, Any], tag: str, count: int, pid0: int) -> list[str]:
    """New leaf processes under `parent`, each with its exec and three events."""
    out = []
    for i in range(count):
        ts = 1_700_100_000 + i
        leaf = _proc(pid0 + i, ts, "/usr/bin/curl")
        out.append(_exec(f"{tag}-exec-{i}", leaf, parent, ts))
        for j, kind in enumerate(("file_open", "network_connect", "dns_query")):
            e = {"id": f"{tag}-{kind}-{i}", "ts": ts + j, "source": "bench",
                 "host": {"id": HOST}, "kind": kind, "process": leaf}  # fmt: skip
            if kind == "file_open":
                e["file"] = {"path": f"/tmp/{tag}/{i}"}
            elif kind == "network_connect":
                e["network"] = {"dst_ip": "192.0.2.1", "dst_port": 443}
            else:
                e["dns"] = {"name": "example.org"}
            out.append(e)
    return [json.dumps(e) + "\n" for e in out]


def measure(db: Database, label: str, leaves: int, rounds: int) -> dict[str, Any]:
    lineages = {
        1: _lineage(db, 1, 10_000),
        8: _lineage(db, 8, 30_000),
        50: _lineage(db, 50, 20_000),
    }
    costs: dict[int, list[float]] = {depth: [] for depth in lineages}
    for r in range(rounds):
        for depth, parent in lineages.items():
            batch = _leaves(
                parent, f"{label}-{depth}-{r}", leaves, 100_000 * (r + 1) + depth * 1000
            )
            seconds = timed(lambda b=batch: ingest(db, "storyline", b, batch_size=len(b)))
            costs[depth].append(seconds / len(batch))
    # late evidence: a compromise mark at the top of the depth-50 lineage
    top = {"pid": 20_001, "start_time": 1_700_000_001, "exe": "/bin/sh", "args": ["sh"]}
    alert = {"id": f"{label}-alert", "ts": 1_700_200_000, "source": "bench",
             "host": {"id": HOST}, "kind": "alert", "process": top,
             "alert": {"rule_id": "bench.mark", "title": "bench", "compromises": True}}  # fmt: skip
    rekey = timed(lambda: ingest(db, "storyline", [json.dumps(alert) + "\n"]))
    return {
        "per_event_ms_depth_1": round(median(costs[1]) * 1000, 3),
        "per_event_ms_depth_50": round(median(costs[50]) * 1000, 3),
        "ratio_depth_50_to_1": round(median(costs[50]) / median(costs[1]), 3),
        # detection reads up to eight ancestors: past depth 8 nothing should grow
        "per_event_ms_depth_8": round(median(costs[8]) * 1000, 3),
        "ratio_depth_50_to_8": round(median(costs[50]) / median(costs[8]), 3),
        "rekey_subtree_of_50_levels_plus_leaves_s": round(rekey, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--leaves", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    db = database()
    wipe(db)
    empty = measure(db, "empty", args.leaves, args.rounds)
    wipe(db)
    loaded = timed(
        lambda: ingest(db, "storyline", (x + "\n" for x in lines(5, args.events)), args.batch_size)
    )
    large = measure(db, "large", args.leaves, args.rounds)
    result = {
        "command": f"python -m bench.stamping --events {args.events} --leaves {args.leaves} "
        f"--rounds {args.rounds}",
        "empty_graph": empty,
        f"graph_of_{args.events}_events": large,
        "load_seconds": round(loaded, 1),
        "ratio_large_to_empty_depth_1": round(
            large["per_event_ms_depth_1"] / empty["per_event_ms_depth_1"], 3
        ),
        "ratio_large_to_empty_depth_50": round(
            large["per_event_ms_depth_50"] / empty["per_event_ms_depth_50"], 3
        ),
    }
    save("stamping", result)
    db.close()


if __name__ == "__main__":
    main()
