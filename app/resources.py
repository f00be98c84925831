"""Locates the files that ship beside the code: cypher/ and the jar manifests of deploy/."""

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
