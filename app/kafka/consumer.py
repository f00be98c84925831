"""Consumes sensor streams from Kafka in a consumer group, at least once, nothing lost.

Each round reads up to a batch of messages, shapes them with the same adapters
as an ingest, writes them through the same writer (app/ingest.py: one
transaction, which also queues them for the background stage and stores their
dead letters), and only then commits the offsets after them. A consumer that
dies before its commit leaves those offsets uncommitted: the group reads the
messages again, and since every write is an idempotent, order-independent
MERGE, writing them twice gives the graph writing them once gives.

A message is one record or several, one per line (what Vector, Fluent Bit and
falcosidekick send); the messages of one topic in a batch are read as one
stream, so a format whose records span lines (auditd) keeps them together
within a batch. A record that cannot be used is a dead letter that says its
topic, partition and offset (and the line within the message), and the rest of
the batch is stored. When the background stage falls behind (more than
`max_queued` events wait for detection), the consumer pauses its partitions,
keeps its group membership, and resumes once half of that is left: the broker
holds the backlog, not this process.
"""

from __future__ import annotations

import bisect
import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import deadletter, metrics
from app.adapters import Rejected, get_adapter
from app.errors import ConfigError, StorylineError
from app.events import AuditRecord, Finding
from app.framing import decode_text, split_lines
from app.ingest import AfterBatch, Lookup, outcomes, write_rows
from app.neo4j.database import Database
from app.pipeline import queued
from app.rows import Rows
from app.settings import KafkaSettings

log = logging.getLogger("storyline.kafka")

# A message larger than this is a dead letter (its first bytes kept), not a record.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# What one dead letter keeps of a message too large to parse.
_KEEP_OF_LARGE = 64 * 1024
# At most this many rejections are listed in a report (all are counted and stored).
_LISTED = 100
# How long the group waits for a member that stopped answering (one killed, say) before
# its partitions go to the others: the broker's default, set so that idle_exit knows it.
SESSION_TIMEOUT_S = 45


# What the consumer sets itself: a client configuration file may not change these.
CONTROLLED = frozenset({
    "bootstrap.servers", "group.id", "enable.auto.commit", "enable.auto.offset.store",
    "auto.commit.interval.ms", "enable.partition.eof", "session.timeout.ms",
})  # fmt: skip


def client_config(path: Path | None) -> dict[str, str]:
    """Reads librdkafka properties (STORYLINE_KAFKA_CONFIG): `key=value` lines, `#` comments.

    For what the brokers require (security.protocol, ssl.*, sasl.*); the keys that make
    the consumer at least once are refused.
    """
    if path is None:
        return {}
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"STORYLINE_KAFKA_CONFIG: cannot read {path}: {exc.strerror}") from None
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{path}:{number}: not key=value")
        if key in CONTROLLED:
            raise ConfigError(
                f"{path}:{number}: {key} is set by storyline itself (bootstrap.servers: "
                "STORYLINE_KAFKA_BOOTSTRAP or --bootstrap)"
            )
        found[key] = value.strip()
    return found


class ConsumerFailed(StorylineError):
    """The broker refused the consumer for good (a fatal client error, bad settings)."""


@dataclass
class ConsumeReport:
    """What a consumer did so far: messages, records, batches, rejections, lag."""

    messages: int = 0
    accepted: int = 0
    events: int = 0
    rejected_count: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # the first _LISTED
    skipped: int = 0  # messages without a value (tombstones)
    batches: int = 0
    commits: int = 0
    pauses: int = 0
    lag: int = 0  # messages behind the partitions' ends after the last batch
    seconds: float = 0.0
    assigned: list[str] = field(default_factory=list)  # topic/partition, held now
    read_from: list[str] = field(default_factory=list)  # topic/partition, every one read

    def as_dict(self) -> dict[str, Any]:
        """Returns the report as `storyline consume --json` prints it."""
        return {**self.__dict__, "seconds": round(self.seconds, 3)}


