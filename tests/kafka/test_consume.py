"""`storyline consume` on a real Kafka broker: at least once, each event stored once, nothing lost.

Every test here reads from the local broker (tests/kafka/conftest.py) into the
suite's real Neo4j; the ones that matter most run the consumer the way a user
does, as the `storyline consume` subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.generate import lines
from app.ingest import ingest
from app.kafka.consumer import Consumer
from app.kafka.local import LocalKafka
from app.neo4j.database import Database
from app.pipeline import Pipeline
from app.settings import KafkaSettings
from tests.graphstate import diff, snapshot
from tests.kafka.conftest import produce, produce_lines
from tests.server import storyline_command


def settings_for(kafka: LocalKafka) -> KafkaSettings:
    return KafkaSettings(bootstrap=kafka.bootstrap)


def committed(kafka: LocalKafka, group: str, topic: str, partitions: int) -> list[int]:
    """Returns the group's committed offset of each partition (0: none)."""
    from confluent_kafka import Consumer as KafkaConsumer
    from confluent_kafka import TopicPartition

    reader = KafkaConsumer({"bootstrap.servers": kafka.bootstrap, "group.id": group})
    try:
        found = reader.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=30)
        return [max(tp.offset, 0) for tp in found]  # 0 where none was committed (-1001)
    finally:
        reader.close()


def event_counts(db: Database) -> tuple[int, int]:
    _, found = db.query("MATCH (e:Event) RETURN count(e) AS n, count(DISTINCT e.id) AS ids")
    return found[0]["n"], found[0]["ids"]


def workload(tmp_path: Path, seed: int, events: int) -> Path:
    path = tmp_path / f"gen-{seed}-{events}.ndjson"
    path.write_text("".join(line + "\n" for line in lines(seed, events)))
    return path


def consume_command(topic: str, group: str, batch: int, *extra: str) -> list[str]:
    """The `storyline consume` command line of a test: one topic in the native format."""
    return [*storyline_command(), "consume", "--topic", topic, "--format", "storyline",
            "--group", group, "--batch-size", str(batch), *extra]  # fmt: skip


def consume_env(kafka: LocalKafka, neo4j_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **neo4j_env, "STORYLINE_KAFKA_BOOTSTRAP": kafka.bootstrap}


def wait_until(
    condition: Callable[[], bool], running: list[subprocess.Popen[Any]], deadline: float,
    what: str, poll: float = 0.1, log: Path | None = None,
) -> None:  # fmt: skip
    """Polls `condition` until it holds; fails when a consumer in `running` exits first
    (with the tail of its `log`) or at `deadline` (a time.monotonic() value)."""
    while not condition():
        exited = [p for p in running if p.poll() is not None]
        assert not exited, f"a consumer exited before {what}: " + (
            log.read_text()[-3000:] if log else ""
        )
        assert time.monotonic() < deadline, f"no {what} by the deadline"
        time.sleep(poll)


def single_writer_graph(db: Database, path: Path) -> Any:
    """Empties the graph, ingests the file with one writer, and returns the snapshot."""
    with db.session(write=True) as s:
        s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    with path.open() as text:
        ingest(db, "storyline", text)
    return snapshot(db)


def test_a_poison_record_becomes_a_dead_letter_with_its_offset_and_the_rest_is_stored(
    db: Database, kafka: LocalKafka, topic: Callable[[int], str]
) -> None:
    name = topic(1)
    good = list(lines(11, 8))
    values: list[bytes | None] = [
        good[0].encode(), good[1].encode(), good[2].encode(),
        b"{not json at all",                                   # offset 3
        json.dumps({"kind": "process_exec"}).encode(),         # offset 4: no id, host, time
        None,                                                  # offset 5: a tombstone
        (good[3] + "\n" + good[4]).encode(),                   # offset 6: two records
        "\n".join([good[5], "\u0000\ufffe junk", good[6]]).encode(),  # offset 7: line 2 bad
        good[7].encode(),                                      # offset 8
    ]  # fmt: skip
    produce(kafka.bootstrap, name, values, partition=0)
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(db, {name: "storyline"}, settings_for(kafka), group=group,
                        batch_size=4, after_batch=Pipeline.default())  # fmt: skip
    report = consumer.run(idle_exit=3)

    assert event_counts(db) == (8, 8)
    assert report.messages == 9 and report.skipped == 1 and report.accepted == 8
    letters = {(r["offset"], r["line"]) for r in report.rejected}
    assert letters == {(3, 1), (4, 1), (7, 2)}
    _, stored = db.query(
        "MATCH (d:DeadLetter) RETURN d.origin AS origin, d.topic AS topic, "
        "d.partition AS partition, d.offset AS offset, d.position AS line, d.reason AS reason"
    )
    assert {(d["origin"], d["topic"], d["partition"], d["offset"], d["line"]) for d in stored} == {
        ("kafka", name, 0, 3, 1), ("kafka", name, 0, 4, 1), ("kafka", name, 0, 7, 2)
    }  # fmt: skip
    assert all(d["reason"] for d in stored)
    # everything read is committed, the poison included: a restart does not stall on it
    assert committed(kafka, group, name, 1) == [9]


