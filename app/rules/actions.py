"""Recommended actions: templates over the event view, checked at load, filled per event.

`{process.pid}` is replaced by the field's value, modifiers apply
(`{process.exe|basename}`), `{event.target_path or event.path}` takes the first present
value (see `app.rules.yamlrules`). Rules from every source (YAML, Sigma) render here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from app.rules.model import Rule, View
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
