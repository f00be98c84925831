"""Indicators through the real `storyline serve` over HTTP and the `storyline` CLI as a
subprocess, as an operator and a client use them: events in, a STIX feed imported with
the CLI while the service runs its background stage, related stories over GraphQL, a
CSV feed imported over HTTP with the admin scope only, events after the feed matched."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx2 as httpx

from app.api.auth import add_token
from app.investigation.stories import story_id
from app.neo4j.database import Database, Target
from tests.indicators.test_feeds import FEEDS
from tests.indicators.test_matching import CSV, hosts
from tests.server import Server, serve, storyline_command, target_env
from tests.test_layers import P

INGEST = (
    """mutation($records: String!) { ingest(records: $records, wait: PROCESSED) { accepted } }"""
)
IMPORT = """mutation($content: String!) { importIndicators(feed: "cert-csv", format: CSV,
  content: $content, severity: CRITICAL) { indicators errorCount recheck { events signals } } }"""


def post(server: Server, token: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = httpx.post(
        server.url + "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def cli(target: Target, tokens_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **target_env(target), "STORYLINE_API_TOKENS_FILE": str(tokens_file)}
    return subprocess.run(
        [*storyline_command(), *args], env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


def test_indicators_through_the_cli_and_the_service(
    db: Database, neo4j_target: Target, tmp_path: Path
) -> None:
    tokens_file = tmp_path / "api-tokens"
    admin = add_token(tokens_file, "lead", ["admin"])
    reader = add_token(tokens_file, "analyst", ["read"])
    events, keys = hosts()
    env = {"STORYLINE_API_TOKENS_FILE": str(tokens_file)}
    with serve(neo4j_target, tmp_path, env) as server:
        records = "".join(json.dumps(e) + "\n" for e in events)
        assert post(server, admin, INGEST, records=records)["data"]["ingest"]["accepted"] == 11

        # the CLI imports the STIX feed while the service runs; it returns once the
        # re-check's signals are in their stories
        done = cli(neo4j_target, tokens_file, "indicators", "import",
                   str(FEEDS / "example-cert.stix.json"), "--feed", "example-cert")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == (
            "example-cert: 8 indicators (10 read, 10 skipped, 0 errors, 0 dropped from earlier "
            "imports); re-checked 5 stored events: 5 signals"
        )
        assert "  skipped 1: pattern part on url:value" in done.stdout.splitlines()
        assert "re-checking stored events: 5 read, 5 signals" in done.stderr

        a, b = story_id(keys["a"]), story_id(keys["b"])
        related = "query($id: ID!) { story(id: $id) { related { story { id hosts } indicators { id } } } }"  # noqa: E501
        found = post(server, reader, related, id=a)["data"]["story"]["related"]
        assert found == [
            {"story": {"id": b, "hosts": ["node-b"]},
             "indicators": [{"id": "ip:203.0.113.50"},
                            {"id": "sha256:4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877"}]}  # noqa: E501
        ]  # fmt: skip

        # importing is for admins: a reader is refused, and nothing changes
        refused = post(server, reader, IMPORT, content=CSV)
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
        report = post(server, admin, IMPORT, content=CSV)["data"]["importIndicators"]
        assert report == {"indicators": 4, "errorCount": 2, "recheck": {"events": 5, "signals": 5}}

        # events after the feeds: a fourth host resolving the C2 name is flagged by both
        d = P("node-d", 8100, 40, "/usr/bin/python3", ["python3", "-c", "..."],
              attrs={"cgroup": "/system.slice/jupyter.service"})  # fmt: skip
        late = [d.exec(), d.event("dns_query", dns={"name": "c2.bad-actor.example"})]
        records = "".join(json.dumps(e) + "\n" for e in late)
        assert post(server, admin, INGEST, records=records)["data"]["ingest"]["accepted"] == 2
        signals = "query($id: ID!) { story(id: $id) { severity signals { ruleId title } } }"
        story = post(server, reader, signals, id=story_id("node-d:jupyter.service"))["data"]
        assert story["story"] == {
            "severity": "CRITICAL",
            "signals": [
                {"ruleId": "indicator:cert-csv",
                 "title": "Indicator from cert-csv: c2.bad-actor.example"},
                {"ruleId": "indicator:example-cert",
                 "title": "Indicator from example-cert: c2.bad-actor.example"},
            ],
        }  # fmt: skip

    listed = cli(neo4j_target, tokens_file, "indicators", "list", "--feed", "cert-csv", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [i["id"] for i in json.loads(listed.stdout)] == [
        "domain:c2.bad-actor.example",
        "ip:203.0.113.50",
        "md5:f87e499e0b387e9a8a29197a85f50792",
        "sha256:4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877",
    ]
    feeds = cli(neo4j_target, tokens_file, "indicators", "feeds")
    assert feeds.returncode == 0, feeds.stderr
    assert [line.split(" | ")[0].strip() for line in feeds.stdout.splitlines()[2:4]] == [
        "cert-csv",
        "example-cert",
    ]
    bad = cli(neo4j_target, tokens_file, "indicators", "import", str(tmp_path / "nope.csv"),
              "--feed", "x")  # fmt: skip
    assert (bad.returncode, bad.stderr) == (
        1,
        f"storyline: error: cannot read {tmp_path / 'nope.csv'}: No such file or directory\n",
    )
    partial = cli(neo4j_target, tokens_file, "indicators", "import",
                  str(FEEDS / "example-cert.csv"), "--feed", "cert-csv", "--quiet")  # fmt: skip
    assert partial.returncode == 3
    assert "  error at line 7: a network range, not one address: '198.51.100.0/24'" in (
        partial.stdout.splitlines()
    )
