"""Alert fidelity end to end: a generated workload through the whole pipeline (rules,
layers, stories) against a real Neo4j, judged by the generator's ground truth."""

from __future__ import annotations

import pytest

from app.generate import Truth, lines
from app.ingest import ingest
from app.neo4j.database import Database
from bench.fidelity import chain_report
from tests.graphstate import rows

NEW = ["linux.connection_from_temp_dir", "linux.beaconing", "linux.data_archived_by_program"]


@pytest.mark.parametrize("alerts", [True, False], ids=["with-sensor-alerts", "rules-only"])
def test_each_chain_is_one_story_and_noise_collapses(db: Database, alerts: bool) -> None:
    truth = Truth(11, 8000, 3, alerts)
    text = (x + "\n" for x in lines(11, 8000, 3, alerts=alerts, truth=truth))
    report = ingest(db, "storyline", text)
    assert report.rejected == []
    chains = [chain_report(db, c) for c in truth.to_dict()["chains"]]
    assert {c["kind"] for c in chains} == {"webshell", "jvm_revshell", "kubectl_exec"}
    for chain in chains:
        assert (chain["stories"], chain["unrelated_processes"]) == (1, 0), chain
        assert chain["routine"] is False and chain["severity"] in ("high", "critical")
    signals = db.query("MATCH (s:Signal) RETURN count(s) AS n")[1][0]["n"]
    stories = db.query("MATCH (s:Story) RETURN count(s) AS n")[1][0]["n"]
    assert stories / signals <= 0.2, (stories, signals)
    # the planted chains are the top-scored stories
    _, top = db.query(
        "MATCH (s:Story) RETURN s.routine AS routine ORDER BY s.score DESC LIMIT $n",
        {"n": len(chains)},
    )
    assert [t["routine"] for t in top] == [False] * len(chains)
    # The rules for implants and data packing find nothing in the benign noise, so no
    # story appears for it: not the cloud agent polling a public address (its
    # connections were judged: the pairs keep samples), not the nightly tar of /etc.
    assert rows(db, "MATCH (s:Signal) WHERE s.rule_id IN $new RETURN s.id", new=NEW) == set()
    polled = rows(db, "MATCH (:Process)-[a:ACTIVITY]->(t:Endpoint {key: '52.95.120.64:443'}) "
                      "WHERE size(a.beacon_sample_ids) >= 3 RETURN t.key")  # fmt: skip
    assert polled == {("52.95.120.64:443",)}
