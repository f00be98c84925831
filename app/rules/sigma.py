"""Sigma rules for Linux `process_creation`, `network_connection` and `file_event`.

`load_sigma(paths)` reads Sigma rule files (a directory: every `*.yml` under
it), lets pySigma parse them, and compiles each rule's detection into a
`Rule` whose predicate matches the event view of `app.rules.model`. Every rule
read ends up in exactly one of `SigmaLoad.rules` (it evaluates) or
`SigmaLoad.unsupported` (it does not, with the reason); unsupported rules are
also logged as warnings when they are loaded. Nothing is skipped in silence.

A rule becomes `Rule(id="sigma.<Sigma id>", source="sigma:<file name>")`; its
severity is the Sigma `level` (informational -> info; no level -> medium), its
tactic and technique come from the `attack.*` tags (`attack.command-and-control`
-> command_and_control, `attack.t1059.004` -> T1059.004; the first of each), its
description ends with the rule's author, as the Detection Rule License asks.

Field mapping (a public contract: rules written against it must keep working)
-----------------------------------------------------------------------------

Process fields are available in all three categories, since the view carries
the acting process of every event (Sysmon ships them with process creation
only):

| Sigma field         | view                 | note                                    |
|---------------------|----------------------|-----------------------------------------|
| `Image`             | `process.exe`        |                                         |
| `CommandLine`       | `process.cmdline`    | argv joined by spaces                   |
| `CurrentDirectory`  | `process.cwd`        |                                         |
| `User`              | `process.user`       | a user name                             |
| `LogonId`           | `process.uid`        | what Sysmon for Linux writes there      |
| `ProcessId`         | `process.pid`        |                                         |
| `ParentProcessId`   | `process.ppid`       |                                         |
| `TerminalSessionId` | `process.session_id` | the audit session id                    |
| `ParentImage`       | `parent.exe`         |                                         |
| `ParentCommandLine` | `parent.cmdline`     |                                         |
| `ParentUser`        | `parent.user`        |                                         |

`network_connection` (event kinds network_connect, network_accept) adds the
fields below. Sigma's source is the end that initiated the connection, while
the view's `src` is always the acting process's own end, so on an accept the
two ends swap:

| Sigma field         | view on connect      | view on accept                          |
|---------------------|----------------------|-----------------------------------------|
| `Initiated`         | 'true'               | 'false'                                 |
| `SourceIp`          | `event.src_ip`       | `event.dst_ip`                          |
| `SourcePort`        | `event.src_port`     | `event.dst_port`                        |
| `DestinationIp`     | `event.dst_ip`       | `event.src_ip`                          |
| `DestinationPort`   | `event.dst_port`     | `event.src_port`                        |
| `SourceIsIpv6`      | 'true' when the source address has a ':' (else from `event.family`) |
| `DestinationIsIpv6` | the same for the destination address                           |
| `Protocol`          | `event.protocol` (tcp, udp, ...)                               |

`file_event` (event kinds file_create, file_write, file_rename) adds:

| Sigma field         | view                                                           |
|---------------------|----------------------------------------------------------------|
| `TargetFilename`    | `event.path`; on a rename `event.target_path`, the new name    |

Any other field has no mapping: `DestinationHostname`, `SourceHostname` (a
network event carries no host name), the PE metadata of Windows
(`OriginalFileName`, `Product`, `Description`, `Company`, `FileVersion`),
`Hashes`, `IntegrityLevel`, `LogonGuid`, `ProcessGuid`, ... A rule that uses
one, anywhere in its condition, is unsupported: treating the missing field as
"no match" would silently drop an OR branch, and under a `not` would turn a
filter off and make the rule fire on everything it was meant to exclude.
Field names are matched exactly (case-sensitive), as the Sigma taxonomy spells them.

No Sigma field maps to a list of the view: `process.args` is read through
`CommandLine`. Keywords (values without a field) are searched, as with
`contains`, in `CommandLine` and, for `file_event`, in `TargetFilename`.

Matching
--------

- Strings match case-insensitively, `*` and `?` are wildcards, `\\` escapes
  them (Sigma's defaults). `cased` makes a value case-sensitive; so are values
  made by `base64`/`base64offset`, since base64 text is case-significant.
- A number matches numerically when the field is a number (or a numeric
  string), else as a string; a string value matches a number field by its
  decimal text (`DestinationPort: '4444'`). Booleans read 'true'/'false'.
- A null value (`Field: null`) matches a missing field (None in the view);
  any other value never matches a missing field, so `not` of it is true.
  `exists: true` means the value is not None.
- `re` searches anywhere in the value (like `grep`, not anchored: SigmaHQ's
  rules are written so, e.g. `CommandLine|re: '-D'`); case-sensitive unless the
  `i` flag is given. Regular expressions run on RE2, as pySigma validates them.
- A list of values is an OR; with `all`, an AND.
- Several conditions (a list under `condition`) are ORed.
- Sigma filters (`filter:` documents) among the loaded files are applied to the
  rules they select, as pySigma does.

Supported modifiers: contains, startswith, endswith, all, cased, neq, exists,
windash, re (with i/ignorecase, m/multiline, s/dotall), cidr (IPv4 and IPv6; an
IPv4-mapped IPv6 address counts as IPv4), base64, base64offset (both also after
wide/utf16/utf16be), gt, gte, lt, lte, fieldref (against another mapped field).

Unsupported, and reported: expand (placeholders need a processing pipeline),
the time modifiers minute/hour/day/week/month/year (no timestamp field is
mapped), wide/utf16/utf16be not followed by a base64 modifier (the view holds
decoded text), correlation rules (they count events over time), other log
sources, and any error pySigma reports while parsing.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.modifiers import (
    SigmaBase64Modifier,
    SigmaBase64OffsetModifier,
    SigmaCaseSensitiveModifier,
    SigmaExpandModifier,
    SigmaModifier,
    SigmaTimestampModifier,
    SigmaUTF16BEModifier,
    SigmaUTF16Modifier,
    SigmaWideModifier,
    reverse_modifier_mapping,
)
from sigma.policy import default_policy
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaDetections, SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from app.errors import InputError
from app.rules.model import Predicate, Rule, Severity, View

log = logging.getLogger(__name__)

Getter = Callable[[View], Any]
Test = Callable[[Any], bool]  # a field's value -> match
Check = Callable[[Any, View], bool]  # the same, with the view (a fieldref reads a second field)


@dataclass(frozen=True)
class SigmaLoad:
    """The rules that evaluate, and the ones that do not with the reason why."""

    rules: list[Rule] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)  # (file[#n], reason)


def _section(section: str, name: str) -> Getter:
    def get(view: View) -> Any:
        holder = view.get(section)
        return holder.get(name) if isinstance(holder, dict) else None

    return get


def _cmdline(section: str) -> Getter:
    def get(view: View) -> Any:
        holder = view.get(section)
        if not isinstance(holder, dict):
            return None
        cmdline = holder.get("cmdline")
        args = holder.get("args")
        if cmdline is None and isinstance(args, list):
            return " ".join(str(a) for a in args)
        return cmdline

    return get


def _initiated(view: View) -> str | None:
    kind = (view.get("event") or {}).get("kind")
    return {"network_connect": "true", "network_accept": "false"}.get(kind)


def _network_end(role: str, part: str) -> Getter:
    """Returns Sigma's Source*/Destination* field: the initiator's end is the source."""

    def get(view: View) -> Any:
        event = view.get("event") or {}
        accepted = event.get("kind") == "network_accept"
        own_end = (role == "source") != accepted
        return event.get(f"{'src' if own_end else 'dst'}_{part}")

    return get


def _is_ipv6(role: str) -> Getter:
    address = _network_end(role, "ip")

    def get(view: View) -> str | None:
        ip = address(view)
        if isinstance(ip, str):
            return "true" if ":" in ip else "false"
        family = (view.get("event") or {}).get("family")
        return {"inet6": "true", "inet": "false"}.get(family)

    return get


def _target_filename(view: View) -> Any:
    event = view.get("event") or {}
    if event.get("kind") == "file_rename":
        return event.get("target_path")
    return event.get("path")


_PROCESS_FIELDS: dict[str, Getter] = {
    "Image": _section("process", "exe"),
    "CommandLine": _cmdline("process"),
    "CurrentDirectory": _section("process", "cwd"),
    "User": _section("process", "user"),
    "LogonId": _section("process", "uid"),
    "ProcessId": _section("process", "pid"),
    "ParentProcessId": _section("process", "ppid"),
    "TerminalSessionId": _section("process", "session_id"),
    "ParentImage": _section("parent", "exe"),
    "ParentCommandLine": _cmdline("parent"),
    "ParentUser": _section("parent", "user"),
}

FIELDS: dict[str, dict[str, Getter]] = {
    "process_creation": dict(_PROCESS_FIELDS),
    "network_connection": {
        **_PROCESS_FIELDS,
        "Initiated": _initiated,
        "SourceIp": _network_end("source", "ip"),
        "SourcePort": _network_end("source", "port"),
        "DestinationIp": _network_end("destination", "ip"),
        "DestinationPort": _network_end("destination", "port"),
        "SourceIsIpv6": _is_ipv6("source"),
        "DestinationIsIpv6": _is_ipv6("destination"),
        "Protocol": _section("event", "protocol"),
    },
    "file_event": {**_PROCESS_FIELDS, "TargetFilename": _target_filename},
}
"""Sigma field -> how to read it from a view, per log source category."""

KINDS: dict[str, frozenset[str]] = {
    "process_creation": frozenset({"process_exec"}),
    "network_connection": frozenset({"network_connect", "network_accept"}),
    "file_event": frozenset({"file_create", "file_write", "file_rename"}),
}
"""The event kinds a rule of each category applies to."""

KEYWORD_FIELDS: dict[str, tuple[str, ...]] = {
    "process_creation": ("CommandLine",),
    "network_connection": ("CommandLine",),
    "file_event": ("CommandLine", "TargetFilename"),
}
"""The fields keywords (values without a field) are searched in."""

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

_UNSUPPORTED_MODIFIERS: dict[type[SigmaModifier[Any, Any]], str] = {
    SigmaExpandModifier: "placeholders need a processing pipeline",
}
_TEXT_ENCODERS = (SigmaWideModifier, SigmaUTF16Modifier, SigmaUTF16BEModifier)
_BASE64 = (SigmaBase64Modifier, SigmaBase64OffsetModifier)
_TECHNIQUE = re.compile(r"t\d{4}(\.\d{3})?")
_TAG_ID = re.compile(r"[a-z]+\d+")  # attack.g0032, attack.s0508: groups, software, ...
_REGEX = default_policy.regex_engine  # RE2: linear time on any rule's pattern


def load_sigma(paths: Iterable[Path]) -> SigmaLoad:
    """Loads Sigma rule files and directories (every *.yml under them) into rules."""
    loaded = SigmaLoad()
    found: list[tuple[Path, int | None, SigmaRule | SigmaCorrelationRule]] = []
    filters: list[SigmaFilter] = []
    for path in _rule_files(paths):
        collection = _parse(path, loaded)
        if collection is None:
            continue
        several = len(collection.rules) > 1
        for n, rule in enumerate(collection.rules, start=1):
            found.append((path, n if several else None, rule))
        for sigma_filter in collection.filters:
            if sigma_filter.errors:
                _reject(loaded, str(path), f"filter: {_messages(sigma_filter.errors)}")
            else:
                filters.append(sigma_filter)
        if not (collection.rules or collection.filters or collection.errors):
            _reject(loaded, str(path), "no Sigma rule in the file")
    ids: dict[str, str] = {}
    for path, n, sigma_rule in found:
        label = str(path) if n is None else f"{path}#{n}"
        try:
            rule = _compile(_filtered(sigma_rule, filters), path, n)
        except _Unsupported as exc:
            _reject(loaded, label, str(exc))
            continue
        if rule.id in ids:
            _reject(loaded, label, f"duplicate rule id {rule.id} (also in {ids[rule.id]})")
            continue
        ids[rule.id] = label
        loaded.rules.append(rule)
    return loaded


def _rule_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.yml") if p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"no Sigma rule file or directory at {path}")
    return files


def _parse(path: Path, loaded: SigmaLoad) -> SigmaCollection | None:
    """Parses one file; reports it and returns None when it cannot be read at all."""
    try:
        text = path.read_text(encoding="utf-8")
        collection = SigmaCollection.from_yaml(
            text,
            collect_errors=True,
            source=SigmaRuleLocation(path),
            collect_filters=True,
            resolve_references=False,
        )
    except OSError as exc:
        _reject(loaded, str(path), f"unreadable: {exc.strerror or exc}")
        return None
    except UnicodeDecodeError:
        _reject(loaded, str(path), "unreadable: not UTF-8")
        return None
    except yaml.YAMLError as exc:
        _reject(loaded, str(path), f"parse error: not YAML ({_first_line(exc)})")
        return None
    except SigmaError as exc:
        _reject(loaded, str(path), f"parse error: {_message(exc)}")
        return None
    except (AttributeError, TypeError, KeyError) as exc:
        # pySigma reads a document that is not a mapping by calling .get() on it
        _reject(loaded, str(path), f"parse error: not a Sigma document ({exc})")
        return None
    # the collection repeats its rules' errors, which are reported with each rule
    own = {id(e) for r in [*collection.rules, *collection.filters] for e in r.errors}
    file_errors = [e for e in collection.errors if id(e) not in own]
    if file_errors:
        _reject(loaded, str(path), f"parse error: {_messages(file_errors)}")
    return collection


def _filtered(
    rule: SigmaRule | SigmaCorrelationRule, filters: Sequence[SigmaFilter]
) -> SigmaRule | SigmaCorrelationRule:
    if not filters or not isinstance(rule, SigmaRule) or rule.errors:
        return rule
    try:
        return reduce(lambda r, f: f.apply_on_rule(r), filters, rule)
    except SigmaError as exc:
        raise _Unsupported(f"a filter does not apply: {_message(exc)}") from None


def _reject(loaded: SigmaLoad, label: str, reason: str) -> None:
    log.warning("Sigma rule %s not evaluated: %s", label, reason)
    loaded.unsupported.append((label, reason))


def _message(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _messages(errors: Sequence[BaseException]) -> str:
    return "; ".join(dict.fromkeys(_message(e) for e in errors))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class _Unsupported(Exception):  # internal: never leaves this module
    """A rule cannot be evaluated; the message says why."""


def _compile(rule: SigmaRule | SigmaCorrelationRule, path: Path, n: int | None) -> Rule:
    """Compiles the n-th rule of a file (None: its only one), or raises _Unsupported."""
    if isinstance(rule, SigmaCorrelationRule):
        raise _Unsupported("correlation rule: counting events over time is not evaluated")
    if rule.errors:
        raise _Unsupported(f"parse error: {_messages(rule.errors)}")
    logsource = rule.logsource
    if logsource.product not in (None, "linux"):
        raise _Unsupported(f"logsource product {logsource.product}: only linux is evaluated")
    if logsource.service is not None:
        raise _Unsupported(f"logsource service {logsource.service} is not evaluated")
    category = logsource.category
    if category not in FIELDS:
        raise _Unsupported(
            f"logsource category {category} is not evaluated (only {', '.join(FIELDS)})"
        )
    predicate = _Compiler(rule.detection, category).rule_predicate()
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


def _actions(rule: SigmaRule, category: str) -> tuple[str, ...]:
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
    return actions


class _Compiler:
    """Compiles one rule's detections and condition into a predicate over views."""

    def __init__(self, detections: SigmaDetections, category: str) -> None:
        self.detections = detections
        self.category = category
        self.fields = FIELDS[category]
        self.problems: list[str] = []
        self.compiled: dict[str, Predicate] = {}

    def rule_predicate(self) -> Predicate:
        conditions = []
        for condition in self.detections.parsed_condition:
            try:
                condition.parsed  # noqa: B018 - resolves identifiers, raises on errors
                tree = condition.parse(postprocess=False)
            except SigmaError as exc:
                raise _Unsupported(f"condition error: {_message(exc)}") from None
            conditions.append(self.condition(tree))
        if self.problems:
            raise _Unsupported("; ".join(dict.fromkeys(self.problems)))
        return _any(conditions)

    def condition(self, node: Any) -> Predicate:
        if isinstance(node, ConditionIdentifier):
            return self.detection(node.identifier)
        if isinstance(node, ConditionSelector):
            names = [i.identifier for i in node.resolve_referenced_detections(self.detections)]
            preds = [self.detection(name) for name in names]
            return _all(preds) if node.cond_class is ConditionAND else _any(preds)
        if isinstance(node, ConditionNOT):
            return _not(self.condition(node.args[0]))
        if isinstance(node, ConditionAND):
            return _all([self.condition(a) for a in node.args])
        if isinstance(node, ConditionOR):
            return _any([self.condition(a) for a in node.args])
        kind = type(node).__name__ if isinstance(node, ConditionItem) else repr(node)
        raise _Unsupported(f"condition element {kind} is not evaluated")

    def detection(self, name: str) -> Predicate:
        if name not in self.compiled:
            self.compiled[name] = self.definition(self.detections[name])
        return self.compiled[name]

    def definition(self, detection: SigmaDetection) -> Predicate:
        preds = [
            self.definition(item) if isinstance(item, SigmaDetection) else self.item(item)
            for item in detection.detection_items
        ]
        return _all(preds) if detection.item_linking is ConditionAND else _any(preds)

    def item(self, item: SigmaDetectionItem) -> Predicate:
        modifiers = list(item.modifiers)
        for i, modifier in enumerate(modifiers):
            name = reverse_modifier_mapping.get(modifier.__name__, modifier.__name__)
            if modifier in _UNSUPPORTED_MODIFIERS:
                self.problems.append(f"modifier {name}: {_UNSUPPORTED_MODIFIERS[modifier]}")
            elif issubclass(modifier, SigmaTimestampModifier):
                self.problems.append(f"modifier {name}: no timestamp field is mapped")
            elif issubclass(modifier, _TEXT_ENCODERS) and not any(
                issubclass(m, _BASE64) for m in modifiers[i + 1 :]
            ):
                self.problems.append(f"modifier {name} without base64: the view holds decoded text")
        cased = any(issubclass(m, (SigmaCaseSensitiveModifier, *_BASE64)) for m in modifiers)
        keyword = item.field is None
        checks = [self.check(v, cased=cased, keyword=keyword) for v in item.value or [SigmaNull()]]
        link = all if item.value_linking is ConditionAND else any

        if keyword:
            getters = [self.fields[f] for f in KEYWORD_FIELDS[self.category]]

            def matches(view: View) -> bool:
                found = [g(view) for g in getters]
                return link(any(c(v, view) for v in found) for c in checks)

        else:
            getter = self.getter(item.field)

            def matches(view: View) -> bool:
                value = getter(view)
                return link(c(value, view) for c in checks)

        return _not(matches) if item.negated else matches

    def check(self, value: SigmaType, *, cased: bool, keyword: bool) -> Check:
        """Compiles one value into a check of a field's value (the view: for fieldref)."""
        if isinstance(value, SigmaFieldReference):
            return self.fieldref(value, cased=cased)
        test = self.value(value, cased=cased, keyword=keyword)
        return lambda v, _view: test(v)

    def getter(self, name: str | None) -> Getter:
        getter = self.fields.get(name or "")
        if getter is None:
            self.problems.append(f"field {name} has no mapping for {self.category}")
            return _section("event", "")
        return getter

    def value(self, value: SigmaType, *, cased: bool, keyword: bool = False) -> Test:
        if isinstance(value, SigmaExpansion):
            tests = [self.value(v, cased=cased, keyword=keyword) for v in value.values]
            return lambda v: any(t(v) for t in tests)
        if keyword and isinstance(value, SigmaNumber | SigmaBool):
            value = SigmaString(str(value))  # keywords are text searched in text
        if isinstance(value, SigmaString):
            cased = cased or isinstance(value, SigmaCasedString)
            if keyword:  # a keyword is found anywhere in the text
                if not value.startswith(SpecialChars.WILDCARD_MULTI):
                    value = SpecialChars.WILDCARD_MULTI + value
                if not value.endswith(SpecialChars.WILDCARD_MULTI):
                    value = value + SpecialChars.WILDCARD_MULTI
            return self.string(value, cased=cased)
        if isinstance(value, SigmaRegularExpression):
            return _regex(value)
        if isinstance(value, SigmaTimestampPart):
            return _never  # only the time modifiers make these, and item() reported them
        if isinstance(value, SigmaNumber):
            return _number(value.number)
        if isinstance(value, SigmaBool):
            return _boolean(value.boolean)
        if isinstance(value, SigmaNull):
            return lambda v: v is None
        if isinstance(value, SigmaExists):
            return lambda v: (v is not None) == value.exists
        if isinstance(value, SigmaCIDRExpression):
            return _cidr(value)
        if isinstance(value, SigmaCompareExpression):
            return _compare(value)
        self.problems.append(f"value type {type(value).__name__} is not evaluated")
        return _never

    def string(self, value: SigmaString, *, cased: bool) -> Test:
        parts = value.s
        if any(isinstance(p, Placeholder) for p in parts):
            return _never  # only the expand modifier makes these, and item() reported it
        lead = bool(parts) and parts[0] == SpecialChars.WILDCARD_MULTI
        trail = len(parts) > int(lead) and parts[-1] == SpecialChars.WILDCARD_MULTI
        middle = parts[int(lead) : len(parts) - int(trail)]
        if len(middle) <= 1 and all(isinstance(p, str) for p in middle):
            fold: Callable[[str], str] = (lambda s: s) if cased else str.lower
            compare = _affix(fold(str(middle[0])) if middle else "", lead=lead, trail=trail)

            def simple(v: Any) -> bool:
                text = _text(v)
                return text is not None and compare(fold(text))

            return simple
        pattern = "".join(
            re.escape(p)
            if isinstance(p, str)
            else ".*"
            if p == SpecialChars.WILDCARD_MULTI
            else "."
            for p in parts
        )
        compiled = _REGEX.compile(pattern, re.DOTALL | (0 if cased else re.IGNORECASE))

        def wildcard(v: Any) -> bool:
            text = _text(v)
            return text is not None and compiled.fullmatch(text) is not None

        return wildcard

    def fieldref(self, value: SigmaFieldReference, *, cased: bool) -> Check:
        other = self.getter(value.field)
        fold: Callable[[str], str] = (lambda s: s) if cased else str.lower

        def check(v: Any, view: View) -> bool:
            mine, theirs = _text(v), _text(other(view))
            if mine is None or theirs is None:
                return False
            mine, theirs = fold(mine), fold(theirs)
            if value.starts_with and value.ends_with:
                return theirs in mine
            if value.starts_with:
                return mine.startswith(theirs)
            if value.ends_with:
                return mine.endswith(theirs)
            return mine == theirs

        return check


