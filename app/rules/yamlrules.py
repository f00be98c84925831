"""Storyline's YAML rule format, and the loading of rule files (built-in and user).

A rule file holds one YAML document: either one rule (a mapping with `id`) or a
mapping with `rules:` (a list of rules) and, optionally, `lists:` (named lists of
values that conditions refer to as `$name`):

    lists:
      backup_tools: [restic, borg]
    rules:
      - id: acme.shadow_read_by_backup
        title: /etc/shadow read by a backup tool
        description: Why it matters, what is expected, what is not.
        severity: low              # info | low | medium | high | critical
        tactic: credential_access  # MITRE ATT&CK tactic, snake_case
        technique: T1003.008       # MITRE ATT&CK technique id
        compromises: false         # true: the acting process roots an `exploit` context
        kinds: [file_open]         # event kinds; omitted: every kind but `alert`
        match:
          event.path: /etc/shadow
          process.exe|basename: {in: $backup_tools}
        actions:
          - "Check why {process.exe} (pid {process.pid}) on {event.host_id} read {event.path}"
          - kill_process: "Kill {process.exe} (pid {process.pid}) on {event.host_id}"

Required keys: `id` (letters, digits and `_.:-`), `title`, `severity`, `match`. Every
other key above is optional; any key not listed here is an error. Strings YAML would
read otherwise need quotes: `'-e'`, `'yes'`, `'0755'`, `'::1/128'`.

**Conditions.** `match` is a condition: a mapping whose entries must all hold.
An entry is one of
- `all: [condition, ...]` (every one holds), `any: [condition, ...]` (at least one),
  `not: condition`;
- `any_ancestor: condition`: the condition holds for the parent or for any ancestor
  (nearest first); inside it, field paths name a process's fields (`exe`, `args`...);
- a leaf, `field.path|modifier|...: test`, on a field of the event view (see
  `app.rules.model`): `event.dst_port`, `process.exe`, `parent.args`,
  `container.image`, `pod.namespace`, `ancestors.exe` (the list of the ancestors'
  values, parent excluded). Unknown sections or fields are errors.

A leaf's test is a scalar (the field equals it), a list (the field is one of its
values: `in`), or a mapping of operators that must all hold (two tests on one field
go under `all:`, since a YAML mapping cannot repeat a key):

| operator | operand | holds when the value |
|---|---|---|
| `equals` | scalar | equals it |
| `in` | list | equals one of them |
| `contains` | string or list | contains it (or one of them) as a substring |
| `startswith`, `endswith` | string or list | starts (ends) with it (or one of them) |
| `regex` | string | matches it anywhere (RE2: linear time, no lookaround; anchor with `^`, `$`) |
| `exists` | bool | is present and not empty (`false`: is missing); sees the raw field |
| `gt`, `gte`, `lt`, `lte` | number | is a number above (at least, below, at most) it |
| `cidr` | string or list | is an IP address inside the network (or one of them) |
| `bits_any`, `bits_all` | integer or "0o4000" | has any (all) of the mask's bits set |
| `domain` | string or list | is the DNS name or a subdomain of it (case-insensitive) |

Modifiers transform the value before the test, left to right: `basename` (after the
last `/`), `dirname`, `lower` (string operands of equals, in, contains, startswith,
endswith are lowered too), `octal` (an integer as octal digits: 0o4755 -> "4755"),
`joined` (a list as one string joined by spaces), `len` (length of a list or string).
On a list field (`process.args`, `event.dns_answers`, `ancestors.exe`) the test
holds when it holds for any element, unless `joined` or `len` made it one value;
`process.cmdline` is the joined `process.args`. A missing field fails every test but
`exists: false`, so `not:` of a test on a missing field holds.

**Lists.** A string `$name` where values are expected (as an operand, or inside an
operand list) refers to a list defined under `lists:` in any loaded file, the built-in
pack's included (`shells`, `web_servers`, `databases`, ...). Defining a list twice is
an error. Write `$$` for a literal leading `$`.

**Actions** are templates: `{process.pid}` is replaced by the field's value,
modifiers apply (`{process.exe|basename}`), `{event.target_path or event.path}` takes
the first present value, lists are joined by spaces, a missing value is said in words
("command line unknown"), and `{{`, `}}` are literal braces. An action is typed:

    actions:
      - kill_process: "Kill process {process.pid} on host {event.host_id}"
      - isolate_container: "Isolate container {container.id}"
      - block_egress: "Block {event.dst_ip}:{event.dst_port} at the egress firewall"
      - rotate_credential: "Rotate the access key {event.access_key_id}"
      - review: "Check who ran {process.cmdline}"
      - "A plain string is a review too"

A plain string is a `review` (for a person; no target), never a type guessed from its
placeholders: what a machine may act on is said, not inferred. The other types get a
typed target from fixed fields of the view (`TARGETS` in `app.rules.actions`): the
acting process (host, pid, key, exe), its container (id, host), the event's destination
(ip, port, or the DNS name), the event's credential (access key id, role); an action
whose target the event does not give is left out.

**Loading.** `load_rules(dirs)` returns the built-in pack (`app/rules/builtin/*.yaml`,
`Rule.source == "builtin"`) and then every `*.yml` and `*.yaml` directly inside each
directory given (subdirectories are not read; a path may also name one file), in name
order, with `Rule.source == "user:<path>"`. Rule ids are unique across all of them: a
user rule cannot replace a built-in one.

Everything is checked at load: unknown keys, operators, modifiers, fields and lists,
bad regexes, CIDRs, severities, tactics, technique ids and event kinds, duplicate
YAML keys and duplicate rule ids raise `RuleError` naming the file, the rule and the
place in the rule. Conditions compile to closures; nothing is evaluated with `eval`.

**Code.** This module reads rule files and loads them; `app.rules.yamlcompile`
compiles them (`rule`, `conditions`, `fields`, `context`: `RuleError`), and
`app.rules.actions` checks and renders action templates.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, cast

import yaml

from app.rules.actions import render_actions
from app.rules.model import Rule
from app.rules.yamlcompile.context import Ctx, RuleError
from app.rules.yamlcompile.rule import DEFAULT_KINDS, TACTICS, compile_rule

__all__ = [
    "DEFAULT_KINDS",
    "TACTICS",
    "RuleError",
    "load_builtin",
    "load_rules",
    "parse_rules",
    "render_actions",
]

_LIST_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

BUILTIN_SOURCE = "builtin"


# -- YAML reading ---------------------------------------------------------------------------

_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """A safe loader that rejects duplicate mapping keys instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                problem = "found a key that is not a scalar"
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, problem, key_node.start_mark
                ) from None
            if duplicate:
                problem = f"found duplicate key {key!r}"
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, problem, key_node.start_mark
                )
            seen.add(key)
        return cast(dict[Any, Any], super().construct_mapping(node, deep=deep))


