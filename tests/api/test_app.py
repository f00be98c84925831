"""The HTTP surface: probes, GraphQL and GraphiQL, and `storyline serve` end to end."""

from __future__ import annotations

import socket

import strawberry

from app.api.app import create_app
from app.api.schema import LIMITS, MAX_DEPTH
from app.neo4j.database import Database, Target
from app.settings import Secret
from tests.apiclient import local_client


def test_health_and_readiness(db: Database) -> None:
    with local_client(create_app(db)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["neo4j"] == "answers"


def test_readiness_is_503_when_neo4j_does_not_answer() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = Database(Target(f"bolt://127.0.0.1:{port}", "neo4j", Secret("x")))
    with down, local_client(create_app(down)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503


def test_graphql_about(db: Database) -> None:
    db.query("CREATE (:Host {id: 'h1'}), (:Host {id: 'h2'})", write=True)
    with local_client(create_app(db)) as client:
        response = client.post(
            "/graphql",
            json={"query": "{ about { neo4jVersion neo4jEdition nodeCounts { label count } } }"},
        )
    body = response.json()
    assert "errors" not in body
    about = body["data"]["about"]
    assert about["neo4jVersion"].startswith("5.")
    assert {"label": "Host", "count": 2} in about["nodeCounts"]


def test_graphiql_is_served_to_browsers(db: Database) -> None:
    with local_client(create_app(db)) as client:
        page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


def test_abusive_queries_are_refused(db: Database) -> None:
    deep = "{ about { version } " + "".join(f"a{i}: about {{ version }} " for i in range(40)) + "}"
    huge = "{ about { " + "version " * 2500 + "} }"
    with local_client(create_app(db)) as client:
        aliases = client.post("/graphql", json={"query": deep}).json()
        tokens = client.post("/graphql", json={"query": huge}).json()
    assert "aliases" in aliases["errors"][0]["message"]
    assert "token" in tokens["errors"][0]["message"].lower()


@strawberry.type
class _Node:
    """A recursive type, so that a query can be as deep as one likes."""

    @strawberry.field
    def child(self) -> _Node:
        return _Node()

    @strawberry.field
    def name(self) -> str:
        return "n"


@strawberry.type
class _Root:
    @strawberry.field
    def node(self) -> _Node:
        return _Node()


def test_the_depth_limit_refuses_deeper_queries() -> None:
    limited = strawberry.Schema(query=_Root, extensions=LIMITS)

    def nested(levels: int) -> str:
        return "{ node { " + "child { " * levels + "name" + " }" * levels + " } }"

    assert limited.execute_sync(nested(MAX_DEPTH - 2)).errors is None
    refused = limited.execute_sync(nested(MAX_DEPTH + 1)).errors
    assert refused is not None and "exceeds maximum operation depth" in refused[0].message
