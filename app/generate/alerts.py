"""The alerts a runtime sensor would ship: its rules, and an alert on an event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.generate.pieces import Step, _Clock, _Spec

if TYPE_CHECKING:
    from app.generate.simulation import _Sim

_RULES: dict[str, tuple[str, str, str, str]] = {
    f"sensor.{name}": (title, severity, tactic, technique)
    for name, severity, tactic, technique, title in (
        line.split(maxsplit=4)
        for line in """
shell_from_webserver         high     execution            T1059.004 Shell spawned by a web server
ingress_tool_transfer        medium   command_and_control  T1105     File downloaded by a shell
crontab_modified             medium   persistence          T1053.003 Crontab modified
imds_credentials             high     credential_access    T1552.005 Instance role credentials read
shell_from_java              high     execution            T1059.004 Shell spawned by a Java process
reverse_shell                critical command_and_control  T1095     Reverse shell to a remote host
account_discovery            low      discovery            T1087.001 Local account discovery
k8s_exec_shell               low      execution            T1609     Shell started by kubectl exec
package_install_in_container medium   command_and_control  T1105     Package installed in container
k8s_sa_token_read            high     credential_access    T1528     Service account token read
secret_file_read             medium   credential_access    T1552.001 Mounted secret read
network_scan                 medium   discovery            T1046     Network scanner executed
sudo_root_shell              low      privilege_escalation T1548.003 Root shell through sudo
sensitive_file_archive       low      collection           T1560.001 Sensitive directory archived
""".strip().splitlines()
    )
}
"""The rules of the runtime sensor whose alerts the workloads carry, by rule_id."""


def _alert(sim: _Sim, c: _Clock, on: _Spec, rule_id: str, compromises: bool = False) -> Step:
    """The sensor's alert on an event, a few ms after it (nothing when alerts are off)."""
    c.t = max(c.t, on.ts)
    t = c.ms(1, 3)
    if sim.alerts:
        title, severity, tactic, technique = _RULES[rule_id]
        spec = _Spec(t, "alert", on.proc)
        spec.alert = {
            "rule_id": rule_id,
            "title": title,
            "severity": severity,
            "tactic": tactic,
            "technique": technique,
        }
        if compromises:
            spec.alert["compromises"] = True
        spec.on = on
        yield spec
    c.ms(0.5, 1)