def _read_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise RuleError(f"{source}: not valid YAML: {detail}", path=source) from None


# -- rules and files ------------------------------------------------------------------------


@dataclass
class _File:
    """A rule file read but not compiled: its name for messages, lists and raw rules."""

    name: str
    origin: str  # Rule.source: builtin, or user:<path>
    lists: dict[str, tuple[Any, ...]]
    rules: list[tuple[str, Any]]  # (where, raw rule)


def _split(document: Any, name: str, origin: str) -> _File:
    ctx = Ctx(name, None, {})
    if document is None:
        return _File(name, origin, {}, [])
    if not isinstance(document, dict):
        raise ctx.error("", "a rule file is a mapping: one rule, or `rules:` and `lists:`")
    if "id" in document:
        return _File(name, origin, {}, [("", document)])
    unknown = sorted(str(k) for k in document if k not in ("rules", "lists"))
    if unknown:
        shape = "a file is one rule with an id, or has rules: and lists:"
        raise ctx.error("", f"unknown top-level key(s) {', '.join(unknown)} ({shape})")
    lists_raw = document.get("lists") or {}
    if not isinstance(lists_raw, dict):
        raise ctx.error("lists", "expected a mapping of list names to lists")
    lists: dict[str, tuple[Any, ...]] = {}
    for list_name, values in lists_raw.items():
        where = f"lists.{list_name}"
        if not isinstance(list_name, str) or not _LIST_NAME.match(list_name):
            raise ctx.error(where, "a list name is lower-case letters, digits and _")
        if not isinstance(values, list) or not values:
            raise ctx.error(where, "expected a non-empty list of values")
        for value in values:
            if isinstance(value, dict | list) or value is None:
                raise ctx.error(where, f"expected scalar values, got {value!r}")
        lists[list_name] = tuple(values)
    rules_raw = document.get("rules") or []
    if not isinstance(rules_raw, list):
        raise ctx.error("rules", "expected a list of rules")
    return _File(name, origin, lists, [(f"rules[{i}]", r) for i, r in enumerate(rules_raw)])