def test_a_consumer_killed_mid_batch_resumes_and_every_event_is_in_the_graph_once(
    db: Database, kafka: LocalKafka, topic: Callable[[int], str], neo4j_env: dict[str, str],
    tmp_path: Path,
) -> None:  # fmt: skip
    path = workload(tmp_path, 21, 6000)
    name = topic(3)
    produced = produce_lines(kafka.bootstrap, name, path, 3)
    group = f"g-{uuid.uuid4().hex[:8]}"
    command = consume_command(name, group, 150, "--quiet")
    env = consume_env(kafka, neo4j_env)
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        # a few batches in: then kill it mid-flight
        wait_until(lambda: event_counts(db)[0] >= 900, [first], time.monotonic() + 120,
                   "900 events stored", poll=0.05, log=tmp_path / "first.log")  # fmt: skip
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
        log.close()
    stored_at_kill = event_counts(db)[0]
    done_at_kill = sum(committed(kafka, group, name, 3))
    assert stored_at_kill < produced, "killed too late: nothing left to resume"
    assert done_at_kill < produced

    second = subprocess.run(
        [*command, "--idle-exit", "4", "--json"], env=env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr[-3000:]
    report = json.loads(second.stdout)
    assert report["stage_drained"] is True
    # the second run read at least what the first had not committed, perhaps some of it again
    assert report["messages"] >= produced - done_at_kill
    assert event_counts(db) == (produced, produced)
    assert committed(kafka, group, name, 3) == [2000, 2000, 2000]  # every partition, whole

    consumed = snapshot(db)
    expected = single_writer_graph(db, path)
    assert consumed == expected, diff(expected, consumed)


def test_ctrl_c_stops_a_consumer_after_it_wrote_and_committed_what_it_read(
    db: Database, kafka: LocalKafka, topic: Callable[[int], str], neo4j_env: dict[str, str],
    tmp_path: Path,
) -> None:  # fmt: skip
    path = workload(tmp_path, 27, 6000)
    name = topic(2)
    produced = produce_lines(kafka.bootstrap, name, path, 2)
    group = f"g-{uuid.uuid4().hex[:8]}"
    command = consume_command(name, group, 150, "--json", "--quiet")
    # its own process group, as a terminal's: Ctrl-C reaches the consumer and its shaper
    consumer = subprocess.Popen(command, env=consume_env(kafka, neo4j_env), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)  # fmt: skip
    wait_until(lambda: event_counts(db)[0] >= 600, [consumer], time.monotonic() + 120,
               "600 events stored", poll=0.05)  # fmt: skip
    os.killpg(consumer.pid, signal.SIGINT)
    out, err = consumer.communicate(timeout=120)
    assert consumer.returncode == 0, err[-3000:]
    report = json.loads(out)
    done = committed(kafka, group, name, 2)
    assert sum(done) < produced, "stopped too late to tell"
    # everything read was written and committed: nothing in between
    assert report["accepted"] == report["messages"] == sum(done)
    # the messages before each committed offset are in the graph (line i went to
    # partition i % 2, at offset i // 2)
    ids = [json.loads(line)["id"] for line in path.read_text().splitlines()]
    expected = {ids[i] for i in range(produced) if i // 2 < done[i % 2]}
    _, found = db.query("MATCH (e:Event) WHERE e.id IN $ids RETURN e.id AS id",
                        {"ids": sorted(expected)})  # fmt: skip
    assert {row["id"] for row in found} == expected


def test_a_second_consumer_joining_midway_takes_partitions_and_the_graph_is_one_writers(
    db: Database, kafka: LocalKafka, topic: Callable[[int], str], neo4j_env: dict[str, str],
    tmp_path: Path,
) -> None:  # fmt: skip
    from confluent_kafka.admin import AdminClient

    path = workload(tmp_path, 33, 6000)
    values = [line.rstrip(b"\n") for line in path.read_bytes().splitlines()]
    half = len(values) // 2
    name = topic(4)
    group = f"g-{uuid.uuid4().hex[:8]}"
    command = consume_command(name, group, 200, "--idle-exit", "8", "--json", "--quiet")
    env = consume_env(kafka, neo4j_env)
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})

    def member() -> subprocess.Popen[str]:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip

    def members_with_partitions() -> int:
        found = admin.describe_consumer_groups([group])[group].result(timeout=30)
        return sum(1 for m in found.members if m.assignment.topic_partitions)

    # the first member takes the four partitions and writes the first half...
    produce(kafka.bootstrap, name, values[:half], partitions=4)
    members = [member()]
    deadline = time.monotonic() + 120
    wait_until(lambda: event_counts(db)[0] >= half, members, deadline, "the first half stored")
    # ...a second joins: the group rebalances, the first hands over what it finished...
    members.append(member())
    wait_until(lambda: members_with_partitions() >= 2, members, deadline,
               "partitions for both members", poll=0.2)  # fmt: skip
    # ...and the second half, over the four partitions, is split between them
    produce(kafka.bootstrap, name, values[half:], partitions=4)
    outputs = [m.communicate(timeout=600) for m in members]
    for member_process, (_, err) in zip(members, outputs, strict=True):
        assert member_process.returncode == 0, err[-3000:]
    first, second = (json.loads(out) for out, _ in outputs)
    assert first["messages"] >= half and second["messages"] > 0, (first, second)
    assert set(first["read_from"]) == {f"{name}/{p}" for p in range(4)}
    assert 0 < len(second["read_from"]) < 4
    assert first["messages"] + second["messages"] >= len(values)
    assert committed(kafka, group, name, 4) == [len(values) // 4] * 4
    assert event_counts(db) == (len(values), len(values))

    together = snapshot(db)
    expected = single_writer_graph(db, path)
    assert together == expected, diff(expected, together)


def test_consumption_pauses_while_the_stage_is_behind_and_resumes_when_it_catches_up(
    db: Database, kafka: LocalKafka, topic: Callable[[int], str]
) -> None:
    name = topic(1)
    produce(kafka.bootstrap, name, [line.encode() for line in lines(41, 1200)], partition=0)
    group = f"g-{uuid.uuid4().hex[:8]}"
    # no stage runs here: the queue only grows until a drain in another thread
    consumer = Consumer(db, {name: "storyline"}, settings_for(kafka), group=group,
                        batch_size=200, after_batch=None, max_queued=400)  # fmt: skip
    stop = threading.Event()
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(r=consumer.run(stop)))
    thread.start()
    try:
        wait_until(lambda: consumer.report.pauses > 0, [], time.monotonic() + 60, "pause")
        stalled = event_counts(db)[0]
        time.sleep(2)
        assert event_counts(db)[0] == stalled  # paused: nothing more read or written
        assert stalled < 1200
        Pipeline.default().drain(db)  # the stage catches up...
        deadline = time.monotonic() + 60
        while event_counts(db)[0] < 1200:  # ...and consumption goes on, pausing again
            assert time.monotonic() < deadline, "never resumed"
            if consumer.paused:
                Pipeline.default().drain(db)
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(60)
    assert result["r"].messages == 1200
    assert result["r"].pauses >= 2  # 1,200 events through a stage that holds 400 at most
    assert event_counts(db) == (1200, 1200)


