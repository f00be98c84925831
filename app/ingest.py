"""Validate -> rows -> UNWIND writes in batches: the only writer of events.

A batch of adapter outcomes becomes one write transaction: Python shapes and
pre-merges the rows (one row per node key, so that no statement sees a key
twice), and the cypher/ingest/*.cypher statements merge them. Every statement
is a MERGE with order-independent property rules, so ingesting the same input
twice, or in any order, gives the same graph.

Rejected records go to the dead-letter store (app/deadletter.py) in the same
transaction as the batch they came with: an answer that says "accepted" means
committed, and nothing is dropped silently.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app import deadletter, metrics
from app.adapters import Outcome, RawRecord, Rejected, get_adapter
from app.errors import DatabaseError, InputError, StorylineError
from app.events import AuditRecord, Finding
from app.framing import BadJson, frame, split_lines
from app.neo4j.database import Database, Transaction
from app.rows import (
    LINKS,
    PROCESS_FIELDS,
    TIME_FIELDS,
    Rows,
    split_activity,
    split_links,
    target_nodes,
)
from app.settings import INGEST_BATCH_SIZE

# The statements of one batch, in the order they run (nodes before the edges
# between them): the rows each takes, and its cypher file.
WRITE_ORDER: tuple[tuple[str, str], ...] = (
    ("hosts", "ingest/merge_hosts"),
    ("pods", "ingest/merge_pods"),
    ("containers", "ingest/merge_containers"),
    ("processes", "ingest/merge_processes"),
    ("lineage", "ingest/merge_lineage"),
    ("events", "ingest/merge_events"),  # new ones: ingest/create_events (_write_events)
    # one row per node (target_nodes), and the new events' links to them (split_links)
    ("files", "ingest/merge_files"),
    ("endpoints", "ingest/merge_endpoints"),
    ("domains", "ingest/merge_domains"),
    # the rows of these three come from split_links and split_activity once the
    # batch's stored events are known
    ("links", "ingest/merge_links"),
    ("new_activity", "ingest/merge_new_activity"),
    ("activity", "ingest/merge_activity"),
    ("signals", "ingest/merge_signals"),
    ("audit_records", "ingest/merge_audit_records"),
    ("findings", "ingest/merge_findings"),
    # a container seen after its image's findings gets their AFFECTS links here
    ("containers", "ingest/link_container_findings"),
)


# writing ----------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    """A committed batch, as after-batch hooks see it."""

    batch_id: str | None  # its :Batch node in the detection queue (None: no event)
    events: list[dict[str, Any]]  # the writer's rows: {id, ts, process_key, props}
    existed: frozenset[str]  # events that were in the graph before the batch


@dataclass
class Lookup:
    """Whether a writer's next batch looks for its events in the graph before
    creating them. A stream of new events finds none, batch after batch: its
    writer stops looking (a read of every id) once a batch found none, and looks
    again after a batch that found some (had it not looked, its create failed on
    one, and the batch was written again, looking)."""

    look: bool = True


def write_rows(
    db: Database,
    rows: Rows,
    rejected: list[deadletter.Letter],
    lookup: Lookup | None = None,
) -> Written:
    """Writes one batch (and its dead letters) in one transaction, retried on transient errors.

    The same transaction queues the batch's events for detection (a :Batch node).
    Events not in the graph yet are created outright, after a check of which are
    (unless `lookup` says the writer's last batch found none). Should one be in
    the graph after all (an unchecked batch's repeat, or a concurrent writer that
    created it first), the create fails on the event_id constraint and the batch
    is written again: its check now finds those events, which are merged, while
    the rest are still created. After CREATE_ATTEMPTS such writes the batch is
    written with every event merged, which no race can fail.
    """
    params = rows.as_params()
    batch_id = str(uuid.uuid4()) if params["events"] else None
    existed: list[str] = []
    look = lookup is None or lookup.look

    def work(tx: Transaction, create_new: bool) -> None:
        existed.clear()
        batch = dict(params)
        new_links: dict[str, list[dict[str, Any]]] = {}
        for name, statement in WRITE_ORDER:
            if name == "events":
                existed.extend(_write_events(tx, batch["events"], create_new, look))
                stored = frozenset(existed)
                new_links, batch["links"] = split_links(batch, stored)
                batch["new_activity"], batch["activity"] = split_activity(batch, stored)
            elif name in TARGETS:
                if batch[name]:
                    nodes = target_nodes(name, batch[name])
                    tx.run(statement, rows=nodes, links=new_links[name])
            elif batch[name]:
                extra = PROCESS_PARAMS if name == "processes" else {}
                tx.run(statement, rows=batch[name], **extra)
        tx.run("ingest/clear_fresh")
        if batch_id is not None:
            events = [e["id"] for e in params["events"]]
            tx.run("pipeline/queue_batch", id=batch_id, events=events)
        if rejected:
            deadletter.store(tx, rejected)

    for _ in range(CREATE_ATTEMPTS):
        try:
            db.transaction(lambda tx: work(tx, create_new=True))
            break
        except DatabaseError as exc:
            if exc.code != CONSTRAINT_FAILED:
                raise
            look = True
    else:
        db.transaction(lambda tx: work(tx, create_new=False))
    if lookup is not None:
        lookup.look = bool(existed)  # after a failed create, the retry found the stored ones
    return Written(batch_id, params["events"], frozenset(existed))


TARGETS = frozenset(name for name, _type, _label in LINKS)  # rows of links, written as nodes
# merge_processes' field names, in the order of a row's values, and which are times
PROCESS_PARAMS = {"fields": list(PROCESS_FIELDS), "times": list(TIME_FIELDS)}
CONSTRAINT_FAILED = "Neo.ClientError.Schema.ConstraintValidationFailed"
CREATE_ATTEMPTS = 3  # writes of a batch that check and create, before one that merges all


def _write_events(
    tx: Transaction, events: list[dict[str, Any]], create_new: bool, look: bool = True
) -> list[str]:
    """Writes a batch's events; returns the ids of those that were in the graph before.

    Most of a batch is new: those are created (create_events), the rest merged
    (merge_events), which is what merge_events alone does, at less cost. Without
    `look`, every event is taken for new (a stored one fails the create).
    """
    if not events:
        return []
    if not create_new:
        return list(tx.run("ingest/merge_events", rows=events)[0]["existed"])
    found: set[str] = set()
    if look:
        found = set(tx.run("ingest/existing_events", ids=[e["id"] for e in events])[0]["existing"])
    new = [e for e in events if e["id"] not in found]
    if new:
        tx.run("ingest/create_events", rows=new)
    if not found:
        return []
    old = [e for e in events if e["id"] in found]
    return list(tx.run("ingest/merge_events", rows=old)[0]["existed"])


# the pipeline -------------------------------------------------------------------


@dataclass
class Report:
    """What an ingest did: counts, and each rejected record's position and reason."""

    format: str
    accepted: int = 0
    events: int = 0
    audit_records: int = 0
    findings: int = 0
    batches: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    # the id of the last batch queued for the background stage: what a caller waits on
    last_batch: str | None = field(default=None, repr=False)

    def add(self, other: Report) -> None:
        """Adds the counts, rejections and warnings of a batch's report."""
        self.accepted += other.accepted
        self.events += other.events
        self.audit_records += other.audit_records
        self.findings += other.findings
        self.rejected += other.rejected
        self.warnings += other.warnings

    def as_dict(self) -> dict[str, Any]:
        """Returns the report as the HTTP and CLI responses show it."""
        return {
            "format": self.format,
            "accepted": self.accepted,
            "events": self.events,
            "audit_records": self.audit_records,
            "findings": self.findings,
            "rejected_count": len(self.rejected),
            "rejected": self.rejected,
            "warnings": self.warnings,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
        }


Progress = Callable[[Report], None]
AfterBatch = Callable[[Database, Written], Any]
"""What runs after each batch is committed; a Pipeline drains the background stage there."""

# Batches a parser process shapes ahead of the writer: it parses the next ones
# while Neo4j writes this one, and a slow database holds it back (backpressure).
WRITE_AHEAD = 4


def outcomes(format_name: str, text_lines: Iterable[str]) -> Iterator[Outcome]:
    """Frames text for a format and runs its adapter; bad JSON is rejected here."""
    adapter = get_adapter(format_name)
    bad: list[Rejected] = []

    def good(records: Iterable[RawRecord]) -> Iterator[RawRecord]:
        for record in records:
            if isinstance(record.text, BadJson):
                bad.append(Rejected(record.position, record.text.error, str(record.text)))
            else:
                yield record

    for outcome in adapter.parse(good(frame(adapter.framing, text_lines))):
        while bad:
            yield bad.pop(0)
        yield outcome
    yield from bad


@dataclass
class Batch:
    """One batch as the parser hands it to the writer: rows, dead letters, its counts."""

    rows: Rows
    letters: list[deadletter.Letter]
    report: Report


def batches(
    format_name: str, text_lines: Iterable[str], batch_size: int, origin: str
) -> Iterator[Batch]:
    """Parses text into batches of at most batch_size accepted (or rejected) records."""

    def fresh() -> Batch:
        return Batch(Rows(), [], Report(format=format_name))

    batch, pending = fresh(), 0
    for outcome in outcomes(format_name, text_lines):
        counts = batch.report
        if isinstance(outcome, Rejected):
            counts.rejected.append({"position": outcome.position, "reason": outcome.reason})
            batch.letters.append(deadletter.Letter.of(format_name, origin, outcome))
        else:
            batch.rows.add(outcome.item)
            counts.accepted += 1
            if isinstance(outcome.item, AuditRecord):
                counts.audit_records += 1
            elif isinstance(outcome.item, Finding):
                counts.findings += 1
            else:
                counts.events += 1
            warnings = [*outcome.warnings, *outcome.item.clipped()]
            if warnings:
                counts.warnings.append({"position": outcome.position, "warnings": warnings})
            pending += 1
        if pending >= batch_size or len(batch.letters) >= batch_size:
            yield batch
            batch, pending = fresh(), 0
    if pending or batch.letters:
        yield batch


def _forked(source: Iterator[Batch]) -> Iterator[Batch]:
    """Runs a batch iterator in a forked process, yielding its batches as they come.

    Python parses on one core while this process and Neo4j write on the other:
    a thread would contend with the writer for the interpreter lock. The queue
    holds WRITE_AHEAD batches: a slow database holds the parser back. A thread
    of this process takes each batch off the queue (unpickling it, a tenth of a
    millisecond per event) while the writer waits for Neo4j. Only for callers
    with no other threads (the CLI): fork copies just the calling thread.
    """
    context = multiprocessing.get_context("fork")
    handoff: Any = context.Queue(WRITE_AHEAD)

    def parse() -> None:
        try:
            for batch in source:
                handoff.put(("batch", batch))
            handoff.put(("done", None))
        except BaseException as exc:  # hand the failure to the writer, which raises it
            try:
                handoff.put(("error", exc))
            except Exception:
                handoff.put(("error", InputError(f"{type(exc).__name__}: {exc}")))

    child = context.Process(target=parse, name="storyline-parser", daemon=True)
    child.start()
    received: queue.Queue[tuple[str, Any]] = queue.Queue(1)
    stop = threading.Event()

    def receive() -> None:
        kind = "batch"
        while kind == "batch" and not stop.is_set():
            try:
                kind, value = handoff.get(timeout=1.0)
            except queue.Empty:
                if child.is_alive():
                    continue
                kind, value = (
                    "error",
                    StorylineError(f"the parser process died (exit code {child.exitcode})"),
                )
            except BaseException as exc:  # a batch that does not unpickle, a closed pipe
                kind, value = "error", exc
            while not stop.is_set():
                try:
                    received.put((kind, value), timeout=1.0)
                    break
                except queue.Full:
                    continue

    receiver = threading.Thread(target=receive, name="storyline-receiver", daemon=True)
    receiver.start()
    try:
        while True:
            kind, value = received.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        receiver.join(timeout=10)
        if child.is_alive():
            child.terminate()
        child.join(timeout=10)
        handoff.close()


def ingest(
    db: Database,
    format_name: str,
    text_lines: Iterable[str],
    batch_size: int = INGEST_BATCH_SIZE,
    progress: Progress | None = None,
    origin: str = "api",
    after_batch: AfterBatch | str | None = "drain",
    parse_in_process: bool = False,
) -> Report:
    """Ingests text in a format: adapters, then batched writes; returns once all is committed.

    What comes after the writes (detection, stamping, relate, stories) is the
    background stage of app/pipeline.py, queued by the writes themselves.
    `after_batch` runs after each committed batch (a Pipeline there drains the
    stage after every batch); by default ("drain") the configured pipeline
    drains once after the last batch, so that the caller sees stories; None
    only writes (the service's worker does the rest). `parse_in_process`
    parses in a forked process alongside the writes (the CLI's large files).
    """
    pipeline = None
    if after_batch == "drain":
        from app.pipeline import Alongside, Pipeline

        pipeline = Pipeline.default()
        after_batch = Alongside(db, pipeline)
    hook = None if isinstance(after_batch, str) else after_batch
    started = time.monotonic()
    report = Report(format=format_name)
    source = batches(format_name, text_lines, batch_size, origin)
    lookup = Lookup()
    for batch in _forked(source) if parse_in_process else source:
        written = write_rows(db, batch.rows, batch.letters, lookup)
        report.last_batch = written.batch_id or report.last_batch
        report.add(batch.report)
        report.batches += 1
        if hook is not None:
            hook(db, written)
        report.seconds = time.monotonic() - started
        if progress is not None:
            progress(report)
    if pipeline is not None:
        pipeline.drain(db, after_batch.known)  # type: ignore[union-attr]
    report.seconds = time.monotonic() - started
    metrics.INGESTED.labels(format_name).inc(report.accepted)
    metrics.REJECTED.labels(format_name).inc(len(report.rejected))
    return report


def resubmit(
    db: Database, ids: list[str] | None = None, format_name: str | None = None, limit: int = 1000
) -> dict[str, Any]:
    """Re-submits dead letters: accepted ones leave the store, the rest get the new reason."""
    letters = deadletter.list_letters(db, format_name=format_name, ids=ids, limit=limit)
    done, still = [], []
    for letter in letters:
        report = ingest(db, letter["format"], split_lines(letter["raw"]), origin="resubmit")
        if report.rejected:
            still.append({"id": letter["id"], "reasons": [r["reason"] for r in report.rejected]})
        else:
            done.append(letter["id"])
    if done:
        deadletter.delete(db, done)
    return {"resubmitted": len(letters), "accepted": done, "still_rejected": still}
