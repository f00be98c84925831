"""One YAML rule (a mapping) checked key by key and compiled into a `Rule`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from app.events import EVENT_KINDS
from app.rules.actions import compile_template
from app.rules.model import ACTION_TYPES, SEVERITIES, ActionTemplate, Predicate, Rule
from app.rules.yamlcompile.conditions import compile_condition
from app.rules.yamlcompile.context import Ctx

# fmt: off
TACTICS: frozenset[str] = frozenset((
    "reconnaissance", "resource_development", "initial_access", "execution", "persistence",
    "privilege_escalation", "defense_evasion", "credential_access", "discovery",
    "lateral_movement", "collection", "command_and_control", "exfiltration", "impact",
))
"""MITRE ATT&CK Enterprise tactics, snake_case."""

_RULE_KEYS = frozenset((
    "id", "title", "description", "severity", "tactic", "technique", "compromises", "kinds",
    "match", "actions",
))
# fmt: on
DEFAULT_KINDS: frozenset[str] = frozenset(EVENT_KINDS) - {"alert"}
"""The kinds a rule applies to when it names none: sensors' own alerts are signals already."""

_REQUIRED = ("id", "title", "severity", "match")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")


def _text(rule: Mapping[str, Any], key: str, ctx: Ctx) -> str | None:
    value = rule.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ctx.error(key, f"expected a non-empty string, got {value!r}")
    return value.strip()


# `- kill_process: "Kill {process.pid}"` in YAML; a plain string is a REVIEW action
ACTION_KEYS: dict[str, str] = {t.lower(): t for t in ACTION_TYPES}
_ACTION_SHAPE = (
    "an action is a string (a review for a person) or a mapping of one type to its text: "
    + ", ".join(f"{key}: ..." for key in ACTION_KEYS)
)


def _actions(raw: Any, ctx: Ctx) -> tuple[ActionTemplate, ...]:
    if not isinstance(raw, list):
        raise ctx.error("actions", "expected a list of actions")
    out = []
    for i, item in enumerate(raw):
        where = f"actions[{i}]"
        if isinstance(item, str):
            kind, text = "REVIEW", item
        elif isinstance(item, dict) and len(item) == 1:
            [(key, text)] = item.items()
            if key not in ACTION_KEYS:
                raise ctx.error(where, f"unknown action type {key!r}; {_ACTION_SHAPE}")
            kind = ACTION_KEYS[key]
        else:
            raise ctx.error(where, _ACTION_SHAPE)
        if not isinstance(text, str) or not text.strip():
            raise ctx.error(where, "an action's text is a non-empty string")
        compile_template(text, ctx, where)
        out.append(ActionTemplate(kind, text.strip()))
    return tuple(out)


def compile_rule(
    raw: Any, where: str, name: str, origin: str, lists: Mapping[str, tuple[Any, ...]]
) -> Rule:
    """Compiles one raw rule of file `name`; `origin` becomes `Rule.source`."""
    source = name
    ctx = Ctx(source, None, lists)
    if not isinstance(raw, dict):
        raise ctx.error(where, f"a rule is a mapping, got {type(raw).__name__}")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise ctx.error(where, f"bad or missing id {rule_id!r} (letters, digits and _.:-)")
    ctx = Ctx(source, rule_id, lists)
    unknown = sorted(str(k) for k in raw if k not in _RULE_KEYS)
    if unknown:
        known = ", ".join(sorted(_RULE_KEYS))
        raise ctx.error("", f"unknown key(s) {', '.join(unknown)} (known: {known})")
    for key in _REQUIRED:
        if raw.get(key) is None:
            raise ctx.error("", f"missing required key {key!r}")
    title = _text(raw, "title", ctx)
    description = _text(raw, "description", ctx)
    severity = raw["severity"]
    if severity not in SEVERITIES:
        raise ctx.error("severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    tactic = _text(raw, "tactic", ctx)
    if tactic is not None and tactic not in TACTICS:
        known = ", ".join(sorted(TACTICS))
        raise ctx.error("tactic", f"{tactic!r} is not a MITRE ATT&CK tactic, snake_case: {known}")
    technique = _text(raw, "technique", ctx)
    if technique is not None and not _TECHNIQUE.match(technique):
        raise ctx.error("technique", f"{technique!r} is not a technique id like T1059.004")
    compromises = raw.get("compromises", False)
    if not isinstance(compromises, bool):
        raise ctx.error("compromises", f"expected true or false, got {compromises!r}")
    kinds_raw = raw.get("kinds")
    if kinds_raw is None:
        kinds = DEFAULT_KINDS
    else:
        if not isinstance(kinds_raw, list) or not kinds_raw:
            raise ctx.error("kinds", "expected a non-empty list of event kinds")
        bad = [k for k in kinds_raw if k not in EVENT_KINDS]
        if bad:
            raise ctx.error(
                "kinds", f"unknown event kind(s) {bad} (known: {', '.join(EVENT_KINDS)})"
            )
        kinds = frozenset(kinds_raw)
    actions = _actions(raw.get("actions", []), ctx)
    predicate: Predicate = compile_condition(raw["match"], "match", ctx)
    return Rule(
        id=rule_id,
        title=cast(str, title),
        severity=severity,
        predicate=predicate,
        description=description,
        tactic=tactic,
        technique=technique,
        compromises=compromises,
        kinds=kinds,
        actions=actions,
        source=origin,
    )