def _affix(needle: str, *, lead: bool, trail: bool) -> Callable[[str], bool]:
    """Returns the test of `needle` with a leading and/or trailing `*`, without a regex."""
    if lead and trail:
        return lambda text: needle in text
    if lead:
        return lambda text: text.endswith(needle)
    if trail:
        return lambda text: text.startswith(needle)
    return lambda text: text == needle


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return None


def _numeric(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _number(number: int | float) -> Test:
    def test(v: Any) -> bool:
        n = _numeric(v)
        if n is not None:
            return n == number
        return isinstance(v, str) and v == str(number)

    return test


def _boolean(flag: bool) -> Test:
    def test(v: Any) -> bool:
        if isinstance(v, bool):
            return v is flag
        return isinstance(v, str) and v.lower() == ("true" if flag else "false")

    return test


def _regex(value: SigmaRegularExpression) -> Test:
    flags = 0
    for flag in value.flags:
        flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
    compiled = _REGEX.compile(str(value.regexp), flags)

    def test(v: Any) -> bool:
        text = _text(v)
        return text is not None and compiled.search(text) is not None

    return test


def _cidr(value: SigmaCIDRExpression) -> Test:
    network = value.network

    def test(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        try:
            ip = ipaddress.ip_address(v.strip())
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.version == network.version and ip in network

    return test


_COMPARE: dict[CompareOperators, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
}


def _compare(value: SigmaCompareExpression) -> Test:
    op, bound = _COMPARE[value.op], value.number.number

    def test(v: Any) -> bool:
        n = _numeric(v)
        return n is not None and op(n, bound)

    return test


def _never(_v: Any) -> bool:
    return False


def _all(preds: Sequence[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    chosen = tuple(preds)
    return lambda view: all(p(view) for p in chosen)


def _any(preds: Sequence[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    chosen = tuple(preds)
    return lambda view: any(p(view) for p in chosen)


def _not(pred: Predicate) -> Predicate:
    return lambda view: not pred(view)
