"""Beaconing, the multi-event rule: the test on a sample, its bounds, its YAML block, and
through the app (one signal, order independence, retraction, a process with 100k connects)."""

from __future__ import annotations

import json
import random
import textwrap
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ingest import ingest
from app.neo4j.database import Database
from app.pipeline import Pipeline
from app.rules.beaconing import SAMPLE, check_ins, merged, trigger
from app.rules.model import Beaconing
from app.rules.yamlrules import RuleError, load_builtin, parse_rules
from tests.graphstate import diff, rows, snapshot

S = 10**9
BUILTIN = next(r for r in load_builtin() if r.id == "linux.beaconing")
assert BUILTIN.beaconing is not None
TEST: Beaconing = BUILTIN.beaconing
EIGHT_WITHIN_30_PERCENT = Beaconing(connections=8, jitter=0.3, min_period=5.0, max_period=86400.0)


def sample(seconds: list[float]) -> list[tuple[int, str]]:
    return [(int(t * S), f"c{i:03d}") for i, t in enumerate(seconds)]


def steady(n: int, period: float, jitter: float = 0.0, seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    times, t = [], 100.0
    for _ in range(n):
        times.append(t)
        t += period * (1 + rng.uniform(-jitter, jitter))
    return times


# -- the test on a sample -----------------------------------------------------------------------


def test_the_built_in_rule_asks_for_eight_check_ins_within_thirty_percent() -> None:
    assert TEST == EIGHT_WITHIN_30_PERCENT
    assert (BUILTIN.severity, BUILTIN.tactic, BUILTIN.technique) == (
        "low",
        "command_and_control",
        "T1071",
    )


def test_a_steady_beacon_triggers_on_the_connection_that_completes_the_first_run() -> None:
    assert trigger(sample(steady(12, 30.0)), TEST) == "c007"
    # Sliver's default: 60 s plus up to 30 s; Merlin's: 30 s with a few seconds of skew
    assert trigger(sample(steady(12, 75.0, jitter=0.2, seed=3)), TEST) == "c007"
    assert trigger(sample(steady(12, 30.0, jitter=0.1, seed=4)), TEST) == "c007"


def test_few_connections_do_not_trigger() -> None:
    assert trigger(sample(steady(7, 30.0)), TEST) is None
    # the Tetragon Merlin capture holds two connections of the agent: one interval
    assert trigger(sample([4110.640, 4778.209]), TEST) is None


def test_irregular_connections_do_not_trigger() -> None:
    for seed in range(20):
        rng = random.Random(seed)
        times = [0.0]
        for _ in range(SAMPLE - 1):
            times.append(times[-1] + rng.expovariate(1 / 30))  # a Poisson process, 30 s mean
        assert trigger(sample(times), TEST) is None, seed
    # a steady run broken in the middle: 4 at 30 s, a pause, 4 at 30 s
    broken = steady(4, 30.0) + [t + 200 for t in steady(4, 30.0)[:]]
    assert trigger(sample(sorted(broken)), TEST) is None


def test_periods_outside_the_bounds_do_not_trigger() -> None:
    assert trigger(sample(steady(20, 2.0)), TEST) is None  # faster than 5 s
    assert trigger(sample(steady(20, 2 * 86400.0)), TEST) is None  # slower than a day
    assert trigger(sample(steady(20, 5.0)), TEST) == "c007"


def test_connections_within_a_second_are_one_check_in() -> None:
    times = sorted(steady(8, 30.0) + [t + 0.05 for t in steady(8, 30.0)])
    assert len(check_ins(sample(times))) == 8
    assert trigger(sample(times), TEST) == "c014"  # the 8th check-in's first connection


def test_a_run_later_in_the_sample_is_found() -> None:
    noise = [0.0, 3.0, 4.5, 40.0, 41.0, 90.0]
    times = noise + [t + 100 for t in steady(8, 60.0)]
    assert trigger(sample(times), TEST) == "c013"


def test_the_sample_keeps_the_earliest_connections_whatever_the_order() -> None:
    items = sample([float(i * 7 % 301) for i in range(300)])
    expected = sorted(items)[:SAMPLE]
    for seed in range(5):
        rng = random.Random(seed)
        shuffled = items[:]
        rng.shuffle(shuffled)
        kept: list[tuple[int, str]] = []
        for start in range(0, len(shuffled), 37):
            kept = merged(kept, shuffled[start : start + 37])
        assert kept == expected
    assert merged(expected, expected) == expected  # re-reading a connection adds nothing


# -- the YAML block -----------------------------------------------------------------------------


def beacon_rule(block: str, kinds: str = "[network_connect]", extra: str = "") -> str:
    return textwrap.dedent(f"""
    id: t.beacon
    title: Beacon
    severity: low
    kinds: {kinds}
    {extra}
    match:
      event.dst_ip: {{exists: true}}
    beaconing: {block}
    """)


def test_a_beaconing_block_compiles() -> None:
    (compiled,) = parse_rules(beacon_rule("{connections: 5, jitter: 0.1, min_period: 60, "
                                          "max_period: 3600}"))  # fmt: skip
    assert compiled.beaconing == Beaconing(5, 0.1, 60.0, 3600.0)


@pytest.mark.parametrize(
    ("block", "kinds", "extra", "problem"),
    [
        ("8", "[network_connect]", "", "beaconing: expected a mapping of connections"),
        ("{connections: 8}", "[network_connect]", "", "expected exactly the keys"),
        ("{connections: 8, jitter: 0.3, min_period: 5, max_period: 60, window: 9}",
         "[network_connect]", "", "expected exactly the keys"),
        ("{connections: 2, jitter: 0.3, min_period: 5, max_period: 60}", "[network_connect]",
         "", "beaconing.connections: expected an integer from 3 to 32"),
        ("{connections: 8.5, jitter: 0.3, min_period: 5, max_period: 60}",
         "[network_connect]", "", "beaconing.connections"),
        ("{connections: 8, jitter: 1.5, min_period: 5, max_period: 60}", "[network_connect]",
         "", "beaconing.jitter: expected a number from 0 to 0.9"),
        ("{connections: 8, jitter: true, min_period: 5, max_period: 60}", "[network_connect]",
         "", "beaconing.jitter"),
        ("{connections: 8, jitter: 0.3, min_period: 0, max_period: 60}", "[network_connect]",
         "", "beaconing.min_period: expected a number from 1 to 604800"),
        ("{connections: 8, jitter: 0.3, min_period: 90, max_period: 60}", "[network_connect]",
         "", "min_period is above max_period"),
        ("{connections: 8, jitter: 0.3, min_period: 5, max_period: 60}",
         "[network_connect, dns_query]", "", "a beaconing rule has kinds: [network_connect]"),
        ("{connections: 8, jitter: 0.3, min_period: 5, max_period: 60}", "[network_connect]",
         "compromises: true", "does not compromise"),
    ],
)  # fmt: skip
def test_malformed_beaconing_blocks_are_errors(
    block: str, kinds: str, extra: str, problem: str
) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules(beacon_rule(block, kinds, extra), "bad.yaml")
    assert str(caught.value).startswith("bad.yaml: rule 't.beacon': ")
    assert problem in str(caught.value)


# -- through the app ----------------------------------------------------------------------------

T0 = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)
IMPLANT = {"key": "implant-1", "pid": 4242, "exe": "/usr/local/bin/updater",
           "args": ["/usr/local/bin/updater", "--quiet"],
           "start_time": "2026-01-05T08:00:00Z"}  # fmt: skip
