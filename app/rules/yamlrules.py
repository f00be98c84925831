"""Storyline's YAML rule format: parsing, compiling into `Rule`, loading, rendering actions.

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
the first present value, lists are joined by spaces, a missing value renders as `?`,
and `{{`, `}}` are literal braces.

**Loading.** `load_rules(dirs)` returns the built-in pack (`app/rules/builtin/*.yaml`,
`Rule.source == "builtin"`) and then every `*.yml` and `*.yaml` directly inside each
directory given (subdirectories are not read; a path may also name one file), in name
order, with `Rule.source == "user:<path>"`. Rule ids are unique across all of them: a
user rule cannot replace a built-in one.

Everything is checked at load: unknown keys, operators, modifiers, fields and lists,
bad regexes, CIDRs, severities, tactics, technique ids and event kinds, duplicate
YAML keys and duplicate rule ids raise `RuleError` naming the file, the rule and the
place in the rule. Conditions compile to closures; nothing is evaluated with `eval`.
"""

from __future__ import annotations

import functools
import ipaddress
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, cast

import yaml
from sigma.policy import default_policy

from app.errors import StorylineError
from app.events import EVENT_KINDS
from app.rules.model import SEVERITIES, Predicate, Rule, View

__all__ = [
    "DEFAULT_KINDS",
    "TACTICS",
    "RuleError",
    "load_builtin",
    "load_rules",
    "parse_rules",
    "render_actions",
]


class RuleError(StorylineError):
    """A rule file cannot be read or one of its rules is malformed."""

    def __init__(self, message: str, *, path: str | None = None, rule_id: str | None = None):
        super().__init__(message)
        self.path = path
        self.rule_id = rule_id


# fmt: off
TACTICS: frozenset[str] = frozenset((
    "reconnaissance", "resource_development", "initial_access", "execution", "persistence",
    "privilege_escalation", "defense_evasion", "credential_access", "discovery",
    "lateral_movement", "collection", "command_and_control", "exfiltration", "impact",
))
"""MITRE ATT&CK Enterprise tactics, snake_case."""

# The fields of the event view (app.rules.model); a rule naming another is an error.
_PROCESS_FIELDS = frozenset((
    "key", "pid", "ppid", "exe", "comm", "args", "cmdline", "cwd", "uid", "user", "gid",
    "group", "auid", "session_id", "tty", "cgroup", "service", "container_id",
    "session_kind", "session_user",
))
_FIELDS: dict[str, frozenset[str]] = {
    "event": frozenset((
        "id", "kind", "ts", "source", "host_id", "container_id", "summary",
        "path", "target_path", "mode", "flags",
        "protocol", "family", "src_ip", "src_port", "dst_ip", "dst_port",
        "dns_name", "dns_type", "dns_answers",
        "imds_cloud", "imds_url", "imds_method", "server_ip", "imds_user_agent", "role",
        "access_key_id",
        "exit_code", "signal",
        "rule_id", "title", "severity", "description", "tactic", "technique", "compromises",
        "on_event",
    )),
    "process": _PROCESS_FIELDS,
    "parent": _PROCESS_FIELDS,
    "ancestors": _PROCESS_FIELDS,
    "container": frozenset(("id", "name", "image", "runtime")),
    "pod": frozenset(("uid", "name", "namespace", "workload", "cluster")),
}

_RULE_KEYS = frozenset((
    "id", "title", "description", "severity", "tactic", "technique", "compromises", "kinds",
    "match", "actions",
))
# fmt: on
DEFAULT_KINDS: frozenset[str] = frozenset(EVENT_KINDS) - {"alert"}
"""The kinds a rule applies to when it names none: sensors' own alerts are signals already."""

_REQUIRED = ("id", "title", "severity", "match")
# Rule patterns run on what monitored hosts send: RE2 matches in time linear in the
# input, whatever the pattern (Python's re backtracks: a long argv stalled ingest).
_REGEX = default_policy.regex_engine
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
_LIST_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_REF = re.compile(r"^\$([a-z_][a-z0-9_]*)$")

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


