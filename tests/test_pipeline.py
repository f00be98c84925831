"""The background stage: durable queues, one lease holder at a time, nothing lost."""

from __future__ import annotations

import threading
import time

import pytest

from app import pipeline
from app.generate import lines
from app.ingest import ingest
from app.neo4j.database import Database
from app.pipeline import Lease, Pipeline, Worker, queued, wait_processed
from tests.graphstate import snapshot

TEXT = [x + "\n" for x in lines(3, 3000)]


def reference(db: Database) -> tuple[frozenset, frozenset]:
    """The graph of the workload ingested the usual way (drained at the end)."""
    ingest(db, "storyline", TEXT)
    graph = snapshot(db)
    db.query("MATCH (n) DETACH DELETE n", write=True)
    return graph


def test_committed_events_wait_in_durable_queues_until_the_stage_runs(db: Database) -> None:
    expected = reference(db)
    report = ingest(db, "storyline", TEXT, after_batch=None)
    state = queued(db)
    # everything the writes queued is in the graph, in the batches' own transactions
    assert state["detect"] == report.events > 0
    assert state["stamp"] > 0 and state["stories"] > 0
    assert state["lag_seconds"] > 0
    assert not db.query("MATCH (s:Story) RETURN s")[1]
    # a process that died here (the CLI, a replica) loses nothing: any later drain runs it
    cycles = Pipeline.default().drain(db)
    assert sum(c.detected for c in cycles) == report.events - _alerts(db)
    assert snapshot(db) == expected
    after = queued(db)
    assert (after["detect"], after["stamp"], after["relate"], after["stories"]) == (0, 0, 0, 0)


def _alerts(db: Database) -> int:
    return db.query("MATCH (e:Event {kind: 'alert'}) RETURN count(e) AS n")[1][0]["n"]


def test_a_step_that_fails_loses_nothing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = reference(db)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away mid-cycle")

    monkeypatch.setattr(pipeline, "stamp", broken)
    ingest(db, "storyline", TEXT, after_batch=None)
    with pytest.raises(RuntimeError, match="went away"):
        Pipeline.default().drain(db)
    # detection committed its signals; the stamping it never did is still queued
    state = queued(db)
    assert state["detect"] == 0 and state["stamp"] > 0
    assert db.query("MATCH (s:Signal) RETURN count(s) AS n")[1][0]["n"] > 0
    monkeypatch.undo()
    Pipeline.default().drain(db)
    assert snapshot(db) == expected


def test_one_lease_holder_at_a_time_and_an_expired_lease_is_taken(db: Database) -> None:
    first, second = Lease(db), Lease(db, ttl=1)
    assert first.try_acquire()
    assert not second.try_acquire()
    assert first.try_acquire()  # renewing is harmless
    first.release()
    assert second.try_acquire()
    time.sleep(1.5)  # the holder vanished without releasing: its lease expires
    assert first.try_acquire()
    first.release()