C2 = "203.0.113.50"


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def exec_event() -> dict[str, Any]:
    return {"id": "exec", "ts": ts(0), "source": "test", "host": {"id": "node-1"},
            "kind": "process_exec", "process": IMPLANT}  # fmt: skip


def connects(
    times: list[float], ip: str = C2, port: int = 443, prefix: str = "c", **net: Any
) -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{i:03d}", "ts": ts(t), "source": "test", "host": {"id": "node-1"},
         "kind": "network_connect", "process": IMPLANT,
         "network": {"protocol": "tcp", "dst_ip": ip, "dst_port": port, **net}}
        for i, t in enumerate(times)
    ]  # fmt: skip


def run(db: Database, events: list[dict[str, Any]], batch_size: int = 2000) -> None:
    lines = [json.dumps(e) + "\n" for e in events]
    report = ingest(db, "storyline", lines, batch_size=batch_size,
                    after_batch=Pipeline(rules=load_builtin()))  # fmt: skip
    assert report.rejected == []


def beacon_signals(db: Database) -> set[tuple]:
    return rows(db, "MATCH (s:Signal {rule_id: 'linux.beaconing'})-[:ON]->(e:Event) "
                    "RETURN s.id, s.severity, e.id")  # fmt: skip


def test_a_beacon_through_the_app_is_one_signal_on_the_eighth_check_in(db: Database) -> None:
    times = steady(20, 30.0, jitter=0.1, seed=1)
    run(db, [exec_event(), *connects(times)], batch_size=3)
    assert beacon_signals(db) == {("linux.beaconing:c007", "low", "c007")}
    # the pair's edge keeps its sample and the signal it placed
    assert rows(
        db,
        "MATCH (:Process {key: 'implant-1'})-[a:ACTIVITY]->(t:Endpoint) "
        "RETURN t.key, a.count, size(a.beacon_sample_ids), a.beacon_rules, a.beacon_signals",
    ) == {(f"{C2}:443", 20, 20, ("linux.beaconing",), ("linux.beaconing:c007",))}
    (actions,) = rows(db, "MATCH (s:Signal {rule_id: 'linux.beaconing'}) RETURN s.actions")
    assert actions[0][0] == (
        "Find out what /usr/local/bin/updater (pid 4242) on host node-1 sends to "
        f"{C2}:443 at a fixed interval"
    )
    # a routine (low) story of its own
    assert rows(db, "MATCH (st:Story)-[:HAS]->(:Signal {rule_id: 'linux.beaconing'}) "
                    "RETURN st.severity, st.routine") == {("low", True)}  # fmt: skip


