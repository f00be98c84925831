"""Errors in YAML rules, and the context a rule is compiled in: its file, id and lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.errors import StorylineError


class RuleError(StorylineError):
    """A rule file cannot be read or one of its rules is malformed."""

    def __init__(self, message: str, *, path: str | None = None, rule_id: str | None = None):
        super().__init__(message)
        self.path = path
        self.rule_id = rule_id


@dataclass(frozen=True)
class Ctx:
    """Where a rule comes from, for error messages, and the lists it may refer to."""

    source: str
    rule_id: str | None
    lists: Mapping[str, tuple[Any, ...]]

    def error(self, where: str, problem: str) -> RuleError:
        rule = f"rule {self.rule_id!r}: " if self.rule_id else ""
        place = f"{where}: " if where else ""
        message = f"{self.source}: {rule}{place}{problem}"
        return RuleError(message, path=self.source, rule_id=self.rule_id)
