"""Indicator feeds read into entries: STIX 2.1 bundles (with the stix2 library) and CSV.

A feed is hostile input: its size, its indicator count and every value are
bounded, and a bad object or line is an error of its own (position and reason)
while the rest is read. What is read but cannot be matched is counted by reason
(`skipped`), so that an import says exactly what it left out and why.

STIX: each `indicator` object of the bundle is parsed by `stix2.parse` (custom
properties allowed: feeds add their own `x_` fields), and its pattern by the
STIX pattern grammar (`stix2.pattern_visitor`). A pattern is read as a tree of
ORs: every `=` or `IN` comparison on `ipv4-addr:value`, `ipv6-addr:value`,
`domain-name:value` or `file:hashes.'SHA-256'|'SHA-1'|'MD5'` found by following
ORs from the top is an entry. Any other branch (an AND, FOLLOWEDBY, a
qualifier, a negation, LIKE or MATCHES, another object) is skipped, and only
that branch: a branch of an OR matches alone, so reading fewer branches never
matches what the pattern would not. Indicators past their `valid_until`,
revoked ones and patterns of another language are skipped.

CSV: a header naming `type` and `value` (and optionally `description`,
`tactic`, `technique`, `valid_until`), then one indicator per line; `#` lines
are comments.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.errors import InputError
from app.events import normalize_ts
from app.indicators.values import BadValue, NetworkRange, normalise

FORMATS = ("stix", "csv")
MAX_FEED_BYTES = 32 * 1024 * 1024
MAX_INDICATORS = 100_000  # indicator objects of a bundle, data lines of a CSV
MAX_ERRORS = 100  # errors listed; the rest are counted
MAX_LINE = 4096  # characters of a CSV line
MAX_PATTERN = 4096  # characters of a STIX pattern
MAX_COMPARISONS = 256  # comparisons read from one pattern
MAX_TEXT = 1000  # characters kept of a description

# CSV type column -> indicator type
TYPE_NAMES = {
    "ip": "ip", "ipv4": "ip", "ipv6": "ip", "ip-dst": "ip", "ipv4-addr": "ip",
    "ipv6-addr": "ip", "domain": "domain", "domain-name": "domain", "hostname": "domain",
    "fqdn": "domain", "sha256": "sha256", "sha-256": "sha256", "sha1": "sha1",
    "sha-1": "sha1", "md5": "md5",
}  # fmt: skip
# STIX object path -> indicator type
STIX_PATHS = {
    ("ipv4-addr", "value"): "ip",
    ("ipv6-addr", "value"): "ip",
    ("domain-name", "value"): "domain",
    ("file", "hashes", "SHA-256"): "sha256",
    ("file", "hashes", "SHA256"): "sha256",
    ("file", "hashes", "SHA-1"): "sha1",
    ("file", "hashes", "SHA1"): "sha1",
    ("file", "hashes", "MD5"): "md5",
}
CSV_COLUMNS = ("type", "value", "description", "tactic", "technique", "valid_until")
_TECHNIQUE = re.compile(r"T\d{4}(?:\.\d{3})?")


class FeedError(InputError):
    """A feed cannot be read at all: too large, not JSON, not a bundle, no header."""


@dataclass(frozen=True)
class Entry:
    """One indicator as a feed lists it, its value normalised."""

    type: str
    value: str
    description: str | None = None
    valid_until: str | None = None  # RFC 3339, normalised
    tactic: str | None = None
    technique: str | None = None
    ref: str | None = None  # the STIX indicator's id


@dataclass
class Parsed:
    """What reading a feed gave: its entries, what it skipped and why, its errors."""

    format: str
    read: int = 0  # indicator objects or data lines read
    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (position, reason)
    error_count: int = 0

    def add(self, entry: Entry) -> None:
        """Keeps an entry; a value the feed already listed counts as a duplicate."""
        key = (entry.type, entry.value)
        if key in self.entries:
            self.skipped["duplicate value"] += 1
        else:
            self.entries[key] = entry

    def error(self, position: int, reason: str) -> None:
        """Records the error of one object or line (the first MAX_ERRORS are kept)."""
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append((position, reason[:300]))


def parse(fmt: str, content: str | bytes, now: str | None = None) -> Parsed:
    """Reads a feed of format `stix` or `csv`; `now` (RFC 3339) decides what has expired."""
    if fmt not in FORMATS:
        raise FeedError(f"unknown feed format {fmt!r} (one of {', '.join(FORMATS)})")
    size = len(content) if isinstance(content, bytes) else len(content.encode())
    if size > MAX_FEED_BYTES:
        raise FeedError(f"the feed is {size:,} bytes; at most {MAX_FEED_BYTES:,} are read")
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FeedError(f"the feed is not UTF-8 text: {exc}") from None
    now = normalize_ts(now or datetime.now(UTC))
    return parse_stix(content, now) if fmt == "stix" else parse_csv(content, now)


# -- STIX ---------------------------------------------------------------------------


def parse_stix(text: str, now: str) -> Parsed:
    """Reads the indicators of a STIX 2.1 bundle."""
    try:
        bundle = json.loads(text)
    except RecursionError:
        raise FeedError("the feed is not JSON: nested too deeply") from None
    except ValueError as exc:
        raise FeedError(f"the feed is not JSON: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("type") != "bundle":
        raise FeedError('a STIX feed is one bundle: a JSON object with "type": "bundle"')
    objects = bundle.get("objects", [])
    if not isinstance(objects, list):
        raise FeedError("the bundle's objects must be a list")
    parsed = Parsed("stix")
    for position, obj in enumerate(objects, 1):
        if not isinstance(obj, dict):
            parsed.error(position, "not a JSON object")
            continue
        kind = obj.get("type")
        if kind != "indicator":
            parsed.skipped[f"not an indicator: {str(kind)[:40]}"] += 1
            continue
        parsed.read += 1
        if parsed.read > MAX_INDICATORS:
            raise FeedError(f"the feed holds more than {MAX_INDICATORS:,} indicators: split it")
        try:
            _stix_indicator(parsed, obj, now)
        except (BadValue, _Unreadable) as exc:
            parsed.error(position, f"{_ref(obj)}: {exc}")
        except RecursionError:  # our walk of a pattern the grammar could still parse
            parsed.error(position, f"{_ref(obj)}: {NESTED}")
    return parsed


class _Unreadable(ValueError):
    """An indicator object is not valid STIX 2.1."""


def _ref(obj: dict[str, Any]) -> str:
    ref = obj.get("id")
    return ref[:100] if isinstance(ref, str) else "an indicator without an id"


def _stix_indicator(parsed: Parsed, obj: dict[str, Any], now: str) -> None:
    import stix2
    from stix2.pattern_visitor import create_pattern_object

    pattern = obj.get("pattern")
    if isinstance(pattern, str) and len(pattern) > MAX_PATTERN:
        raise _Unreadable(f"a pattern of {len(pattern):,} characters (at most {MAX_PATTERN:,})")
    try:
        # stix2 checks every property (ids, times, the pattern's grammar); on hostile input
        # it raises its own errors, ValueError or the pattern parser's, all per object
        indicator = stix2.parse(obj, allow_custom=True, version="2.1")
    except Exception as exc:
        raise _Unreadable(_first_line(exc)) from None
    if indicator.get("revoked"):
        parsed.skipped["revoked"] += 1
        return
    if indicator.get("pattern_type") != "stix":
        parsed.skipped[f"pattern_type {str(indicator.get('pattern_type'))[:40]}"] += 1
        return
    valid_until = indicator.get("valid_until")
    until = normalize_ts(valid_until) if valid_until is not None else None
    if until is not None and until <= now:
        parsed.skipped["expired (valid_until passed)"] += 1
        return
    try:
        tree = create_pattern_object(indicator.pattern, version="2.1")
    except Exception as exc:  # stix2 validated the pattern; this is its other grammar pass
        raise _Unreadable(_first_line(exc)) from None
    description = indicator.get("description") or indicator.get("name")
    common = {
        "description": str(description)[:MAX_TEXT] if description else None,
        "valid_until": until,
        "tactic": _stix_tactic(indicator.get("kill_chain_phases") or []),
        "ref": str(indicator.id),
    }
    taken = 0
    bad: list[str] = []
    for type_, raw in _comparisons(tree, parsed.skipped):
        taken += 1
        if taken > MAX_COMPARISONS:
            parsed.skipped[f"comparisons past the first {MAX_COMPARISONS} of a pattern"] += 1
            continue
        try:
            parsed.add(Entry(type_, normalise(type_, raw), **common))
        except NetworkRange:
            parsed.skipped["a network range (CIDR), not one address"] += 1
        except BadValue as exc:
            bad.append(str(exc))  # the pattern's other values are still read
    if bad:
        raise BadValue("; ".join(bad[:3]) + (f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""))


NESTED = "nested too deeply (the object or its pattern)"


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return NESTED
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _comparisons(node: Any, skipped: Counter[str]) -> Iterator[tuple[str, str]]:
    """Yields (type, raw value) of every comparison reached from `node` through ORs,
    counting each other branch in `skipped`."""
    from stix2 import patterns as p

    if isinstance(node, p.ObservationExpression):
        yield from _comparisons(node.operand, skipped)
    elif isinstance(node, p.ParentheticalExpression):
        yield from _comparisons(node.expression, skipped)
    elif isinstance(node, p.OrObservationExpression | p.OrBooleanExpression):
        for operand in node.operands:
            yield from _comparisons(operand, skipped)
    elif (
        isinstance(node, p.EqualityComparisonExpression | p.InComparisonExpression)
        and not node.negated
    ):
        path = (node.lhs.object_type_name, *(c.property_name for c in node.lhs.property_path))
        type_ = STIX_PATHS.get(path) or STIX_PATHS.get((*path[:-1], str(path[-1]).upper()))
        if type_ is None:
            skipped[f"pattern part on {_path(path)}"] += 1
            return
        constants = node.rhs.value if isinstance(node.rhs, p.ListConstant) else [node.rhs]
        for constant in constants:
            if isinstance(constant, p.StringConstant):
                yield type_, constant.value
            else:
                skipped[f"pattern part comparing {_path(path)} with a non-string"] += 1
    else:
        skipped[f"pattern part using {_operator(node)}"] += 1


def _path(path: tuple[str, ...]) -> str:
    head, *rest = path
    return (head + ":" + ".".join(rest))[:80]


def _operator(node: Any) -> str:
    from stix2 import patterns as p

    if isinstance(node, p.QualifiedObservationExpression):
        return "a qualifier (REPEATS, WITHIN, START ... STOP)"
    if getattr(node, "negated", False):
        return "NOT"
    operator = getattr(node, "operator", None)
    return str(operator) if operator else type(node).__name__


def _stix_tactic(phases: list[Any]) -> str | None:
    for phase in phases:
        tactic = _tactic(str(phase.get("phase_name") or ""))
        if tactic is not None:
            return tactic
    return None


def _tactic(text: str) -> str | None:
    from app.investigation.stories import KILL_CHAIN

    name = text.strip().lower().replace("-", "_").replace(" ", "_")
    return name if name in KILL_CHAIN else None


# -- CSV ----------------------------------------------------------------------------


def parse_csv(text: str, now: str) -> Parsed:
    """Reads a CSV feed: a header naming at least `type` and `value`, one indicator a line."""
    parsed = Parsed("csv")
    columns: list[str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(line) > MAX_LINE:
            if columns is None:
                raise FeedError(f"line {number}: a header of {len(line):,} characters")
            parsed.read += 1
            parsed.error(number, f"a line of {len(line):,} characters (at most {MAX_LINE:,})")
            continue
        try:
            cells = next(csv.reader([line]))
        except csv.Error as exc:
            if columns is None:
                raise FeedError(f"line {number}: the header is not CSV: {exc}") from None
            parsed.read += 1
            parsed.error(number, f"not CSV: {exc}")
            continue
        if columns is None:
            columns = [c.strip().lower() for c in cells]
            if "type" not in columns or "value" not in columns:
                raise FeedError(
                    f"line {number}: the header must name the columns type and value "
                    f"(and may name {', '.join(CSV_COLUMNS[2:])})"
                )
            continue
        parsed.read += 1
        if parsed.read > MAX_INDICATORS:
            raise FeedError(f"the feed holds more than {MAX_INDICATORS:,} indicators: split it")
        row = dict(zip(columns, (c.strip() for c in cells), strict=False))
        try:
            _csv_row(parsed, row, now)
        except (BadValue, ValueError) as exc:
            parsed.error(number, str(exc))
    if columns is None:
        raise FeedError("the feed is empty: a CSV feed starts with a header (type,value,...)")
    return parsed


def _csv_row(parsed: Parsed, row: dict[str, str], now: str) -> None:
    type_ = TYPE_NAMES.get((row.get("type") or "").lower())
    if type_ is None:
        named = (row.get("type") or "")[:40]
        raise BadValue(f"unknown type {named!r} (ip, domain, sha256, sha1 or md5)")
    until = None
    if row.get("valid_until"):
        try:
            until = normalize_ts(row["valid_until"])
        except ValueError:
            text = row["valid_until"][:40]
            raise BadValue(f"valid_until is not an RFC 3339 time: {text!r}") from None
        if until <= now:
            parsed.skipped["expired (valid_until passed)"] += 1
            return
    tactic = None
    if row.get("tactic"):
        tactic = _tactic(row["tactic"])
        if tactic is None:
            raise BadValue(f"unknown ATT&CK tactic {row['tactic'][:40]!r}")
    technique = row.get("technique") or None
    if technique is not None and not _TECHNIQUE.fullmatch(technique):
        raise BadValue(f"an ATT&CK technique is T1234 or T1234.001, got {technique[:40]!r}")
    description = row.get("description") or None
    parsed.add(
        Entry(
            type_,
            normalise(type_, row.get("value") or ""),
            description=description[:MAX_TEXT] if description else None,
            valid_until=until,
            tactic=tactic,
            technique=technique,
        )
    )
