"""The background stage after the writes: its steps in their one order, and the worker.

    write batch (app/ingest.py): a :Batch node naming its events, processes
    :Unstamped, signals :Unstoried and :Unscreened, audit records :Unrelated, in
    the batch's own transaction
      -> detect: rules and indicator feeds on queued events -> signals (app/rules/signals.py)
      -> screen: new signals against the analysts' exceptions -> suppressed
         (app/investigation/exceptions.py)
      -> stamp: the six context layers -> correlation keys (app/layers.py)
      -> relate: audit records -> what they concern, RELATES_TO (app/relate.py)
      -> stories: signals grouped per correlation key (app/rules/stories.py)

Every step works from marks the writer set in the transaction that stored the
data, and clears a mark in the transaction that did its work: an ingest answer
means committed, and nothing committed can miss a step, whatever crashes.
Detection runs before stamping so that a rule's compromise mark roots its
exploit context in the same cycle; screening runs between them so that a
suppressed signal roots none; stories run last, on the final keys.

One cycle takes up to `chunk` queued events, so that each step's fixed cost
is spread over many batches of the writer. Cycles run one at a time across
every process that shares the database: a worker holds the pipeline lease
(`Lock {id: 'pipeline'}`, renewed while it works, free when it is idle or
gone), so app replicas, `storyline ingest` and the tests take turns.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app import metrics
from app.investigation.exceptions import screen
from app.investigation.stories import refresh
from app.layers import stamp
from app.neo4j.database import Database
from app.relate import relate
from app.rules.model import Rule
from app.rules.signals import DETECT_CHUNK, QUEUE_LOOKAHEAD, active_rules, detect
from app.settings import Settings

if TYPE_CHECKING:
    from app.ingest import Written

LEASE_SECONDS = 120
RENEW_EVERY = LEASE_SECONDS / 8  # seconds between a working holder's renewals


@dataclass
class Cycle:
    """What one cycle of the stage did."""

    detected: int = 0
    signals: int = 0
    screened: int = 0  # new signals checked against the exceptions
    stamped: int = 0
    stories: int = 0
    lags_ms: list[int] = field(default_factory=list)
    seconds: float = 0.0
    full: bool = False  # it took a whole chunk: more may be waiting

    @property
    def idle(self) -> bool:
        """Tells whether the cycle found nothing to do."""
        return not (self.detected or self.stamped or self.stories or self.signals or self.screened)


class Lease:
    """The pipeline lease: at most one holder runs cycles at a time."""

    def __init__(self, db: Database, ttl: int = LEASE_SECONDS) -> None:
        self.db = db
        self.ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False
        self.wanted = False  # someone else asked for it lately (see take_lease.cypher)
        self.renewed = -float("inf")  # time.monotonic() of the last take or renewal

    def try_acquire(self, cycles: int = 0) -> bool:
        """Takes or renews the lease unless someone else holds it; adds to its cycle count."""
        found = self.db.run("pipeline/take_lease", holder=self.holder, ttl=self.ttl, cycles=cycles)
        self.held = bool(found)
        self.wanted = bool(found and found[0]["wanted"])
        if self.held:
            self.renewed = time.monotonic()
        return self.held

    def renew(self) -> bool:
        """The heartbeat within a cycle: renews the lease once RENEW_EVERY (or an
        eighth of a shorter ttl) has passed since the last renewal, so that a cycle
        of many short steps (a stamping round each) does not commit a renewal after
        every one."""
        if self.held and time.monotonic() - self.renewed < min(RENEW_EVERY, self.ttl / 8):
            return True
        return self.try_acquire()

    def acquire(self, poll: float = 0.05) -> None:
        """Waits until the lease is ours, asking the holder for it (it gives it up
        between two of its cycles)."""
        asked = 0.0
        while not self.try_acquire():
            if time.monotonic() - asked > 0.5:
                self.db.run("pipeline/want_lease", holder=self.holder)
                asked = time.monotonic()
            time.sleep(poll)

    def release(self) -> None:
        """Frees the lease if this holder has it."""
        if self.held:
            self.db.run("pipeline/release_lease", holder=self.holder)
            self.held = False


@dataclass
class Pipeline:
    """The stage's steps, with the rules they use."""

    rules: Sequence[Rule] = field(default_factory=tuple)
    routine_stories: bool = True
    chunk: int = DETECT_CHUNK

    @classmethod
    def default(cls, settings: Settings | None = None) -> Pipeline:
        """Returns the pipeline with the configured rules (built-in, user, Sigma)."""
        settings = settings or Settings.from_env()
        return cls(active_rules(settings.rule_dirs, settings.sigma_dirs), settings.routine_stories)

    def cycle(
        self,
        db: Database,
        heartbeat: Callable[[], object] | None = None,
        known: dict[str, Written] | None = None,
    ) -> Cycle:
        """Runs each step once over what is queued; the caller holds the lease.

        `known`: batches the caller wrote, whose new events need not be read back.
        """
        started = time.perf_counter()
        found = detect(db, self.rules, self.chunk, known)
        beat = heartbeat or (lambda: None)
        beat()
        screened = screen(db)
        stamped = stamp(db, on_round=beat).stamped
        relate(db)
        stories = refresh(db, self.routine_stories)
        done = Cycle(
            detected=found.events,
            signals=found.signals,
            screened=screened,
            stamped=stamped,
            stories=stories,
            lags_ms=found.lags_ms,
            seconds=time.perf_counter() - started,
            full=found.more,
        )
        metrics.observe_cycle(done)
        return done

    def drain(self, db: Database, known: dict[str, Written] | None = None) -> list[Cycle]:
        """Runs cycles until nothing committed before the call waits; returns them."""
        lease = Lease(db)
        lease.acquire()
        cycles: list[Cycle] = []
        try:
            while True:
                cycles.append(self.cycle(db, lease.renew, known))
                lease.try_acquire(cycles=1)
                if not cycles[-1].full:
                    return cycles
        finally:
            lease.release()

    def __call__(self, db: Database, written: Written | None = None) -> None:
        """Drains the stage: what `ingest(after_batch=...)` runs after each batch."""
        self.drain(db)