# -- the compiler ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    """Where a rule comes from, for error messages, and the lists it may refer to."""

    source: str
    rule_id: str | None
    lists: Mapping[str, tuple[Any, ...]]

    def error(self, where: str, problem: str) -> RuleError:
        rule = f"rule {self.rule_id!r}: " if self.rule_id else ""
        place = f"{where}: " if where else ""
        message = f"{self.source}: {rule}{place}{problem}"
        return RuleError(message, path=self.source, rule_id=self.rule_id)


Getter = Callable[[Any], Any]
Test = Callable[[Any], bool]


def _section_getter(section: str, name: str) -> Getter:
    if section == "ancestors":

        def get_ancestors(view: View) -> Any:
            out: list[Any] = []
            for proc in view.get("ancestors") or ():
                if proc:
                    value = proc.get(name)
                    if type(value) is list:
                        out.extend(value)
                    elif value is not None:
                        out.append(value)
            return out

        return get_ancestors

    def get(view: View) -> Any:
        part = view.get(section)
        return part.get(name) if part else None

    return get


def _field_getter(path: str, where: str, ctx: _Ctx, scope: str) -> Getter:
    """Returns a getter for a field path: `section.field` on a view, `field` on a process."""
    if scope == "process":
        if path not in _PROCESS_FIELDS:
            known = ", ".join(sorted(_PROCESS_FIELDS))
            raise ctx.error(where, f"unknown process field {path!r} (known: {known})")
        return lambda proc: proc.get(path)
    section, dot, name = path.partition(".")
    if not dot or section not in _FIELDS:
        raise ctx.error(
            where,
            f"unknown field {path!r}: a field is section.name with section one of "
            + ", ".join(_FIELDS),
        )
    if name not in _FIELDS[section]:
        known = ", ".join(sorted(_FIELDS[section]))
        raise ctx.error(where, f"unknown field {path!r} (fields of {section}: {known})")
    return _section_getter(section, name)


def _basename(value: Any) -> Any:
    return value.rpartition("/")[2] if type(value) is str else value


def _dirname(value: Any) -> Any:
    return posixpath.dirname(value) if type(value) is str else value


def _lower(value: Any) -> Any:
    return value.lower() if type(value) is str else value


def _octal(value: Any) -> Any:
    return f"{value:04o}" if type(value) is int else value


def _joined(value: Any) -> Any:
    if type(value) is list:
        return " ".join(str(item) for item in value if item is not None)
    return value


def _len(value: Any) -> Any:
    return len(value) if type(value) in (list, str) else None


# modifier: (function, applies to each element of a list)
_MODIFIERS: dict[str, tuple[Callable[[Any], Any], bool]] = {
    "basename": (_basename, True),
    "dirname": (_dirname, True),
    "lower": (_lower, True),
    "octal": (_octal, True),
    "joined": (_joined, False),
    "len": (_len, False),
}


def _transform(mods: Sequence[str], where: str, ctx: _Ctx) -> Callable[[Any], Any] | None:
    steps: list[tuple[Callable[[Any], Any], bool]] = []
    for mod in mods:
        if mod not in _MODIFIERS:
            known = ", ".join(_MODIFIERS)
            raise ctx.error(where, f"unknown modifier {mod!r} (known: {known})")
        steps.append(_MODIFIERS[mod])
    if not steps:
        return None
    if len(steps) == 1:
        fn, each = steps[0]
        if each:
            return lambda x: [fn(e) for e in x if e is not None] if type(x) is list else fn(x)
        return fn

    def transform(value: Any) -> Any:
        for fn, each in steps:
            if each and type(value) is list:
                value = [fn(e) for e in value if e is not None]
            else:
                value = fn(value)
        return value

    return transform


