"""A YAML rule's `match` compiled into a predicate over the event view.

Conditions (all, any, not, any_ancestor), leaves (`field|modifier: test`), operators
and `$name` list references; the format is documented in `app.rules.yamlrules`.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Sequence
from typing import Any

from sigma.policy import default_policy

from app.rules.model import View
from app.rules.yamlcompile.context import Ctx
from app.rules.yamlcompile.fields import compile_modifiers, field_getter

Test = Callable[[Any], bool]

# Rule patterns run on what monitored hosts send: RE2 matches in time linear in the
# input, whatever the pattern (Python's re backtracks: a long argv stalled ingest).
_REGEX = default_policy.regex_engine
_REF = re.compile(r"^\$([a-z_][a-z0-9_]*)$")


def _values(operand: Any, where: str, ctx: Ctx) -> list[Any]:
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


def _strings(operand: Any, where: str, ctx: Ctx, lower: bool) -> tuple[str, ...]:
    values = _values(operand, where, ctx)
    if not values:
        raise ctx.error(where, "expected at least one string")
    for value in values:
        if not isinstance(value, str):
            raise ctx.error(where, f"expected a string, got {value!r} (quote it)")
    return tuple(v.lower() for v in values) if lower else tuple(values)


def _number(operand: Any, where: str, ctx: Ctx) -> float:
    if isinstance(operand, bool) or not isinstance(operand, int | float):
        raise ctx.error(where, f"expected a number, got {operand!r}")
    return operand


def _mask(operand: Any, where: str, ctx: Ctx) -> int:
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


def _operator(op: str, operand: Any, where: str, ctx: Ctx, lower: bool) -> Test:
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


def _leaf(key: str, spec: Any, where: str, ctx: Ctx, scope: str) -> Test:
    path, *mods = key.split("|")
    get = field_getter(path, where, ctx, scope)
    transform = compile_modifiers(mods, where, ctx)
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


def _conditions(node: Any, where: str, ctx: Ctx, scope: str) -> list[Test]:
    if not isinstance(node, list) or not node:
        raise ctx.error(where, "expected a non-empty list of conditions")
    return [compile_condition(item, f"{where}[{i}]", ctx, scope) for i, item in enumerate(node)]


def _negated(test: Test) -> Test:
    return lambda x: not test(x)


def compile_condition(node: Any, where: str, ctx: Ctx, scope: str = "view") -> Test:
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
            parts.append(_negated(compile_condition(value, here, ctx, scope)))
        elif key == "any_ancestor":
            if scope != "view":
                raise ctx.error(here, "any_ancestor cannot be nested in any_ancestor")
            parts.append(_any_ancestor(compile_condition(value, here, ctx, "process")))
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
