"""Retention: remove what is older than a limit and outside every story, in bounded
transactions (`storyline prune --older-than 30d`, or STORYLINE_RETENTION in the
background stage of `storyline serve`).

What goes, in this order, each step in transactions of at most `batch` items:

1. archived stories whose last event and last triage change are before the limit,
   with their triage history;
2. events before the limit whose correlation key no story has and whose process is
   not the root of a story's context, with the signals on them no story holds,
   their later versions and annotations; an event still queued for detection, or
   not stamped yet (no key), stays;
3. the processes of those events, and then their parents, once nothing needs them:
   no event, no child (a kept process keeps its whole lineage), not queued for
   stamping, not in a story's context;
4. the contexts and the files, endpoints and domains those processes leave with no
   reference, and audit records before the limit that relate to no process or
   context any more.

A story's evidence stays as long as the story: open and under-review stories are
never removed, whatever their age. Every transaction holds the pipeline lease
(app/pipeline.py), so it never runs between a cycle's steps, and cycles of a
running stage go on between the batches.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app import metrics
from app.errors import InputError
from app.events import format_ts, normalize_ts
from app.neo4j.database import Database
from app.pipeline import Lease

BATCH = 5_000
MAX_ROUNDS = 10_000  # lineage levels one run climbs at most
_AGE = re.compile(r"^\s*(\d{1,6})\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_EPOCH = "0001-01-01T00:00:00Z"


def parse_age(text: str) -> timedelta:
    """Parses an age like `30d`, `12h`, `2w` (s, m, h, d, w); at least one minute."""
    match = _AGE.match(text or "")
    if not match:
        raise InputError(f"an age is a number and a unit (s, m, h, d, w), like 30d: got {text!r}")
    age = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if age < timedelta(minutes=1):
        raise InputError(f"a retention age is at least a minute, got {text!r}")
    return age


def cutoff(older_than: str | None = None, before: str | None = None) -> datetime:
    """Returns the limit: now minus an age, or an RFC 3339 time."""
    if (older_than is None) == (before is None):
        raise InputError("give an age (--older-than 30d) or a time (--before), not both")
    if before is not None:
        try:
            text = normalize_ts(before)
        except ValueError as exc:
            raise InputError(f"--before: {exc}") from None
        return datetime.fromisoformat(text[:26] + "+00:00")
    return datetime.now(UTC) - parse_age(older_than or "")


@dataclass
class Pruned:
    """What one run removed."""

    stories: int = 0
    events: int = 0
    processes: int = 0
    contexts: int = 0
    targets: int = 0
    audit_records: int = 0
    events_read: int = 0
    transactions: int = 0
    seconds: float = 0.0
    done: bool = False  # it reached the limit (False: stopped by max_batches)

    def as_dict(self) -> dict[str, Any]:
        """The counts, for JSON output."""
        return dict(self.__dict__)


@dataclass
class Cursor:
    """Where a run is in the time-ordered scan of events and audit records."""

    ts: str = _EPOCH  # RFC 3339 text
    id: str = ""
    audit_ts: str = _EPOCH
    audit_id: str = ""
    events_done: bool = False
    audit_done: bool = False
    parents: set[str] = field(default_factory=set)


def prune(
    db: Database,
    before: datetime,
    batch: int = BATCH,
    max_batches: int | None = None,
    progress: Callable[[Pruned], object] | None = None,
    cursor: Cursor | None = None,
    lease: Lease | None = None,
    pace: float = 1.0,
) -> Pruned:
    """Removes what is before `before` and outside every story; returns the counts.

    Each batch is one transaction under the pipeline lease (taken, used, given
    back, so that the stage's cycles run in between), or under the caller's
    `lease` (the background stage's worker, which holds it). `max_batches` bounds
    one call: the worker prunes a little at a time, resuming from `cursor`.
    `pace` is the share of wall time spent pruning (0.25: after a batch that took
    a second, a three-second pause), so that ingest on the same database keeps
    most of it; 1 prunes flat out.
    """
    if not 0 < pace <= 1:
        raise InputError("the prune pace is a share of time, more than 0 and at most 1")
    if batch < 1 or batch > 50_000:
        raise InputError("a prune batch is 1 to 50,000 items")
    started = time.perf_counter()
    done = Pruned()
    cursor = cursor or Cursor()
    held = lease
    batches = 0

    def step(work: Callable[[], bool]) -> bool:
        nonlocal batches
        own = held or Lease(db)
        if held is None:
            own.acquire()
        began = time.perf_counter()
        try:
            more = work()
        finally:
            if held is None:
                own.release()
            else:
                held.try_acquire()  # renewed between batches
        if pace < 1:
            time.sleep((time.perf_counter() - began) * (1 - pace) / pace)
        batches += 1
        done.transactions += 1
        if progress is not None:
            progress(done)
        return more

    def stories() -> bool:
        deleted = db.run("retention/archived_stories", before=before, limit=batch)[0]["deleted"]
        done.stories += deleted
        return bool(deleted == batch)

    while step(stories):
        if max_batches is not None and batches >= max_batches:
            return _finish(done, started, False)

    def events() -> bool:
        rows = db.read(
            "retention/old_events", before=before, limit=batch, **{"from": cursor.ts},
            after_id=cursor.id,
        )  # fmt: skip
        # read after the events: a batch committed with any of them is seen queued
        kept = db.read("retention/kept_keys")[0]
        keys, roots, queued = set(kept["keys"]), set(kept["roots"]), set(kept["queued"])
        done.events_read += len(rows)
        if not rows:
            cursor.events_done = True
            return False
        cursor.ts, cursor.id = format_ts(rows[-1]["ts"]) or _EPOCH, rows[-1]["id"]
        gone = [
            r for r in rows
            if r["key"] is not None and r["key"] not in keys
            and r["process"] not in roots and r["id"] not in queued
        ]  # fmt: skip
        if gone:
            db.run("retention/delete_events", ids=[r["id"] for r in gone])
            done.events += len(gone)
            cursor.parents.update(r["process"] for r in gone if r["process"])
        return True

    def processes() -> bool:
        kept = db.read("retention/kept_keys")[0]["keys"]
        take = sorted(cursor.parents)[:batch]
        cursor.parents.difference_update(take)
        found = db.run("retention/delete_processes", keys=take, kept=kept, before=before)[0]
        done.processes += found["deleted"]
        cursor.parents.update(k for ks in found["parents"] for k in ks)
        contexts = sorted({k for ks in found["contexts"] for k in ks})
        targets = sorted({t for ts in found["targets"] for t in ts})
        if contexts or targets:
            left = db.run("retention/delete_leftovers", contexts=contexts, targets=targets)[0]
            done.contexts += left["contexts"]
            done.targets += left["targets"]
        return bool(cursor.parents)

    def audit_records() -> bool:
        found = db.run(
            "retention/old_audit_records", before=before, limit=batch,
            **{"from": cursor.audit_ts}, after_id=cursor.audit_id,
        )[0]  # fmt: skip
        done.audit_records += found["deleted"]
        if not found["read"]:
            cursor.audit_done = True
            return False
        cursor.audit_ts, cursor.audit_id = format_ts(found["ts"]) or _EPOCH, found["id"]
        return True

    rounds = 0
    while not cursor.events_done:
        step(events)
        # a batch's processes go right after its events, while they are few
        while cursor.parents and rounds < MAX_ROUNDS:
            rounds += 1
            step(processes)
            if max_batches is not None and batches >= max_batches:
                return _finish(done, started, False)
        if max_batches is not None and batches >= max_batches:
            return _finish(done, started, False)
    while not cursor.audit_done:
        step(audit_records)
        if max_batches is not None and batches >= max_batches:
            return _finish(done, started, False)
    return _finish(done, started, True)


def _finish(done: Pruned, started: float, complete: bool) -> Pruned:
    done.seconds = round(time.perf_counter() - started, 3)
    done.done = complete
    return done


class Pruner:
    """Retention in the background stage (STORYLINE_RETENTION): between the worker's
    cycles, at most every `every` seconds, a few batches of one run; a run goes on
    from where the last stopped until it reaches the limit, then the next starts
    over with the limit moved on."""

    def __init__(
        self, age: timedelta, every: float = 5.0, batches: int = 2, batch: int = 2000
    ) -> None:
        self.age = age
        self.batch = batch
        self.every = every
        self.batches = batches
        self.runs: list[Pruned] = []  # finished runs (the last 100)
        self._cursor: Cursor | None = None
        self._before: datetime | None = None
        self._last = 0.0

    def __call__(self, db: Database, lease: Lease) -> Pruned | None:
        """Prunes a little under the worker's lease, when it is time; returns what."""
        now = time.monotonic()
        if now - self._last < self.every:
            return None
        self._last = now
        if self._cursor is None or self._before is None:
            self._cursor, self._before = Cursor(), datetime.now(UTC) - self.age
        done = prune(db, self._before, self.batch, self.batches, cursor=self._cursor, lease=lease)
        for kind in ("stories", "events", "processes", "contexts", "targets", "audit_records"):
            metrics.PRUNED.labels(kind).inc(getattr(done, kind))
        if done.done:
            self.runs = [*self.runs[-99:], done]
            self._cursor = None
        return done