def _values(operand: Any, where: str, ctx: _Ctx) -> list[Any]:
    """Returns an operand as a list of values, with `$name` list references spliced in."""
    items = operand if isinstance(operand, list) else [operand]
    out: list[Any] = []
    for item in items:
        if isinstance(item, str) and item.startswith("$"):
            if item.startswith("$$"):
                out.append(item[1:])
                continue
            ref = _REF.match(item)
            if not ref:
                raise ctx.error(where, f"{item!r} is not a list reference (write $$ for a $)")
            if ref.group(1) not in ctx.lists:
                raise ctx.error(where, f"unknown list {item!r}")
            out.extend(ctx.lists[ref.group(1)])
        elif isinstance(item, dict | list) or item is None:
            raise ctx.error(where, f"expected scalar values, got {item!r}")
        else:
            out.append(item)
    return out


def _strings(operand: Any, where: str, ctx: _Ctx, lower: bool) -> tuple[str, ...]:
    values = _values(operand, where, ctx)
    if not values:
        raise ctx.error(where, "expected at least one string")
    for value in values:
        if not isinstance(value, str):
            raise ctx.error(where, f"expected a string, got {value!r} (quote it)")
    return tuple(v.lower() for v in values) if lower else tuple(values)


def _number(operand: Any, where: str, ctx: _Ctx) -> float:
    if isinstance(operand, bool) or not isinstance(operand, int | float):
        raise ctx.error(where, f"expected a number, got {operand!r}")
    return operand


def _mask(operand: Any, where: str, ctx: _Ctx) -> int:
    if isinstance(operand, str):
        try:
            operand = int(operand, 0)
        except ValueError:
            raise ctx.error(
                where, f"expected an integer mask like 0o4000, got {operand!r}"
            ) from None
    if isinstance(operand, bool) or not isinstance(operand, int) or operand <= 0:
        raise ctx.error(where, f"expected a positive integer mask, got {operand!r}")
    return operand


@functools.lru_cache(maxsize=8192)
def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _operator(op: str, operand: Any, where: str, ctx: _Ctx, lower: bool) -> Test:
    """Compiles one operator into a test on a single (non-list) value."""
    if op == "equals":
        if isinstance(operand, list | dict) or operand is None:
            raise ctx.error(where, f"equals takes a scalar, got {operand!r} (use in: for a list)")
        if isinstance(operand, str) and operand.startswith("$"):
            if not operand.startswith("$$"):
                raise ctx.error(
                    where, f"equals takes a scalar, got {operand!r} (use in: for a list)"
                )
            operand = operand[1:]
        value = operand
        if lower and isinstance(value, str):
            value = value.lower()
        return lambda x: x == value
    if op == "in":
        if not isinstance(operand, list) and not (isinstance(operand, str) and _REF.match(operand)):
            raise ctx.error(where, f"in takes a list, got {operand!r}")
        values = _values(operand, where, ctx)
        if lower:
            values = [v.lower() if isinstance(v, str) else v for v in values]
        members = frozenset(values)
        return lambda x: x in members
    if op == "contains":
        needles = _strings(operand, where, ctx, lower)
        if len(needles) == 1:
            (needle,) = needles
            return lambda x: type(x) is str and needle in x
        return lambda x: type(x) is str and any(n in x for n in needles)
    if op == "startswith":
        prefixes = _strings(operand, where, ctx, lower)
        return lambda x: type(x) is str and x.startswith(prefixes)
    if op == "endswith":
        suffixes = _strings(operand, where, ctx, lower)
        return lambda x: type(x) is str and x.endswith(suffixes)
    if op == "regex":
        if not isinstance(operand, str):
            raise ctx.error(where, f"regex takes a string, got {operand!r}")
        try:
            search = _REGEX.compile(operand).search
        except Exception as exc:  # RE2 raises its own error types
            raise ctx.error(
                where,
                f"bad regex {operand!r}: {exc} (rules run on RE2, in linear time: no "
                "lookaround or backreferences)",
            ) from None
        return lambda x: type(x) is str and search(x) is not None
    if op in ("gt", "gte", "lt", "lte"):
        bound = _number(operand, where, ctx)
        compare = {
            "gt": lambda x: x > bound,
            "gte": lambda x: x >= bound,
            "lt": lambda x: x < bound,
            "lte": lambda x: x <= bound,
        }[op]
        return lambda x: type(x) in (int, float) and compare(x)
    if op == "cidr":
        networks = []
        for text in _strings(operand, where, ctx, lower=False):
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError as exc:
                raise ctx.error(where, f"bad CIDR {text!r}: {exc}") from None
        nets = tuple(networks)

        def in_networks(x: Any) -> bool:
            if type(x) is not str:
                return False
            ip = _ip(x)
            return ip is not None and any(ip.version == n.version and ip in n for n in nets)

        return in_networks
    if op in ("bits_any", "bits_all"):
        mask = _mask(operand, where, ctx)
        if op == "bits_any":
            return lambda x: type(x) is int and x & mask != 0
        return lambda x: type(x) is int and x & mask == mask
    if op == "domain":
        names = tuple(n.lower().rstrip(".") for n in _strings(operand, where, ctx, lower=False))
        exact = frozenset(names)
        dotted = tuple("." + n for n in names)

        def in_domain(x: Any) -> bool:
            if type(x) is not str:
                return False
            name = x.lower().rstrip(".")
            return name in exact or name.endswith(dotted)

        return in_domain
    known = ", ".join(_OPERATORS)
    raise ctx.error(where, f"unknown operator {op!r} (known: {known})")


