"""Database: what reaches Neo4j as parameters, and what the driver makes of them on the way."""

from __future__ import annotations

import logging

import pytest

from app.neo4j.database import Database

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