@dataclass
class _Shaped:
    rows: Rows
    letters: list[deadletter.Letter]
    offsets: dict[tuple[str, int], int]  # (topic, partition): the offset to commit (last + 1)
    messages: dict[str, int]  # per topic
    by_format: dict[str, int] = field(default_factory=dict)  # records accepted
    accepted: int = 0
    events: int = 0
    skipped: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


# A message as the shaper gets it: topic, partition, offset, value (None: a tombstone).
Message = tuple[str, int, int, bytes | None]


def _shaper_started() -> None:
    """The shaper ignores Ctrl-C (sent to the whole terminal's process group): the
    consumer stops it once it has written and committed the batch in hand."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _plain(message: Any) -> Message:
    """A confluent_kafka Message as a tuple, which pickles (to the shaper process)."""
    return (message.topic(), message.partition(), message.offset(), message.value())


def shape(messages: Sequence[Message], formats: dict[str, str]) -> _Shaped:
    """Turns a batch of Kafka messages into writer rows, dead letters and offsets to commit."""
    shaped = _Shaped(Rows(), [], {}, {})
    by_topic: dict[str, list[Message]] = {}
    for message in messages:
        topic, partition, offset, _ = message
        key = (topic, partition)
        shaped.offsets[key] = max(shaped.offsets.get(key, 0), offset + 1)
        by_topic.setdefault(topic, []).append(message)
    for topic, group in by_topic.items():
        shaped.messages[topic] = len(group)
        _shape_topic(shaped, formats[topic], group)
    return shaped


def _shape_topic(shaped: _Shaped, format_name: str, group: list[Message]) -> None:
    starts: list[int] = []  # the stream's line number where each message begins
    origins: list[tuple[str, int, int]] = []
    lines: list[str] = []
    for message in group:
        topic, partition, offset, value = message
        at = (topic, partition, offset)
        if value is None:
            shaped.skipped += 1
            continue
        if len(value) > MAX_MESSAGE_BYTES:
            raw = value[:_KEEP_OF_LARGE].decode("utf-8", errors="replace")
            reason = f"message of {len(value)} bytes is over the limit of {MAX_MESSAGE_BYTES}"
            _reject(shaped, format_name, Rejected(1, reason, raw), at)
            continue
        text, _ = decode_text(value)  # bytes that are not UTF-8 become U+FFFD, as in a file
        if not text.endswith("\n"):
            text += "\n"
        starts.append(len(lines) + 1)
        origins.append(at)
        lines.extend(split_lines(text))
    for outcome in outcomes(format_name, lines):
        index = bisect.bisect_right(starts, outcome.position) - 1
        at = origins[max(index, 0)]
        line = outcome.position - starts[max(index, 0)] + 1
        if isinstance(outcome, Rejected):
            _reject(shaped, format_name, Rejected(line, outcome.reason, outcome.raw), at)
            continue
        shaped.rows.add(outcome.item)
        shaped.accepted += 1
        shaped.by_format[format_name] = shaped.by_format.get(format_name, 0) + 1
        if not isinstance(outcome.item, AuditRecord | Finding):
            shaped.events += 1


def _reject(
    shaped: _Shaped, format_name: str, rejected: Rejected, at: tuple[str, int, int]
) -> None:
    shaped.letters.append(deadletter.Letter.of(format_name, "kafka", rejected, at))
    topic, partition, offset = at
    shaped.rejected.append({"topic": topic, "partition": partition, "offset": offset,
                            "line": rejected.position, "reason": rejected.reason})  # fmt: skip


class Consumer:
    """One member of a consumer group that writes what it reads into the graph."""

    def __init__(
        self,
        db: Database,
        formats: dict[str, str],
        settings: KafkaSettings,
        group: str | None = None,
        bootstrap: str | None = None,
        batch_size: int = 2000,
        after_batch: AfterBatch | None = None,
        max_queued: int | None = None,
        while_paused: Callable[[Database], object] | None = None,
    ) -> None:
        check_formats(formats)
        self.db = db
        self.formats = dict(formats)
        self.group = group or settings.group
        self.bootstrap = bootstrap or settings.bootstrap
        self.batch_size = batch_size
        self.after_batch = after_batch
        self.max_queued = max_queued if max_queued is not None else settings.max_queued
        self.client = client_config(settings.client_config)
        # what runs while consumption is paused: the stage itself, when this process runs
        # it (storyline consume: Alongside.work), else nothing (serve's worker runs it)
        self.while_paused = while_paused
        self.report = ConsumeReport()
        # a redelivered batch finds its events stored: the writer then looks again
        self.lookup = Lookup()
        self._pending: dict[tuple[str, int], int] = {}  # written, not yet committed
        self._committed: dict[tuple[str, int], int] = {}
        self._paused = False
        self._consumer: Any = None
        # the batch shaped while the one before it is written: (its shaping, its messages)
        self._next: tuple[Future[_Shaped], int] | None = None
        self._shaper: ProcessPoolExecutor | None = None

    @property
    def paused(self) -> bool:
        """Tells whether consumption waits for the background stage (backpressure)."""
        return self._paused

    # the loop -----------------------------------------------------------------

    def run(
        self,
        stop: threading.Event | None = None,
        idle_exit: float | None = None,
        progress: Callable[[ConsumeReport], None] | None = None,
    ) -> ConsumeReport:
        """Consumes until `stop` is set, or nothing came for `idle_exit` seconds.

        The idle clock runs only while this member has partitions, or once it has
        had none for longer than the group's session timeout (a member killed
        before holds its partitions that long).
        """
        from confluent_kafka import Consumer as KafkaConsumer

        stop = stop or threading.Event()
        started = time.monotonic()
        config = {
            "client.id": f"storyline-{self.group}",
            "auto.offset.reset": "earliest",
            # what librdkafka prefetches is bounded: paused partitions hold memory still
            "queued.max.messages.kbytes": 65536,
            "fetch.max.bytes": 32 * 1024 * 1024,
            "max.partition.fetch.bytes": MAX_MESSAGE_BYTES,
            "max.poll.interval.ms": 600_000,
            "log_level": 3,
            **self.client,  # STORYLINE_KAFKA_CONFIG: TLS, SASL, tuning
            "bootstrap.servers": self.bootstrap,
            "group.id": self.group,
            "enable.auto.commit": False,  # offsets are committed after the write commits
            "session.timeout.ms": SESSION_TIMEOUT_S * 1000,
            "logger": log,
        }
        consumer = KafkaConsumer(config)
        self._consumer = consumer
        consumer.subscribe(
            list(self.formats), on_assign=self._assigned, on_revoke=self._revoked,
            on_lost=self._lost,
        )  # fmt: skip
        idle_since = time.monotonic()
        # shaping (decoding, the adapters, rows) runs beside the writes and the stage, in a
        # process of its own (Python on one core, this process and Neo4j on the other: a
        # thread would wait for the interpreter lock); one batch ahead at most, so memory
        # stays bounded. forkserver, not fork: librdkafka's threads run in this process.
        context = multiprocessing.get_context("forkserver")
        self._shaper = ProcessPoolExecutor(1, mp_context=context, initializer=_shaper_started)
        failed = True
        try:
            while not stop.is_set():
                self._backpressure()
                batch = consumer.consume(num_messages=self.batch_size, timeout=0.5)
                messages = [m for m in batch if not self._failed(m)]
                waiting_for_group = (
                    not self.report.assigned
                    and time.monotonic() - started < SESSION_TIMEOUT_S + (idle_exit or 0)
                )
                if self._paused or waiting_for_group:
                    idle_since = time.monotonic()  # waiting for the stage or the group
                if not messages:
                    self._flush()  # nothing more comes now: write what is shaped
                    self._commit()  # what a failed commit left
                    if idle_exit is not None and time.monotonic() - idle_since >= idle_exit:
                        break
                    continue
                idle_since = time.monotonic()
                plain = [_plain(m) for m in messages]
                shaping = self._shaper.submit(shape, plain, self.formats)
                self._flush()  # the batch before, written while this one is shaped
                self._next = (shaping, len(messages))
                self.report.seconds = time.monotonic() - started
                if progress is not None:
                    progress(self.report)
            self._flush()
            failed = False
        finally:
            if failed:  # not written: the group delivers it again
                self._next = None
            self._commit()
            consumer.close()  # leaves the group: its partitions go to the others at once
            self._consumer = None
            self._shaper.shutdown(wait=True)
            self._shaper = None
            metrics.KAFKA_PAUSED.set(0)
        self.report.seconds = time.monotonic() - started
        return self.report

    def _flush(self) -> None:
        """Writes the batch being shaped, if any, and commits its offsets."""
        if self._next is None:
            return
        shaping, count = self._next
        self._next = None
        self._write(shaping.result(), count)

    def _write(self, shaped: _Shaped, count: int) -> None:
        written = write_rows(self.db, shaped.rows, shaped.letters, self.lookup)
        for key, offset in shaped.offsets.items():
            self._pending[key] = max(self._pending.get(key, 0), offset)
        self._commit()
        r = self.report
        r.messages += count
        r.accepted += shaped.accepted
        r.events += shaped.events
        r.skipped += shaped.skipped
        r.rejected_count += len(shaped.rejected)
        r.rejected += shaped.rejected[: max(0, _LISTED - len(r.rejected))]
        r.batches += 1
        r.read_from = sorted(set(r.read_from) | {f"{t}/{p}" for t, p in shaped.offsets})
        for topic, count in shaped.messages.items():
            metrics.KAFKA_CONSUMED.labels(topic).inc(count)
        for format_name, count in shaped.by_format.items():
            metrics.INGESTED.labels(format_name).inc(count)
        for letter in shaped.letters:
            metrics.REJECTED.labels(letter.format).inc()
        self._measure_lag()
        if self.after_batch is not None:
            self.after_batch(self.db, written)

    def _failed(self, message: Any) -> bool:
        """Tells whether a polled item is an error rather than a message (and handles it)."""
        error = message.error()
        if error is None:
            return False
        if error.fatal():
            raise ConsumerFailed(f"Kafka consumer failed: {error.str()}")
        log.warning("Kafka: %s", error.str())
        return True

    # offsets ----------------------------------------------------------------------

    def _commit(self) -> None:
        """Commits the offsets after every written batch; a failure is retried later."""
        if not self._pending or self._consumer is None:
            return
        from confluent_kafka import KafkaException, TopicPartition

        offsets = [TopicPartition(t, p, o) for (t, p), o in self._pending.items()]
        try:
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            # the write is committed; if this member loses the partition meanwhile, its
            # next owner rewrites the batch, which changes nothing
            log.warning("Kafka: committing offsets failed (retried): %s", exc)
            return
        self._committed.update(self._pending)
        self._pending.clear()
        self.report.commits += 1

    def _assigned(self, consumer: Any, partitions: list[Any]) -> None:
        names = [f"{p.topic}/{p.partition}" for p in partitions]
        log.info("Kafka: assigned %s", ", ".join(names) or "nothing")
        self.report.assigned = sorted(set(self.report.assigned) | set(names))
        if self._paused and partitions:
            consumer.pause(partitions)

    def _revoked(self, consumer: Any, partitions: list[Any]) -> None:
        # called inside consume(): write the batch in hand and commit while still the owner
        self._flush()
        self._commit()  # what a failed commit left
        gone = {f"{p.topic}/{p.partition}" for p in partitions}
        self.report.assigned = sorted(set(self.report.assigned) - gone)
        for p in partitions:
            self._committed.pop((p.topic, p.partition), None)
            self._pending.pop((p.topic, p.partition), None)

    def _lost(self, consumer: Any, partitions: list[Any]) -> None:
        # the group moved on without us: our offsets for these would be refused (the
        # commit is retried without them); their next owner reads from the last commit
        # and rewrites, idempotently. The batch in hand is written: it may hold
        # messages of partitions still ours, which would not come again.
        for p in partitions:
            self._pending.pop((p.topic, p.partition), None)
        self._revoked(consumer, partitions)

    def _measure_lag(self) -> None:
        """Sets the lag of each assigned partition: its end minus what was committed."""
        if self._consumer is None:
            return
        from confluent_kafka import TopicPartition

        total = 0
        for (topic, partition), offset in self._committed.items():
            try:
                _, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except Exception:  # not known yet
                continue
            if high < 0:
                continue
            lag = max(0, high - offset)
            metrics.KAFKA_LAG.labels(topic, str(partition)).set(lag)
            total += lag
        self.report.lag = total

    # backpressure -------------------------------------------------------------------

    def _backpressure(self) -> None:
        """Pauses the partitions while the stage has max_queued events waiting; resumes at half."""
        if self._consumer is None or self.max_queued <= 0:
            return
        waiting = int(queued(self.db)["detect"] or 0)
        assignment = self._consumer.assignment()
        if not self._paused and waiting >= self.max_queued:
            self._flush()  # the batch in hand is written first: paused, nothing is in flight
            self._paused = True
            self.report.pauses += 1
            metrics.KAFKA_PAUSED.set(1)
            log.info("Kafka: %d events wait for the background stage: pausing", waiting)
            self._consumer.pause(assignment)
        elif self._paused and waiting <= self.max_queued // 2:
            self._paused = False
            metrics.KAFKA_PAUSED.set(0)
            log.info("Kafka: the background stage caught up (%d waiting): resuming", waiting)
            self._consumer.resume(assignment)
        if self._paused:
            if self.while_paused is not None:
                self.while_paused(self.db)  # bounded: whole chunks, then the loop polls
            else:
                time.sleep(0.5)  # the poll that follows keeps the group membership


def check_formats(formats: dict[str, str]) -> None:
    """Refuses no topic, or a topic whose format no adapter reads."""
    if not formats:
        raise ConfigError("no topic to consume")
    for topic, format_name in formats.items():
        try:
            get_adapter(format_name)
        except Exception as exc:
            raise ConfigError(f"topic {topic}: {exc}") from None


def parse_topics(topics: Iterable[str], format_name: str | None) -> dict[str, str]:
    """Reads `--topic T` (with --format F) or `--topic T=F` arguments into topic -> format,
    each format checked, before anything connects."""
    formats: dict[str, str] = {}
    for item in topics:
        topic, sep, own = item.partition("=")
        chosen = own if sep else format_name
        if not topic or not chosen:
            raise ConfigError(f"topic {item!r} has no format: give --format F or --topic {item}=F")
        formats[topic] = chosen
    check_formats(formats)
    return formats


class Background:
    """The consumer of `storyline serve` (STORYLINE_KAFKA_TOPICS), in a thread of its own.

    It only writes: the service's worker runs the stage. A failure (the database
    gone, a fatal client error) is logged and the consumer starts again after a
    pause, from the group's committed offsets.
    """

    def __init__(self, db: Database, settings: KafkaSettings, batch_size: int) -> None:
        self.make = lambda: Consumer(db, dict(settings.topics), settings, batch_size=batch_size)
        self.make()  # a topic's unknown format stops the start, with its reason
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="storyline-kafka", daemon=True)

    def start(self) -> Background:
        """Starts the thread; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 60) -> None:
        """Asks the consumer to finish its batch, commit and leave the group; waits for it."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.make().run(self._stop)
            except Exception as exc:
                self.error = exc
                log.exception("Kafka consumer failed; starting again in 5 s")
                self._stop.wait(5)
