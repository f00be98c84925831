"""Every cypher/ file compiles, opens with its comment header, and is used by the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.neo4j.database import Database, cypher_files, statements
from app.resources import cypher_dir

APP = Path(__file__).resolve().parent.parent / "app"
FILES = cypher_files()


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


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_file_opens_with_a_comment_header(path: Path) -> None:
    first = path.read_text().splitlines()[0]
    assert first.startswith("// "), f"{path} must open with // lines saying what it does"


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_file_is_used(path: Path) -> None:
    name = _name(path)
    if name.startswith("queries/hunting/"):
        return  # analysts' saved queries: run by people, compiled above
    sources = "\n".join(p.read_text() for p in APP.rglob("*.py"))
    assert f'"{name}"' in sources, f"no code in app/ names cypher file {name!r}"


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