class Alongside:
    """Runs the stage between a writer's batches, once a chunk's worth waits.

    What `storyline ingest` uses: writes and cycles take turns on one
    connection (no lock contention between them), while the caller's thread
    goes on parsing the next batches. When another process holds the lease,
    it leaves the work to that holder.
    """

    def __init__(self, db: Database, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.lease = Lease(db)
        self.waiting = 0
        self.cycles: list[Cycle] = []
        # the batches written since the last cycle: detection need not read them back
        self.known: dict[str, Written] = {}

    def __call__(self, db: Database, written: Written) -> None:
        if written.batch_id is not None:
            self.known[written.batch_id] = written
        self.waiting += len(written.events)
        ran = self.waiting >= self.pipeline.chunk and self.work(db)
        if not ran and len(self.known) > QUEUE_LOOKAHEAD:  # another holder takes them
            self.known.clear()

    def work(self, db: Database) -> bool:
        """Runs cycles while they find a whole chunk, if the lease is free; returns
        whether it could take the lease (a writer that waits runs this instead)."""
        if not self.lease.try_acquire():
            return False
        try:
            while True:
                cycle = self.pipeline.cycle(db, self.lease.renew, self.known)
                self.cycles.append(cycle)
                self.lease.try_acquire(cycles=1)
                if not cycle.full:
                    break
        finally:
            self.lease.release()
        self.waiting = 0
        return True


class Worker:
    """Runs the pipeline's cycles in a background thread while there is work.

    It takes the lease when it is free, runs cycles while they find work, and
    gives the lease up when a cycle finds none, or when another process asked for
    it (Lease.acquire), so that any other process may drain or prune in between.
    With a `pruner` (STORYLINE_RETENTION), retention runs a few bounded batches
    between cycles. Errors are logged and retried after a pause: the queues keep
    what failed.
    """

    def __init__(
        self,
        db: Database,
        pipeline: Pipeline,
        idle_seconds: float = 0.2,
        pruner: Callable[[Database, Lease], object] | None = None,
    ) -> None:
        self.db = db
        self.pipeline = pipeline
        self.idle_seconds = idle_seconds
        self.pruner = pruner  # retention between cycles (app/retention.py: Pruner)
        self.cycles: list[Cycle] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="storyline-pipeline", daemon=True)

    def start(self) -> Worker:
        """Starts the thread; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 300) -> None:
        """Asks the thread to stop after its current cycle, and waits for it."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        import logging

        log = logging.getLogger("storyline.pipeline")
        lease = Lease(self.db)
        while not self._stop.is_set():
            try:
                if not lease.try_acquire():
                    self._stop.wait(self.idle_seconds)
                    continue
                cycle = self.pipeline.cycle(self.db, lease.renew)
                self.cycles.append(cycle)
                if self.pruner is not None:
                    self.pruner(self.db, lease)
                if cycle.idle:
                    lease.release()
                    self._stop.wait(self.idle_seconds)
                elif lease.try_acquire(cycles=1) and lease.wanted:
                    # someone waits for the lease (a prune, a drain): let them have a turn
                    lease.release()
                    self._stop.wait(self.idle_seconds)
            except Exception as exc:  # the queues keep the work: log, pause, retry
                self.error = exc
                log.exception("pipeline cycle failed; retrying")
                metrics.CYCLE_ERRORS.inc()
                self._stop.wait(5 * self.idle_seconds)
        try:
            lease.release()
        except Exception:  # the database may be gone at shutdown; the lease expires
            log.warning("could not release the pipeline lease; it expires by itself")


def queued(db: Database) -> dict[str, Any]:
    """Returns how much waits in each queue and the age of the oldest queued event."""
    return db.read("queries/pipeline_state")[0]


def wait_processed(
    db: Database,
    batch_id: str | None,
    pipeline: Pipeline | None = None,
    poll: float = 0.1,
    known: dict[str, Written] | None = None,
) -> list[Cycle]:
    """Returns once the stage has processed what was committed before the call.

    When no worker holds the lease, this drains the stage itself (and returns
    its cycles); otherwise it waits until `batch_id` (the last batch written:
    the queue is taken oldest first) has left the detection queue, and the
    holder has finished the cycle that took it.
    """
    lease = Lease(db)
    seen_cycles: int | None = None
    while True:
        if lease.try_acquire():
            lease.release()
            return (pipeline or Pipeline.default()).drain(db, known)
        found = db.read("pipeline/still_queued", id=batch_id)[0]
        if not found["queued"]:
            if seen_cycles is None:
                seen_cycles = found["cycles"]
            elif found["cycles"] > seen_cycles:
                return []
        time.sleep(poll)