def _compile_files(
    files: Sequence[_File],
    lists: Mapping[str, tuple[Any, ...]] | None = None,
    taken: Mapping[str, str] | None = None,
) -> list[Rule]:
    """Compiles files together: lists are shared, list names and rule ids are unique."""
    all_lists: dict[str, tuple[Any, ...]] = dict(lists or {})
    list_owner: dict[str, str] = dict.fromkeys(all_lists, "the built-in pack")
    for f in files:
        for list_name, values in f.lists.items():
            if list_name in all_lists:
                raise RuleError(
                    f"{f.name}: list {list_name!r} is already defined in {list_owner[list_name]}",
                    path=f.name,
                )
            all_lists[list_name] = values
            list_owner[list_name] = f.name
    rules: list[Rule] = []
    owner: dict[str, str] = dict(taken or {})
    for f in files:
        for where, raw in f.rules:
            rule = compile_rule(raw, where, f.name, f.origin, all_lists)
            if rule.id in owner:
                ctx = Ctx(f.name, rule.id, all_lists)
                raise ctx.error("", f"duplicate id, already defined in {owner[rule.id]}")
            owner[rule.id] = f.name
            rules.append(rule)
    return rules


def _builtin_dir() -> Traversable:
    return resources.files("app.rules").joinpath("builtin")


def _rule_files(folder: Iterable[Any]) -> list[Any]:
    return sorted(
        (p for p in folder if p.is_file() and p.name.endswith((".yml", ".yaml"))),
        key=lambda p: p.name,
    )


@functools.cache
def _builtin() -> tuple[tuple[Rule, ...], dict[str, tuple[Any, ...]], dict[str, str]]:
    files = []
    for path in _rule_files(_builtin_dir().iterdir()):
        name = f"builtin/{path.name}"
        document = _read_yaml(path.read_text(encoding="utf-8"), name)
        files.append(_split(document, name, BUILTIN_SOURCE))
    rules = _compile_files(files)
    lists = {name: values for f in files for name, values in f.lists.items()}
    owners = {r.id: "the built-in pack" for r in rules}
    return tuple(rules), lists, owners


def load_builtin() -> list[Rule]:
    """Returns the built-in rule pack shipped in `app/rules/builtin/`."""
    return list(_builtin()[0])


def parse_rules(text: str, source: str = "<string>") -> list[Rule]:
    """Parses and compiles one rule file's text; it may use the built-in lists."""
    _, lists, _ = _builtin()
    return _compile_files([_split(_read_yaml(text, source), source, f"user:{source}")], lists)


def load_rules(extra_dirs: Sequence[Path] = ()) -> list[Rule]:
    """Returns the built-in pack plus the rules of every *.yml / *.yaml in `extra_dirs`.

    A path in `extra_dirs` may also name one rule file. Rule ids must be unique across
    everything loaded; any problem in a user file raises `RuleError` naming it.
    """
    builtin, lists, owners = _builtin()
    files: list[_File] = []
    for folder in extra_dirs:
        folder = Path(folder)
        if folder.is_dir():
            paths = _rule_files(folder.iterdir())
        elif folder.is_file():
            paths = [folder]
        else:
            raise RuleError(f"{folder}: no such rule directory", path=str(folder))
        for path in paths:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise RuleError(
                    f"{path}: cannot read the rule file: {exc}", path=str(path)
                ) from None
            files.append(_split(_read_yaml(text, str(path)), str(path), f"user:{path}"))
    return [*builtin, *_compile_files(files, lists, owners)]
