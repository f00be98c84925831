"""The public names are a contract: graph labels, relationship types, CLI commands, formats.

A change here is a change for every analyst's saved query and every script;
this test fails so that it is made on purpose, with the README updated.
"""

from __future__ import annotations

from pathlib import Path

from app.adapters import FORMATS
from app.cli import build_parser
from app.generate import lines
from app.ingest import ingest
from app.neo4j.database import Database
from tests.graphstate import rows

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()

LABELS = {
    "Host", "Container", "Pod", "Process", "Event", "File", "Endpoint", "Domain",
    "Signal", "Context", "Story", "Lock",
}  # fmt: skip
RELATIONSHIPS = {
    "CHILD_OF", "ON_HOST", "IN_CONTAINER", "IN_POD", "BY", "TOUCHES", "CONNECTS",
    "RESOLVES", "ON", "IN_CONTEXT", "OF", "HAS", "ACTIVITY",
}  # fmt: skip
COMMANDS = {
    "serve", "neo4j", "cypher", "ingest", "dead-letters", "generate", "demo", "stories",
    "story", "rules", "layers", "schema", "tokens", "search", "prune", "indicators",
    "exceptions", "consume", "kafka",
}  # fmt: skip


def test_a_generated_workload_uses_exactly_the_documented_names(db: Database) -> None:
    ingest(db, "storyline", (line + "\n" for line in lines(3, 3000)))
    labels = {r[0] for r in rows(db, "MATCH (n) UNWIND labels(n) AS l RETURN DISTINCT l")}
    types = {r[0] for r in rows(db, "MATCH ()-[r]->() RETURN DISTINCT type(r)")}
    assert labels == LABELS
    assert types == RELATIONSHIPS


def test_every_public_name_is_in_the_readme() -> None:
    extra = {
        "AuditRecord",
        "DeadLetter",
        "TriageChange",
        "TRIAGE",
        "RELATES_TO",
        "Finding",
        "AFFECTS",
        "EventVersion",
        "VERSION_OF",
        "Annotation",
        "ANNOTATES",
        "ActionApproval",
        "APPROVAL",
        "RuleException",
        "ExceptionChange",
        "SUPPRESSED_BY",
        "HISTORY",
        "Feed",
        "Indicator",
        "FROM",
        "MATCHED",
    }
    for name in LABELS | RELATIONSHIPS | extra:
        assert f"`{name}`" in README or f":{name}]" in README, name
    for fmt in FORMATS:
        assert f"`{fmt}`" in README, fmt


def test_the_cli_commands() -> None:
    parser = build_parser()
    found = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert found == COMMANDS
    for command in COMMANDS:
        assert f"storyline {command}" in README, command
