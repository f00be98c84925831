"""Faults: Neo4j killed under load and restarted; Neo4j down. Through the real server.

A Neo4j of its own (the suite's is not killed), `storyline serve` as a
subprocess, clients that resend what was not acknowledged, as a sensor's
forwarder does.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx2 as httpx
import pytest

from app.neo4j.database import Database, Target
from app.neo4j.launcher import LocalNeo4j
from tests.conftest import free_ports, local_settings_for
from tests.server import Server, serve

CLIENTS = 3
BODIES = 12  # per client
EVENTS = 150  # per body


@pytest.fixture(scope="module")
def own_neo4j(
    neo4j_backend: tuple[str, Target, LocalNeo4j | None], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalNeo4j]:
    if neo4j_backend[2] is None:
        pytest.skip("killing Neo4j needs the local launcher (NEO4J_URI or Docker is in use)")
    bolt, http = free_ports(2)
    local = LocalNeo4j(local_settings_for(tmp_path_factory.mktemp("faults"), bolt, http))
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def server(own_neo4j: LocalNeo4j, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    target = Target(own_neo4j.bolt_uri, own_neo4j.user, own_neo4j.password())
    with serve(target, tmp_path_factory.mktemp("serve"), {"STORYLINE_PIPELINE_WORKER": "off"}) as s:
        yield s


def body(client: int, number: int) -> str:
    lines = []
    for i in range(EVENTS):
        n = (client * BODIES + number) * EVENTS + i
        lines.append(json.dumps({
            "id": f"f-{n}", "ts": 1_767_600_000 + n, "source": "faults", "kind": "process_exec",
            "host": {"id": f"node-{client}"},
            "process": {"pid": 10_000 + n, "start_time": 1_767_600_000 + n, "exe": "/bin/true"},
        }))  # fmt: skip
    return "\n".join(lines) + "\n"


def test_every_acknowledged_event_survives_a_killed_neo4j_exactly_once(
    server: Server, own_neo4j: LocalNeo4j
) -> None:
    acknowledged: set[str] = set()
    refusals: list[int] = []
    lock = threading.Lock()
    sent = threading.Event()

    def client(number: int) -> None:
        with httpx.Client(timeout=120) as http:
            for b in range(BODIES):
                text = body(number, b)
                while True:  # resend until acknowledged, as a forwarder does
                    try:
                        answer = http.post(f"{server.url}/api/v1/events", content=text)
                    except httpx.TransportError:
                        answer = None
                    if answer is not None and answer.status_code == 200:
                        assert answer.json()["accepted"] == EVENTS
                        with lock:
                            acknowledged.update(json.loads(x)["id"] for x in text.splitlines())
                            if len(acknowledged) >= EVENTS * 4:
                                sent.set()
                        break
                    with lock:
                        refusals.append(answer.status_code if answer is not None else 0)
                    time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    assert sent.wait(300), "the clients did not get going"
    pid = own_neo4j.status().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # mid-ingest, no shutdown
    time.sleep(2)
    own_neo4j.start()
    for t in threads:
        t.join(600)
    assert not any(t.is_alive() for t in threads)
    assert refusals and set(refusals) <= {503, 0}, refusals  # refused while down, never 500
    target = Target(own_neo4j.bolt_uri, own_neo4j.user, own_neo4j.password())
    with Database(target) as db:
        _, rows = db.query("MATCH (e:Event) WHERE e.source = 'faults' "
                           "RETURN count(e) AS n, count(DISTINCT e.id) AS ids")  # fmt: skip
        _, found = db.query("MATCH (e:Event) WHERE e.source = 'faults' RETURN e.id AS id")
    assert len(acknowledged) == CLIENTS * BODIES * EVENTS
    assert rows == [{"n": len(acknowledged), "ids": len(acknowledged)}]  # each exactly once
    assert {r["id"] for r in found} == acknowledged


def test_with_neo4j_down_readiness_and_ingest_answer_503_at_once(
    server: Server, own_neo4j: LocalNeo4j
) -> None:
    own_neo4j.stop()
    try:
        # a client timeout of 5 s: the answer must come, not hang on the driver's retries
        ready = httpx.get(f"{server.url}/readyz", timeout=5)
        assert ready.status_code == 503 and ready.headers["retry-after"]
        ingest = httpx.post(f"{server.url}/api/v1/events", content=body(9, 0), timeout=5)
        assert ingest.status_code == 503 and ingest.headers["retry-after"]
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
    finally:
        own_neo4j.start()
    assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200
