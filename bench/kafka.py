"""Kafka to stories: `storyline consume` side by side with `storyline ingest` of the same events.

One process, one database (wiped between runs), one broker (STORYLINE_KAFKA_BOOTSTRAP,
else the local one, started if needed), in this order:

1. the generated events (`--events`, seed `--seed`) are produced to a new topic of
   `--partitions` partitions, one message per event, and written to a file;
2. bare: the bare `UNWIND ... MERGE` of bench.ingest on the same events: the floor;
3. ingest: `storyline ingest` of the file, until the stage has processed every event;
4. consume: `storyline consume --idle-exit 2` on the topic, a fresh group, until
   every message is read and the stage has processed every event (its wall time
   less the idle wait), while this process samples the group's lag (produced minus
   committed, over every partition) every 0.25 s;
5. consume, writing only (`--no-stage`, what each consumer of a `storyline serve`
   deployment does while the service's worker runs the stage; nothing runs the stage
   here, so STORYLINE_KAFKA_MAX_QUEUED is raised above the event count): the
   per-consumer write rate that docs/scale-out.md sizes with;
6. a stream: the same events produced at `--offered` (default 0.6) times the rate of
   step 4 into a new topic while `storyline consume` (with its stage) reads it: the
   lag it keeps at a rate it can sustain, in messages and in seconds of stream.

Each rate is also a ratio to bare; the consumer's peak RSS is measured as
bench.ingest measures the CLI's.

    python -m bench.kafka [--events 50000] [--partitions 4] [--batch-size N] [--seed 7]
                          [--offered 0.6]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.generate import lines
from app.kafka.local import LocalKafka
from app.localserver import port_answers
from app.settings import Settings
from bench.common import database, save, stop_on_sigterm, wipe
from bench.ingest import LAUNCHER, bare_rows, run_bare, run_pipeline

IDLE_EXIT = 2.0


def broker() -> str:
    """Returns the bootstrap address: the configured broker, else the local one (started)."""
    settings = Settings.from_env()
    host, _, port = settings.kafka.bootstrap.rpartition(":")
    if port_answers(int(port), host or "127.0.0.1"):
        return settings.kafka.bootstrap
    local = LocalKafka(settings.kafka, settings.local)
    local.start(echo=True)
    return local.bootstrap


def new_topic(bootstrap: str, partitions: int) -> str:
    """Creates a topic of a new name; returns it."""
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"bench-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(timeout=30)
    return topic


def produce(
    bootstrap: str, topic: str, text: list[str], partitions: int, rate: float | None = None,
    sent: list[int] | None = None,
) -> float:  # fmt: skip
    """Produces each line to the topic (at `rate` lines/s when given, counting them in
    `sent`); returns the seconds taken."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all",
                         "log_level": 3})  # fmt: skip
    start = time.perf_counter()
    for i, line in enumerate(text):
        if rate is not None:
            ahead = start + i / rate - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        while True:
            try:
                # round robin: librdkafka's sticky partitioner may fill one partition only
                producer.produce(topic, line.rstrip("\n").encode(), partition=i % partitions)
                break
            except BufferError:
                producer.poll(0.1)
        if sent is not None:
            sent[0] = i + 1
        if i % 1000 == 0:
            producer.poll(0)
    if producer.flush(120) != 0:
        raise SystemExit("the broker did not take every message within 120 s")
    return time.perf_counter() - start


def lag_of(bootstrap: str, group: str, topic: str, partitions: int, produced: int) -> int:
    """Returns how many produced messages the group has not committed yet."""
    from confluent_kafka import Consumer, TopicPartition

    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        found = reader.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    finally:
        reader.close()
    return produced - sum(max(tp.offset, 0) for tp in found)


