"""Alert fidelity on the generator's workload, against its ground truth.

Ingests a generated workload (with its planted attack chains) through the full
pipeline (rules, layers, stories) and reports: signals, stories, stories per
signal, and for each planted chain whether it lands in exactly one story and
how many unrelated processes that story holds.

    python -m bench.fidelity [--seed 11] [--events 20000] [--hosts 3] [--no-alerts]
"""

from __future__ import annotations

import argparse
from typing import Any

from app.generate import Truth, lines
from app.ingest import ingest
from app.neo4j.database import Database
from bench.common import database, save, timed, wipe


def chain_report(db: Database, chain: dict[str, Any]) -> dict[str, Any]:
    """Where a chain's signals landed, and what else its story holds."""
    _, found = db.query(
        "UNWIND $ids AS id MATCH (st:Story)-[:HAS]->(:Signal)-[:ON]->(:Event {id: id}) "
        "RETURN DISTINCT st.id AS story, st.correlation_keys AS keys",
        {"ids": chain["events"]},
    )
    _, keys = db.query(
        "UNWIND $ids AS id MATCH (e:Event {id: id}) RETURN DISTINCT e.correlation_key AS key",
        {"ids": chain["events"]},
    )
    out: dict[str, Any] = {
        "chain": chain["id"],
        "kind": chain["kind"],
        "stories": len(found),
        "correlation_keys": len(keys),
    }
    if len(found) == 1:
        _, members = db.query(
            "MATCH (p:Process)-[:IN_CONTEXT]->(c:Context) WHERE c.key IN $keys RETURN p.key AS key",
            {"keys": found[0]["keys"]},
        )
        _, keyed = db.query(
            "MATCH (e:Event)-[:BY]->(p:Process) WHERE e.correlation_key IN $keys "
            "RETURN DISTINCT p.key AS key",
            {"keys": found[0]["keys"]},
        )
        story_processes = {m["key"] for m in members} | {k["key"] for k in keyed}
        unrelated = story_processes - set(chain["processes"])
        out["unrelated_processes"] = len(unrelated)
        out["unrelated_examples"] = sorted(unrelated)[:5]
        _, story = db.query(
            "MATCH (s:Story {id: $id}) RETURN s.title AS title, s.score AS score, "
            "s.severity AS severity, s.routine AS routine",
            {"id": found[0]["story"]},
        )
        out.update(story[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--no-alerts", action="store_true")
    args = parser.parse_args()
    db = database()
    wipe(db)
    truth = Truth(args.seed, args.events, args.hosts, not args.no_alerts)
    text = (
        x + "\n"
        for x in lines(args.seed, args.events, args.hosts, alerts=not args.no_alerts, truth=truth)
    )
    seconds = timed(lambda: ingest(db, "storyline", text))
    signals = db.query("MATCH (s:Signal) RETURN count(s) AS n")[1][0]["n"]
    stories = db.query("MATCH (s:Story) RETURN count(s) AS n")[1][0]["n"]
    keyed = db.query(
        "MATCH (s:Signal) WHERE EXISTS { (:Story)-[:HAS]->(s) } "
        "RETURN count(DISTINCT s.correlation_key) AS n"
    )[1][0]["n"]
    routine = db.query(
        "MATCH (s:Story {routine: true}) "
        "RETURN count(s) AS n, sum(size(s.correlation_keys)) AS keys"
    )[1][0]
    _, by_rule = db.query(
        "MATCH (s:Signal) RETURN s.rule_id AS rule, count(*) AS n ORDER BY n DESC, rule"
    )
    _, top = db.query(
        "MATCH (s:Story) RETURN s.title AS title, s.severity AS severity, s.score AS score, "
        "s.layer AS layer, s.signal_count AS signals, size(s.correlation_keys) AS contexts "
        "ORDER BY s.score DESC, s.id LIMIT 10"
    )
    chains = [chain_report(db, c) for c in truth.to_dict()["chains"]]
    result = {
        "command": f"python -m bench.fidelity --seed {args.seed} --events {args.events} "
        f"--hosts {args.hosts}" + (" --no-alerts" if args.no_alerts else ""),
        "ingest_seconds": round(seconds, 1),
        "signals": signals,
        "stories": stories,
        "stories_per_signal": round(stories / signals, 3) if signals else None,
        "routine_stories": routine["n"],
        "contexts_in_routine_stories": routine["keys"] or 0,
        # what the ratio would be with one story per key, routine repeats not grouped
        "keys_with_signals": keyed,
        "keys_per_signal": round(keyed / signals, 3) if signals else None,
        "chains": len(chains),
        "chains_in_exactly_one_story": sum(1 for c in chains if c["stories"] == 1),
        "chains_with_unrelated_processes": sum(
            1 for c in chains if c.get("unrelated_processes", 0) > 0
        ),
        "per_chain": chains,
        "signals_by_rule": by_rule,
        "top_stories": top,
    }
    save(f"fidelity-{args.seed}-{args.events}" + ("-no-alerts" if args.no_alerts else ""), result)
    db.close()


if __name__ == "__main__":
    main()
