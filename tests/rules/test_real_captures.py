"""Detection on the real captures of tests/data/datasets: what fires, and how stories rank."""

from __future__ import annotations

from app.framing import open_stream
from app.ingest import ingest
from app.neo4j.database import Database
from app.pipeline import Pipeline
from app.rules.yamlrules import load_builtin
from tests.conftest import DATASETS
from tests.graphstate import rows_list

MERLIN = DATASETS / "tetragon-merlin" / "combined_sorted.derived.ndjson"
AGENT = "bWluaWt1YmU6MjA4MjU3MzM4MjgwMToyNTc0NA=="  # the agent's exec_id: its process key


def test_the_merlin_c2_story_has_the_implants_signals_and_outranks_the_nsenter(
    db: Database,
) -> None:
    with MERLIN.open("rb") as raw, open_stream(raw) as text:
        ingest(db, "tetragon", text, after_batch=Pipeline(rules=load_builtin()))
    stories = rows_list(
        db,
        "MATCH (st:Story) RETURN st.correlation_key, st.severity, st.score, st.rules "
        "ORDER BY st.score DESC",
    )
    assert [s[:3] for s in stories] == [
        ("container:a51959123c3ba99a9f50a700", "high", 110.17),
        (":default:privileged-pod", "critical", 99.0),
        (":tenant-jobs:elasticsearch-56f8fc6988-sh8rm", "high", 79.0),
    ]
    assert stories[1][3] == ("k8s.nsenter_host_namespaces",)
    # The agent, a `go run` binary in /tmp, connects twice to 34.116.205.187:443, then
    # runs `sh -c "7z a s3nsitiv3.7z ../ops_bank_accounts/"`. (The capture's 7z exec
    # carries the agent's exec_id, an editing slip of the excerpt: it counts as the
    # agent's second exec.)
    signals = rows_list(
        db,
        "MATCH (st:Story {correlation_key: 'container:a51959123c3ba99a9f50a700'})-[:HAS]->"
        "(s:Signal)-[:ON]->(e:Event)-[:BY]->(p:Process) "
        "RETURN s.rule_id, s.severity, s.tactic, e.kind, e.dst_ip, p.pid ORDER BY s.ts, s.id",
    )
    assert signals == [
        ("linux.exec_from_temp_dir", "medium", "execution", "process_exec", None, 25744),
        ("linux.connection_from_temp_dir", "high", "command_and_control", "network_connect",
         "34.116.205.187", 25744),
        ("linux.connection_from_temp_dir", "high", "command_and_control", "network_connect",
         "34.116.205.187", 25744),
        ("linux.data_archived_by_program", "medium", "collection", "process_exec", None, 45779),
        ("linux.exec_from_temp_dir", "medium", "execution", "process_exec", None, 25744),
    ]  # fmt: skip
    # two connections are one interval: too few to call a beacon, whatever their rhythm
    assert rows_list(
        db,
        "MATCH (:Process {key: $agent})-[a:ACTIVITY {kind: 'network_connect'}]->(t:Endpoint) "
        "RETURN t.key, a.count, size(a.beacon_sample_ids), a.beacon_signals",
        agent=AGENT,
    ) == [("34.116.205.187:443", 2, 2, None)]
