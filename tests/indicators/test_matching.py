"""Indicators on a real Neo4j: feed signals from new and stored events, the same either
way round, idempotent imports, and stories related across hosts.

Three hosts. On node-a a Poison Ivy agent run from /tmp (backup.service) connects
to 203.0.113.50:443, resolves C2.Bad-Actor.Example. and writes its own binary
(sha256 reported as `SHA256:<upper hex>`); on node-b another copy (cups.service)
connects to ::ffff:203.0.113.50:8443 and opens its binary (bare upper-case hex);
on node-c apt's curl reaches 192.0.2.10 and example.org, and a sensor alert gives
it a story of its own that shares nothing with the others.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from app.errors import Busy
from app.indicators import matching
from app.indicators.imports import import_feed, list_indicators
from app.investigation.related import related
from app.investigation.stories import story_id
from app.neo4j.database import Database
from app.pipeline import Pipeline
from tests.graphstate import rows
from tests.indicators.test_feeds import FEEDS, MD5, NOW, SHA256
from tests.rules.test_stories import alert
from tests.test_layers import P, load

NO_RULES = Pipeline(rules=())
STIX = (FEEDS / "example-cert.stix.json").read_text()
CSV = (FEEDS / "example-cert.csv").read_text()


def hosts() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The three hosts' events, and the correlation key of each host's story."""
    a = P("node-a", 4100, 10, "/tmp/.cache/pivy", ["/tmp/.cache/pivy"],
          attrs={"cgroup": "/system.slice/backup.service"})  # fmt: skip
    b = P("node-b", 5100, 20, "/var/tmp/pivy", ["/var/tmp/pivy", "-d"],
          attrs={"cgroup": "/system.slice/cups.service"})  # fmt: skip
    c = P("node-c", 6100, 5, "/usr/bin/curl", ["curl", "https://example.org/"],
          attrs={"cgroup": "/system.slice/apt.service"})  # fmt: skip
    at = "2026-01-05T08:00:{:02d}.000000000Z".format
    events = [
        a.exec(),
        a.event("network_connect", ts=at(11), network={"dst_ip": "203.0.113.50", "dst_port": 443}),
        a.event("dns_query", ts=at(12), dns={"name": "C2.Bad-Actor.Example."}),
        a.event("file_write", ts=at(13),
                file={"path": "/tmp/.cache/pivy", "hashes": [f"SHA256:{SHA256.upper()}"]}),
        b.exec(),
        b.event("network_connect", ts=at(21),
                network={"dst_ip": "::ffff:203.0.113.50", "dst_port": 8443}),
        b.event("file_open", ts=at(22), file={"path": "/var/tmp/pivy", "hashes": [SHA256.upper()]}),
        c.exec(),
        c.event("network_connect", ts=at(6), network={"dst_ip": "192.0.2.10", "dst_port": 443}),
        c.event("dns_query", ts=at(7), dns={"name": "example.org"}),
    ]  # fmt: skip
    events.append(alert(events[-1], "odd_lookup", "medium", "discovery"))
    keys = {"a": "node-a:backup.service", "b": "node-b:cups.service", "c": "node-c:apt.service"}
    return events, keys


def ids(events: list[dict[str, Any]]) -> dict[str, str]:
    names = ["a_exec", "a_connect", "a_dns", "a_write", "b_exec", "b_connect", "b_open"]
    return dict(zip(names, (e["id"] for e in events), strict=False))


def state(db: Database) -> dict[str, set[tuple[Any, ...]]]:
    """What indicators leave in the graph: signals, what they matched, stories, indicators."""
    return {
        "signals": rows(db, """MATCH (s:Signal)-[:ON]->(e:Event)
                               WHERE s.rule_id STARTS WITH 'indicator:'
                               RETURN s.id, s.rule_id, s.title, s.severity, s.tactic, e.id"""),
        "matched": rows(db, "MATCH (s:Signal)-[:MATCHED]->(i:Indicator) RETURN s.id, i.id"),
        "stories": rows(db, "MATCH (s:Story) RETURN s.id, s.title, s.severity, s.hosts"),
        "indicators": rows(db, """MATCH (i:Indicator)-[r:FROM]->(f:Feed)
                                  RETURN i.id, f.name, r.description, r.tactic"""),
    }  # fmt: skip


