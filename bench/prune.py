"""Retention while ingesting: does pruning an old graph slow the ingest of new events?

One process, one database, in this order:

1. an old graph: `--events` generated events (seed 13) through `storyline ingest`
   (the whole pipeline, so that it has stories to keep);
2. ingest alone: `--ingest-events` new events (seed 21, moved 400 days later, so
   that they are newer than the limit) through `storyline ingest`, timed;
3. ingest while pruning: as many other new events (seed 22, moved the same way)
   through `storyline ingest`, timed, while retention (app.retention.prune, at
   `--pace`, the limit between the old graph and the new events) runs at the same
   time in this process; it stops when that ingest is done;
4. the bare `UNWIND ... MERGE` baseline of bench.ingest on the seed-22 events
   (into a wiped database), so that both ingest rates read as a ratio to bare.

The ratio that matters is the ingest rate while pruning to the rate alone (1.0: no
cost), and both to bare (bench.ingest's `pipeline_until_processed`).

    python -m bench.prune [--events 200000] [--ingest-events 50000] [--pace 0.25]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.events import normalize_ts
from app.generate import lines
from app.retention import Pruned, prune
from bench.common import database, save, wipe
from bench.ingest import bare_rows, run_bare, run_pipeline

SHIFT = timedelta(days=400)
TIME_FIELDS = ("ts", "start_time", "exit_time")


class Stop(Exception):
    """Ends the prune once the ingest it overlaps is done."""


def shifted(value: Any) -> Any:
    """A generated record moved SHIFT later: every time field, anywhere in it."""
    if isinstance(value, dict):
        return {
            k: _later(v) if k in TIME_FIELDS and isinstance(v, str) else shifted(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [shifted(v) for v in value]
    return value


def _later(text: str) -> str:
    ns = normalize_ts(text)
    moved = datetime.fromisoformat(ns[:26] + "+00:00") + SHIFT
    return moved.strftime("%Y-%m-%dT%H:%M:%S.") + ns[20:29] + "Z"


def workload(seed: int, events: int, later: bool) -> list[str]:
    out = []
    for line in lines(seed, events):
        record = json.loads(line)
        out.append(json.dumps(shifted(record) if later else record) + "\n")
    return out


def write(text: list[str]) -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as handle:
        handle.writelines(text)
    return Path(handle.name)


def counts(db: Any) -> dict[str, int]:
    query = (
        "CALL () { MATCH (e:Event) RETURN count(e) AS events } "
        "CALL () { MATCH (p:Process) RETURN count(p) AS processes } "
        "CALL () { MATCH (s:Story) RETURN count(s) AS stories } "
        "RETURN events, processes, stories"
    )
    return dict(db.query(query)[1][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events of the old graph")
    parser.add_argument("--ingest-events", type=int, default=50_000, help="events ingested")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--pace", type=float, default=0.25, help="prune's share of time")
    args = parser.parse_args()
    db = database()
    wipe(db)
    old = write(workload(13, args.events, later=False))
    alone_text = workload(21, args.ingest_events, later=True)
    during_text = workload(22, args.ingest_events, later=True)
    alone, during = write(alone_text), write(during_text)
    limit = datetime(2026, 6, 1, tzinfo=UTC)
    try:
        print(f"loading the old graph: {args.events:,} events", file=sys.stderr)
        load = run_pipeline(old, args.batch_size)
        before = counts(db)
        print("ingest alone", file=sys.stderr)
        solo = run_pipeline(alone, args.batch_size)
        print("ingest while pruning", file=sys.stderr)
        # the prune runs in this process, in a thread, and stops when the ingest is done:
        # what matters is the ingest's rate while they overlap
        ingested = threading.Event()
        pruned: list[Pruned] = []

        def stop_when_ingested(done: Pruned) -> None:
            pruned[:] = [done]
            if ingested.is_set():
                raise Stop

        def prune_old() -> None:
            with contextlib.suppress(Stop):
                prune(db, limit, progress=stop_when_ingested, pace=args.pace)

        pruning = threading.Thread(target=prune_old)
        started = time.perf_counter()
        pruning.start()
        both = run_pipeline(during, args.batch_size)
        ingested.set()
        pruning.join()
        prune_seconds = time.perf_counter() - started
        after = counts(db)
        rows = bare_rows(during_text)
        wipe(db)
        run_bare(db, rows[: args.batch_size * 3], args.batch_size)  # warm-up
        wipe(db)
        bare = run_bare(db, rows, args.batch_size)
    finally:
        for path in (old, alone, during):
            path.unlink()
    db.close()
    n = args.ingest_events

    def rate(seconds: float) -> dict[str, Any]:
        return {"seconds": round(seconds, 1), "events_per_s": round(n / seconds),
                "ratio_to_bare": round(bare / seconds, 3)}  # fmt: skip

    save(
        "prune",
        {
            "command": f"python -m bench.prune --events {args.events} "
            f"--ingest-events {n} --batch-size {args.batch_size} --pace {args.pace}",
            "old_graph": {
                "events": args.events,
                "load_seconds": round(load["seconds"], 1),
                "counts": before,
            },
            "bare_unwind_merge": rate(bare),
            "ingest_alone": rate(solo["seconds"]),
            "ingest_while_pruning": {
                **rate(both["seconds"]),
                "ratio_to_alone": round(solo["seconds"] / both["seconds"], 3),
            },
            "prune_during_ingest": {
                "pace": args.pace,
                "seconds": round(prune_seconds, 1),
                **{
                    k: getattr(pruned[0], k) if pruned else 0
                    for k in ("events", "processes", "contexts", "transactions")
                },
                "events_per_s": round((pruned[0].events if pruned else 0) / prune_seconds),
            },
            "counts_after": after,
        },
    )


if __name__ == "__main__":
    main()
