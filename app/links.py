"""Pivot links: URL templates per entity kind, from a settings file, filled per entity.

`STORYLINE_LINKS_FILE` names a YAML (or JSON) file mapping a kind to its links:

    host:
      - title: Logs of this host
        url: "https://logs.example.com/search?q=host:{id}&from={from}&to={to}"
    audit_record:
      - title: CloudTrail events of this access key
        url: "https://console.aws.amazon.com/cloudtrail/home#/events?AccessKeyId={access_key_id}"

A template names the entity's fields in braces (`FIELDS` lists them per kind, plus
`from`, `to` as RFC 3339 and `from_ms`, `to_ms` as epoch milliseconds: the window
the entity was seen in, widened by five minutes each side). Values are URL-encoded
whole. An entity without a value for a field the template names gets no such link,
rather than a link to the wrong thing. The file is checked when it is loaded: an
unknown kind or field, or a URL that is not http(s), is a configuration error.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import yaml

from app.errors import ConfigError
from app.events import normalize_ts

TIME_FIELDS = ("from", "to", "from_ms", "to_ms")
FIELDS: dict[str, tuple[str, ...]] = {
    "host": ("id", "name"),
    "container": ("id", "name", "image", "host_id", "pod_uid"),
    "pod": ("uid", "name", "namespace", "cluster", "workload"),
    "process": ("key", "pid", "exe", "user", "host_id", "container_id"),
    "event": ("id", "kind", "host_id", "process_key", "process_pid"),
    "audit_record": ("id", "source", "actor", "action", "access_key_id", "source_ip",
                     "cluster", "namespace", "pod"),
}  # fmt: skip
MARGIN = timedelta(minutes=5)
MAX_LINKS_PER_KIND = 20


@dataclass(frozen=True)
class Template:
    title: str
    url: str
    fields: tuple[str, ...]


Links = dict[str, list[Template]]


def _fields_of(text: str, where: str) -> tuple[str, ...]:
    try:
        return tuple(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_links(path: Path | None) -> Links:
    """Reads and checks a links file; no file means no links."""
    if path is None:
        return {}
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read STORYLINE_LINKS_FILE {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"STORYLINE_LINKS_FILE {path} is not YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a mapping of entity kind to a list of links")
    links: Links = {}
    for kind, entries in raw.items():
        if kind not in FIELDS:
            raise ConfigError(f"{path}: unknown kind {kind!r}; kinds: {', '.join(FIELDS)}")
        if not isinstance(entries, list) or len(entries) > MAX_LINKS_PER_KIND:
            raise ConfigError(f"{path}: {kind} takes a list of at most {MAX_LINKS_PER_KIND} links")
        for i, entry in enumerate(entries):
            where = f"{path}: {kind}[{i}]"
            if not (isinstance(entry, dict) and set(entry) == {"title", "url"}
                    and all(isinstance(v, str) and v for v in entry.values())):  # fmt: skip
                raise ConfigError(f"{where}: a link is {{title: ..., url: ...}}")
            fields = _fields_of(entry["title"], where) + _fields_of(entry["url"], where)
            unknown = set(fields) - set(FIELDS[kind]) - set(TIME_FIELDS)
            if unknown:
                raise ConfigError(
                    f"{where}: unknown field {sorted(unknown)[0]!r}; {kind} has "
                    + ", ".join(FIELDS[kind] + TIME_FIELDS)
                )
            if urlsplit(entry["url"]).scheme not in ("http", "https"):
                raise ConfigError(f"{where}: the url must start with http:// or https://")
            links.setdefault(kind, []).append(Template(entry["title"], entry["url"], fields))
    return links


def _instant(value: Any) -> datetime | None:
    """A time as the API writes it (any precision or offset), to the microsecond."""
    if not value:
        return None
    try:
        text = normalize_ts(value)  # YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ
    except ValueError:
        return None
    return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)


def _window(start: Any, end: Any) -> dict[str, str]:
    lo, hi = _instant(start), _instant(end) or _instant(start)
    if lo is None or hi is None:
        return {}
    lo, hi = (lo - MARGIN).astimezone(UTC), (hi + MARGIN).astimezone(UTC)
    return {
        "from": lo.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": hi.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "from_ms": str(int(lo.timestamp() * 1000)),
        "to_ms": str(int(hi.timestamp() * 1000)),
    }


def render(
    links: Links, kind: str, values: dict[str, Any], start: Any = None, end: Any = None
) -> list[tuple[str, str]]:
    """Returns (title, url) for each link of a kind whose fields the entity has."""
    templates = links.get(kind)
    if not templates:
        return []
    known = {k: str(v) for k, v in values.items() if v is not None and v != ""}
    known.update(_window(start, end))
    found = []
    for t in templates:
        if any(f not in known for f in t.fields):
            continue
        title = t.title.format_map(known)
        url = t.url.format_map({k: quote(v, safe="") for k, v in known.items()})
        found.append((title, url))
    return found
