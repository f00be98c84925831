"""`storyline consume` (sensor streams from Kafka) and `storyline kafka` (the local broker)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from typing import Any

from app.settings import Settings


def add_parser(commands: Any) -> None:
    """Adds `consume` and `kafka` to the subcommands."""
    consume = commands.add_parser(
        "consume",
        help="ingest sensor streams from Kafka topics as a member of a consumer group",
        description="Reads batches from the topics, writes each in one transaction and "
        "commits its offsets only after that: at least once, and since writes are "
        "idempotent, each event is in the graph once. Runs until SIGINT/SIGTERM (the "
        "batch in hand is finished and committed) or --idle-exit.",
    )
    consume.add_argument(
        "--topic", action="append", required=True, metavar="T[=FORMAT]",
        help="a topic to read (repeat); T=FORMAT gives a topic its own format",
    )  # fmt: skip
    consume.add_argument("--format", help="the input format of the topics (see ingest)")
    consume.add_argument("--group", help="the consumer group (default STORYLINE_KAFKA_GROUP)")
    consume.add_argument(
        "--bootstrap", help="HOST:PORT of the brokers (default STORYLINE_KAFKA_BOOTSTRAP)"
    )
    consume.add_argument("--batch-size", type=int, help="messages per transaction")
    consume.add_argument(
        "--idle-exit", type=float, metavar="SECONDS",
        help="stop once nothing came for this long, after the stage processed everything",
    )  # fmt: skip
    consume.add_argument(
        "--no-stage", action="store_true",
        help="only write: leave detection, stamping and stories to `storyline serve`",
    )  # fmt: skip
    consume.add_argument("--json", action="store_true", help="print the final report as JSON")
    consume.add_argument("--quiet", action="store_true", help="no progress line")
    consume.set_defaults(handler=cmd_consume)

    kafka = commands.add_parser("kafka", help="manage the local Kafka broker (development)")
    actions = kafka.add_subparsers(metavar="ACTION", required=True)
    for action, text in (
        ("start", "fetch (once) and start a single-node Kafka on loopback; harmless when it runs"),
        ("stop", "stop the local Kafka with SIGTERM"),
        ("status", "tell whether the local Kafka runs and answers"),
        ("fetch", "download the Kafka jars of the manifest into the cache, once, verified"),
    ):
        sub = actions.add_parser(action, help=text)
        sub.set_defaults(handler=cmd_kafka, action=action)


def cmd_kafka(args: argparse.Namespace) -> int:
    """Starts, stops, fetches or reports the local Kafka broker."""
    from app.kafka.local import LocalKafka

    settings = Settings.from_env()
    local = LocalKafka(settings.kafka, settings.local)
    if args.action == "fetch":
        print(f"Kafka {local.version} jars in {local.fetch(echo=True)}")
    elif args.action == "start":
        status, started = local.start(echo=True)
        print(("started: " if started else "already running: ") + status.detail)
        print(f"bootstrap servers: {status.bootstrap}")
    elif args.action == "stop":
        print("stopped" if local.stop() else "not running")
    else:
        status = local.status()
        print(f"Kafka {local.version}: {status.detail} ({status.bootstrap})")
        return 0 if status.running and status.answering else 3
    return 0


def cmd_consume(args: argparse.Namespace) -> int:
    """Consumes until stopped; prints progress to stderr and a summary (exit 3 if any rejected)."""
    from app.kafka.consumer import Consumer, ConsumeReport, parse_topics
    from app.neo4j.database import connect
    from app.pipeline import Alongside, Pipeline

    settings = Settings.from_env()
    formats = parse_topics(args.topic, args.format)
    stop = threading.Event()

    def finish(signum: int, frame: object) -> None:
        stop.set()  # the batch in hand is written and committed, then the loop ends

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    shown = [0.0]

    def progress(report: ConsumeReport) -> None:
        if args.quiet or time.monotonic() - shown[0] < 1.0:
            return
        shown[0] = time.monotonic()
        rate = report.accepted / report.seconds if report.seconds else 0.0
        paused = " (paused: the background stage is behind)" if consumer.paused else ""
        sys.stderr.write(
            f"\r{report.messages:,} messages, {report.accepted:,} records "
            f"({rate:,.0f}/s), {report.rejected_count:,} rejected, lag {report.lag:,}{paused} "
        )
        sys.stderr.flush()

    with connect(settings) as db:
        db.apply_constraints()
        pipeline = Pipeline.default(settings)
        stage = None if args.no_stage else Alongside(db, pipeline)
        consumer = Consumer(
            db, formats, settings.kafka, group=args.group, bootstrap=args.bootstrap,
            batch_size=args.batch_size or settings.ingest_batch_size, after_batch=stage,
            while_paused=None if stage is None else stage.work,
        )  # fmt: skip
        if not args.quiet:
            topics = ", ".join(f"{t} ({f})" for t, f in formats.items())
            sys.stderr.write(f"consuming {topics} from {consumer.bootstrap} as group "
                             f"{consumer.group}\n")  # fmt: skip
        report = consumer.run(stop, idle_exit=args.idle_exit, progress=progress)
        if not args.quiet:
            sys.stderr.write("\n")
        drained = False
        if stage is not None and args.idle_exit is not None and not stop.is_set():
            if not args.quiet:
                sys.stderr.write("waiting for detection, stamping and stories...\n")
            pipeline.drain(db, stage.known)
            drained = True
    out = {**report.as_dict(), "stage_drained": drained}
    if args.json:
        json.dump(out, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        rate = report.accepted / report.seconds if report.seconds else 0.0
        print(
            f"{report.messages} messages: {report.accepted} accepted ({report.events} events), "
            f"{report.rejected_count} rejected, {report.skipped} without a value; "
            f"{report.batches} batches, {report.commits} commits, {report.seconds:.1f}s, "
            f"{rate:,.0f} records/s; lag {report.lag}"
        )
        for item in report.rejected[:20]:
            print(
                f"  rejected {item['topic']}/{item['partition']}@{item['offset']} line "
                f"{item['line']}: {item['reason']}"
            )
        if report.rejected_count > 20:
            print(f"  ... and {report.rejected_count - 20} more (storyline dead-letters list)")
    return 3 if report.rejected_count else 0
