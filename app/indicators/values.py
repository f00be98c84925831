"""Indicator values in one canonical form, and the values an event carries.

An indicator is `type:value`, with type `ip`, `domain`, `sha256`, `sha1` or
`md5`, and its value normalised so that a feed's spelling and a sensor's meet:
an IP address as `ipaddress` writes it (an IPv4-mapped IPv6 address as the IPv4
one), a domain lower-cased without its trailing dot (international names in
their ASCII form), a hash as lower-case hex of the algorithm's length.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

TYPES = ("ip", "domain", "sha256", "sha1", "md5")
HASH_LENGTHS = {"sha256": 64, "sha1": 40, "md5": 32}
MAX_VALUE = 1024  # characters of a value as written, before normalising
# an event kind -> the event property holding the remote address it reached
REMOTE_IP_KINDS = ("network_connect", "network_accept")

_HEX = re.compile(r"[0-9a-f]+")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


class BadValue(ValueError):
    """A value is not a valid indicator of its type."""


class NetworkRange(BadValue):
    """An address value names a network range (CIDR), not one address."""


def normalise(type_: str, raw: str) -> str:
    """Returns the canonical value of an indicator of `type_`, or raises BadValue."""
    if not isinstance(raw, str):
        raise BadValue(f"a {type_} value must be text")
    text = raw.strip()
    if not text:
        raise BadValue(f"an empty {type_} value")
    if len(text) > MAX_VALUE:
        raise BadValue(f"a value of {len(text)} characters (at most {MAX_VALUE})")
    if type_ == "ip":
        return _ip(text)
    if type_ == "domain":
        return _domain(text)
    if type_ in HASH_LENGTHS:
        return _hash(type_, text)
    raise BadValue(f"unknown indicator type {type_!r} (one of {', '.join(TYPES)})")


def _ip(text: str) -> str:
    host, slash, prefix = text.partition("/")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise BadValue(f"not an IP address: {text[:80]!r}") from None
    if slash and prefix != str(address.max_prefixlen):
        raise NetworkRange(f"a network range, not one address: {text[:80]!r}")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def _domain(text: str) -> str:
    name = text.rstrip(".").lower()
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise BadValue(f"not a domain name: {text[:80]!r}") from None
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise BadValue(f"not a domain name: {text[:80]!r}")
    return name


def _hash(type_: str, text: str) -> str:
    value = text.lower()
    if len(value) != HASH_LENGTHS[type_] or not _HEX.fullmatch(value):
        raise BadValue(f"not a {type_} hash ({HASH_LENGTHS[type_]} hex digits): {text[:80]!r}")
    return value


def indicator_id(type_: str, value: str) -> str:
    """Returns an indicator's id: `type:value` (value already normalised)."""
    return f"{type_}:{value}"


def lookups(type_: str, value: str) -> list[str]:
    """Returns the spellings under which a value may be stored on an entity node: an
    Endpoint's `ip` or a Domain's `key` as the sensor wrote it (the re-check and related
    stories find the entities through them); a hash is found by its value."""
    if type_ == "ip":
        address = ipaddress.ip_address(value)
        found = [value]
        if isinstance(address, ipaddress.IPv4Address):
            found.append(f"::ffff:{value}")
        else:
            found += [address.exploded, value.upper(), address.exploded.upper()]
        return list(dict.fromkeys(found))
    if type_ == "domain" and "xn--" in value:
        try:
            return list(dict.fromkeys([value, value.encode("ascii").decode("idna")]))
        except UnicodeError:
            return [value]
    return [value]


def event_hash(text: str) -> tuple[str, str] | None:
    """Returns (type, value) of a content hash as a sensor reports it (`sha256:...`, or
    bare hex of a known length), or None for another algorithm or a malformed one."""
    algorithm, sep, digest = text.strip().rpartition(":")
    digest = digest.lower()
    if sep:
        type_ = algorithm.lower().replace("-", "").replace("_", "")
    else:
        type_ = next((t for t, n in HASH_LENGTHS.items() if n == len(digest)), "")
    if type_ not in HASH_LENGTHS or len(digest) != HASH_LENGTHS[type_]:
        return None
    return (type_, digest) if _HEX.fullmatch(digest) else None


def observables(props: dict[str, Any]) -> list[str]:
    """Returns the indicator ids an event's properties could match: the remote address of
    a connect or accept, the name of a DNS query, the content hashes of a file event."""
    kind = props.get("kind") or ""
    found: list[str] = []
    try:
        if kind in REMOTE_IP_KINDS and props.get("dst_ip"):
            found.append(indicator_id("ip", _ip(str(props["dst_ip"]))))
        elif kind == "dns_query" and props.get("dns_name"):
            found.append(indicator_id("domain", _domain(str(props["dns_name"]).strip())))
    except BadValue:
        return []  # a sensor's odd address or name matches no indicator
    if kind.startswith("file_"):
        hashes = props.get("hashes")
        for text in hashes if isinstance(hashes, list) else []:
            parsed = event_hash(str(text))
            if parsed is not None:
                found.append(indicator_id(*parsed))
    return sorted(set(found))
