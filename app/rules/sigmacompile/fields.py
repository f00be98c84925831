"""Sigma fields read from the event view, per log source category.

The mapping is a public contract, documented in `app.rules.sigma`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.rules.model import View

Getter = Callable[[View], Any]


def section_field(section: str, name: str) -> Getter:
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
    return {"network_connect": "true", "network_accept": "false"}.get(str(kind))


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
        return {"inet6": "true", "inet": "false"}.get(str(family))

    return get


def _target_filename(view: View) -> Any:
    event = view.get("event") or {}
    if event.get("kind") == "file_rename":
        return event.get("target_path")
    return event.get("path")


_PROCESS_FIELDS: dict[str, Getter] = {
    "Image": section_field("process", "exe"),
    "CommandLine": _cmdline("process"),
    "CurrentDirectory": section_field("process", "cwd"),
    "User": section_field("process", "user"),
    "LogonId": section_field("process", "uid"),
    "ProcessId": section_field("process", "pid"),
    "ParentProcessId": section_field("process", "ppid"),
    "TerminalSessionId": section_field("process", "session_id"),
    "ParentImage": section_field("parent", "exe"),
    "ParentCommandLine": _cmdline("parent"),
    "ParentUser": section_field("parent", "user"),
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
        "Protocol": section_field("event", "protocol"),
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