def run_consume(
    bootstrap: str, topic: str, partitions: int, produced: int, batch: int, stage: bool,
    feed: Callable[[list[int]], object] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Runs `storyline consume` on the topic with a new group; returns time, RSS, lag.

    With `feed`, the topic is produced meanwhile, in a thread (`feed(sent)` counts what it
    produced in sent[0]); otherwise it holds all `produced` messages before the start.
    """
    group = f"bench-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "app.cli", "consume", "--topic", topic, "--format",
               "storyline", "--group", group, "--bootstrap", bootstrap, "--batch-size",
               str(batch), "--idle-exit", str(IDLE_EXIT), "--json", "--quiet"]  # fmt: skip
    env = os.environ.copy()
    if not stage:
        command.append("--no-stage")
        # nothing runs the stage here: the queue may hold every event without pausing
        env["STORYLINE_KAFKA_MAX_QUEUED"] = str(produced + 1)
    lags: list[int] = []
    done = threading.Event()
    sent = [0 if feed is not None else produced]

    def sample() -> None:
        while not done.wait(0.25):
            try:
                lags.append(lag_of(bootstrap, group, topic, partitions, sent[0]))
            except Exception:  # the group does not exist until the consumer joins
                continue

    with tempfile.TemporaryDirectory() as folder:
        peak_file, out_path = Path(folder) / "peak", Path(folder) / "out"
        sampler = threading.Thread(target=sample, daemon=True)
        start = time.perf_counter()
        sampler.start()
        if feed is not None:
            threading.Thread(target=feed, args=(sent,), daemon=True).start()
        with open(out_path, "wb") as out_file:
            code = subprocess.call([sys.executable, "-c", LAUNCHER, str(peak_file), *command],
                                   stdout=out_file, env=env)  # fmt: skip
        seconds = time.perf_counter() - start - IDLE_EXIT
        done.set()
        sampler.join()
        if code != 0:
            raise SystemExit(f"storyline consume failed ({code}): {out_path.read_text()[-2000:]}")
        report = json.loads(out_path.read_text())
        peak = int(peak_file.read_text())
    if report["accepted"] != produced:
        raise SystemExit(f"consumed {report['accepted']} of {produced} events")
    ordered = sorted(lags) or [0]
    return {
        "seconds": seconds,
        "peak_rss_mib": round(peak / 1024, 1),
        "batches": report["batches"],
        "lag_messages": {
            "p50": ordered[len(ordered) // 2],
            "p95": ordered[min(int(0.95 * len(ordered)), len(ordered) - 1)],
            "max": ordered[-1],
            "samples": len(lags),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=Settings.from_env().ingest_batch_size)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--offered", type=float, default=0.6,
        help="the stream's rate, as a share of the consumer's measured rate (default 0.6)",
    )  # fmt: skip
    args = parser.parse_args()
    stop_on_sigterm("bench.kafka")
    bootstrap = broker()
    db = database()
    text = [x + "\n" for x in lines(args.seed, args.events)]
    rows = bare_rows(text)
    n = len(rows)
    topic = new_topic(bootstrap, args.partitions)
    produce_seconds = produce(bootstrap, topic, text, args.partitions)
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as handle:
        handle.writelines(text)
    try:
        wipe(db)
        run_bare(db, rows[: args.batch_size * 3], args.batch_size)  # warm-up, not timed
        wipe(db)
        bare = run_bare(db, rows, args.batch_size)
        wipe(db)
        ingested = run_pipeline(Path(handle.name), args.batch_size)
        wipe(db)
        consumed = run_consume(bootstrap, topic, args.partitions, n, args.batch_size, True)
        stories = db.query("MATCH (s:Story) RETURN count(s) AS n")[1][0]["n"]
        wipe(db)
        written = run_consume(bootstrap, topic, args.partitions, n, args.batch_size, False)
        # a stream: the same events produced at a share of the rate just measured, while
        # the consumer (and its stage) runs; how far behind does it stay?
        offered = round(args.offered * n / consumed["seconds"])
        streamed_topic = new_topic(bootstrap, args.partitions)
        wipe(db)
        streamed = run_consume(
            bootstrap, streamed_topic, args.partitions, n, args.batch_size, True,
            feed=lambda sent: produce(bootstrap, streamed_topic, text, args.partitions,
                                      rate=offered, sent=sent),
        )  # fmt: skip
    finally:
        os.unlink(handle.name)
    db.close()

    def rate(seconds: float) -> dict[str, Any]:
        return {"seconds": round(seconds, 1), "events_per_s": round(n / seconds),
                "ratio_to_bare": round(bare / seconds, 3)}  # fmt: skip

    result = {
        "command": f"python -m bench.kafka --events {args.events} --partitions "
        f"{args.partitions} --batch-size {args.batch_size} --seed {args.seed} "
        f"--offered {args.offered}",
        "events": n,
        "produce_events_per_s": round(n / produce_seconds),
        "bare_unwind_merge": rate(bare),
        "ingest_until_processed": {
            **rate(ingested["seconds"]),
            "peak_rss_mib": ingested["peak_rss_mib"],
        },
        "consume_until_processed": {
            **rate(consumed["seconds"]),
            "stories": stories,
            **{k: v for k, v in consumed.items() if k != "seconds"},
        },
        "consume_writer_only": {
            **rate(written["seconds"]),
            **{k: v for k, v in written.items() if k != "seconds"},
        },
        "consume_vs_ingest": round(ingested["seconds"] / consumed["seconds"], 3),
        "stream": {
            "offered_events_per_s": offered,
            "seconds": round(streamed["seconds"], 1),
            "lag_messages": streamed["lag_messages"],
            "lag_seconds_p95": round(streamed["lag_messages"]["p95"] / offered, 2),
            "peak_rss_mib": streamed["peak_rss_mib"],
        },
    }
    save("kafka", result)


if __name__ == "__main__":
    main()
