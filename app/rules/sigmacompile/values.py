"""Tests of a field's value against one Sigma value: strings, numbers, regexes, CIDRs."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from sigma.policy import default_policy
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

Test = Callable[[Any], bool]  # a field's value -> match

_REGEX = default_policy.regex_engine  # RE2: linear time on any rule's pattern


def string_match(value: SigmaString, *, cased: bool) -> Test:
    """Returns the test of a string with wildcards (`*`, `?`), case-insensitive unless cased."""
    parts = value.s
    if any(isinstance(p, Placeholder) for p in parts):
        return never  # only the expand modifier makes these, and Compiler.item() reported it
    lead = bool(parts) and parts[0] == SpecialChars.WILDCARD_MULTI
    trail = len(parts) > int(lead) and parts[-1] == SpecialChars.WILDCARD_MULTI
    middle = parts[int(lead) : len(parts) - int(trail)]
    if len(middle) <= 1 and all(isinstance(p, str) for p in middle):
        fold: Callable[[str], str] = (lambda s: s) if cased else str.lower
        compare = _affix(fold(str(middle[0])) if middle else "", lead=lead, trail=trail)

        def simple(v: Any) -> bool:
            text = as_text(v)
            return text is not None and compare(fold(text))

        return simple
    pattern = "".join(
        re.escape(p) if isinstance(p, str) else ".*" if p == SpecialChars.WILDCARD_MULTI else "."
        for p in parts
    )
    compiled = _REGEX.compile(pattern, re.DOTALL | (0 if cased else re.IGNORECASE))

    def wildcard(v: Any) -> bool:
        text = as_text(v)
        return text is not None and compiled.fullmatch(text) is not None

    return wildcard


def _affix(needle: str, *, lead: bool, trail: bool) -> Callable[[str], bool]:
    """Returns the test of `needle` with a leading and/or trailing `*`, without a regex."""
    if lead and trail:
        return lambda text: needle in text
    if lead:
        return lambda text: text.endswith(needle)
    if trail:
        return lambda text: text.startswith(needle)
    return lambda text: text == needle


def as_text(value: Any) -> str | None:
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


def equals_number(number: int | float) -> Test:
    def test(v: Any) -> bool:
        n = _numeric(v)
        if n is not None:
            return n == number
        return isinstance(v, str) and v == str(number)

    return test


def equals_boolean(flag: bool) -> Test:
    def test(v: Any) -> bool:
        if isinstance(v, bool):
            return v is flag
        return isinstance(v, str) and v.lower() == ("true" if flag else "false")

    return test


def regex_search(value: SigmaRegularExpression) -> Test:
    flags = 0
    for flag in value.flags:
        flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
    compiled = _REGEX.compile(str(value.regexp), flags)

    def test(v: Any) -> bool:
        text = as_text(v)
        return text is not None and compiled.search(text) is not None

    return test


def in_cidr(value: SigmaCIDRExpression) -> Test:
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


def compares(value: SigmaCompareExpression) -> Test:
    op, bound = _COMPARE[value.op], value.number.number

    def test(v: Any) -> bool:
        n = _numeric(v)
        return n is not None and op(n, bound)

    return test


def never(_v: Any) -> bool:
    return False
