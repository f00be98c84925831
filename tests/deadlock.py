"""A deadlock forced against a write the service makes: the test's transaction holds
one host and more locks than the service's write will, the service's write of a
batch on two hosts takes the first and waits for the second, the test then asks for
the first. Neo4j aborts the transaction that holds fewer locks: the service's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prometheus_client.parser import text_string_to_metric_families

from app.metrics import REGISTRY
from app.neo4j.database import Database

T = TypeVar("T")
HOSTS = ("dl-0", "dl-1")  # the service's merge_hosts takes them in this order
DEADLOCK = "Neo.TransientError.Transaction.DeadlockDetected"
RETRIES = "storyline_transaction_retries_total"


def retries_here() -> float:
    """Deadlocks this process's Database retried so far (its metrics registry)."""
    return REGISTRY.get_sample_value(RETRIES, {"reason": DEADLOCK}) or 0.0


def retries_in(exposition: str) -> float:
    """Deadlocks retried so far, read from a /metrics page (0 before the first)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == RETRIES and sample.labels.get("reason") == DEADLOCK
    )


def on(host: str, n: int) -> dict[str, Any]:
    """Event dl-ev-<n> on a host (one process per event)."""
    process = {"pid": 100 + n, "exe": "/bin/true", "start_time": "2026-01-05T08:00:00Z"}
    return {"id": f"dl-ev-{n}", "ts": f"2026-01-05T08:00:0{n}.000000000Z", "source": "test",
            "host": {"id": host}, "kind": "process_exec", "process": process}  # fmt: skip


def against(db: Database, write: Callable[[], T]) -> T:
    """Runs `write` (a request whose batch names both HOSTS, which exist already) in
    a thread and deadlocks its transaction with one of this test's; returns what
    `write` returned once the test's transaction is rolled back."""
    db.query("UNWIND range(1, 200) AS i CREATE (:DeadlockBait {i: i})", write=True)
    answers: list[T] = []
    with db.session(write=True) as session:
        tx = session.begin_transaction()
        try:
            tx.run("MATCH (n:DeadlockBait) SET n.held = true").consume()
            tx.run("MATCH (h:Host {id: $id}) SET h.held = true", id=HOSTS[1]).consume()
            writer = threading.Thread(target=lambda: answers.append(write()))
            writer.start()
            deadline = time.monotonic() + 60
            while not blocked(db, "MERGE (h:Host") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert blocked(db, "MERGE (h:Host"), "the write never waited for the test's lock"
            # closes the cycle; the service's transaction, holding fewer locks, is aborted
            tx.run("MATCH (h:Host {id: $id}) SET h.held = true", id=HOSTS[0]).consume()
        finally:
            tx.rollback()
        writer.join(60)
    assert len(answers) == 1, "the write did not finish"
    return answers[0]


def blocked(db: Database, fragment: str) -> bool:
    """Tells whether a transaction waits for a lock in a statement holding `fragment`."""
    return bool(
        db.query(
            "SHOW TRANSACTIONS YIELD currentQuery, status "
            "WHERE status STARTS WITH 'Blocked' AND currentQuery CONTAINS $fragment "
            "RETURN count(*) AS n",
            {"fragment": fragment},
        )[1][0]["n"]
    )
