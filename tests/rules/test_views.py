"""The views rules see: an event with its process lineage read from the graph."""

from __future__ import annotations

from app.neo4j.database import Database
from app.rules.signals import views


def test_views_read_each_lineage_from_the_graph_even_through_a_child_of_cycle(db: Database) -> None:
    # a <- b <- c <- d (CHILD_OF points at the parent), and x <-> y: a cycle bad input can make
    db.query(
        "CREATE (a:Process {key: 'a', pid: 1, args: ['init']}),"
        " (b:Process {key: 'b', pid: 2, args: ['sh', '-c', 'x']})-[:CHILD_OF]->(a),"
        " (c:Process {key: 'c', pid: 3})-[:CHILD_OF]->(b),"
        " (d:Process {key: 'd', pid: 4})-[:CHILD_OF]->(c),"
        " (x:Process {key: 'x', pid: 5})-[:CHILD_OF]->(y:Process {key: 'y', pid: 6}),"
        " (y)-[:CHILD_OF]->(x)",
        write=True,
    )
    events = [
        {"id": f"e-{k}", "ts": "2026-01-05T08:00:00Z", "process_key": k, "props": {"kind": "exec"}}
        for k in ("d", "c", "a", "x")
    ]
    seen = {v["event"]["id"]: v for v in views(db, events)}
    d = seen["e-d"]
    assert (d["process"]["pid"], d["parent"]["pid"]) == (4, 3)
    assert [a["pid"] for a in d["ancestors"]] == [2, 1]
    assert d["ancestors"][0]["cmdline"] == "sh -c x"
    assert [a["pid"] for a in seen["e-c"]["ancestors"]] == [1]
    assert seen["e-a"]["parent"] is None and seen["e-a"]["ancestors"] == []
    x = seen["e-x"]
    assert x["parent"]["pid"] == 6
    assert [a["pid"] for a in x["ancestors"]] == [5, 6]  # around the cycle once, then it stops
    assert views(db, []) == []