_OPERATORS = (
    "equals", "in", "contains", "startswith", "endswith", "regex", "exists",
    "gt", "gte", "lt", "lte", "cidr", "bits_any", "bits_all", "domain",
)  # fmt: skip


# The combinators loop by hand: on this hot path, any() and all() over a generator
# cost more than the tests they run.


def _all_of(tests: Sequence[Test]) -> Test:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda x: first(x) and second(x)

    def all_hold(x: Any) -> bool:
        for test in tests:  # noqa: SIM110
            if not test(x):
                return False
        return True

    return all_hold


def _any_of(tests: Sequence[Test]) -> Test:
    if len(tests) == 1:
        return tests[0]

    def any_holds(x: Any) -> bool:
        for test in tests:  # noqa: SIM110
            if test(x):
                return True
        return False

    return any_holds


def _leaf(key: str, spec: Any, where: str, ctx: _Ctx, scope: str) -> Test:
    path, *mods = key.split("|")
    get = _field_getter(path, where, ctx, scope)
    transform = _transform(mods, where, ctx)
    lower = "lower" in mods
    if isinstance(spec, dict):
        if not spec:
            raise ctx.error(where, "empty test: give a value, a list or operators")
        ops = spec
    elif isinstance(spec, list) or (isinstance(spec, str) and _REF.match(spec)):
        ops = {"in": spec}
    elif spec is None:
        raise ctx.error(where, "null test: to match a missing field use {exists: false}")
    else:
        ops = {"equals": spec}

    tests: list[Test] = []
    exists: bool | None = None
    for op, operand in ops.items():
        if op == "exists":
            if not isinstance(operand, bool):
                raise ctx.error(f"{where}.exists", f"exists takes true or false, got {operand!r}")
            exists = operand
        else:
            tests.append(_operator(str(op), operand, f"{where}.{op}", ctx, lower))

    preds: list[Test] = []
    if exists is not None:
        want = exists
        preds.append(lambda v: (get(v) not in (None, [])) is want)
    if tests:
        test = _all_of(tests)

        def holds(view: Any) -> bool:
            value = get(view)
            if value is None:
                return False
            if transform is not None:
                value = transform(value)
            if type(value) is list:
                for item in value:  # noqa: SIM110
                    if item is not None and test(item):
                        return True
                return False
            return test(value)

        preds.append(holds)
    return _all_of(preds)


