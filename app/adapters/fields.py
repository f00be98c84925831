"""Typed reads of JSON records for the adapters: a wrong type is a reason, never a guess."""

from __future__ import annotations

from typing import Any


class Unusable(ValueError):
    """A record cannot become an event or audit record; the message is the reason."""


def text(parent: dict[str, Any], key: str, where: str = "") -> str | None:
    """Returns a string field; missing or empty is None, another type is Unusable."""
    value = parent.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Unusable(f"{where}{key}: expected a string, got {type(value).__name__}")
    return value


def mapping(parent: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    """Returns an object field; missing is {}, another type is Unusable."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Unusable(f"{where}{key}: expected an object, got {type(value).__name__}")
    return value


def array(parent: dict[str, Any], key: str, where: str = "") -> list[Any]:
    """Returns a list field; missing is [], another type is Unusable."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unusable(f"{where}{key}: expected a list, got {type(value).__name__}")
    return value
