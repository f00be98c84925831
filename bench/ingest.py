"""Ingest throughput: the bare UNWIND baseline, the writer alone, the whole pipeline.

Three runs of the same generated workload, one after the other in one process
on one database (wiped in between), so that their ratios mean something on a
shared, noisy machine:

- bare: the events as rows through one `UNWIND ... MERGE` of Event, Process and
  BY (bench/bare_merge.cypher), batches of --batch-size, through the same
  driver: the floor any ingest into this model pays;
- writer: `app.ingest.ingest` with no stage after it (framing, validation, rows
  in a parser process as the CLI does, every write statement, the batch queue);
- pipeline: `storyline ingest` as users run it (a subprocess, its peak RSS
  measured), which returns once detection, stamping, relate and stories have
  processed every event; with its stage lag (commit to processed) p50/p95.

Each path also reports the CPU seconds it used per 1,000 events, on the app's
side (this process, the parser and `storyline ingest` it runs) and, on the
bundled local Neo4j, the server's; and that total as a multiple of bare's. Bare
keeps about 1.2 cores busy; on a machine of two cores, half of bare's rate is
out of reach while a path uses more than 2 x 2 / 1.2, about 3.3 times bare's CPU.

    python -m bench.ingest [--events 100000] [--batch-size N] [--seed 7]

--batch-size defaults to STORYLINE_INGEST_BATCH_SIZE (5,000), what the CLI uses.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.adapters import Rejected
from app.generate import lines
from app.ingest import ingest, outcomes
from app.neo4j.database import Database
from app.rows import Rows
from app.settings import Settings
from bench.common import Cpu, database, save, stop_on_sigterm, wipe

BARE = (Path(__file__).resolve().parent / "bare_merge.cypher").read_text()


def bare_rows(text: list[str]) -> list[dict[str, Any]]:
    """The events as flat rows: what a bare ingest would send (shaped outside the timing)."""
    out = []
    for outcome in outcomes("storyline", text):
        if isinstance(outcome, Rejected):
            continue
        rows = Rows()
        rows.add(outcome.item)
        for event in rows.events.values():
            props = {k: v for k, v in event["props"].items() if not isinstance(v, dict)}
            process = rows.processes[event["process_key"]]
            out.append({"id": event["id"], "ts": event["ts"], "props": props,
                        "process_key": event["process_key"],
                        "process": {"host_id": process["host_id"]}})  # fmt: skip
    return out


def run_bare(db: Database, rows: list[dict[str, Any]], batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        with db.session(write=True) as session:
            session.execute_write(
                lambda tx, chunk=rows[i : i + batch]: tx.run(BARE, rows=chunk).consume()
            )
    return time.perf_counter() - start


def run_writer(db: Database, text: list[str], batch: int) -> float:
    start = time.perf_counter()
    report = ingest(db, "storyline", text, batch, after_batch=None, parse_in_process=True)
    assert not report.rejected, report.rejected[:3]
    return time.perf_counter() - start


# Runs a command and writes the peak RSS of it and its descendants (KiB) to a file.
# A child forked from this bench would report the bench's own RSS as its peak (Linux
# carries the forking process's high-water mark across exec), so the command runs
# under this small launcher, whose children start from its own small image.
LAUNCHER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def run_pipeline(path: Path, batch: int) -> dict[str, Any]:
    """Runs `storyline ingest` on the file; returns its report, wall time and peak RSS
    (of the command and the parser it forks)."""
    command = [sys.executable, "-m", "app.cli", "ingest", "--json", "--quiet",
               "--batch-size", str(batch), str(path)]  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        peak_file = Path(folder) / "peak"
        out_path = Path(folder) / "out"
        start = time.perf_counter()
        with open(out_path, "wb") as out_file:
            code = subprocess.call(
                [sys.executable, "-c", LAUNCHER, str(peak_file), *command],
                stdout=out_file, env=os.environ.copy(),
            )  # fmt: skip
        seconds = time.perf_counter() - start
        if code != 0:
            raise SystemExit(f"storyline ingest failed ({code})")
        peak_kib = int(peak_file.read_text())
        report = json.loads(out_path.read_text())[str(path)]
    return {"seconds": seconds, "peak_rss_mib": round(peak_kib / 1024, 1), "report": report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=Settings.from_env().ingest_batch_size)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    stop_on_sigterm("bench.ingest")
    db = database()
    text = [x + "\n" for x in lines(args.seed, args.events)]
    rows = bare_rows(text)
    n = len(rows)

    # warm-up: the server compiles and caches plans, the JIT warms; not timed
    wipe(db)
    run_bare(db, rows[: args.batch_size * 3], args.batch_size)
    wipe(db)
    run_writer(db, text[: args.batch_size * 3], args.batch_size)
    cpu = Cpu()
    wipe(db)
    cpu.since()
    bare = run_bare(db, rows, args.batch_size)
    bare_cpu = cpu.since()
    wipe(db)
    cpu.since()
    writer = run_writer(db, text, args.batch_size)
    writer_cpu = cpu.since()
    wipe(db)
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as handle:
        handle.writelines(text)
    try:
        cpu.since()
        full = run_pipeline(Path(handle.name), args.batch_size)
        full_cpu = cpu.since()
    finally:
        os.unlink(handle.name)
    db.close()

    def line(seconds: float, used: dict[str, float | None]) -> dict[str, Any]:
        per_1k = {k: None if v is None else round(v / n * 1000, 3) for k, v in used.items()}
        total, bare_total = _total(used), _total(bare_cpu)
        return {"seconds": round(seconds, 1), "events_per_s": round(n / seconds),
                "ratio_to_bare": round(bare / seconds, 3),
                "cpu_s_per_1k_events": per_1k,
                "cpu_times_bare": None if total is None or not bare_total
                                  else round(total / bare_total, 2)}  # fmt: skip

    result = {
        "command": f"python -m bench.ingest --events {args.events} "
        f"--batch-size {args.batch_size} --seed {args.seed}",
        "events": n,
        "bare_unwind_merge": line(bare, bare_cpu),
        "writer_alone": line(writer, writer_cpu),
        "pipeline_until_processed": {
            **line(full["seconds"], full_cpu),
            "peak_rss_mib": full["peak_rss_mib"],
            "stage": full["report"].get("pipeline"),
        },
    }
    save("ingest", result)


def _total(used: dict[str, float | None]) -> float | None:
    """App and Neo4j CPU seconds together; None without the Neo4j's."""
    return None if used["neo4j"] is None else (used["app"] or 0) + used["neo4j"]


if __name__ == "__main__":
    main()
