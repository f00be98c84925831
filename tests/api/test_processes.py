"""GraphQL process(key): parent, children, ancestors, descendants, events, contexts."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from app.api.app import create_app
from app.layers import LAYERS
from app.neo4j.database import Database
from tests.apiclient import local_client
from tests.rules.test_stories import load
from tests.test_layers import P, ssh_session, uuid


def gql(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    return client.post("/graphql", json={"query": query, "variables": variables}).json()


def data(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    body = gql(client, query, **variables)
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
def client(db: Database) -> TestClient:
    events, _ = ssh_session()
    init = P("node-1", 1, 0, "/sbin/init", ["/sbin/init"], attrs={"cgroup": "/init.scope"})
    cron = init.child(600, 2, "/usr/sbin/cron", ["/usr/sbin/cron", "-f"],
                      cgroup="/system.slice/cron.service")  # fmt: skip
    runs = [cron.child(6000 + i, 60 * (i + 1), "/bin/sh", ["/bin/sh", "-c", "run-parts"],
                       auid=0, session_id=100 + i) for i in range(5)]  # fmt: skip
    load(db, [*events, cron.exec(), *(r.exec() for r in runs)])
    with local_client(create_app(db)) as c:
        yield c


def key(pid: int, start: int, host: str = "node-1") -> str:
    return P(host, pid, start, "").key


PROCESS = """query($key: ID!, $depth: Int!) { process(key: $key) {
  key pid exe args user placeholder correlationKey
  parent { pid exe }
  ancestors { pid }
  children(first: 10) { edges { node { pid } } pageInfo { hasNextPage } }
  descendants(depth: $depth) { truncated nodes { depth process { pid } } }
  events(first: 5) { edges { node { kind ts } } }
  contexts { layer key rootProcessKey reason } } }"""


def test_a_process_with_its_lineage_events_and_contexts(client: TestClient) -> None:
    bash = P("node-1", 1000, 11, "")
    p = data(client, PROCESS, key=bash.key, depth=2)["process"]
    assert (p["pid"], p["exe"], p["args"], p["placeholder"]) == (
        1000,
        "/bin/bash",
        ["-bash"],
        False,
    )
    assert p["parent"] == {"pid": 900, "exe": "/usr/sbin/sshd"}
    assert [a["pid"] for a in p["ancestors"]] == [900, 800, 1]
    assert [e["node"]["pid"] for e in p["children"]["edges"]] == [1010]
    assert not p["children"]["pageInfo"]["hasNextPage"]
    assert [(d["depth"], d["process"]["pid"]) for d in p["descendants"]["nodes"]] == [
        (1, 1010), (2, 1011)
    ]  # fmt: skip
    assert p["descendants"]["truncated"] is False
    assert [e["node"]["kind"] for e in p["events"]["edges"]] == ["process_exec"]
    layers = [c["layer"] for c in p["contexts"]]
    assert layers == sorted(layers, key=LAYERS.index) and layers[0] == "interactive_shell"
    shell = p["contexts"][0]
    assert (shell["key"], shell["rootProcessKey"]) == (uuid(bash, "interactive_shell"), bash.key)
    assert p["correlationKey"] == shell["key"]


def test_all_descendants_and_children_page_by_page(client: TestClient) -> None:
    init = key(1, 0)
    deep = data(client, PROCESS, key=init, depth=20)["process"]["descendants"]["nodes"]
    assert sorted(d["process"]["pid"] for d in deep) == [
        600, 800, 900, 1000, 1010, 1011, 1020, 1021, 1022, 1023, 6000, 6001, 6002, 6003, 6004
    ]  # fmt: skip
    assert max(d["depth"] for d in deep) == 9  # init -> ... -> cat
    cron, seen, after = key(600, 2), [], None
    while True:
        page = data(
            client,
            """query($key: ID!, $after: String) { process(key: $key) {
                 children(first: 2, after: $after) {
                   edges { node { pid } } pageInfo { hasNextPage endCursor } } } }""",
            key=cron,
            after=after,
        )["process"]["children"]
        seen += [e["node"]["pid"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [6000, 6001, 6002, 6003, 6004]


def test_unknown_process_and_bad_arguments(client: TestClient) -> None:
    assert data(client, PROCESS, key="nope", depth=1) == {"process": None}
    body = gql(client, PROCESS, key=key(1000, 11), depth=21)
    assert "depth must be between 1 and 20" in body["errors"][0]["message"]
    body = gql(
        client,
        'query($key: ID!) { process(key: $key) { children(after: "%%%") { edges { cursor } } } }',
        key=key(1000, 11),
    )
    assert body["errors"][0]["message"] == "invalid cursor"
