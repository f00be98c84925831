"""The view fields a YAML rule names (`process.exe`), and the modifiers on them (`|basename`).

Conditions and action templates both read the view through `field_getter` and
`compile_modifiers`; an unknown section, field or modifier is an error at load.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from typing import Any

from app.rules.model import View
from app.rules.yamlcompile.context import Ctx

# fmt: off
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
# fmt: on

Getter = Callable[[Any], Any]


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


def field_getter(path: str, where: str, ctx: Ctx, scope: str) -> Getter:
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


def compile_modifiers(mods: Sequence[str], where: str, ctx: Ctx) -> Callable[[Any], Any] | None:
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
