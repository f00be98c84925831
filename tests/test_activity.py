"""ACTIVITY: what a process did to a target, merged by the writer, each event once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.ingest import ingest
from app.neo4j.database import Database
from app.pipeline import Pipeline
from app.rows import split_links, target_nodes
from tests.graphstate import rows
from tests.test_layers import P

ACTIVITY = (
    "MATCH (p:Process)-[a:ACTIVITY]->(t) "
    "RETURN p.pid, a.type, a.kind, t.key, a.count, toString(a.first_seen), toString(a.last_seen)"
)


def at(second: int) -> str:
    return f"2026-01-05T08:00:{second:02d}.000000000Z"


def workload() -> list[dict[str, Any]]:
    worker = P("node-1", 700, 0, "/usr/bin/python3", ["python3", "worker.py"])
    events = [worker.exec()]
    for second in (3, 1, 2):
        events.append(worker.event("file_open", ts=at(second), file={"path": "/etc/app.conf"}))
    events.append(worker.event("file_write", ts=at(4), file={"path": "/var/log/app.log"}))
    for second in (5, 6):
        events.append(worker.event("network_connect", ts=at(second),
                                   network={"dst_ip": "10.0.0.9", "dst_port": 5432}))  # fmt: skip
    return events


def load(db: Database, events: list[dict[str, Any]], batch_size: int = 2000) -> None:
    text = [json.dumps(e) + "\n" for e in events]
    report = ingest(db, "storyline", text, batch_size, after_batch=Pipeline(rules=()))
    assert report.rejected == []


EXPECTED = {
    (700, "TOUCHES", "file_open", "host:node-1:/etc/app.conf", 3, "2026-01-05T08:00:01Z",
     "2026-01-05T08:00:03Z"),
    (700, "TOUCHES", "file_write", "host:node-1:/var/log/app.log", 1, "2026-01-05T08:00:04Z",
     "2026-01-05T08:00:04Z"),
    (700, "CONNECTS", "network_connect", "10.0.0.9:5432", 2, "2026-01-05T08:00:05Z",
     "2026-01-05T08:00:06Z"),
}  # fmt: skip


def test_repeated_activity_is_one_edge_with_count_and_times(db: Database) -> None:
    load(db, workload())
    assert rows(db, ACTIVITY) == EXPECTED


@pytest.mark.parametrize("batch_size", [1, 2, 7])
def test_any_order_batching_or_repeat_counts_each_event_once(db: Database, batch_size: int) -> None:
    events = workload()
    load(db, list(reversed(events)), batch_size)
    load(db, events, batch_size)  # the same records again: nothing more
    assert rows(db, ACTIVITY) == EXPECTED


def test_a_link_a_later_version_adds_to_a_stored_event_is_counted_once(db: Database) -> None:
    """A rename first seen without its new path (split auditd records, say): the later
    version links the stored event to the new path, which is counted then (merge_activity
    counts the `pending` link), and the same records again add nothing."""
    worker = P("node-1", 700, 0, "/usr/bin/python3", ["python3", "worker.py"])
    first = worker.event("file_rename", ts=at(7), file={"path": "/srv/a"})
    later = {**first, "file": {"path": "/srv/a", "target_path": "/srv/b"}}
    load(db, [worker.exec(), first])
    load(db, [later])
    load(db, [worker.exec(), first, later])
    assert rows(db, ACTIVITY) == {
        (700, "TOUCHES", "file_rename", "host:node-1:/srv/a", 1, "2026-01-05T08:00:07Z",
         "2026-01-05T08:00:07Z"),
        (700, "TOUCHES", "file_rename", "host:node-1:/srv/b", 1, "2026-01-05T08:00:07Z",
         "2026-01-05T08:00:07Z"),
    }  # fmt: skip
    assert rows(db, "MATCH ()-[r:TOUCHES]->() WHERE r.pending RETURN count(r)") == {(0,)}


def test_a_files_hashes_are_the_same_whether_its_events_share_a_batch_or_not(db: Database) -> None:
    """The writer merges a batch's rows for one file before the graph does (target_nodes):
    the hashes kept, past the graph's 64 as well, are those one event per batch keeps."""
    worker = P("node-1", 700, 0, "/usr/bin/python3", ["python3", "worker.py"])
    events = [worker.exec()]
    for i in range(10):  # 8 hashes each (the most an event keeps), one repeated: 71 distinct
        hashes = [f"sha256:{i:02d}{j:062d}" for j in range(7)] + ["sha256:" + "f" * 64]
        events.append(
            worker.event("file_open", ts=at(i), file={"path": "/bin/x", "hashes": hashes})
        )
    kept = "MATCH (f:File) RETURN f.key, f.hashes"
    load(db, events, batch_size=1)
    one_by_one = rows(db, kept)
    db.query("MATCH (n) DETACH DELETE n", write=True)
    load(db, events)
    assert rows(db, kept) == one_by_one
    ((_, hashes),) = one_by_one
    assert len(hashes) == 64 and len(set(hashes)) == 64
    assert list(hashes[:8]) == events[1]["file"]["hashes"]


def test_target_nodes_and_split_links_shape_one_row_per_node_and_per_link() -> None:
    links = [
        {"event_id": "e2", "key": "host:h:/a", "path": "/a", "host_id": "h",
         "container_id": None, "hashes": ["x", "y"]},
        {"event_id": "e1", "key": "host:h:/a", "path": "/a", "host_id": "h",
         "container_id": None, "hashes": ["y", "z"]},
        {"event_id": "e1", "key": "host:h:/a", "path": "/a", "host_id": "h",
         "container_id": None, "hashes": None},  # a rename within one directory
        {"event_id": "e3", "key": "host:h:/b", "path": "/b", "host_id": "h",
         "container_id": None, "hashes": None},
    ]  # fmt: skip
    assert target_nodes("files", links) == [
        {"key": "host:h:/a", "path": "/a", "host_id": "h", "container_id": None,
         "hashes": ["x", "y", "z"]},
        {"key": "host:h:/b", "path": "/b", "host_id": "h", "container_id": None, "hashes": None},
    ]  # fmt: skip
    params = {"files": links, "endpoints": [{"event_id": "e1", "key": "1.2.3.4:80"}], "domains": []}
    new, old = split_links(params, frozenset({"e3"}))
    assert new == {
        "files": [{"event_id": "e1", "key": "host:h:/a"}, {"event_id": "e2", "key": "host:h:/a"}],
        "endpoints": [{"event_id": "e1", "key": "1.2.3.4:80"}],
        "domains": [],
    }
    assert old == [{"event_id": "e3", "label": "File", "key": "host:h:/b"}]
