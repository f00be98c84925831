"""Graph state as sets (or multisets) of tuples, for asserting what the graph holds."""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.neo4j.database import Database

# properties that record when something happened to the store, not what it holds
VOLATILE = {"received_at", "updated_at", "taken_at", "cycles"}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return value


def _identity(labels: list[str], props: dict[str, Any]) -> str:
    for name in ("key", "id", "uid"):
        if name in props:
            return f"{sorted(labels)[0]}:{props[name]}"
    raise AssertionError(f"node without a key: {labels} {props}")


def snapshot(db: Database) -> tuple[frozenset, frozenset]:
    """Returns every node and relationship, with their properties, as two sets."""
    _, nodes = db.query("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props")
    _, rels = db.query(
        "MATCH (a)-[r]->(b) RETURN labels(a) AS al, properties(a) AS ap, type(r) AS type, "
        "properties(r) AS rp, labels(b) AS bl, properties(b) AS bp"
    )
    node_set = frozenset(
        (
            _identity(n["labels"], n["props"]),
            tuple(sorted(n["labels"])),
            tuple(sorted((k, _plain(v)) for k, v in n["props"].items() if k not in VOLATILE)),
        )
        for n in nodes
    )
    assert len(node_set) == len(nodes)
    rel_set = frozenset(
        (
            _identity(r["al"], r["ap"]),
            r["type"],
            _identity(r["bl"], r["bp"]),
            tuple(sorted((k, _plain(v)) for k, v in r["rp"].items())),
        )
        for r in rels
    )
    assert len(rel_set) == len(rels), "duplicate relationships"
    return node_set, rel_set


def counts(db: Database) -> dict[str, int]:
    """Returns node counts per label and relationship counts per type."""
    _, nodes = db.query("MATCH (n) UNWIND labels(n) AS l RETURN l, count(*) AS c")
    _, rels = db.query("MATCH ()-[r]->() RETURN type(r) AS l, count(*) AS c")
    return {row["l"]: row["c"] for row in nodes + rels}


def rows(db: Database, query: str, **params: Any) -> set[tuple]:
    """Runs a read query and returns its rows as a set of tuples (repeats collapse: see
    rows_list and rows_counted where a row found twice must show)."""
    return set(rows_list(db, query, **params))


def rows_list(db: Database, query: str, **params: Any) -> list[tuple]:
    """Runs a read query and returns its rows as tuples, in the query's order, repeats kept."""
    columns, result = db.query(query, params)
    return [tuple(_plain(r[c]) for c in columns) for r in result]


def rows_counted(db: Database, query: str, **params: Any) -> Counter[tuple]:
    """Runs a read query and returns how many times each row came back."""
    return Counter(rows_list(db, query, **params))


def diff(expected: tuple[frozenset, frozenset], actual: tuple[frozenset, frozenset]) -> str:
    """Describes how two snapshots differ, node by node and property by property."""
    lines = []
    exp_nodes = {n[0]: dict(n[2]) for n in expected[0]}
    act_nodes = {n[0]: dict(n[2]) for n in actual[0]}
    for key in sorted(exp_nodes.keys() | act_nodes.keys()):
        a, b = exp_nodes.get(key), act_nodes.get(key)
        if a is None or b is None:
            lines.append(f"node {key}: {'missing' if b is None else 'unexpected'}")
            continue
        for prop in sorted(a.keys() | b.keys()):
            if a.get(prop) != b.get(prop):
                lines.append(f"node {key}.{prop}: expected {a.get(prop)!r}, got {b.get(prop)!r}")
    for rel in sorted(expected[1] - actual[1]):
        lines.append(f"missing relationship {rel}")
    for rel in sorted(actual[1] - expected[1]):
        lines.append(f"unexpected relationship {rel}")
    return "\n".join(lines)