def wipe(db: Database) -> None:
    db.query("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS", write=True)


def feed_in(db: Database, content: str = STIX, name: str = "example-cert", fmt: str = "stix",
            **options: Any) -> Any:  # fmt: skip
    report = import_feed(db, name, fmt, content, now=NOW, **options)
    NO_RULES.drain(db)  # the re-check's signals reach their stories
    return report


def test_events_after_the_feed_become_feed_signals_and_stories(db: Database) -> None:
    report = feed_in(db)
    assert (report.read, report.indicators, report.dropped, report.error_count) == (10, 8, 0, 0)
    assert (report.recheck.events, report.recheck.signals) == (0, 0)
    events, keys = hosts()
    load(db, events)
    e = ids(events)
    found = state(db)
    rule, pivy = "indicator:example-cert", "Indicator from example-cert:"
    assert found["signals"] == {
        (f"{rule}:{e['a_connect']}", rule, f"{pivy} 203.0.113.50", "high", "command_and_control",
         e["a_connect"]),
        (f"{rule}:{e['a_dns']}", rule, f"{pivy} c2.bad-actor.example", "high",
         "command_and_control", e["a_dns"]),
        (f"{rule}:{e['a_write']}", rule, f"{pivy} {SHA256}", "high", "execution", e["a_write"]),
        (f"{rule}:{e['b_connect']}", rule, f"{pivy} 203.0.113.50", "high", "command_and_control",
         e["b_connect"]),
        (f"{rule}:{e['b_open']}", rule, f"{pivy} {SHA256}", "high", "execution", e["b_open"]),
    }  # fmt: skip
    assert found["matched"] == {
        (f"{rule}:{e['a_connect']}", "ip:203.0.113.50"),
        (f"{rule}:{e['a_dns']}", "domain:c2.bad-actor.example"),
        (f"{rule}:{e['a_write']}", f"sha256:{SHA256}"),
        (f"{rule}:{e['b_connect']}", "ip:203.0.113.50"),
        (f"{rule}:{e['b_open']}", f"sha256:{SHA256}"),
    }
    assert found["stories"] == {
        (story_id(keys["a"]), f"{pivy} 203.0.113.50 on node-a", "high", ("node-a",)),
        (story_id(keys["b"]), f"{pivy} 203.0.113.50 on node-b", "high", ("node-b",)),
        (story_id(keys["c"]), "odd lookup on node-c", "medium", ("node-c",)),
    }  # fmt: skip
    actions = "MATCH (s:Signal {id: $id}) RETURN s.typed_actions"
    [(typed,)] = rows(db, actions, id=f"{rule}:{e['b_open']}")
    assert [json.loads(t) for t in typed] == [
        {"id": ANY, "type": "REVIEW", "target": None,
         "text": f"Quarantine /var/tmp/pivy on node-b: its content (sha256 {SHA256}) is "
                 "listed by example-cert"},
    ]  # fmt: skip
    [(typed,)] = rows(db, actions, id=f"{rule}:{e['b_connect']}")
    block = {"kind": "address", "ip": "203.0.113.50", "port": None, "domain": None}
    assert [(a["type"], a["target"], a["text"]) for a in map(json.loads, typed)] == [
        ("BLOCK_EGRESS", block, "Block egress to 203.0.113.50 (listed by example-cert)"),
        ("REVIEW", None, "Find what pid 5100 on node-b exchanged with 203.0.113.50"),
    ]
    # both hosts recommend the same block: one action id, whichever signal says it
    [(typed_a,)] = rows(db, actions, id=f"{rule}:{e['a_connect']}")
    assert json.loads(typed_a[0])["id"] == json.loads(typed[0])["id"]
    assert json.loads(typed_a[1])["id"] != json.loads(typed[1])["id"]  # the reviews differ


