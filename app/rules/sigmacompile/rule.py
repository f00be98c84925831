"""A parsed Sigma rule compiled into a `Rule`: log source, severity, ATT&CK tags, actions."""

from __future__ import annotations

import re
from pathlib import Path

from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from app.rules.model import ActionTemplate, Rule, Severity
from app.rules.sigmacompile.detection import Compiler
from app.rules.sigmacompile.fields import FIELDS, KINDS
from app.rules.sigmacompile.unsupported import Unsupported, messages

ACTIONS: dict[str, tuple[str, ...]] = {
    "process_creation": (
        "Review process {process.pid} ({process.exe}) on host {event.host_id}: {process.cmdline}",
        "Check its parent {parent.pid} ({parent.exe}) and what else that parent ran",
    ),
    "network_connection": (
        "Review the connection of process {process.pid} ({process.exe}) on host "
        "{event.host_id} to {event.dst_ip}:{event.dst_port}",
        "Check what else process {process.pid} ({process.cmdline}) did on the network",
    ),
    "file_event": (
        "Review {event.path} written by process {process.pid} ({process.exe}) on host "
        "{event.host_id}",
        "Check the file's content and who reads or runs it",
    ),
}

_SEVERITY: dict[str, Severity] = {
    "informational": "info",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}

_TECHNIQUE = re.compile(r"t\d{4}(\.\d{3})?")
_TAG_ID = re.compile(r"[a-z]+\d+")  # attack.g0032, attack.s0508: groups, software, ...


def compile_rule(rule: SigmaRule | SigmaCorrelationRule, path: Path, n: int | None) -> Rule:
    """Compiles the n-th rule of a file (None: its only one), or raises Unsupported."""
    if isinstance(rule, SigmaCorrelationRule):
        raise Unsupported("correlation rule: counting events over time is not evaluated")
    if rule.errors:
        raise Unsupported(f"parse error: {messages(rule.errors)}")
    logsource = rule.logsource
    if logsource.product not in (None, "linux"):
        raise Unsupported(f"logsource product {logsource.product}: only linux is evaluated")
    if logsource.service is not None:
        raise Unsupported(f"logsource service {logsource.service} is not evaluated")
    category = logsource.category
    if category not in FIELDS:
        raise Unsupported(
            f"logsource category {category} is not evaluated (only {', '.join(FIELDS)})"
        )
    predicate = Compiler(rule.detection, category).rule_predicate()
    stem = path.stem if n is None else f"{path.stem}.{n}"
    tactic, technique = _attack(rule)
    level = str(rule.level) if rule.level is not None else "medium"
    return Rule(
        id=f"sigma.{rule.id or stem}",
        title=rule.title,
        severity=_SEVERITY.get(level, "medium"),
        predicate=predicate,
        description=_description(rule),
        tactic=tactic,
        technique=technique,
        kinds=KINDS[category],
        actions=_actions(rule, category),
        source=f"sigma:{path.name}",
    )


def _attack(rule: SigmaRule) -> tuple[str | None, str | None]:
    tactic = technique = None
    for tag in rule.tags:
        if tag.namespace != "attack":
            continue
        name = tag.name.lower()
        if _TECHNIQUE.fullmatch(name):
            technique = technique or name.upper()
        elif not _TAG_ID.fullmatch(name):
            tactic = tactic or name.replace("-", "_")
    return tactic, technique


def _description(rule: SigmaRule) -> str:
    text = (rule.description or rule.title).strip()
    credit = f"Sigma rule {rule.id}" if rule.id else "Sigma rule"
    if rule.author:
        credit += f" by {rule.author}"
    return f"{text}\n\n{credit}, Detection Rule License (DRL) 1.1."


def _actions(rule: SigmaRule, category: str) -> tuple[ActionTemplate, ...]:
    """Sigma rules say nothing of response: their actions are reviews for a person."""
    known = [
        fp.strip()
        for fp in rule.falsepositives
        if isinstance(fp, str) and fp.strip().lower() not in ("", "unknown", "unlikely", "none")
    ]
    actions = ACTIONS[category]
    if known:
        # braces would read as view placeholders
        text = "; ".join(known).replace("{", "(").replace("}", ")")
        actions += (f"Rule out the known false positives: {text}",)
    return tuple(ActionTemplate("REVIEW", text) for text in actions)
