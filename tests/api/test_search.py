"""Search, entity roots, story filters by entity and time, time windows, the Cypher behind a view.

Two stories on two hosts: a shell exec'd into container c1 (pod pod-web-1, image
shop/web:1.4) on node-2 that reads /etc/shadow, resolves evil.example.com and
connects to 203.0.113.9:443; and a JVM on node-3 whose reverse shell connects to
198.51.100.7:4444. Every answer below is known from that input.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.api.app import create_app
from app.errors import InputError
from app.investigation.search import lucene, search
from app.investigation.stories import story_id
from app.neo4j.database import Database
from app.settings import Settings
from tests.apiclient import local_client
from tests.rules.test_stories import alert, load
from tests.test_layers import container_with_shell, jvm_exploit

T0 = "2026-01-05T08:00:00Z"
SHA = "sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"


def gql(client: TestClient, query: str, headers: dict | None = None, **variables: Any) -> dict:
    return client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers or {}
    ).json()


def data(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    body = gql(client, query, **variables)
    assert "errors" not in body, body
    return body["data"]


def refresh_indexes(db: Database) -> None:
    """The eventually consistent full-text indexes catch up (a search right after an
    ingest may otherwise miss what it wrote)."""
    db.query("CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()")


def scenario(db: Database) -> dict[str, str]:
    events, key_of, sh = container_with_shell()
    shell_ts = "2026-01-05T08:00:55.000000000Z"
    shadow = sh.event("file_open", ts=shell_ts, file={"path": "/etc/shadow", "hashes": [SHA]})
    dns = sh.event("dns_query", ts=shell_ts, dns={"name": "Evil.Example.com."})
    out = sh.event("network_connect", ts="2026-01-05T08:01:30.000000000Z",
                   network={"dst_ip": "203.0.113.9", "dst_port": 443})  # fmt: skip
    jvm, jvm_keys, compromise = jvm_exploit()
    load(db, [
        *events, shadow, dns, out, *jvm, compromise,
        alert(shadow, "shadow_read", "high", "credential_access", technique="T1003.008"),
        alert(jvm[4], "reverse_shell", "critical", "command_and_control"),
    ])  # fmt: skip
    refresh_indexes(db)
    return {
        "shell": story_id(key_of[2101]),
        "jvm": story_id(jvm_keys[4001]),
        "sh": sh.key,
        "jvm_ip": jvm[4]["network"]["dst_ip"],
    }


@pytest.fixture
def client(db: Database, world: dict[str, str]) -> TestClient:
    with local_client(create_app(db)) as c:
        yield c


def hits(db: Database, text: str) -> dict[tuple[str, str], list[str]]:
    """(kind, key) -> the ids of its stories, for every hit of a search."""
    page = search(db, text, first=50)
    return {(h.kind, h.id): sorted(s["id"] for s in h.stories) for h in page.hits}


def test_lucene_queries_treat_input_as_text() -> None:
    assert lucene("curl") == '("curl" OR curl*)'
    assert lucene("/etc/shadow") == '"/etc/shadow"'
    assert lucene('a"b OR x:y') == '"a\\"b" AND ("OR" OR or*) AND "x:y"'
    with pytest.raises(InputError):
        lucene("   ")
    with pytest.raises(InputError):
        lucene("x " * 9)


def test_search_finds_each_kind_of_entity_with_its_stories(
    db: Database, world: dict[str, str]
) -> None:
    shell, jvm = [world["shell"]], [world["jvm"]]
    assert hits(db, "/etc/shadow")[("file", "/etc/shadow")] == shell
    assert hits(db, SHA)[("hash", SHA)] == shell
    assert hits(db, "203.0.113.9")[("ip", "203.0.113.9")] == shell
    assert hits(db, world["jvm_ip"])[("ip", world["jvm_ip"])] == jvm
    assert hits(db, "evil.example.com")[("domain", "evil.example.com")] == shell
    assert hits(db, "node-2")[("host", "node-2")] == shell
    assert hits(db, "node-3")[("host", "node-3")] == jvm
    assert hits(db, "shop/web")[("image", "shop/web:1.4")] == shell
    assert hits(db, "c1")[("container", "c1")] == shell
    assert hits(db, "web-7d9f-abc")[("pod", "pod-web-1")] == shell
    assert hits(db, "reverse_shell")[("rule", "reverse_shell")] == jvm
    assert hits(db, "credential_access")[("tactic", "credential_access")] == shell
    assert hits(db, "T1003.008")[("technique", "T1003.008")] == shell
    found = hits(db, "sh")  # a prefix: sh, shop, shadow...
    assert ("process", world["sh"]) in found and found[("process", world["sh"])] == shell
    assert ("story", world["shell"]) in hits(db, "shadow read")


def test_search_pages_without_repeats(db: Database, world: dict[str, str]) -> None:
    everything = search(db, "node", first=200).hits
    assert len(everything) >= 3
    seen, after = [], None
    while True:
        page = search(db, "node", first=2, after=after)
        seen += [(h.kind, h.id) for h in page.hits]
        if not page.has_next_page:
            break
        after = page.end_cursor
    assert seen == [(h.kind, h.id) for h in everything]
    with pytest.raises(InputError):
        search(db, "node", after="bm9wZQ==")


def test_stories_filter_by_entity_and_time(client: TestClient, world: dict[str, str]) -> None:
    query = "query($f: StoryFilter) { stories(filter: $f) { totalCount edges { node { id } } } }"

    def ids(**f: Any) -> set[str]:
        found = data(client, query, f=f)["stories"]
        assert found["totalCount"] == len(found["edges"])
        return {e["node"]["id"] for e in found["edges"]}

    both = {world["shell"], world["jvm"]}
    assert ids() == both
    assert ids(ip="203.0.113.9") == {world["shell"]}
    assert ids(ip=world["jvm_ip"]) == {world["jvm"]}
    assert ids(file="/etc/shadow", container="c1", pod="pod-web-1") == {world["shell"]}
    assert ids(file="/etc/shadow", ip=world["jvm_ip"]) == set()
    assert ids(hash=SHA) == {world["shell"]}
    assert ids(hash="sha256:" + "0" * 64) == set()
    assert ids(domain="evil.example.com", image="shop/web:1.4") == {world["shell"]}
    assert ids(host="node-3", tactic="command_and_control") == {world["jvm"]}
    assert ids(rule="shadow_read", technique="T1003.008") == {world["shell"]}
    assert ids(process=world["sh"]) == {world["shell"]}
    assert ids(ip="192.0.2.1") == set()
    assert ids(**{"from": "2026-01-05T07:00:00Z", "to": "2026-01-05T09:00:00Z"}) == both
    assert ids(to="2026-01-05T07:59:59Z") == set()
    body = gql(client, query, f={"from": "yesterday"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


ENTITIES = """query($sh: ID!) {
  host(id: "node-2") { kind key id status lastSeen
    processes(first: 200) { complete nodes { key } } stories { totalCount nodes { id } } }
  container(id: "c1") { key image hostId podUid status processes { nodes { key } }
    stories { nodes { id } } }
  pod(uid: "pod-web-1") { namespace name containers stories { nodes { id } } }
  ip(address: "203.0.113.9") { address ports processes { nodes { key } }
    stories { totalCount nodes { id } } }
  domain(name: "EVIL.example.com") { name processes { nodes { key } } stories { nodes { id } } }
  file(path: "/etc/shadow") { path places { hostId containerId hashes }
    processes { nodes { key } } }
  process(key: $sh) { key }
  nothing: host(id: "node-404") { id }
  hosts(first: 1) { edges { node { id } } pageInfo { hasNextPage endCursor } }
}"""


def test_entities_are_roots_with_their_processes_and_stories(
    client: TestClient, world: dict[str, str]
) -> None:
    d = data(client, ENTITIES, sh=world["sh"])
    shell = [{"id": world["shell"]}]
    host = d["host"]
    assert (host["kind"], host["key"], host["id"], host["status"]) == (
        "HOST", "node-2", "node-2", "UNKNOWN",
    )  # fmt: skip
    assert host["lastSeen"].startswith("2026-01-05T08:01:30")
    assert len(host["processes"]["nodes"]) == 6 and host["processes"]["complete"]
    assert host["stories"] == {"totalCount": 1, "nodes": shell}
    c = d["container"]
    assert (c["key"], c["image"], c["hostId"], c["podUid"]) == (
        "c1", "shop/web:1.4", "node-2", "pod-web-1",
    )  # fmt: skip
    assert world["sh"] in {p["key"] for p in c["processes"]["nodes"]}
    assert c["stories"]["nodes"] == shell
    assert d["pod"] == {"namespace": "shop", "name": "web-7d9f-abc", "containers": ["c1"],
                        "stories": {"nodes": shell}}  # fmt: skip
    only_sh = {"nodes": [{"key": world["sh"]}]}
    assert d["ip"] == {"address": "203.0.113.9", "ports": [443], "processes": only_sh,
                       "stories": {"totalCount": 1, "nodes": shell}}  # fmt: skip
    assert d["domain"] == {"name": "evil.example.com", "processes": only_sh,
                           "stories": {"nodes": shell}}  # fmt: skip
    assert d["file"] == {"path": "/etc/shadow",
                         "places": [{"hostId": "node-2", "containerId": "c1",
                                     "hashes": [SHA]}],
                         "processes": only_sh}  # fmt: skip
    assert d["nothing"] is None
    first = d["hosts"]["edges"][0]["node"]["id"]
    assert first == "node-2"  # seen last (08:01:30), so listed first
    more = data(
        client,
        "query($a: String) { hosts(first: 5, after: $a) { edges { node { id } } } }",
        a=d["hosts"]["pageInfo"]["endCursor"],
    )
    assert [e["node"]["id"] for e in more["hosts"]["edges"]] == ["node-3"]


def test_search_over_graphql(client: TestClient, world: dict[str, str]) -> None:
    query = """query($q: String!) { search(query: $q, first: 5) {
      edges { cursor node { kind key title stories { totalCount nodes { id } } } }
      pageInfo { hasNextPage } } }"""
    found = data(client, query, q="203.0.113.9")["search"]["edges"]
    ip = next(e["node"] for e in found if e["node"]["kind"] == "IP")
    assert ip == {"kind": "IP", "key": "203.0.113.9", "title": "203.0.113.9",
                  "stories": {"totalCount": 1, "nodes": [{"id": world["shell"]}]}}  # fmt: skip
    body = gql(client, query, q="")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_storys_timeline_graph_and_activity_in_a_window(
    client: TestClient, world: dict[str, str]
) -> None:
    query = """query($id: ID!, $from: String, $to: String) { story(id: $id) {
      timeline(first: 200, from: $from, to: $to) { edges { node { ts kind } } }
      graph(from: $from, to: $to) { nodes { kind properties } }
      activity(bucket: 30) { bucketSeconds buckets { start events signals } } } }"""
    whole = data(client, query, id=world["shell"])["story"]
    window = data(
        client, query, id=world["shell"], **{"from": "2026-01-05T08:00:51Z",
                                             "to": "2026-01-05T08:00:55Z"}
    )["story"]  # fmt: skip
    all_ts = [e["node"]["ts"] for e in whole["timeline"]["edges"]]
    in_window = [e["node"]["ts"] for e in window["timeline"]["edges"]]
    assert in_window == [t for t in all_ts if "08:00:51" <= t[11:19] <= "08:00:55"]
    assert 0 < len(in_window) < len(all_ts)
    assert "2026-01-05T08:01:30.000000000Z" not in in_window

    def targets(graph: dict) -> set[str]:
        return {n["kind"] for n in graph["nodes"]}

    assert {"Endpoint", "Domain", "File"} <= targets(whole["graph"])
    assert "Endpoint" not in targets(window["graph"])  # the connect is at 08:01:30
    assert {"Domain", "File"} <= targets(window["graph"])
    activity = whole["activity"]
    assert activity["bucketSeconds"] == 30
    total = sum(b["events"] for b in activity["buckets"])
    assert total == len([e for e in whole["timeline"]["edges"] if e["node"]["kind"] != "triage"])
    assert sum(b["signals"] for b in activity["buckets"]) == 1
    starts = [b["start"] for b in activity["buckets"]]
    assert starts == sorted(starts) and len(starts) == len(set(starts))


def test_the_cypher_behind_a_view_when_asked(client: TestClient, world: dict[str, str]) -> None:
    query = '{ stories(filter: {ip: "203.0.113.9"}) { totalCount } }'
    plain = gql(client, query)
    assert "cypher" not in (plain.get("extensions") or {})
    body = gql(client, query, headers={"Storyline-Cypher": "1"})
    files = [c["file"] for c in body["extensions"]["cypher"]]
    assert files == [
        "cypher/search/entity_processes.cypher",
        "cypher/queries/list_stories.cypher",
        "cypher/queries/count_stories.cypher",
    ]
    listed = body["extensions"]["cypher"][1]["parameters"]
    assert listed["keys"] and listed["limit"] == 21 and listed["statuses"] is None
    # the parameters run the file's text as it is, by hand
    text = body["extensions"]["cypher"][2]["text"]
    assert text == (Path(__file__).parents[2] / files[2]).read_text()
    counted = client.app.state.db.query(text, body["extensions"]["cypher"][2]["parameters"])[1]
    assert counted == [{"total": body["data"]["stories"]["totalCount"]}] == [{"total": 1}]


def test_pivot_links_on_entities_processes_events_and_audit_records(
    db: Database, world: dict[str, str], tmp_path: Path
) -> None:
    links = tmp_path / "links.yaml"
    links.write_text(
        "host:\n  - {title: 'Logs of {id}', url: 'https://logs.example/?h={id}&f={from}'}\n"
        "container:\n  - {title: Traces, url: 'https://apm.example/c/{id}?img={image}'}\n"
        "pod:\n  - {title: Pod, url: 'https://k8s.example/{namespace}/{name}'}\n"
        "process:\n  - {title: Process, url: 'https://edr.example/p/{key}'}\n"
        "event:\n  - {title: Raw, url: 'https://siem.example/e/{id}?t={to_ms}'}\n"
        "audit_record:\n  - {title: Trail, url: 'https://trail.example/?actor={actor}'}\n"
    )
    settings = replace(Settings.from_env(), links_file=links)
    # an audit record (a kubectl exec by mallory) related to the shell's story
    db.query(
        "MATCH (c:Context {key: $key}) CREATE (:AuditRecord {id: 'k8s-exec', source: 'k8s_audit', "
        "actor: 'mallory', action: 'create pods/exec', ts: datetime('2026-01-05T08:00:49Z')})"
        "-[:RELATES_TO {reason: 'test'}]->(c)",
        {"key": db.query("MATCH (p:Process {key: $k}) RETURN p.correlation_key AS k",
                         {"k": world["sh"]})[1][0]["k"]},
        write=True,
    )  # fmt: skip
    query = """query($sh: ID!, $id: ID!) {
      host(id: "node-2") { links { title url } }
      container(id: "c1") { links { url } }
      pod(uid: "pod-web-1") { links { url } }
      process(key: $sh) { links { url } }
      story(id: $id) { timeline(first: 1, kinds: ["file_open"]) {
          edges { node { event { id links { url } } } } }
        audit: timeline(first: 5, kinds: ["audit_record"]) {
          edges { node { auditRecord { links { url } } } } } } }"""
    with local_client(create_app(db, settings)) as c:
        d = data(c, query, sh=world["sh"], id=world["shell"])
    logs = "https://logs.example/?h=node-2&f=2026-01-05T07%3A55%3A00Z"
    assert d["host"]["links"] == [{"title": "Logs of node-2", "url": logs}]
    assert d["container"]["links"] == [{"url": "https://apm.example/c/c1?img=shop%2Fweb%3A1.4"}]
    assert d["pod"]["links"] == [{"url": "https://k8s.example/shop/web-7d9f-abc"}]
    assert d["process"]["links"] == [
        {"url": "https://edr.example/p/" + world["sh"].replace("|", "%7C").replace(":", "%3A")}
    ]
    event = d["story"]["timeline"]["edges"][0]["node"]["event"]
    assert event["links"][0]["url"].startswith(f"https://siem.example/e/{event['id']}?t=")
    [audit] = d["story"]["audit"]["edges"]
    assert audit["node"]["auditRecord"]["links"] == [
        {"url": "https://trail.example/?actor=mallory"}
    ]
    root = "query($id: ID!) { event(id: $id) { links { url } } }"
    with local_client(create_app(db, settings)) as c:
        assert data(c, root, id=event["id"])["event"]["links"] == event["links"]


@pytest.mark.parametrize("order", [1, -1])
def test_a_file_keeps_every_hash_its_events_reported_in_any_order(db: Database, order: int) -> None:
    events, _, sh = container_with_shell()
    reads = [
        sh.event("file_open", ts=f"2026-01-05T08:00:5{i}.000000000Z",
                 file={"path": "/tmp/x", "hashes": hashes})
        for i, hashes in enumerate((["sha256:aa"], ["sha256:bb", "sha256:aa"], None))
    ][::order]  # fmt: skip
    load(db, [*events, *reads, *reads])  # repeats change nothing
    found = db.query("MATCH (f:File {path: '/tmp/x'}) RETURN f.hashes AS hashes")[1]
    assert len(found) == 1 and sorted(found[0]["hashes"]) == ["sha256:aa", "sha256:bb"]