def test_irregular_few_local_or_udp_connections_are_not_beacons(db: Database) -> None:
    rng = random.Random(5)
    poisson = [0.0]
    for _ in range(60):
        poisson.append(poisson[-1] + rng.expovariate(1 / 30))
    events = [exec_event(), *connects(poisson, prefix="p"),
              *connects(steady(7, 30.0), ip="198.51.100.4", prefix="few"),
              *connects(steady(20, 30.0), ip="10.0.3.20", prefix="lan"),
              *connects(steady(20, 30.0), ip="169.254.169.254", port=80, prefix="imds"),
              *connects(steady(20, 64.0), ip="198.51.100.5", port=123, prefix="ntp",
                        protocol="udp")]  # fmt: skip
    run(db, events)
    assert beacon_signals(db) == set()
    # only the picked pairs (public, TCP) keep a sample
    assert rows(db, "MATCH (:Process)-[a:ACTIVITY]->(t:Endpoint) "
                    "WHERE a.beacon_sample_ids IS NOT NULL RETURN t.key") == {
        (f"{C2}:443",), ("198.51.100.4:443",)
    }  # fmt: skip


# The first run of the whole set ends at 240 s; without the connection at 13 s it ends
# at 210 s. Arriving last, that connection moves the signal.
TRAP = [0.0, 13.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 210.0, 240.0, 270.0]


def test_a_late_earlier_connection_moves_the_signal_and_rebuilds_the_story(
    db: Database,
) -> None:
    events = [exec_event(), *connects(TRAP)]
    late = events.pop(2)  # the connection at 13 s
    run(db, events)
    assert beacon_signals(db) == {("linux.beaconing:c008", "low", "c008")}
    run(db, [late])
    assert beacon_signals(db) == {("linux.beaconing:c009", "low", "c009")}
    assert rows(db, "MATCH (st:Story)-[:HAS]->(s:Signal) RETURN st.signal_count, s.id") == {
        (1, "linux.beaconing:c009")
    }
    assert rows(db, "MATCH (st:Story:Restory) RETURN st.id") == set()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_order_and_batching_gives_the_same_beacon(db: Database, data: st.DataObject) -> None:
    events = [exec_event(), *connects(TRAP), *connects([5.0, 500.0], ip="198.51.100.4", prefix="o")]
    with db.session() as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    run(db, events)
    expected = snapshot(db)
    assert beacon_signals(db) == {("linux.beaconing:c009", "low", "c009")}

    shuffled = data.draw(st.permutations(events), label="order")
    batch = data.draw(st.integers(min_value=1, max_value=len(events)), label="batch size")
    with db.session() as s:
        s.run("MATCH (n) DETACH DELETE n").consume()
    run(db, shuffled, batch_size=batch)
    actual = snapshot(db)
    assert actual == expected, diff(expected, actual)


@pytest.mark.slow  # about a minute, nearly all of it the writer's
def test_a_process_with_100k_connections_keeps_a_bounded_sample(db: Database) -> None:
    n = 100_000
    times = [float(i * 30) for i in range(n)]
    events = [exec_event(), *connects(times)]
    # as `storyline ingest` runs it: the stage between batches, the built-in rules
    report = ingest(db, "storyline", (json.dumps(e) + "\n" for e in events), batch_size=20_000)
    assert (report.accepted, report.rejected) == (n + 1, [])
    assert rows(
        db,
        "MATCH (:Process {key: 'implant-1'})-[a:ACTIVITY]->(:Endpoint) "
        "RETURN a.count, size(a.beacon_sample_ns), a.beacon_sample_ids[-1], a.beacon_signals",
    ) == {(n, SAMPLE, f"c{SAMPLE - 1:03d}", ("linux.beaconing:c007",))}
    assert beacon_signals(db) == {("linux.beaconing:c007", "low", "c007")}