def test_storyline_consume_runs_the_stage_itself_while_paused(
    db: Database, kafka: LocalKafka, topic: Callable[[int], str], neo4j_env: dict[str, str],
    tmp_path: Path,
) -> None:  # fmt: skip
    path = workload(tmp_path, 29, 3000)
    name = topic(1)
    produced = produce_lines(kafka.bootstrap, name, path, 1)
    env = {**consume_env(kafka, neo4j_env), "STORYLINE_KAFKA_MAX_QUEUED": "500"}
    found = subprocess.run(
        consume_command(name, f"g-{uuid.uuid4().hex[:8]}", 250, "--idle-exit", "3", "--json"),
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr[-3000:]
    report = json.loads(found.stdout)
    # no `storyline serve` runs the stage: the consumer did, each time it paused
    assert report["pauses"] >= 2 and report["accepted"] == produced
    assert event_counts(db) == (produced, produced)
    _, waiting = db.query("MATCH (b:Batch) RETURN count(b) AS n")
    assert waiting == [{"n": 0}]
    consumed = snapshot(db)
    expected = single_writer_graph(db, path)
    assert consumed == expected, diff(expected, consumed)


def test_a_client_configuration_file_reaches_the_broker_and_cannot_undo_at_least_once(
    db: Database, kafka: LocalKafka, topic: Callable[[int], str], tmp_path: Path
) -> None:
    from app.errors import ConfigError
    from app.kafka.consumer import client_config

    config = tmp_path / "kafka.properties"
    config.write_text("# the brokers' security\nsecurity.protocol = PLAINTEXT\n"
                      "client.id=storyline-test-client\n\nfetch.wait.max.ms=50\n")  # fmt: skip
    assert client_config(config) == {"security.protocol": "PLAINTEXT",
                                     "client.id": "storyline-test-client",
                                     "fetch.wait.max.ms": "50"}  # fmt: skip
    name = topic(1)
    produce(kafka.bootstrap, name, [line.encode() for line in lines(31, 20)], partition=0)
    settings = KafkaSettings(bootstrap=kafka.bootstrap, client_config=config)
    report = Consumer(db, {name: "storyline"}, settings, group=f"g-{uuid.uuid4().hex[:8]}",
                      after_batch=Pipeline.default()).run(idle_exit=2)  # fmt: skip
    assert report.accepted == 20
    for line in ("enable.auto.commit=true", "group.id=other", "bootstrap.servers=x:1", "junk"):
        config.write_text(line + "\n")
        with pytest.raises(ConfigError, match=r"kafka.properties:1: "):
            client_config(config)
    with pytest.raises(ConfigError, match="cannot read"):
        client_config(tmp_path / "missing.properties")


def test_storyline_kafka_status_reports_the_running_broker(kafka: LocalKafka) -> None:
    env = {**os.environ, "STORYLINE_HOME": str(kafka.local.data_dir),
           "STORYLINE_KAFKA_PORT": str(kafka.settings.port)}  # fmt: skip
    found = subprocess.run([*storyline_command(), "kafka", "status"], env=env,
                           capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert found.returncode == 0, found.stdout + found.stderr
    assert f"Kafka {kafka.version}: running" in found.stdout
    assert kafka.bootstrap in found.stdout


@pytest.mark.parametrize("argument", ["--topic=x", "--topic=x=nosuchformat"])
def test_consume_refuses_a_topic_without_a_known_format(argument: str) -> None:
    found = subprocess.run([*storyline_command(), "consume", argument], capture_output=True,
                           text=True, timeout=60, check=False)  # fmt: skip
    assert found.returncode != 0
    assert "format" in found.stderr


def test_storyline_serve_consumes_the_configured_topics_and_reports_it(
    db: Database, kafka: LocalKafka, topic: Callable[[int], str], neo4j_target: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    import httpx2 as httpx

    from tests.server import serve

    path = workload(tmp_path, 45, 3000)
    name = topic(2)
    produced = produce_lines(kafka.bootstrap, name, path, 2)
    env = {"STORYLINE_KAFKA_BOOTSTRAP": kafka.bootstrap,
           "STORYLINE_KAFKA_TOPICS": f"{name}=storyline",
           "STORYLINE_KAFKA_GROUP": f"g-{uuid.uuid4().hex[:8]}"}  # fmt: skip
    with serve(neo4j_target, tmp_path, env) as server:
        query = "{ about { pipelineQueues { detect } } }"
        deadline = time.monotonic() + 240
        while True:
            answer = httpx.post(server.url + "/graphql", json={"query": query}, timeout=30).json()
            waiting = answer["data"]["about"]["pipelineQueues"]["detect"]
            if event_counts(db)[0] == produced and waiting == 0:
                break
            assert time.monotonic() < deadline, server.output()[-3000:]
            time.sleep(0.5)
        metrics = httpx.get(server.url + "/metrics", timeout=30).text
    assert f'storyline_kafka_consumed_total{{topic="{name}"}} {float(produced)}' in metrics
    assert "storyline_kafka_lag{" in metrics
    assert event_counts(db) == (produced, produced)
    consumed = snapshot(db)
    expected = single_writer_graph(db, path)
    assert consumed == expected, diff(expected, consumed)
