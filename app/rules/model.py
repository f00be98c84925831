"""The rule model every rule source (built-in YAML, user YAML, Sigma) compiles into.

Rules match an *event view*: a plain dict the app builds from the graph for each
event, so that a rule sees the parent's and ancestors' fields even when the
sensor did not ship them with the event:

    {
      "event":     {"id", "kind", "ts", "source", "host_id", "container_id", "summary",
                    # kind-specific, flattened as on the Event node:
                    "path", "target_path", "mode", "flags",                     # file_*
                    "protocol", "family", "src_ip", "src_port", "dst_ip", "dst_port",  # network_*
                    "dns_name", "dns_type", "dns_answers",                      # dns_query
                    "imds_cloud", "imds_url", "imds_method", "server_ip", "imds_user_agent",
                    "role", "access_key_id",                                    # imds_request
                    "exit_code", "signal",                                      # process_exit
                    "rule_id", "title", "severity", ...},                       # alert
      "process":   {"key", "pid", "ppid", "exe", "comm", "args": [str], "cmdline": str,
                    "cwd", "uid", "user", "gid", "group", "auid", "session_id", "tty",
                    "cgroup", "service", "container_id", "session_kind", "session_user"},
      "parent":    {same keys as process} or None,
      "ancestors": [{same keys}, ...],   # beyond the parent, nearest first
      "container": {"id", "name", "image", "runtime"} or None,
      "pod":       {"uid", "name", "namespace", "workload", "cluster"} or None,
    }

Missing values are None (or absent). `cmdline` is `args` joined by spaces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")

View = dict[str, Any]
Predicate = Callable[[View], bool]

# The kinds of response action a rule may recommend; a machine acts on the first four
# (app/rules/actions.py gives each its typed target), a person on REVIEW.
ACTION_TYPES: tuple[str, ...] = (
    "KILL_PROCESS", "ISOLATE_CONTAINER", "BLOCK_EGRESS", "ROTATE_CREDENTIAL", "REVIEW",
)  # fmt: skip


@dataclass(frozen=True)
class ActionTemplate:
    """A recommended action of a rule: its type and its text, a template over the view."""

    type: str  # one of ACTION_TYPES
    text: str  # "Kill process {process.pid} on host {event.host_id}"


@dataclass(frozen=True)
class Rule:
    """A detection rule, compiled: `predicate(view)` says whether an event matches."""

    id: str
    title: str
    severity: Severity
    predicate: Predicate = field(repr=False, compare=False)
    description: str | None = None
    tactic: str | None = None  # MITRE ATT&CK tactic, snake_case: execution, persistence, ...
    technique: str | None = None  # MITRE ATT&CK technique id: T1059.004
    compromises: bool = False  # marks the acting process compromised (roots an exploit context)
    kinds: frozenset[str] | None = None  # event kinds the rule applies to; None: all
    # recommended actions, templates over the view ("{process.pid}"); a plain string is REVIEW
    actions: tuple[ActionTemplate, ...] = ()
    source: str = "builtin"  # builtin, user:<path>, sigma:<path>

    def __post_init__(self) -> None:
        typed = tuple(a if isinstance(a, ActionTemplate) else ActionTemplate("REVIEW", a)
                      for a in self.actions)  # fmt: skip
        object.__setattr__(self, "actions", typed)

    def matches(self, view: View) -> bool:
        """Tells whether the rule fires on an event view (never raises on odd data)."""
        kind = view.get("event", {}).get("kind")
        if self.kinds is not None and kind not in self.kinds:
            return False
        try:
            return bool(self.predicate(view))
        except (TypeError, ValueError, KeyError, AttributeError, IndexError):
            return False