def _conditions(node: Any, where: str, ctx: _Ctx, scope: str) -> list[Test]:
    if not isinstance(node, list) or not node:
        raise ctx.error(where, "expected a non-empty list of conditions")
    return [_condition(item, f"{where}[{i}]", ctx, scope) for i, item in enumerate(node)]


def _condition(node: Any, where: str, ctx: _Ctx, scope: str = "view") -> Test:
    """Compiles a condition mapping (its entries ANDed) into a predicate."""
    if not isinstance(node, dict) or not node:
        raise ctx.error(where, f"a condition is a non-empty mapping, got {node!r}")
    parts: list[Test] = []
    for key, value in node.items():
        if not isinstance(key, str):
            raise ctx.error(where, f"condition keys are strings, got {key!r}")
        here = f"{where}.{key}"
        if key == "all":
            parts.append(_all_of(_conditions(value, here, ctx, scope)))
        elif key == "any":
            parts.append(_any_of(_conditions(value, here, ctx, scope)))
        elif key == "not":
            inner = _condition(value, here, ctx, scope)
            parts.append(lambda x, inner=inner: not inner(x))
        elif key == "any_ancestor":
            if scope != "view":
                raise ctx.error(here, "any_ancestor cannot be nested in any_ancestor")
            parts.append(_any_ancestor(_condition(value, here, ctx, "process")))
        else:
            parts.append(_leaf(key, value, here, ctx, scope))
    return _all_of(parts)


def _any_ancestor(test: Test) -> Test:
    def any_ancestor(view: View) -> bool:
        parent = view.get("parent")
        if parent and test(parent):
            return True
        for proc in view.get("ancestors") or ():  # noqa: SIM110
            if proc and test(proc):
                return True
        return False

    return any_ancestor


# -- action templates -------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_Part = str | tuple[str, tuple[Getter, ...]]  # literal, or (placeholder path, getters)


def _compile_template(text: str, ctx: _Ctx | None, where: str = "") -> tuple[_Part, ...]:
    """Splits a template into literal text and placeholders (alternative getters).

    Without a context (at render time), a malformed placeholder stays as written.
    """
    parts: list[_Part] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        parts.append(text[pos : m.start()])
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
            continue
        inner = m.group(1)
        if inner is None:
            if ctx is not None:
                raise ctx.error(where, f"unbalanced {token!r} in {text!r} (write {token * 2})")
            parts.append(token)
            continue
        getters: list[Getter] = []
        try:
            probe = ctx or _Ctx("<template>", None, {})
            for alt in inner.split(" or "):
                path, *mods = alt.strip().split("|")
                get = _field_getter(path, where, probe, "view")
                getters.append(_then(get, _transform(mods, where, probe)))
        except RuleError:
            if ctx is not None:
                raise
            parts.append(token)
            continue
        parts.append((inner.split(" or ")[0].split("|")[0].strip(), tuple(getters)))
    parts.append(text[pos:])
    return tuple(p for p in parts if p != "")


def _then(get: Getter, transform: Callable[[Any], Any] | None) -> Getter:
    if transform is None:
        return get
    return lambda view: None if (value := get(view)) is None else transform(value)


def _format(value: Any) -> str | None:
    if type(value) is list:
        return " ".join(str(item) for item in value if item is not None) or None
    return str(value)


# What an action acts on: when unknown (or unspecified, such as 0.0.0.0 or port 0),
# the action cannot be carried out, and is left out rather than naming nothing.
_TARGETS = frozenset({
    "dst_ip", "src_ip", "server_ip", "dst_port", "src_port", "access_key_id", "role",
    "container.id", "container_id", "path", "target_path", "dns_name", "imds_url",
})  # fmt: skip
_UNSPECIFIED = frozenset({"0.0.0.0", "::", "0:0:0:0:0:0:0:0", "*", "0", "::0", ""})
# How an unknown value is said, by field name (else the name, underscores as spaces).
_WORDS = {
    "cmdline": "command line", "args": "command line", "exe": "executable", "pid": "pid",
    "host_id": "host", "user": "user", "uid": "uid", "cwd": "working directory",
}  # fmt: skip


