"""Typed reads of records for the adapters: a wrong type is a reason, never a guess.

Two wordings of the same check exist, because rejection reasons are pinned:
`expect_object`, `text`, `mapping` and `array` say "where: expected an object,
got list" (Python's type name); `must_be_object`, `must_be_string` and
`must_be_list` say "where must be a JSON object, not an array" (JSON's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.adapters import RawRecord


class Unusable(ValueError):
    """A record cannot become an event, audit record or finding; the message is the reason."""


def expect_object(value: Any, where: str = "") -> dict[str, Any]:
    """Returns value when it is an object; else Unusable, worded `{where}expected an object`."""
    if not isinstance(value, dict):
        raise Unusable(f"{where}expected an object, got {type(value).__name__}")
    return value


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
    return expect_object(value, f"{where}{key}: ")


def array(parent: dict[str, Any], key: str, where: str = "") -> list[Any]:
    """Returns a list field; missing is [], another type is Unusable."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unusable(f"{where}{key}: expected a list, got {type(value).__name__}")
    return value


def json_type(value: Any) -> str:
    """Names a JSON value's type as a reason says it: an object, an array, null, ..."""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def must_be_object(value: Any, where: str) -> dict[str, Any]:
    """Returns value when it is an object; else Unusable, worded `{where} must be`."""
    if not isinstance(value, dict):
        raise Unusable(f"{where} must be a JSON object, not {json_type(value)}")
    return value


def must_be_string(value: Any, where: str) -> str | None:
    """Returns value when it is a string or null; else Unusable, worded `{where} must be`."""
    if value is None or isinstance(value, str):
        return value
    raise Unusable(f"{where} must be a string, not {json_type(value)}")


def must_be_list(value: Any, where: str) -> list[Any]:
    """Returns value when it is a list; else Unusable, worded `{where} must be`."""
    if not isinstance(value, list):
        raise Unusable(f"{where} must be a list, not {json_type(value)}")
    return value


def record_object(record: RawRecord, what: str) -> dict[str, Any]:
    """Returns a record's JSON object; a record of invalid JSON gives its decode error."""
    error = getattr(record.text, "error", None)
    if record.value is None and error:
        # ingest (app/ingest.py `outcomes`) rejects invalid JSON before any adapter;
        # this answers callers that hand an adapter framed records themselves
        raise Unusable(error)
    return must_be_object(record.value, what)
