"""Database: what reaches Neo4j as parameters, and what the driver makes of them on the way."""

from __future__ import annotations

import logging
import threading

import pytest

import app.neo4j.database as database
from app.errors import DatabaseBusy, DatabaseError
from app.neo4j.database import Database, Transaction
from tests.deadlock import DEADLOCK, retries_here

ROWS = [
    {"id": f"secret-{i}", "tags": ["a", "b"], "n": i, "nested": {"xs": [i, None]}} for i in range(3)
]
ECHO = "UNWIND $rows AS row RETURN row, $ids AS ids, $empty AS empty, $name AS name"


def test_list_parameters_arrive_whole(db: Database) -> None:
    got = db.query(ECHO, {"rows": ROWS, "ids": ["x", "y"], "empty": [], "name": "n"})[1]
    assert got == [{"row": r, "ids": ["x", "y"], "empty": [], "name": "n"} for r in ROWS]


def test_the_driver_s_debug_line_does_not_print_a_batch(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # The driver formats "C: RUN <query> <parameters>" for every statement, debug on or
    # off; a batch's rows printed took as long as encoding them (app/neo4j/database.py).
    with caplog.at_level(logging.DEBUG, logger="neo4j"):
        db.query(ECHO, {"rows": ROWS, "ids": ["x"], "empty": [], "name": "n"})
    runs = [r.getMessage() for r in caplog.records if "C: RUN" in r.getMessage()]
    assert runs, "the driver logged no RUN line: this test no longer sees what it checks"
    assert all("secret-" not in line for line in runs)
    assert any("[3 items]" in line for line in runs)


def _opposite_orders(db: Database) -> tuple[dict[str, int], list[BaseException]]:
    """Forced: two transactions lock two stories in opposite orders, meeting half-way
    on their first attempt, so that Neo4j rolls one of them back. Returns how many
    times each ran and what they raised."""
    db.query("CREATE (:Story:Restory {id: 'x'}), (:Story:Restory {id: 'y'})", write=True)
    first_locked = {name: threading.Event() for name in ("one", "two")}
    attempts = {"one": 0, "two": 0}
    errors: list[BaseException] = []

    def work(name: str, first: str, second: str) -> None:
        def attempt(tx: Transaction) -> None:
            attempts[name] += 1
            tx.tx.run("MATCH (st:Story {id: $id}) SET st.by = $by", id=first, by=name).consume()
            if attempts[name] == 1:  # the first time only: meet the other half-way
                first_locked[name].set()
                assert all(e.wait(30) for e in first_locked.values())
            tx.run("stories/clear_restory", ids=[second])

        try:
            db.transaction(attempt)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=("one", "x", "y")),
               threading.Thread(target=work, args=("two", "y", "x"))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return attempts, errors


def test_a_transaction_that_loses_a_deadlock_is_retried_and_commits(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Neo4j rolls back one of two transactions that lock in opposite orders;
    Database.transaction runs it again (counted, and logged with the statement it
    failed in), and both commit."""
    before = retries_here()
    with caplog.at_level(logging.INFO, logger="app.neo4j.database"):
        attempts, errors = _opposite_orders(db)
    assert errors == []
    assert sorted(attempts.values()) == [1, 2]  # the deadlock's loser ran again
    assert retries_here() == before + 1
    assert [r.getMessage() for r in caplog.records if "retried" in r.getMessage()] == [
        f"transaction retried after {DEADLOCK} in cypher/stories/clear_restory.cypher"
    ]
    stories = "MATCH (st:Story) RETURN st.id AS id, st.by AS by, st:Restory AS r ORDER BY id"
    assert db.query(stories)[1] == [
        {"id": "x", "by": "one", "r": False},
        {"id": "y", "by": "two", "r": False},
    ]


def test_a_deadlock_past_the_retries_is_database_busy_not_a_failed_request(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no time left to retry, the deadlock's loser raises DatabaseBusy (a kind of
    DatabaseUnavailable: the REST API answers 503 with Retry-After, GraphQL
    SERVICE_UNAVAILABLE), with Neo4j's code; nothing of it is written."""
    monkeypatch.setattr(database, "RETRY_SECONDS", 0.0)
    attempts, errors = _opposite_orders(db)
    assert sorted(attempts.values()) == [1, 1]
    assert [type(e) for e in errors] == [DatabaseBusy]
    assert errors[0].code == DEADLOCK
    assert "try again later" in str(errors[0])
    by = db.query("MATCH (st:Story) RETURN collect(DISTINCT st.by) AS by")[1][0]["by"]
    assert len(by) == 1  # the winner's writes only


def test_a_failing_statement_s_error_names_its_cypher_file(db: Database) -> None:
    # what a retry's log line names; run and read go through query, a transaction's
    # statements through Transaction.run
    db.run("pipeline/queue_batch", id="b-1", events=["e-1"])
    with pytest.raises(DatabaseError) as raised:
        db.run("pipeline/queue_batch", id="b-1", events=["e-1"])  # the batch_id constraint
    assert raised.value.__cause__.__notes__ == ["in cypher/pipeline/queue_batch.cypher"]
    with pytest.raises(DatabaseError) as raised:
        db.transaction(lambda tx: tx.run("pipeline/queue_batch", id="b-1", events=["e-1"]))
    assert raised.value.__cause__.__notes__ == ["in cypher/pipeline/queue_batch.cypher"]