def _said_unknown(path: str, before: str) -> str:
    """Says a value is unknown, naming it unless the text before already does ("cwd ")."""
    name = path.rsplit(".", 1)[-1]
    words = _WORDS.get(name, name.replace("_", " "))
    said = before.rstrip(" (:").lower()
    return "unknown" if said.endswith((name.lower(), words)) else f"{words} unknown"


def _is_target(path: str) -> bool:
    return path in _TARGETS or path.rsplit(".", 1)[-1] in _TARGETS


@functools.lru_cache(maxsize=1024)
def _template(text: str) -> tuple[_Part, ...]:
    return _compile_template(text, None)


def render_actions(rule: Rule, view: View) -> list[str]:
    """Returns the rule's recommended actions filled from the view.

    An unknown value is said in words ("command line unknown"); an action whose
    target (an address, port, container, key, path) is unknown or unspecified
    (0.0.0.0, ::, port 0) is left out: it could not be carried out.
    """
    out = []
    for action in rule.actions:
        pieces: list[str] = []
        for part in _template(action):
            if isinstance(part, str):
                pieces.append(part)
                continue
            path, getters = part
            text = None
            for get in getters:
                try:
                    value = get(view)
                except (TypeError, AttributeError, KeyError, ValueError):
                    value = None
                if value is not None and value != []:
                    text = _format(value)
                    break
            if _is_target(path) and (text is None or text.strip() in _UNSPECIFIED):
                break
            before = pieces[-1] if pieces else ""
            pieces.append(text if text is not None else _said_unknown(path, before))
        else:
            out.append("".join(pieces))
    return out


# -- rules and files ------------------------------------------------------------------------


def _text(rule: Mapping[str, Any], key: str, ctx: _Ctx) -> str | None:
    value = rule.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ctx.error(key, f"expected a non-empty string, got {value!r}")
    return value.strip()


def _compile_rule(
    raw: Any, where: str, name: str, origin: str, lists: Mapping[str, tuple[Any, ...]]
) -> Rule:
    """Compiles one raw rule of file `name`; `origin` becomes `Rule.source`."""
    source = name
    ctx = _Ctx(source, None, lists)
    if not isinstance(raw, dict):
        raise ctx.error(where, f"a rule is a mapping, got {type(raw).__name__}")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise ctx.error(where, f"bad or missing id {rule_id!r} (letters, digits and _.:-)")
    ctx = _Ctx(source, rule_id, lists)
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
    actions_raw = raw.get("actions", [])
    if not isinstance(actions_raw, list) or not all(
        isinstance(a, str) and a.strip() for a in actions_raw
    ):
        raise ctx.error("actions", "expected a list of non-empty strings")
    for i, action in enumerate(actions_raw):
        _compile_template(action, ctx, f"actions[{i}]")
    predicate: Predicate = _condition(raw["match"], "match", ctx)
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
        actions=tuple(a.strip() for a in actions_raw),
        source=origin,
    )


@dataclass
class _File:
    """A rule file read but not compiled: its name for messages, lists and raw rules."""

    name: str
    origin: str  # Rule.source: builtin, or user:<path>
    lists: dict[str, tuple[Any, ...]]
    rules: list[tuple[str, Any]]  # (where, raw rule)


def _split(document: Any, name: str, origin: str) -> _File:
    ctx = _Ctx(name, None, {})
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
            rule = _compile_rule(raw, where, f.name, f.origin, all_lists)
            if rule.id in owner:
                ctx = _Ctx(f.name, rule.id, all_lists)
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
