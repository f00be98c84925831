"""The GraphQL cost limit refuses documents that would do too much, before they run."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse
from starlette.testclient import TestClient

from app.api.app import create_app
from app.api.cost import MAX_COST, document_cost
from app.neo4j.database import Database
from tests.apiclient import local_client

GRAPHS = "query($n: Int!) { stories(first: $n) { edges { node { id graph { truncated } } } } }"


@pytest.fixture
def client(db: Database) -> TestClient:
    with local_client(create_app(db)) as c:
        yield c


def post(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    return client.post("/graphql", json={"query": query, "variables": variables}).json()


def test_a_page_of_graphs_is_refused_and_a_small_one_runs(client: TestClient) -> None:
    refused = post(client, GRAPHS, n=200)
    assert refused["data"] is None
    assert refused["errors"][0]["message"].startswith("query cost 201001 passes the limit")
    assert post(client, GRAPHS, n=20) == {"data": {"stories": {"edges": []}}}


def test_cost_counts_pages_fragments_and_aliases() -> None:
    one = document_cost(parse("{ stories(first: 10) { edges { node { id } } } }"), None)
    assert one == 1 + 10 * (1 + 1 * (1 + 1))
    doubled = document_cost(
        parse("{ a: stories(first: 10) { edges { node { id } } } "
              "b: stories(first: 10) { edges { node { id } } } }"), None)  # fmt: skip
    assert doubled == 2 * one
    fragment = document_cost(
        parse(
            "query { stories(first: 10) { edges { node { ...S } } } } fragment S on Story { id }"
        ),
        None,
    )
    assert fragment == one
    default = document_cost(parse("query($n: Int = 10) { stories(first: $n) { totalCount } }"), {})
    assert default == 1 + 10 * 1
    unknown = document_cost(parse("query($n: Int) { stories(first: $n) { totalCount } }"), {})
    assert unknown == 1 + 200  # no value: the largest page


def test_the_limit_sits_between_real_queries_and_abuse() -> None:
    def cost(query: str) -> int:
        return document_cost(parse(query), None)

    assert cost("{ stories(first: 20) { edges { node { id graph { truncated } } } } }") < MAX_COST
    story = (
        '{ story(id: "s") { timeline(first: 200) { edges { node { ts signals { ruleId } } } } } }'
    )
    assert cost(story) < MAX_COST
    deep = (
        '{ process(key: "p") { descendants(depth: 20) { nodes { process {'
        " descendants { nodes { depth } } } } } } }"
    )
    assert cost(deep) > MAX_COST
