"""A story's signals as OCSF Detection Findings (class 2004, OCSF 1.3.0), for SIEMs.

One finding per signal: the rule as the analytic, its ATT&CK tactic and technique,
the severity, the story's triage status, the acting process (with its parent, user,
container) and what the event touched as evidence (a destination, a DNS query, a
file), the host as the device, the recommended actions as the remediation, and the
addresses, domains, hashes, names and keys as observables. Storyline's own ids (the
story, the correlation key, the event) are under `unmapped.storyline`.

Values that OCSF types constrain (an IP address, a hostname, a 64-character hash, a
port) are given only when they are valid for the type; otherwise they go to a
free-text field or are left out, so that every finding validates against the
published schema (tests/test_ocsf.py compiles it from the schema.ocsf.io export).
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from datetime import datetime
from typing import Any

from app import __version__
from app.investigation.evidence import Evidence

OCSF_VERSION = "1.3.0"
PROFILES = ["host", "container"]  # device (host); process.container (container)
CLASS_UID, CATEGORY_UID, ACTIVITY_CREATE = 2004, 2, 1

SEVERITY_ID = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAME = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
# a story's triage status as the finding's: open is New, under review In Progress,
# archived (nothing more to do) Resolved
STATUS_ID = {"open": (1, "New"), "under_review": (2, "In Progress"), "archived": (4, "Resolved")}
# MITRE ATT&CK Enterprise tactics: snake_case name -> (id, name)
TACTICS = {
    "reconnaissance": ("TA0043", "Reconnaissance"),
    "resource_development": ("TA0042", "Resource Development"),
    "initial_access": ("TA0001", "Initial Access"),
    "execution": ("TA0002", "Execution"),
    "persistence": ("TA0003", "Persistence"),
    "privilege_escalation": ("TA0004", "Privilege Escalation"),
    "defense_evasion": ("TA0005", "Defense Evasion"),
    "credential_access": ("TA0006", "Credential Access"),
    "discovery": ("TA0007", "Discovery"),
    "lateral_movement": ("TA0008", "Lateral Movement"),
    "collection": ("TA0009", "Collection"),
    "command_and_control": ("TA0011", "Command and Control"),
    "exfiltration": ("TA0010", "Exfiltration"),
    "impact": ("TA0040", "Impact"),
}
_TECHNIQUE = re.compile(r"^(T\d{4})(\.\d{3})?$")
_HOSTNAME = re.compile(  # OCSF 1.3.0 hostname_t
    r"^(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*"
    r"([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9])$"
)
_HASH = re.compile(r"^(?:(md5|sha1|sha256|sha512):)?([0-9a-fA-F]+)$")
_HASH_ALGORITHM = {"md5": (1, "MD5", 32), "sha1": (2, "SHA-1", 40), "sha256": (3, "SHA-256", 64)}
# observable type ids (OCSF 1.3.0 observable.type_id)
HOSTNAME, IP, USER_NAME, FILE_NAME, HASH, PROCESS_NAME, OTHER = 1, 2, 4, 7, 8, 9, 99


def findings(evidence: Evidence) -> list[dict[str, Any]]:
    """Returns a story's signals as OCSF Detection Findings, in time order."""
    return [finding(evidence.story, row) for row in evidence.signals]


def epoch_ms(ts: str | None) -> int | None:
    """An RFC 3339 time (any precision) as epoch milliseconds."""
    if not ts:
        return None
    text = ts.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds
        digits = re.match(r"\d*", rest)
        frac = digits.group(0) if digits else ""
        text = f"{head}.{(frac + '000000')[:6]}{rest[len(frac) :]}"
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        return None


def _ip(value: Any) -> str | None:
    try:
        return str(ipaddress.ip_address(str(value))) if value else None
    except ValueError:
        return None


def _hostname(value: Any) -> str | None:
    text = str(value).rstrip(".") if value else ""
    return text if text and len(text) <= 253 and _HOSTNAME.match(text) else None


def _fingerprint(value: str) -> dict[str, Any] | None:
    m = _HASH.match(value.strip())
    if not m:
        return None
    name, digest = (m.group(1) or "").lower(), m.group(2).lower()
    for algorithm, (uid, caption, length) in _HASH_ALGORITHM.items():
        if (name == algorithm or not name) and len(digest) == length:
            return {"algorithm_id": uid, "algorithm": caption, "value": digest}
    return None


