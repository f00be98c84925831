"""Locates the files that ship beside the code: cypher/ and the Neo4j pom."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def resource(relative: str) -> Path:
    """Returns the path of a shipped file, from the checkout or the installed wheel."""
    for base in (_CHECKOUT, _PACKAGE / "_resources"):
        candidate = base / relative
        if candidate.exists():
            return candidate
    return _CHECKOUT / relative


def cypher_dir() -> Path:
    """Returns the cypher/ directory."""
    return resource("cypher")


def neo4j_pom() -> Path:
    """Returns the pom.xml that fetches the Neo4j server jars."""
    path = resource("deploy/neo4j/pom.xml")
    if path.exists():
        return path
    return _PACKAGE / "_resources" / "neo4j" / "pom.xml"


def neo4j_manifest() -> Path:
    """Returns the manifest of the Neo4j server jars (coordinates, size, SHA-256)."""
    path = resource("deploy/neo4j/manifest.tsv")
    if path.exists():
        return path
    return _PACKAGE / "_resources" / "neo4j" / "manifest.tsv"
