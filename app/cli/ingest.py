"""`storyline ingest`, `dead-letters`, `generate` and `demo`: data in."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from app.cli.output import with_times
from app.errors import InputError
from app.settings import Settings


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingests files (or stdin); prints progress to stderr and a summary; exit 3 if any rejected.

    The background stage (detection, stamping, relate, stories) runs between
    the writes while the next batches are parsed, and the command returns once
    it has processed every event (unless --no-wait, which returns at commit).
    """
    from app.adapters import UnknownFormat, get_adapter
    from app.framing import open_stream
    from app.ingest import Report, ingest
    from app.neo4j.database import connect
    from app.pipeline import Alongside, Pipeline, wait_processed

    try:
        get_adapter(args.format)
    except UnknownFormat as exc:
        raise InputError(str(exc)) from None
    settings = Settings.from_env()
    batch_size = args.batch_size or settings.ingest_batch_size
    paths = args.files or ["-"]
    reports: list[tuple[str, Report]] = []
    with connect(settings) as db:
        db.apply_constraints()
        pipeline = Pipeline.default(settings)
        stage = None if args.no_wait else Alongside(db, pipeline)
        last_batch: str | None = None
        for path in paths:
            label = "stdin" if path == "-" else path
            progress = None if args.quiet else _progress_line(label)
            try:
                with contextlib.ExitStack() as stack:
                    if path == "-":
                        text = open_stream(sys.stdin.buffer)
                    else:
                        raw = stack.enter_context(open(path, "rb"))
                        text = stack.enter_context(open_stream(raw))
                    report = ingest(
                        db, args.format, text, batch_size, progress, origin="cli",
                        after_batch=stage, parse_in_process=True,
                    )  # fmt: skip
            except OSError as exc:
                raise InputError(f"cannot read {path}: {exc.strerror}") from exc
            if progress is not None:
                sys.stderr.write("\n")
            reports.append((label, report))
            last_batch = report.last_batch or last_batch
        summary: dict[str, Any] | None = None
        if stage is not None:
            committed = time.monotonic()
            if not args.quiet:
                sys.stderr.write("committed; waiting for detection, stamping and stories...\n")
            cycles = stage.cycles + wait_processed(db, last_batch, pipeline, known=stage.known)
            summary = _stage_summary(cycles, time.monotonic() - committed)
    if args.json:
        out: dict[str, Any] = {label: r.as_dict() for label, r in reports}
        for label in out:
            out[label]["pipeline"] = summary
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for label, r in reports:
            rate = r.accepted / r.seconds if r.seconds else 0.0
            print(
                f"{label}: {r.accepted} accepted ({r.events} events, {r.audit_records} audit "
                f"records, {r.findings} findings), {len(r.rejected)} rejected, "
                f"{len(r.warnings)} with warnings, "
                f"{r.batches} batches, {r.seconds:.1f}s, {rate:,.0f} records/s"
            )
            for item in r.rejected[:20]:
                print(f"  rejected #{item['position']}: {item['reason']}")
            if len(r.rejected) > 20:
                print(f"  ... and {len(r.rejected) - 20} more (storyline dead-letters list)")
            for item in r.warnings[:10]:
                print(f"  warning #{item['position']}: {'; '.join(item['warnings'])}")
        if summary is not None:
            print(
                f"processed: {summary['signals']} signals, {summary['stamped']} processes stamped, "
                f"{summary['stories']} story refreshes in {summary['cycles']} cycles; "
                f"{summary['seconds_after_commit']:.1f}s after the last commit; stage lag p50 "
                f"{summary['lag_ms_p50'] / 1000:.1f}s, p95 {summary['lag_ms_p95'] / 1000:.1f}s"
            )
        else:
            print("committed; the background stage of `storyline serve` processes the events")
    return 3 if any(r.rejected for _, r in reports) else 0


