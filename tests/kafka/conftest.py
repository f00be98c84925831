"""A real Kafka broker for the consumer's tests: the local one `storyline kafka start` runs.

It lives beside the suite's Neo4j (under STORYLINE_TEST_HOME), on ports 19092/19093
unless STORYLINE_TEST_KAFKA_PORT says otherwise (the controller on the next port),
and is stopped after the session unless STORYLINE_TEST_KEEP_NEO4J is set (the same
switch that keeps the test Neo4j running between runs).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from app.kafka.local import LocalKafka
from app.settings import KafkaSettings, LocalNeo4jSettings, Settings
from tests.conftest import TEST_HOME

TEST_KAFKA_PORT = int(os.environ.get("STORYLINE_TEST_KAFKA_PORT", "19092"))


@pytest.fixture(scope="session")
def kafka() -> Iterator[LocalKafka]:
    """Starts (or finds) the test broker; yields its launcher."""
    base = Settings.from_env()
    settings = KafkaSettings(
        bootstrap=f"127.0.0.1:{TEST_KAFKA_PORT}",
        port=TEST_KAFKA_PORT,
        controller_port=TEST_KAFKA_PORT + 1,
        heap="384m",
    )
    local = LocalNeo4jSettings(data_dir=TEST_HOME, cache_dir=base.local.cache_dir,
                               java_home=base.local.java_home,
                               maven_repo=base.local.maven_repo)  # fmt: skip
    broker = LocalKafka(settings, local)
    _, started = broker.start()
    try:
        yield broker
    finally:
        if started and not os.environ.get("STORYLINE_TEST_KEEP_NEO4J"):
            broker.stop()


@pytest.fixture
def topic(kafka: LocalKafka) -> Callable[[int], str]:
    """Creates a fresh topic with the given number of partitions; returns its name."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": kafka.bootstrap})

    def make(partitions: int = 1) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions,
                                                replication_factor=1)])  # fmt: skip
        for future in futures.values():
            future.result(timeout=30)
        return name

    return make


def produce(
    bootstrap: str, topic: str, values: Sequence[bytes | None], partition: int | None = None,
    partitions: int | None = None,
) -> None:  # fmt: skip
    """Produces messages in order, and waits for every ack: all to `partition` when given,
    else round robin over `partitions` (librdkafka's own partitioner sticks to one partition
    for a while, which can leave the others empty)."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    failures: list[str] = []

    def acked(error: object, message: object) -> None:
        if error is not None:
            failures.append(str(error))

    for i, value in enumerate(values):
        chosen = partition if partitions is None else i % partitions
        kwargs = {} if chosen is None else {"partition": chosen}
        producer.produce(topic, value, on_delivery=acked, **kwargs)
        if i % 5000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0, "messages not delivered within 60 s"
    assert not failures, failures[:3]


def produce_lines(bootstrap: str, topic: str, path: Path, partitions: int) -> int:
    """Produces each line of a file as one message, round robin over the partitions."""
    values = [line.rstrip(b"\n") for line in path.read_bytes().splitlines() if line.strip()]
    produce(bootstrap, topic, values, partitions=partitions)
    return len(values)