def _process(p: dict[str, Any] | None, parent: dict[str, Any] | None = None) -> dict | None:
    if p is None or (p.get("pid") is None and not p.get("key")):
        return None
    out: dict[str, Any] = {}
    if p.get("pid") is not None:
        out["pid"] = p["pid"]
    if p.get("key"):
        out["uid"] = p["key"]
    if p.get("exe"):
        out["name"] = posixpath.basename(p["exe"]) or p["exe"]
        out["file"] = {"name": out["name"], "path": p["exe"], "type_id": 1,
                       "type": "Regular File"}  # fmt: skip
    if p.get("args"):
        out["cmd_line"] = " ".join(p["args"])
    if p.get("user") or p.get("uid") is not None:
        user: dict[str, Any] = {}
        if p.get("user"):
            user["name"] = p["user"]
        if p.get("uid") is not None:
            user["uid"] = str(p["uid"])
        out["user"] = user
    if created := epoch_ms(p.get("start_time")):
        out["created_time"] = created
    if parent is not None and (made := _process(parent)):
        out["parent_process"] = made
    return out


def _container(c: dict[str, Any] | None, pod: dict[str, Any] | None) -> dict | None:
    if not c or not c.get("id"):
        return None
    out: dict[str, Any] = {"uid": c["id"]}
    if c.get("name"):
        out["name"] = c["name"]
    if c.get("image"):  # OCSF wants an image uid: the reference the sensor gives is ours
        out["image"] = {"name": c["image"], "uid": c["image"]}
    if c.get("runtime"):
        out["runtime"] = c["runtime"]
    if pod and pod.get("namespace"):
        out["orchestrator"] = "kubernetes"
    return out


def _endpoint(ip: Any, port: Any) -> dict | None:
    address = _ip(ip)
    if address is None:
        return None
    out: dict[str, Any] = {"ip": address}
    if isinstance(port, int) and 0 <= port <= 65535:
        out["port"] = port
    return out