def _stage_summary(cycles: list[Any], after_commit: float) -> dict[str, Any]:
    """Sums the background stage's cycles: counts, and the lag percentiles."""
    lags = sorted(lag for c in cycles for lag in c.lags_ms)

    def percentile(q: float) -> int:
        return lags[min(int(q * len(lags)), len(lags) - 1)] if lags else 0

    return {
        "cycles": sum(1 for c in cycles if not c.idle),
        "detected": sum(c.detected for c in cycles),
        "signals": sum(c.signals for c in cycles),
        "stamped": sum(c.stamped for c in cycles),
        "stories": sum(c.stories for c in cycles),
        "lag_ms_p50": percentile(0.5),
        "lag_ms_p95": percentile(0.95),
        "seconds_after_commit": round(after_commit, 2),
    }


def _progress_line(label: str) -> Any:
    def show(report: Any) -> None:
        rate = report.accepted / report.seconds if report.seconds else 0.0
        sys.stderr.write(
            f"\r{label}: {report.accepted:,} accepted, {len(report.rejected):,} rejected, "
            f"{rate:,.0f} events/s "
        )
        sys.stderr.flush()

    return show


def cmd_dead_letters(args: argparse.Namespace) -> int:
    """Lists or re-submits dead letters."""
    from app.deadletter import list_letters
    from app.ingest import resubmit
    from app.neo4j.database import connect

    with connect(Settings.from_env()) as db:
        if args.action == "list":
            letters = list_letters(db, args.format, args.ids, args.limit)
            json.dump(with_times(letters), sys.stdout, indent=2)
            sys.stdout.write("\n")
            return 0
        result = resubmit(db, args.ids, args.format, args.limit)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 3 if result["still_rejected"] else 0


def cmd_prune(args: argparse.Namespace) -> int:
    """Removes what is older than the limit and outside every story; prints the counts."""
    from app.neo4j.database import connect
    from app.retention import Pruned, cutoff, prune

    before = cutoff(args.older_than, args.before)
    last = [0.0]

    def progress(done: Pruned) -> None:
        now = time.monotonic()
        if now - last[0] >= 2 and sys.stderr.isatty():
            last[0] = now
            print(f"\rpruning: {done.events:,} events, {done.processes:,} processes "
                  f"({done.events_read:,} events read)", end="", file=sys.stderr)  # fmt: skip

    with connect(Settings.from_env()) as db:
        db.apply_constraints()
        done = prune(db, before, batch=args.batch_size, progress=progress, pace=args.pace)
    if sys.stderr.isatty() and last[0]:
        print(file=sys.stderr)
    if args.json:
        json.dump({"before": before.isoformat(), **done.as_dict()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(
        f"pruned before {before.isoformat()}: {done.stories} archived stories, "
        f"{done.events:,} events, {done.processes:,} processes, {done.contexts:,} contexts, "
        f"{done.targets:,} files/endpoints/domains, {done.audit_records:,} audit records "
        f"in {done.transactions} transactions ({done.seconds:.1f} s)"
    )
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Writes a seeded workload as NDJSON, and its ground truth when asked."""
    from app.generate import write_ndjson

    if args.events < 0 or args.hosts < 1:
        raise InputError("--events must be >= 0 and --hosts >= 1")
    with contextlib.ExitStack() as stack:
        out = sys.stdout
        if args.output:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8"))
        truth = write_ndjson(out, args.seed, args.events, args.hosts, alerts=not args.no_alerts)
    if args.truth:
        Path(args.truth).write_text(truth.to_json())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Starts the local Neo4j if needed and loads a small generated scenario."""
    from app.generate import lines
    from app.ingest import ingest
    from app.neo4j.database import connect
    from app.neo4j.launcher import LocalNeo4j

    settings = Settings.from_env()
    local = None
    if settings.uses_local_neo4j:
        local = LocalNeo4j(settings.local)
        status, _ = local.start(echo=True)
        print(f"Neo4j: {status.detail}")
    with connect(settings, local) as db:
        db.apply_constraints()
        text = (line + "\n" for line in lines(args.seed, args.events))
        report = ingest(db, "storyline", text, settings.ingest_batch_size, origin="demo")
        contexts = db.read("queries/context_counts")
    print(f"loaded {report.accepted} events ({len(report.rejected)} rejected) in "
          f"{report.seconds:.1f}s")  # fmt: skip
    for row in contexts:
        print(f"  {row['contexts']:>5} {row['layer']} contexts")
    print("Try: storyline stories, then storyline story <id-prefix>")
    print("or:  storyline serve, then open the console at http://127.0.0.1:8000/")
    return 0
