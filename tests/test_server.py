"""Every interface through the real `storyline serve`, driven as its clients drive it.

The server is a subprocess (real uvicorn, real sockets) on the test Neo4j; the
clients are an HTTP client, a WebSocket client speaking both GraphQL subscription
protocols, and the `storyline` CLI as a subprocess. In-process test clients
cannot show that uvicorn upgrades a WebSocket: only this can.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from app.investigation.stories import story_id
from app.neo4j.database import Database, Target
from tests import deadlock
from tests.api.test_timeline import log4shell
from tests.deadlock import HOSTS, on, retries_in
from tests.server import Server, serve, storyline_command, target_env
from tests.test_layers import jvm_exploit

SUBSCRIBE = "subscription { storyUpdates { id severity status signalCount } }"


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Tokens made with the CLI, as an operator would: name -> token, plus the file."""
    folder = tmp_path_factory.mktemp("tokens")
    path = folder / "api-tokens"
    env = {**os.environ, "STORYLINE_API_TOKENS_FILE": str(path)}
    made: dict[str, Any] = {"file": path}
    for name, scopes in (("reader", ["read"]), ("sensor", ["ingest"]), ("lead", ["triage"])):
        flags = [f"--scope={s}" for s in scopes]
        out = subprocess.run(
            [*storyline_command(), "tokens", "add", name, *flags],
            env=env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        made[name] = out.stdout.strip()
        assert "shown once" in out.stderr
    return made


@pytest.fixture(scope="module")
def server(
    neo4j_target: Target, tokens: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One `storyline serve` for the module, with API tokens required."""
    env = {
        "STORYLINE_API_TOKENS_FILE": str(tokens["file"]),
        "STORYLINE_SUBSCRIPTION_POLL_MS": "200",
    }
    with serve(neo4j_target, tmp_path_factory.mktemp("serve"), env) as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def graphql(server: Server, token: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = httpx.post(
        server.url + "/graphql",
        json={"query": query, "variables": variables},
        headers=bearer(token),
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


def ndjson_gzip(events: list[dict[str, Any]]) -> bytes:
    return gzip.compress("".join(json.dumps(e) + "\n" for e in events).encode())


def post_events(
    server: Server, token: str, body: bytes, fmt: str = "storyline", wait: str = "committed"
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/api/v1/events?format={fmt}&wait={wait}",
        content=body,
        headers=bearer(token),
        timeout=120,
    )


def test_health_and_readiness_need_no_token(server: Server) -> None:
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "neo4j": "answers"}


def test_graphiql_is_served_and_data_needs_a_token(server: Server, tokens: dict[str, Any]) -> None:
    page = httpx.get(server.url + "/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    query = {"query": "{ about { version neo4jVersion } }"}
    refused = httpx.post(server.url + "/graphql", json=query)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    wrong = httpx.post(server.url + "/graphql", json=query, headers=bearer("not-a-token"))
    assert wrong.status_code == 401
    about = graphql(server, tokens["reader"], query["query"])["about"]
    assert about["version"] and about["neo4jVersion"].startswith("5.26")


def test_gzip_ingest_over_rest_then_stories_over_graphql(
    db: Database, server: Server, tokens: dict[str, Any]
) -> None:
    events, key_of, compromise = jvm_exploit()
    body = ndjson_gzip([*events, compromise])
    assert post_events(server, tokens["reader"], body).status_code == 403  # read cannot ingest
    answer = post_events(server, tokens["sensor"], body, wait="processed")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["accepted"], report["rejected_count"]) == (len(events) + 1, 0)
    sid = story_id(key_of[4000])
    data = graphql(
        server,
        tokens["reader"],
        "query($id: ID!) { story(id: $id) { id severity signals { ruleId } } }",
        id=sid,
    )
    assert data["story"]["id"] == sid
    assert "sensor.shell_from_jvm" in {s["ruleId"] for s in data["story"]["signals"]}


class Protocol:
    """The two GraphQL-over-WebSocket protocols, as a client speaks them."""

    def __init__(self, name: str) -> None:
        self.name = name

    def start(self, ws: ClientConnection, sub_id: str, query: str) -> None:
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert self.receive(ws)["type"] == "connection_ack"
        kind = "subscribe" if self.name == "graphql-transport-ws" else "start"
        ws.send(json.dumps({"id": sub_id, "type": kind, "payload": {"query": query}}))

    def receive(self, ws: ClientConnection, seconds: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while True:
            message = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            if message["type"] not in ("ka", "ping", "pong"):  # keep-alives
                return message

    def data(self, ws: ClientConnection, sub_id: str) -> dict[str, Any]:
        message = self.receive(ws)
        expected = "next" if self.name == "graphql-transport-ws" else "data"
        assert (message["type"], message["id"]) == (expected, sub_id), message
        return message["payload"]["data"]


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
def test_a_subscription_over_a_real_websocket_sees_an_ingested_story(
    db: Database, server: Server, tokens: dict[str, Any], protocol: str
) -> None:
    speaker = Protocol(protocol)
    events, key_of, compromise = jvm_exploit()
    with connect(
        server.ws_url, subprotocols=[protocol], additional_headers=bearer(tokens["reader"])
    ) as ws:
        assert ws.subprotocol == protocol
        speaker.start(ws, "7", SUBSCRIBE)
        time.sleep(0.5)  # the subscription notes the server time before its first poll
        answer = post_events(server, tokens["sensor"], ndjson_gzip([*events, compromise]))
        assert answer.status_code == 200, answer.text
        update = speaker.data(ws, "7")["storyUpdates"]
        assert update["id"] == story_id(key_of[4000])
        assert update["status"] == "OPEN" and update["signalCount"] >= 1


def test_a_websocket_without_a_token_is_refused(server: Server) -> None:
    with (
        pytest.raises(InvalidStatus) as refused,
        connect(server.ws_url, subprotocols=["graphql-transport-ws"]),
    ):
        pass
    assert refused.value.response.status_code == 403


def test_another_sites_page_is_refused_over_http_and_websocket(
    server: Server, tokens: dict[str, Any]
) -> None:
    evil = {"Origin": "http://evil.example", **bearer(tokens["sensor"])}
    body = ndjson_gzip(jvm_exploit()[0])
    refused = httpx.post(f"{server.url}/api/v1/events", content=body, headers=evil)
    assert refused.status_code == 403
    with (
        pytest.raises(InvalidStatus) as closed,
        connect(server.ws_url, subprotocols=["graphql-transport-ws"],
                additional_headers={"Origin": "http://evil.example", **bearer(tokens["reader"])}),
    ):  # fmt: skip
        pass
    assert closed.value.response.status_code == 403


def test_a_websocket_may_carry_its_token_in_the_url(server: Server, tokens: dict[str, Any]) -> None:
    url = f"{server.ws_url}?access_token={tokens['reader']}"
    with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        speaker = Protocol("graphql-transport-ws")
        speaker.start(ws, "1", "subscription { storyUpdates { id } }")
        ws.send(json.dumps({"id": "1", "type": "complete"}))
    # the access log shows the request, never the token
    deadline = time.monotonic() + 10
    while "access_token=[redacted]" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "access_token=[redacted]" in server.output()
    assert tokens["reader"] not in server.output()


def test_the_servers_worker_processes_what_was_only_committed(
    db: Database, server: Server, tokens: dict[str, Any]
) -> None:
    events, key_of, compromise = jvm_exploit()
    answer = post_events(server, tokens["sensor"], ndjson_gzip([*events, compromise]))
    assert answer.status_code == 200, answer.text
    query = (
        "query($id: ID!) { story(id: $id) { id } about { pipelineLag pipelineQueues { detect } } }"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        data = graphql(server, tokens["reader"], query, id=story_id(key_of[4000]))
        if data["story"] is not None:
            break
        time.sleep(0.2)
    assert data["story"] == {"id": story_id(key_of[4000])}
    about = graphql(server, tokens["reader"], "{ about { pipelineLag pipelineQueues { detect } } }")
    assert about["about"] == {"pipelineLag": 0.0, "pipelineQueues": {"detect": 0}}
    metrics = httpx.get(server.url + "/metrics", headers=bearer(tokens["reader"]))
    assert metrics.status_code == 200
    assert 'storyline_ingested_records_total{format="storyline"}' in metrics.text
    assert 'storyline_pipeline_queued{step="detect"} 0.0' in metrics.text
    assert "storyline_pipeline_lag_seconds_count" in metrics.text
    assert httpx.get(server.url + "/metrics").status_code == 401


def test_the_cli_ingests_and_waits_for_the_stage_while_the_server_runs(
    db: Database, neo4j_target: Target, server: Server, tokens: dict[str, Any], tmp_path: Path
) -> None:
    events, key_of, compromise = jvm_exploit()
    path = tmp_path / "events.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in [*events, compromise]))
    done = subprocess.run(
        [*storyline_command(), "ingest", "--json", "--quiet", str(path)],
        env={**os.environ, **target_env(neo4j_target)},
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    report = json.loads(done.stdout)[str(path)]
    assert report["accepted"] == len(events) + 1
    assert report["pipeline"]["lag_ms_p95"] >= report["pipeline"]["lag_ms_p50"] >= 0
    # the command returned once processed: the story is there without waiting
    data = graphql(server, tokens["reader"], "query($id: ID!) { story(id: $id) { id } }",
                   id=story_id(key_of[4000]))  # fmt: skip
    assert data["story"] == {"id": story_id(key_of[4000])}


def test_the_cli_reads_what_the_server_wrote(
    db: Database, server: Server, tokens: dict[str, Any], neo4j_target: Target, tmp_path: Path
) -> None:
    events, key_of, compromise = jvm_exploit()
    body = ndjson_gzip([*events, compromise])
    assert post_events(server, tokens["sensor"], body, wait="processed").is_success
    listed = subprocess.run(
        [*storyline_command(), "stories", "--json"],
        env={**os.environ, **target_env(neo4j_target)},
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert story_id(key_of[4000]) in {s["id"] for s in json.loads(listed.stdout)}


def test_search_and_pivot_over_http_and_the_cli(
    db: Database, server: Server, tokens: dict[str, Any], neo4j_target: Target
) -> None:
    events, key_of, compromise = jvm_exploit()
    body = ndjson_gzip([*events, compromise])
    assert post_events(server, tokens["sensor"], body, wait="processed").is_success
    db.query("CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()")
    sid = story_id(key_of[4000])
    answer = httpx.post(
        server.url + "/graphql",
        json={"query": '{ search(query: "198.51.100.9") { edges { node { kind key '
              "stories { nodes { id } } } } } }"},
        headers={**bearer(tokens["reader"]), "Storyline-Cypher": "1"},
        timeout=60,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    found = answer.json()
    hits = {(e["node"]["kind"], e["node"]["key"]): e["node"]["stories"]["nodes"]
            for e in found["data"]["search"]["edges"]}  # fmt: skip
    assert hits[("IP", "198.51.100.9")] == [{"id": sid}]
    files = [c["file"] for c in found["extensions"]["cypher"]]
    assert files[0] == "cypher/search/nodes.cypher" and "cypher/search/stories_of.cypher" in files
    env = {**os.environ, **target_env(neo4j_target)}
    searched = subprocess.run(
        [*storyline_command(), "search", "--json", "198.51.100.9"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    ip = next(h for h in json.loads(searched.stdout) if h["kind"] == "ip")
    assert (ip["key"], ip["story_count"], ip["stories"][0]["id"]) == ("198.51.100.9", 1, sid)
    listed = subprocess.run(
        [*storyline_command(), "stories", "--json", "--ip", "198.51.100.9", "--host", "node-3"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    assert [s["id"] for s in json.loads(listed.stdout)] == [sid]
    refused = subprocess.run(
        [*storyline_command(), "stories", "--from", "not a time"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode != 0 and "from is not an RFC 3339 time" in refused.stderr


def test_an_exploit_story_shows_how_the_jvm_was_reached_over_http_and_the_cli(
    db: Database, server: Server, tokens: dict[str, Any], neo4j_target: Target
) -> None:
    events, sid, ids = log4shell()
    answer = post_events(server, tokens["sensor"], ndjson_gzip(events), wait="processed")
    assert answer.status_code == 200, answer.text
    data = graphql(
        server,
        tokens["reader"],
        "query($id: ID!) { story(id: $id) { timeline(first: 12) { edges { node {"
        " type kind event { id kind } signals { ruleId } } } } } }",
        id=sid,
    )
    nodes = [e["node"] for e in data["story"]["timeline"]["edges"]]
    assert [(n["type"], n["event"]["id"]) for n in nodes[5:10]] == [
        ("ACCESS", "lb118"), ("ACCESS", "exploit"), ("ACCESS", "ldap"), ("ACCESS", "fetch"),
        ("EVENT", ids["sh"]),
    ]  # fmt: skip
    assert nodes[6]["signals"] == [] and nodes[6]["event"]["kind"] == "network_accept"
    env = {**os.environ, **target_env(neo4j_target)}
    printed = subprocess.run(
        [*storyline_command(), "story", sid[:8], "--events", "12"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    lines = [line.split(None, 1)[1] for line in printed.stdout.splitlines()
             if line.startswith("  2026-01-05T08:01:59")]  # fmt: skip
    assert lines[-3:] == [
        "access           pid 400: java accept 198.51.100.9:51512",
        "access           pid 400: java connect 198.51.100.9:1389",
        "access           pid 400: java connect 198.51.100.9:8000",
    ]


def test_revoking_every_token_with_the_cli_closes_a_running_server(
    neo4j_target: Target, tmp_path: Path
) -> None:
    path = tmp_path / "api-tokens"
    env = {**os.environ, "STORYLINE_API_TOKENS_FILE": str(path)}

    def cli(*args: str) -> str:
        done = subprocess.run([*storyline_command(), "tokens", *args], env=env,
                              capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
        return done.stdout.strip()

    token = cli("add", "only", "--scope", "admin")
    with serve(neo4j_target, tmp_path, {"STORYLINE_API_TOKENS_FILE": str(path)}) as running:
        letters = running.url + "/api/v1/dead-letters"
        assert httpx.get(letters).status_code == 401
        assert httpx.get(letters, headers=bearer(token)).status_code == 200
        cli("revoke", "only")
        assert httpx.get(letters).status_code == 401
        assert httpx.get(letters, headers=bearer(token)).status_code == 401


def test_sigterm_stops_the_server_cleanly(neo4j_target: Target, tmp_path: Path) -> None:
    with serve(neo4j_target, tmp_path) as running:
        running.process.terminate()
        running.process.wait(timeout=30)
    assert running.process.returncode == 0, running.output()
    output = running.output()
    assert "applied" in output and "Finished server process" in output
    assert "No supported WebSocket library" not in output


def _retried(server: Server, token: str) -> float:
    """Deadlocks the server retried so far, as its /metrics says."""
    return retries_in(httpx.get(server.url + "/metrics", headers=bearer(token)).text)


def test_a_write_that_loses_a_deadlock_is_retried_by_the_server_and_counted_in_metrics(
    db: Database, server: Server, tokens: dict[str, Any]
) -> None:
    """Forced against the real server (tests/deadlock.py): Neo4j aborts the server's
    write, which writes the batch again once the test's transaction is gone, answers
    200, and /metrics counts one retry."""
    first = post_events(server, tokens["sensor"], ndjson_gzip([on(HOSTS[0], 1), on(HOSTS[1], 2)]),
                        wait="processed")  # fmt: skip
    assert first.status_code == 200, first.text
    before = _retried(server, tokens["reader"])
    body = ndjson_gzip([on(HOSTS[0], 3), on(HOSTS[1], 4)])
    answer = deadlock.against(db, lambda: post_events(server, tokens["sensor"], body))
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 2
    assert _retried(server, tokens["reader"]) == before + 1
    stored = db.query("MATCH (e:Event) WHERE e.id STARTS WITH 'dl-ev-' RETURN count(e) AS n")
    assert stored[1] == [{"n": 4}]