def test_a_feed_imported_after_the_events_gives_the_same_signals_and_stories(
    db: Database,
) -> None:
    events, _ = hosts()
    feed_in(db)
    load(db, events)
    feed_first = state(db)
    wipe(db)
    load(db, events)
    report = feed_in(db)
    # the re-check read the events that touched the indicators' entities: both connects,
    # the query, both file events (and nothing of node-c)
    assert (report.recheck.events, report.recheck.signals, report.recheck.complete) == (5, 5, True)
    assert state(db) == feed_first
    # importing it again changes nothing and drops nothing
    again = feed_in(db)
    assert (again.indicators, again.dropped, again.recheck.signals) == (8, 0, 5)
    assert state(db) == feed_first
    assert len(feed_first["signals"]) == 5


def test_events_this_process_wrote_are_matched_from_the_writer_s_rows(db: Database) -> None:
    """`storyline ingest` hands detection the rows it wrote instead of reading them back."""
    import json

    from app.ingest import ingest
    from app.pipeline import Alongside, wait_processed

    feed_in(db)
    events, _ = hosts()
    stage = Alongside(db, NO_RULES)
    report = ingest(db, "storyline", [json.dumps(e) + "\n" for e in events], after_batch=stage)
    assert stage.known  # nothing ran yet: the rows wait for detection
    wait_processed(db, report.last_batch, NO_RULES, known=stage.known)
    assert stage.known == {}  # detection took them from there
    e = ids(events)
    assert {r[5] for r in state(db)["signals"]} == {
        e[k] for k in ("a_connect", "a_dns", "a_write", "b_connect", "b_open")
    }


def test_a_csv_feed_matches_and_names_its_signals_after_itself(db: Database) -> None:
    events, keys = hosts()
    load(db, events)
    report = feed_in(db, CSV, name="cert-csv", fmt="csv", severity="critical")
    assert (report.read, report.indicators, report.error_count) == (7, 4, 2)
    assert report.skipped == [("duplicate value", 1)]
    e = ids(events)
    rule = "indicator:cert-csv"
    assert rows(db, "MATCH (s:Signal {rule_id: $r})-[:ON]->(e) RETURN e.id, s.severity, "
                    "s.technique, s.description", r=rule) == {
        (e["a_connect"], "critical", "T1071.001", "Poison Ivy C2 server"),
        (e["a_dns"], "critical", "T1071.004", "Poison Ivy C2 name"),
        (e["a_write"], "critical", None, "Poison Ivy agent"),
        (e["b_connect"], "critical", "T1071.001", "Poison Ivy C2 server"),
        (e["b_open"], "critical", None, "Poison Ivy agent"),
    }  # fmt: skip
    assert rows(db, "MATCH (s:Story {id: $id}) RETURN s.severity", id=story_id(keys["b"])) == {
        ("critical",)
    }


def test_two_hosts_touching_the_same_indicators_list_each_other_as_related(db: Database) -> None:
    events, keys = hosts()
    load(db, events)
    feed_in(db)
    a, b, c = (story_id(keys[k]) for k in "abc")
    ip, sha = ("ip:203.0.113.50", ("example-cert",)), (f"sha256:{SHA256}", ("example-cert",))

    def seen(story: str) -> list[tuple[str, list[tuple[str, tuple[str, ...]]], list[str]]]:
        return [
            (r["story"]["id"],
             [(i["id"], tuple(s["feed"] for s in i["sources"])) for i in r["indicators"]],
             r["nodes"])
            for r in related(db, story)
        ]  # fmt: skip

    assert seen(a) == [
        (b, [ip, sha], ["Endpoint:203.0.113.50:443", "File:host:node-a:/tmp/.cache/pivy"])
    ]
    assert seen(b) == [
        (a, [ip, sha], ["Endpoint:[::ffff:203.0.113.50]:8443", "File:host:node-b:/var/tmp/pivy"])
    ]
    assert seen(c) == []