def _evidence(row: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The finding's evidence (what the event shows) and its observables."""
    event, proc = row["event"], row["process"]
    found: dict[str, Any] = {}
    observables: list[dict[str, Any]] = []

    def observe(name: str, type_id: int, kind: str, value: Any) -> None:
        if value is not None and value != "":
            observables.append({"name": name, "type_id": type_id, "type": kind,
                                "value": str(value)})  # fmt: skip

    if (process := _process(proc, row["parent"])) is not None:
        container = _container(row["container"], row["pod"])
        if container:
            process["container"] = container
        found["process"] = process
        observe("evidences[0].process.name", PROCESS_NAME, "Process Name", process.get("name"))
        if "user" in process:
            observe("evidences[0].process.user.name", USER_NAME, "User Name",
                    process["user"].get("name"))  # fmt: skip
    kind = event.get("kind") or ""
    if kind.startswith("network_"):
        inbound = kind == "network_accept"
        remote = _endpoint(event.get("src_ip") if inbound else event.get("dst_ip"),
                           event.get("src_port") if inbound else event.get("dst_port"))  # fmt: skip
        local = _endpoint(event.get("dst_ip") if inbound else event.get("src_ip"),
                          event.get("dst_port") if inbound else event.get("src_port"))  # fmt: skip
        if remote:
            found["src_endpoint" if inbound else "dst_endpoint"] = remote
            side = "src_endpoint" if inbound else "dst_endpoint"
            observe(f"evidences[0].{side}.ip", IP, "IP Address", remote["ip"])
        if local:
            found["dst_endpoint" if inbound else "src_endpoint"] = local
    if kind == "dns_query" and (name := _hostname(event.get("dns_name"))):
        found["query"] = {"hostname": name.lower()}
        if event.get("dns_type"):
            found["query"]["type"] = event["dns_type"]
        observe("evidences[0].query.hostname", HOSTNAME, "Hostname", name.lower())
    if kind == "imds_request":
        if endpoint := _endpoint(event.get("server_ip"), None):
            found["dst_endpoint"] = endpoint
        observe("unmapped.storyline.access_key_id", OTHER, "Cloud Access Key",
                event.get("access_key_id"))  # fmt: skip
    if kind.startswith("file_") and event.get("path"):
        path = event["path"]
        file: dict[str, Any] = {"name": posixpath.basename(path) or path, "path": path,
                                "type_id": 0, "type": "Unknown"}  # fmt: skip
        hashes = [h for h in (_fingerprint(v) for v in row["hashes"] or []) if h]
        if hashes:
            file["hashes"] = hashes
        found["file"] = file
        observe("evidences[0].file.name", FILE_NAME, "File Name", file["name"])
        for h in hashes:
            observe("evidences[0].file.hashes.value", HASH, "Hash", h["value"])
    return found, observables


def _attack(tactic: str | None, technique: str | None) -> list[dict[str, Any]]:
    attack: dict[str, Any] = {}
    if tactic in TACTICS:
        uid, name = TACTICS[tactic]
        attack["tactic"] = {"uid": uid, "name": name}
    if technique and (m := _TECHNIQUE.match(technique)):
        attack["technique"] = {"uid": m.group(1)}
        if m.group(2):
            attack["sub_technique"] = {"uid": technique}
    return [attack] if attack else []


def finding(story: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """Returns one signal (a story_findings.cypher row) as an OCSF Detection Finding."""
    signal, event = row["signal"], row["event"]
    severity_id = SEVERITY_ID.get(signal.get("severity") or "", 0)
    status_id, status = STATUS_ID.get(story.get("status") or "open", (99, "Other"))
    time = epoch_ms(signal.get("ts")) or epoch_ms(event.get("ts")) or 0
    evidence, observables = _evidence(row)
    info: dict[str, Any] = {
        "uid": signal["id"],
        "title": signal.get("title") or signal.get("rule_id") or signal["id"],
        "analytic": {
            "uid": signal["rule_id"],
            "name": signal.get("title") or signal["rule_id"],
            "type_id": 1,
            "type": "Rule",
        },
        "created_time": time,
        "first_seen_time": time,
        "last_seen_time": time,
        "related_events": [{"uid": event["id"], "type": event.get("kind") or "event"}],
        "types": [signal.get("source") or "rule"],
    }
    if signal.get("description"):
        info["desc"] = signal["description"]
    if attacks := _attack(signal.get("tactic"), signal.get("technique")):
        info["attacks"] = attacks
    out: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": SEVERITY_NAME.get(severity_id, "Unknown"),
        "status_id": status_id,
        "status": status,
        "time": time,
        "message": _message(signal, event, row["process"]),
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "Storyline", "vendor_name": "Storyline", "version": __version__},
            "profiles": PROFILES,
            "uid": signal["id"],
            "correlation_uid": story["id"],
            "original_time": signal.get("ts") or event.get("ts") or "",
            "log_name": "signals",
        },
        "finding_info": info,
        "evidences": [evidence] if evidence else [],
        "unmapped": {"storyline": {
            "story_id": story["id"], "story_title": story.get("title"),
            "correlation_key": story.get("correlation_key"), "event_id": event["id"],
            "event_kind": event.get("kind"), "rule_source": signal.get("source"),
            "compromises": bool(signal.get("compromises")),
            "access_key_id": event.get("access_key_id"),
        }},
    }  # fmt: skip
    if not out["evidences"]:
        del out["evidences"]
    if host := event.get("host_id"):
        device: dict[str, Any] = {"uid": host, "name": host, "type_id": 0, "type": "Unknown"}
        if hostname := _hostname(host):
            device["hostname"] = hostname
        out["device"] = device
    if signal.get("actions"):
        out["remediation"] = {"desc": "\n".join(signal["actions"])}
    if observables:
        out["observables"] = observables
    return out


def _message(signal: dict[str, Any], event: dict[str, Any], proc: dict[str, Any] | None) -> str:
    """The rule's title, on which host, by which process: "Reverse shell on node-3 by sh (4000)"."""
    text = signal.get("title") or signal["rule_id"]
    if event.get("host_id"):
        text += f" on {event['host_id']}"
    if proc and proc.get("exe"):
        text += f" by {posixpath.basename(proc['exe'])} ({proc.get('pid')})"
    return str(text)
