"""Prometheus metrics of the service, served at /metrics.

The counters and histograms are the process's own (what this replica did);
the queue gauges are read from the database when /metrics is scraped, so every
replica reports the same backlog.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from app.pipeline import Cycle

REGISTRY = CollectorRegistry()

INGESTED = Counter(
    "storyline_ingested_records_total", "Records accepted and committed, by format.",
    ["format"], registry=REGISTRY,
)  # fmt: skip
REJECTED = Counter(
    "storyline_rejected_records_total", "Records rejected to the dead-letter store, by format.",
    ["format"], registry=REGISTRY,
)  # fmt: skip
CYCLES = Counter(
    "storyline_pipeline_cycles_total", "Background stage cycles that found work.",
    registry=REGISTRY,
)  # fmt: skip
CYCLE_ERRORS = Counter(
    "storyline_pipeline_errors_total", "Background stage cycles that failed (and were retried).",
    registry=REGISTRY,
)  # fmt: skip
DETECTED = Counter(
    "storyline_pipeline_detected_events_total", "Events matched by the detection rules.",
    registry=REGISTRY,
)  # fmt: skip
SIGNALS = Counter(
    "storyline_pipeline_signals_total", "Signals written by detection.", registry=REGISTRY
)
LAG = Histogram(
    "storyline_pipeline_lag_seconds", "Time from an event's commit to its detection.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300), registry=REGISTRY,
)  # fmt: skip
CYCLE_SECONDS = Histogram(
    "storyline_pipeline_cycle_seconds", "Duration of a background stage cycle with work.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30), registry=REGISTRY,
)  # fmt: skip
TRANSACTION_RETRIES = Counter(
    "storyline_transaction_retries_total",
    "Transactions retried after a transient failure (a deadlock, a lost connection), by its code.",
    ["reason"], registry=REGISTRY,
)  # fmt: skip
QUEUED = Gauge(
    "storyline_pipeline_queued", "Items waiting for a background step, by step.",
    ["step"], registry=REGISTRY,
)  # fmt: skip
OLDEST = Gauge(
    "storyline_pipeline_oldest_queued_seconds",
    "Age of the oldest event waiting for detection (0 when none waits).", registry=REGISTRY,
)  # fmt: skip
PRUNED = Counter(
    "storyline_pruned_total", "Items removed by retention (STORYLINE_RETENTION), by kind.",
    ["kind"], registry=REGISTRY,
)  # fmt: skip

KAFKA_CONSUMED = Counter(
    "storyline_kafka_consumed_total",
    "Kafka messages whose batch committed (then their offsets), by topic.",
    ["topic"], registry=REGISTRY,
)  # fmt: skip
KAFKA_LAG = Gauge(
    "storyline_kafka_lag",
    "Messages behind the end of each assigned partition, after this consumer's last batch.",
    ["topic", "partition"], registry=REGISTRY,
)  # fmt: skip
KAFKA_PAUSED = Gauge(
    "storyline_kafka_paused",
    "1 while consumption is paused because the background stage has too much queued.",
    registry=REGISTRY,
)  # fmt: skip


def observe_cycle(cycle: Cycle) -> None:
    """Records one cycle of the background stage."""
    if cycle.idle:
        return
    CYCLES.inc()
    CYCLE_SECONDS.observe(cycle.seconds)
    DETECTED.inc(cycle.detected)
    SIGNALS.inc(cycle.signals)
    for lag in cycle.lags_ms:
        LAG.observe(lag / 1000)


def exposition(state: dict[str, Any]) -> bytes:
    """Returns the metrics in Prometheus' text format, with the queues from `state`."""
    for step in ("detect", "stamp", "relate", "stories"):
        QUEUED.labels(step).set(state[step])
    OLDEST.set(state["lag_seconds"])
    return generate_latest(REGISTRY)
