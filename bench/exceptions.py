"""What an exception's preview, save and revoke cost, with 10,000 and 100,000 signals.

The benchmark writes a noisy rule's signals straight into the graph (UNWIND Cypher,
in the shape detection gives them: (Signal)-[:ON]->(Event)-[:BY]->(Process), each
key a Context with 100 signals, half of them by a process under /opt/agent/), lets
the stories step build one story per key, then times, for each size: a preview of
an exception on `process: /opt/agent/*` over a window holding every signal (rounds
interleaved, median), saving it (every stored signal of the rule matched in pages
of 2,000 and half of them suppressed, then the stories regrouped) and revoking it.
It checks that the preview's count is what the save suppressed, and reports the
preview's cost per signal read and the ratios 100k / 10k.

    python -m bench.exceptions [--rounds 5]
"""

from __future__ import annotations

import argparse
from typing import Any

from app.investigation import exceptions
from app.investigation.stories import refresh
from app.neo4j.database import Database
from bench.common import database, median, save, timed, wipe

SIZES = (10_000, 100_000)
PER_KEY = 100
BATCH = 10_000
WINDOW = ("2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z")

SIGNALS = """
UNWIND range($from, $to - 1) AS i
WITH i, $prefix + ':k' + (i / $per_key) AS key
MERGE (c:Context {key: key}) ON CREATE SET c.layer = 'service', c.root = key + '|0'
CREATE (p:Process {key: key + '|' + i, pid: 1000 + i % 30000, host_id: 'bench-host',
                   exe: CASE WHEN i % 2 = 0 THEN '/opt/agent/scan' ELSE '/usr/bin/other' END,
                   user: 'root', correlation_key: key,
                   start_time: datetime('2026-01-05T08:00:00Z') + duration({milliseconds: i})})
CREATE (e:Event {id: $prefix + ':e' + i, kind: 'file_open', host_id: 'bench-host',
                 path: '/etc/shadow', correlation_key: key, ts: p.start_time, source: 'bench'})
CREATE (s:Signal:Unstoried {id: $prefix + ':s' + i, rule_id: $rule, title: 'noisy',
                            severity: 'medium', tactic: 'credential_access',
                            technique: 'T1003', compromises: false, correlation_key: key,
                            ts: e.ts, source: 'bench'})
CREATE (e)-[:BY]->(p), (s)-[:ON]->(e), (p)-[:IN_CONTEXT]->(c)
"""


def build(db: Database, size: int, rule: str) -> None:
    """Writes `size` signals of a rule, and lets the stories step build their stories."""
    for start in range(0, size, BATCH):
        db.query(
            SIGNALS,
            {"from": start, "to": min(start + BATCH, size), "prefix": f"b{size}", "rule": rule,
             "per_key": PER_KEY},
            write=True,
        )  # fmt: skip
    refresh(db)


def measure(db: Database, size: int, rounds: int) -> dict[str, Any]:
    """Times a preview (median of `rounds`), a save and a revoke over `size` signals."""
    wipe(db)
    rule = f"bench.noisy.{size}"
    build(db, size, rule)
    conditions = {"process": ["/opt/agent/*"]}
    seen = exceptions.preview(db, rule, conditions, *WINDOW)
    times = [
        timed(lambda: exceptions.preview(db, rule, conditions, *WINDOW)) for _ in range(rounds)
    ]
    made: dict[str, Any] = {}
    save_s = timed(lambda: made.update(exceptions.create(db, rule, conditions, "b", "bench")))
    assert made["suppressed_count"] == seen.suppressed == size // 2, (made, seen)
    revoke_s = timed(lambda: exceptions.revoke(db, made["id"], "b", "bench"))
    return {
        "signals": size,
        "stories": size // PER_KEY,
        "preview_ms": round(1000 * median(times), 1),
        "preview_us_per_signal": round(1e6 * median(times) / size, 2),
        "previewed": {"scanned": seen.scanned, "matched": seen.matched,
                      "would_suppress": seen.suppressed, "stories_changed": seen.stories_changed},
        "save_s": round(save_s, 2),
        "revoke_s": round(revoke_s, 2),
    }  # fmt: skip


def run(db: Database, rounds: int) -> dict[str, Any]:
    """Measures each size, and the ratios of the largest to the smallest."""
    found: dict[str, Any] = {str(size): measure(db, size, rounds) for size in SIZES}
    small, large = (found[str(s)] for s in SIZES)
    found["ratio_100k_10k"] = {
        "preview": round(large["preview_ms"] / small["preview_ms"], 2),
        "save": round(large["save_s"] / small["save_s"], 2),
        "revoke": round(large["revoke_s"] / small["revoke_s"], 2),
    }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with database() as db:
        result = run(db, args.rounds)
        wipe(db)
    save("exceptions", result)


if __name__ == "__main__":
    main()
