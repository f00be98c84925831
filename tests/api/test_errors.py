"""Every GraphQL error carries extensions.code: a client tells its mistakes from our faults."""

from __future__ import annotations

import pytest

from app.api.app import create_app
from app.neo4j.database import Database
from tests.apiclient import local_client

CASES = [
    ("{ stories(first: 0) { totalCount } }", "BAD_USER_INPUT", "first must be between"),
    ('{ stories(first: 5, after: "garbage") { totalCount } }', "BAD_USER_INPUT", "cursor"),
    ('mutation { addStoryNote(id: "nope", note: "x") { id } }', "NOT_FOUND", "no story"),
    ('mutation { addStoryNote(id: "nope", note: "") { id } }', "BAD_USER_INPUT", "needs text"),
    ('mutation { ingest(format: "", records: "x") { accepted } }', "BAD_USER_INPUT", "format"),
    ("{ nosuch }", "GRAPHQL_VALIDATION_FAILED", "nosuch"),
    ("{ " + " ".join(f"a{i}: about {{ version }}" for i in range(40)) + " }",
     "QUERY_TOO_COMPLEX", "aliases"),
    ("{ stories(first: 200) { edges { node { graph { truncated } timeline(first: 200) "
     "{ edges { cursor } } } } } }", "QUERY_TOO_COMPLEX", "cost"),
]  # fmt: skip


@pytest.mark.parametrize(("document", "code", "words"), CASES)
def test_errors_carry_a_code(db: Database, document: str, code: str, words: str) -> None:
    with local_client(create_app(db)) as client:
        answer = client.post("/graphql", json={"query": document})
    assert answer.status_code == 200
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == code
    assert words in error["message"]


def test_a_clients_mistake_is_not_logged_as_a_fault(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with local_client(create_app(db)) as client:
        client.post("/graphql", json={"query": "{ stories(first: 0) { totalCount } }"})
    assert "Traceback" not in caplog.text and "first must be" not in caplog.text