def test_a_cycle_renews_its_lease_when_it_is_due_not_after_every_step(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    renewals: list[float] = []
    run = Database.run

    def counting(self: Database, name: str, **params: object) -> list[dict]:
        if name == "pipeline/take_lease":
            renewals.append(time.monotonic())
        return run(self, name, **params)

    monkeypatch.setattr(Database, "run", counting)
    ingest(db, "storyline", TEXT, after_batch=None)
    lease = Lease(db)
    assert lease.try_acquire()
    renewals.clear()
    cycle = Pipeline.default().cycle(db, lease.renew)
    assert cycle.stamped > 0  # stamping took rounds, each of which calls the heartbeat
    assert renewals == []  # none was due: the lease was taken just before
    # once due, the heartbeat renews it, and the lease's expiry moves on
    monkeypatch.setattr(pipeline, "RENEW_EVERY", 0.0)
    before = db.query("MATCH (l:Lock {id: 'pipeline'}) RETURN l.expires AS e")[1][0]["e"]
    assert lease.renew()
    assert len(renewals) == 1
    after = db.query("MATCH (l:Lock {id: 'pipeline'}) RETURN l.expires AS e")[1][0]["e"]
    assert after > before
    # a lease someone else took in the meantime is not renewed behind their back
    db.query("MATCH (l:Lock {id: 'pipeline'}) SET l.holder = 'someone else'", write=True)
    assert not lease.renew()
    assert not lease.held


def test_a_waiting_caller_returns_once_the_holder_has_processed_its_events(
    db: Database,
) -> None:
    report = ingest(db, "storyline", TEXT, after_batch=None)
    worker = Worker(db, Pipeline.default(), idle_seconds=0.05)
    holder = Lease(db)
    assert holder.try_acquire()  # someone else holds the lease: the worker must wait
    worker.start()
    result: list[object] = []
    waiter = threading.Thread(
        target=lambda: result.append(wait_processed(db, report.last_batch, poll=0.05))
    )
    waiter.start()
    time.sleep(0.5)
    assert waiter.is_alive() and queued(db)["detect"] > 0
    holder.release()
    waiter.join(120)
    worker.stop()
    assert not waiter.is_alive()
    state = queued(db)
    assert (state["detect"], state["stamp"], state["stories"]) == (0, 0, 0)
    assert db.query("MATCH (s:Story) RETURN count(s) AS n")[1][0]["n"] > 0
    assert worker.error is None


def test_a_busy_worker_gives_the_lease_to_who_asks_between_its_cycles(db: Database) -> None:
    # 30 batches of 100 events, one batch per cycle: the worker has work for 30 cycles
    report = ingest(db, "storyline", TEXT, batch_size=100, after_batch=None)
    worker = Worker(db, Pipeline(rules=(), chunk=1), idle_seconds=0.2).start()
    try:
        deadline = time.monotonic() + 60
        while queued(db)["detect"] == report.events:  # the worker has started its cycles
            assert time.monotonic() < deadline
            time.sleep(0.02)
        waiting = Lease(db)
        waiting.acquire()  # a prune or a drain: asks, and gets a turn between two cycles
        try:
            # it got the lease while the stage still had work, not once it went idle
            assert queued(db)["detect"] > 0
            assert not worker.error
        finally:
            waiting.release()
        while queued(db)["detect"]:  # the worker takes the lease back and finishes
            assert time.monotonic() < deadline, "the worker did not resume"
            time.sleep(0.05)
    finally:
        worker.stop()
    # the wish was withdrawn when it was granted: the lock holds no trace of it
    lock = db.query("MATCH (l:Lock {id: 'pipeline'}) RETURN l.wanted_by AS w, l.wanted_at AS at")
    assert lock[1] == [{"w": None, "at": None}]


def test_a_wish_for_the_lease_ends_when_its_caller_takes_it(db: Database) -> None:
    holder, asker = Lease(db), Lease(db)
    assert holder.try_acquire()
    db.run("pipeline/want_lease", holder=asker.holder)
    assert holder.try_acquire() and holder.wanted  # the holder sees the wish
    holder.release()
    assert asker.try_acquire() and not asker.wanted
    asker.release()
    assert holder.try_acquire() and not holder.wanted
    lock = db.query("MATCH (l:Lock {id: 'pipeline'}) RETURN l.wanted_by AS w, l.wanted_at AS at")
    assert lock[1] == [{"w": None, "at": None}]


def test_a_stamping_round_does_not_deadlock_with_a_writer_of_a_queued_child(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced: a stamping round holds process P (its frontier); a writer's batch
    updates P's child C, which waits in the queue (:Unstamped), then waits for P. The
    round used to mark C :Unstamped again, waiting for the writer's lock on C: a
    deadlock, one side rolled back and retried. It leaves a queued child alone now:
    no retry, and the next round stamps C."""
    import app.neo4j.database as database
    from app.layers import stamp
    from tests.deadlock import blocked, retries_here
    from tests.test_ingest import event, ndjson

    parent = {"key": "guid-p", "pid": 60, "exe": "/bin/bash", "args": ["bash"]}
    child = {"key": "guid-c", "pid": 61, "exe": "/usr/bin/id", "args": ["id"]}  # sorts first
    ingest(db, "storyline", ndjson([event(1, "process_exec", parent),
                                    event(2, "process_exec", child, parent=parent)]),
           after_batch=None)  # fmt: skip
    real = database.cypher
    round_holds = threading.Event()

    def hooked(name: str) -> str:
        who = threading.current_thread().name
        if who == "stage" and name == "layers/k8s_user_session" and not round_holds.is_set():
            round_holds.set()  # the round holds P (select_frontier marked it)
            deadline = time.monotonic() + 30
            while not blocked(db, "MERGE (p:Process") and time.monotonic() < deadline:
                time.sleep(0.05)  # until the writer, holding C, waits for P
        if who == "writer" and name == "ingest/merge_processes":
            assert round_holds.wait(30)
        return real(name)

    monkeypatch.setattr(database, "cypher", hooked)
    errors: list[BaseException] = []

    def run(work: object) -> None:
        try:
            work()  # type: ignore[operator]
        except BaseException as exc:  # reported below: a thread cannot fail the test
            errors.append(exc)

    batch = ndjson([event(3, "file_open", child, file={"path": "/etc/passwd"}),
                    event(4, "file_open", parent, file={"path": "/etc/hosts"})])  # fmt: skip
    before = retries_here()
    threads = [
        threading.Thread(target=run, args=(lambda: stamp(db),), name="stage"),
        threading.Thread(
            target=run,
            args=(lambda: ingest(db, "storyline", batch, after_batch=None),),
            name="writer",
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and round_holds.is_set()
    assert retries_here() == before
    stamp(db)
    keys = db.query("MATCH (p:Process) RETURN p.key AS key, p.correlation_key AS ck, "
                    "p:Unstamped AS queued ORDER BY key")[1]  # fmt: skip
    assert [(k["key"], k["queued"]) for k in keys] == [("guid-c", False), ("guid-p", False)]
    assert all(k["ck"] for k in keys)