def test_an_indicator_matches_events_up_to_its_valid_until(db: Database) -> None:
    events, _ = hosts()
    feed = "type,value,valid_until\nip,203.0.113.50,2026-01-05T08:00:15Z\n"
    load(db, events)
    report = feed_in(db, feed, name="short-lived", fmt="csv")
    e = ids(events)
    # node-a connected at 08:00:11, within; node-b at 08:00:21, after: the event's time decides
    assert report.recheck.events == 2
    assert rows(db, "MATCH (s:Signal {rule_id: 'indicator:short-lived'})-[:ON]->(e) "
                    "RETURN e.id") == {(e["a_connect"],)}  # fmt: skip


def test_a_re_import_drops_what_the_feed_no_longer_lists_and_keeps_the_signals(
    db: Database,
) -> None:
    events, _ = hosts()
    load(db, events)
    feed_in(db, CSV, name="cert-csv", fmt="csv")
    report = feed_in(db, f"type,value\nmd5,{MD5}\n", name="cert-csv", fmt="csv")
    assert (report.indicators, report.dropped) == (1, 3)
    assert rows(db, "MATCH (i:Indicator)-[:FROM]->(:Feed {name: 'cert-csv'}) RETURN i.id") == {
        (f"md5:{MD5}",)
    }
    # the signals made stay, with the indicators they matched; the others are gone
    assert rows(db, "MATCH (i:Indicator) RETURN i.id") == {
        (f"md5:{MD5}",), ("ip:203.0.113.50",), ("domain:c2.bad-actor.example",),
        (f"sha256:{SHA256}",),
    }  # fmt: skip
    assert rows(db, "MATCH (s:Signal {rule_id: 'indicator:cert-csv'}) RETURN count(s)") == {(5,)}
    # and what is dropped matches no new event
    more = P("node-d", 7000, 30, "/usr/bin/wget", attrs={"cgroup": "/system.slice/x.service"})
    load(db, [more.exec(), more.event("network_connect", network={"dst_ip": "203.0.113.50"})])
    assert rows(db, "MATCH (s:Signal {rule_id: 'indicator:cert-csv'}) RETURN count(s)") == {(5,)}
    assert [i["id"] for i in list_indicators(db, feed="cert-csv")[0]] == [f"md5:{MD5}"]


def test_the_re_check_works_in_bounded_batches_with_progress(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    events, _ = hosts()
    load(db, events)
    monkeypatch.setattr(matching, "RECHECK_BATCH", 2)
    heard: list[tuple[int, int]] = []
    report = feed_in(db, progress=lambda r: heard.append((r.events, r.signals)))
    assert heard == [(2, 2), (4, 4), (5, 5)]
    assert report.recheck.complete
    wipe(db)
    load(db, events)
    cut = feed_in(db, recheck_limit=3)
    assert (cut.recheck.events, cut.recheck.complete) == (3, False)


def test_one_import_of_a_feed_at_a_time(db: Database) -> None:
    db.run("indicators/start_import", feed="example-cert", import_id="other", stale_seconds=3600)
    with pytest.raises(Busy):
        import_feed(db, "example-cert", "stix", STIX, now=NOW)
    db.run("indicators/end_import", feed="example-cert", import_id="other")
    assert import_feed(db, "example-cert", "stix", STIX, now=NOW).indicators == 8


def test_a_feed_that_cannot_be_read_changes_nothing(db: Database) -> None:
    from app.indicators.feeds import FeedError

    feed_in(db)
    before = state(db)
    with pytest.raises(FeedError):
        import_feed(db, "example-cert", "stix", "{", now=NOW)
    assert state(db) == before


def test_data_files_have_their_source() -> None:
    assert "STIX 2.1 specification" in Path(FEEDS / "SOURCE.txt").read_text()
