"""Every cypher/ file compiles, opens with its comment header, and is used by the app."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
from neo4j import graph

from app.generate import lines
from app.ingest import ingest
from app.neo4j.database import Database, cypher_files, statements
from app.resources import cypher_dir
from tests import test_hunting as hunting
from tests.conftest import DATASETS

APP = Path(__file__).resolve().parent.parent / "app"
FILES = cypher_files()


@functools.cache
def _app_sources() -> str:
    """Every Python file of app/, joined: where a cypher file's name must appear."""
    return "\n".join(p.read_text() for p in APP.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(cypher_dir()).with_suffix("").as_posix()


def test_there_are_cypher_files() -> None:
    assert "constraints" in {_name(p) for p in FILES}


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_statement_compiles(path: Path, db: Database) -> None:
    found = statements(path.read_text())
    assert found, f"{path} holds no statement"
    with db.session(write=True) as s:
        for statement in found:
            s.run("EXPLAIN " + statement).consume()


# Labels that grow with the workload: a statement that scans one of them costs
# more with every event ingested.
LARGE_LABELS = ("Event", "Process", "AuditRecord", "Signal")


def _scans(plan: Any) -> list[str]:
    """Returns the full scans in a plan: every node, or every node of a large label."""
    found = []
    details = str(plan.get("args", {}).get("Details", ""))
    operator = plan["operatorType"].split("@")[0]
    if operator == "AllNodesScan" or (
        operator == "NodeByLabelScan" and any(f":{label}" in details for label in LARGE_LABELS)
    ):
        found.append(f"{operator} {details}")
    for child in plan.get("children", []):
        found += _scans(child)
    return found


def _offenders(db: Database) -> dict[str, list[str]]:
    """The statements whose fresh plan (not a cached one) scans a large label."""
    offenders = {}
    with db.session(write=True) as s:
        for path in FILES:
            for statement in statements(path.read_text()):
                plan = s.run("CYPHER replan=force EXPLAIN " + statement).consume().plan
                if scans := _scans(plan):
                    offenders[_name(path)] = scans
    return offenders


def test_no_statement_scans_a_large_label(db: Database) -> None:
    # with data in every large label, so that the planner weighs real counts
    ingest(db, "storyline", [x + "\n" for x in lines(3, 2000)])
    trail = DATASETS / "cloudtrail-otrf-imds-s3" / "ec2_proxy_s3_exfiltration_2020-09-14011940.json"
    ingest(db, "cloudtrail", trail.read_text().splitlines(True))
    assert _offenders(db) == {}


def test_no_statement_scans_a_large_label_when_planned_on_an_empty_graph(db: Database) -> None:
    # the bundled Neo4j keeps a plan for up to a minute (dbms.cypher.min_replan_interval):
    # one made on an empty graph serves the first minute of ingest into it
    assert _offenders(db) == {}


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_file_opens_with_a_comment_header(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("// "), f"{path} must open with // lines saying what it does"


def _readme_hunting_table() -> list[str]:
    """The query names in the first column of the README's hunting table."""
    text = (APP.parent / "README.md").read_text()
    section = text.split("\n## Hunting queries\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_file_is_used(path: Path) -> None:
    name = _name(path)
    if name.startswith("queries/hunting/"):
        # analysts' saved queries, run by people: each is documented, and a test runs it
        # on a workload with planted attacks and names the attacks it must surface
        stem = path.stem
        assert stem in _readme_hunting_table(), f"README's hunting table lacks {stem!r}"
        assert path in hunting.HUNTING, f"tests/test_hunting.py does not run {stem!r}"
        assert hunting.FINDS.get(stem), f"tests/test_hunting.py expects nothing of {stem!r}"
        return
    sources = _app_sources()
    assert f'"{name}"' in sources, f"no code in app/ names cypher file {name!r}"


def test_the_readme_hunting_table_lists_exactly_the_hunting_files() -> None:
    files = sorted(p.stem for p in FILES if _name(p).startswith("queries/hunting/"))
    assert len(files) >= 5
    assert sorted(_readme_hunting_table()) == files


def _readme_queries() -> list[str]:
    """The README's example Cypher: each statement after a // comment in a cypher block."""
    text = (APP.parent / "README.md").read_text()
    found = []
    for block in text.split("```cypher\n")[1:]:
        body = block.split("```", 1)[0]
        for chunk in body.split("\n\n"):
            query = "\n".join(x for x in chunk.splitlines() if not x.startswith("//")).strip()
            if query:
                found.append(query)
    return found


def test_the_readme_example_queries_compile(db: Database) -> None:
    queries = _readme_queries()
    assert len(queries) >= 4
    with db.session() as s:
        for query in queries:
            s.run("EXPLAIN " + query).consume()


# The statements Database.read_values runs, each with parameters that select rows on
# the workload below. read_values skips Record.data(), which is what turns nodes,
# relationships and paths into dicts: these statements must return none of them.
READ_VALUES_INPUTS = {
    "rules/process_lineages": ("keys", "MATCH (p:Process) RETURN p.key"),
    "rules/batch_events": ("ids", "MATCH (e:Event) RETURN e.id"),
    "rules/connection_samples": (
        "ids", "MATCH (e:Event {kind: 'network_connect'})-[:CONNECTS]->() RETURN e.id"
    ),
}  # fmt: skip


def _graph_values(value: Any) -> list[str]:
    """The types of the nodes, relationships and paths anywhere in a value."""
    if isinstance(value, graph.Node | graph.Relationship | graph.Path):
        return [type(value).__name__]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _graph_values(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _graph_values(v)]
    return []


def test_the_statements_read_without_record_data_return_only_values(db: Database) -> None:
    sources = _app_sources()
    assert set(re.findall(r'read_values\(\s*"([^"]+)"', sources)) == set(READ_VALUES_INPUTS)
    ingest(db, "storyline", [x + "\n" for x in lines(3, 3000)])
    for name, (parameter, select) in READ_VALUES_INPUTS.items():
        with db.session() as s:
            chosen = [r[0] for r in s.run(select)]
        found = db.read_values(name, **{parameter: chosen})
        assert found, f"{name} found nothing to check on this workload"
        assert [t for row in found for t in _graph_values(row)] == [], name
        assert found == db.read(name, **{parameter: chosen})  # what Record.data() gives
