"""Recommended actions: templates over the event view, checked at load, filled per event.

`{process.pid}` is replaced by the field's value, modifiers apply
(`{process.exe|basename}`), `{event.target_path or event.path}` takes the first present
value (see `app.rules.yamlrules`). Rules from every source (YAML, Sigma) render here.

Each action has a type (`ACTION_TYPES` in app/rules/model.py). An action of a type a
machine can carry out also gets a typed *target*, read from fixed fields of the view
(`TARGETS`): the process to kill, the container to isolate, the address to block, the
credential to rotate. The text is for people; a receiver acts on the type and target.
An action whose target is unknown is left out, as it could not be carried out. Its id
is a digest of its type and target (of its text, for REVIEW), so the same action
recommended twice, or by two rules, is one action.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.rules.model import ActionTemplate, Rule, View
from app.rules.yamlcompile.context import Ctx, RuleError
from app.rules.yamlcompile.fields import Getter, compile_modifiers, field_getter

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_Part = str | tuple[str, tuple[Getter, ...]]  # literal, or (placeholder path, getters)


def compile_template(text: str, ctx: Ctx | None, where: str = "") -> tuple[_Part, ...]:
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
            probe = ctx or Ctx("<template>", None, {})
            for alt in inner.split(" or "):
                path, *mods = alt.strip().split("|")
                get = field_getter(path, where, probe, "view")
                getters.append(_then(get, compile_modifiers(mods, where, probe)))
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
    return compile_template(text, None)


def render_actions(rule: Rule, view: View) -> list[str]:
    """Returns the texts of the rule's recommended actions filled from the view.

    An unknown value is said in words ("command line unknown"); an action whose
    target (an address, port, container, key, path) is unknown or unspecified
    (0.0.0.0, ::, port 0) is left out: it could not be carried out.
    """
    return [a.text for a in render_typed(rule, view)]


@dataclass(frozen=True)
class ResponseAction:
    """A recommended action filled for one event: type, typed target (None for REVIEW), text."""

    type: str
    text: str
    target: dict[str, Any] | None

    @property
    def id(self) -> str:
        """The action's id: a digest of its type and target (its text for REVIEW)."""
        what = self.target if self.target is not None else self.text
        digest = hashlib.sha256(json.dumps([self.type, what], sort_keys=True).encode())
        return "act_" + digest.hexdigest()[:20]

    def as_dict(self) -> dict[str, Any]:
        """Returns the action as stored and sent: id, type, target, text."""
        return {"id": self.id, "type": self.type, "target": self.target, "text": self.text}

    @classmethod
    def from_dict(cls, found: dict[str, Any]) -> ResponseAction:
        """Reads an action back from as_dict()'s form."""
        return cls(type=found["type"], text=found["text"], target=found.get("target"))


# The typed target of each action type: its kind, and each field with the view paths
# it is read from (the first present wins); `_REQUIRED` names the fields of which at
# least one must be known per group, else the action is left out.
TARGETS: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "KILL_PROCESS": ("process", {"host": ("event.host_id",), "pid": ("process.pid",),
                                 "key": ("process.key",), "exe": ("process.exe",)}),
    "ISOLATE_CONTAINER": ("container", {
        "id": ("container.id", "process.container_id", "event.container_id"),
        "host": ("event.host_id",)}),
    "BLOCK_EGRESS": ("address", {"ip": ("event.dst_ip",), "port": ("event.dst_port",),
                                 "domain": ("event.dns_name",)}),
    "ROTATE_CREDENTIAL": ("credential", {"access_key_id": ("event.access_key_id",),
                                         "role": ("event.role",)}),
}  # fmt: skip
_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "KILL_PROCESS": (("host",), ("pid",)),
    "ISOLATE_CONTAINER": (("id",),),
    "BLOCK_EGRESS": (("ip", "domain"),),
    "ROTATE_CREDENTIAL": (("access_key_id", "role"),),
}
_INTEGERS = frozenset({"pid", "port"})


def _view_value(view: View, path: str) -> Any:
    section, _, name = path.partition(".")
    holder = view.get(section)
    return holder.get(name) if isinstance(holder, dict) else None


def _target_value(field: str, value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return None
    if field in _INTEGERS:
        try:
            number = int(value)
        except (TypeError, ValueError):
            return None
        return number if number > 0 else None
    if not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if field == "domain":
        text = text.rstrip(".").lower()
    return None if text in _UNSPECIFIED else text


def target_of(action_type: str, view: View) -> dict[str, Any] | None:
    """Returns the typed target of an action on a view; None when it is not known enough."""
    kind, fields = TARGETS[action_type]
    target: dict[str, Any] = {"kind": kind}
    for field, paths in fields.items():
        for path in paths:
            value = _target_value(field, _view_value(view, path))
            if value is not None:
                target[field] = value
                break
        else:
            target[field] = None
    if all(any(target[f] is not None for f in group) for group in _REQUIRED[action_type]):
        return target
    return None


def render_typed(rule: Rule, view: View) -> list[ResponseAction]:
    """Returns the rule's recommended actions filled from the view, each with its target.

    Besides what `render_actions` leaves out, an action of a machine type (not REVIEW)
    whose typed target the view does not give is left out.
    """
    out = []
    for action in rule.actions:
        text = _render(action, view)
        if text is None:
            continue
        if action.type == "REVIEW":
            out.append(ResponseAction("REVIEW", text, None))
            continue
        target = target_of(action.type, view)
        if target is not None:
            out.append(ResponseAction(action.type, text, target))
    return out


def _render(action: ActionTemplate, view: View) -> str | None:
    """Fills one action's text; None when a target it names is unknown."""
    pieces: list[str] = []
    for part in _template(action.text):
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
            return None
        before = pieces[-1] if pieces else ""
        pieces.append(text if text is not None else _said_unknown(path, before))
    return "".join(pieces)
