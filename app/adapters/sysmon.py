"""Sysmon for Linux (`format=sysmon-linux`): one XML `<Event>` per line, as syslog writes it.

Sysmon for Linux logs every event as one line of XML, behind the syslog prefix
when it is read from /var/log/syslog or /var/log/messages
(`Jan  1 12:00:00 host sysmon: <Event>...`). Real pipelines damage these lines:
syslog cuts long lines (the XML stops mid-element), and collectors strip the `;`
of entities (`&lt unknown process&gt `). So a line is read by a tolerant scanner,
never by an XML parser: every field that arrived whole is used, a field cut in
the middle is dropped, and the warnings name what was lost. A record is rejected
only when what an event needs did not arrive: the host (`Computer`), the time
(`UtcTime`, else `TimeCreated`) and the process (`ProcessGuid`).

Only the five predefined entities and numeric character references are decoded;
a line that declares a DTD is refused, and any other `&...` is kept as text with
a warning (no external entities, no entity expansion).

EventID -> kind: 1 process_exec, 3 network_connect (network_accept when
`Initiated` is false), 5 process_exit, 9 file_open (a raw read of a block
device: the path is the device), 11 file_create, 23 and 26 file_unlink. The
other events Sysmon for Linux writes (4 service state change, 10 process access,
16 configuration change, 255 error) have no kind yet and are rejected.

Mapping notes:
- `ProcessGuid` is the process key; on Linux `LogonId` is the uid and
  `TerminalSessionId` the audit session id (4294967295 when unset).
- Sysmon for Linux joins argv with spaces and quotes nothing, so `args` is
  `CommandLine` split on whitespace: an argument that held a space comes back
  as several. Without a `CommandLine`, `args` is `[Image]`.
- Network ends follow the model's convention: `src` is the acting process's
  end, `dst` the peer. Sysmon reports an accepted connection the other way round
  (`Source` is the remote client), so those are swapped.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from app.adapters import Outcome, RawRecord, Rejected
from app.adapters.fields import Unusable
from app.adapters.outcomes import Mapped, answer
from app.events import EVENT_ADAPTER, record_id

name = "sysmon-linux"
framing = "lines"

# The EventData fields of each event Sysmon for Linux writes, in its order; a cut
# line has lost the ones that did not arrive.
SCHEMAS: dict[int, tuple[str, ...]] = {
    1: (
        "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "FileVersion",
        "Description", "Product", "Company", "OriginalFileName", "CommandLine",
        "CurrentDirectory", "User", "LogonGuid", "LogonId", "TerminalSessionId",
        "IntegrityLevel", "Hashes", "ParentProcessGuid", "ParentProcessId", "ParentImage",
        "ParentCommandLine", "ParentUser",
    ),
    3: (
        "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "User", "Protocol",
        "Initiated", "SourceIsIpv6", "SourceIp", "SourceHostname", "SourcePort",
        "SourcePortName", "DestinationIsIpv6", "DestinationIp", "DestinationHostname",
        "DestinationPort", "DestinationPortName",
    ),
    5: ("RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "User"),
    9: ("RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "Device", "User"),
    11: (
        "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "Image", "TargetFilename",
        "CreationUtcTime", "User",
    ),
    23: (
        "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "User", "Image", "TargetFilename",
        "Hashes", "IsExecutable", "Archived",
    ),
    26: (
        "RuleName", "UtcTime", "ProcessGuid", "ProcessId", "User", "Image", "TargetFilename",
        "Hashes", "IsExecutable",
    ),
}  # fmt: skip

KINDS: dict[int, str] = {
    1: "process_exec",
    3: "network_connect",
    5: "process_exit",
    9: "file_open",
    11: "file_create",
    23: "file_unlink",
    26: "file_unlink",
}
# Events Sysmon for Linux writes that no Storyline kind holds yet.
UNMAPPED: dict[int, str] = {
    4: "Sysmon service state change",
    10: "process access",
    16: "Sysmon configuration change",
    255: "Sysmon error",
}

NULL_GUID = "{00000000-0000-0000-0000-000000000000}"
MAX_ID = 0xFFFFFFFF  # pids, uids and session ids are 32-bit on Linux

_EVENT = re.compile(r"<Event[\s>/]")
_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_PROVIDER = re.compile(r"""<Provider\s+Name\s*=\s*(["'])([^"'<>]*)\1""")
_EVENT_ID = re.compile(r"<EventID(?:\s[^<>]*)?>([^<]*)</EventID>")
_RECORD_ID = re.compile(r"<EventRecordID>([^<]*)</EventRecordID>")
_COMPUTER = re.compile(r"<Computer>([^<]*)</Computer>")
_SYSTEM_TIME = re.compile(r"""<TimeCreated\s+SystemTime\s*=\s*(["'])([^"'<>]*)\1""")
_DATA = re.compile(r"""<Data\s+Name\s*=\s*(["'])([^"'<>]*)\1\s*(/?)>""")
_REFERENCE = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6}));")
_BROKEN_REFERENCE = re.compile(r"&#?\w{0,12};?")
# Sysmon's placeholder for a process it could not resolve, as written, escaped,
# or escaped with the `;` stripped (`&lt unknown process&gt `).
_UNKNOWN_PROCESS = re.compile(r"\s*(?:<|&lt;?)\s*unknown process\s*(?:>|&gt;?)\s*", re.IGNORECASE)
_PREDEFINED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


@dataclass
class Scan:
    """What a tolerant scan of one line found: System values and whole Data fields."""

    provider: str | None = None
    event_id: str | None = None
    record_id: str | None = None
    computer: str | None = None
    system_time: str | None = None
    data: dict[str, str] = field(default_factory=dict)
    # where the line stops early, e.g. "inside <Data Name='CommandLine'>"; None when whole
    cut: str | None = None


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Turns each Sysmon for Linux line into one event, or rejects it with a reason."""
    for record in records:
        yield from convert(record)


def convert(record: RawRecord) -> Iterator[Outcome]:
    """Answers one line: its event, or why it has none."""
    text = record.text
    start = _EVENT.search(text)
    if start is None:
        yield Rejected(record.position, "not a Sysmon event: the line has no <Event>", text)
        return
    if _DTD.search(text):
        yield Rejected(
            record.position,
            "the line declares a DTD or entity; Sysmon never writes one, so it is refused",
            text,
        )
        return
    yield from answer(record.position, text, "", _mapped, text[start.start() :])


def _mapped(xml: str) -> Mapped:
    warnings: list[str] = []
    event = build(scan_event(xml), xml, warnings)
    return [(EVENT_ADAPTER.validate_python(event), warnings)]


def scan_event(xml: str) -> Scan:
    """Scans an `<Event>` (possibly cut short) for its System values and Data fields."""
    scan = Scan()
    data_at = xml.find("<EventData")
    header = xml if data_at < 0 else xml[:data_at]
    if match := _PROVIDER.search(header):
        scan.provider = match.group(2)
    if match := _EVENT_ID.search(header):
        scan.event_id = match.group(1).strip()
    if match := _RECORD_ID.search(header):
        scan.record_id = match.group(1).strip()
    if match := _COMPUTER.search(header):
        scan.computer = match.group(1)
    if match := _SYSTEM_TIME.search(header):
        scan.system_time = match.group(2)
    if data_at < 0:
        if "</System>" not in header:
            scan.cut = "inside <System>"
        elif "</Event>" not in header:
            scan.cut = "after </System>"
        return scan

    pos = data_at
    last: str | None = None
    last_close = xml.rfind(">")  # once: looking for '>' after each tag was quadratic
    while True:
        start = xml.find("<Data", pos)
        if start < 0:
            break
        match = _DATA.match(xml, start)
        if match is None:
            if last_close < start:
                scan.cut = "inside a <Data> tag"
                break
            pos = start + len("<Data")  # not a Data field (e.g. <DataX>): step over it
            continue
        field_name = match.group(2)
        if match.group(3) == "/":
            value, pos = "", match.end()
        else:
            end = xml.find("</Data>", match.end())
            if end < 0:
                scan.cut = f"inside <Data Name='{field_name}'>"
                break
            value, pos = xml[match.end() : end], end + len("</Data>")
        scan.data.setdefault(field_name, value)
        last = field_name
    closed = ("</EventData>", "</Event>", "<EventData/>")
    if scan.cut is None and not any(mark in xml[pos:] for mark in closed):
        scan.cut = f"after <Data Name='{last}'>" if last else "after <EventData>"
    return scan


def build(scan: Scan, xml: str, warnings: list[str]) -> dict[str, Any]:
    """Returns the event of a scanned `<Event>` as a dict for the model; raises Unusable."""
    if scan.provider is not None and scan.provider != "Linux-Sysmon":
        raise Unusable(f"provider {scan.provider!r} is not Sysmon for Linux (Linux-Sysmon)")
    if scan.event_id is None:
        raise Unusable(_missing(scan, "the EventID"))
    if not re.fullmatch(r"[0-9]{1,9}", scan.event_id):
        raise Unusable(f"EventID {scan.event_id!r} is not a number")
    event_id = int(scan.event_id)
    if event_id in UNMAPPED:
        raise Unusable(f"EventID {event_id} ({UNMAPPED[event_id]}) has no Storyline kind yet")
    kind = KINDS.get(event_id)
    if kind is None:
        raise Unusable(f"EventID {event_id} is not an event Sysmon for Linux writes")
    if scan.cut is not None:
        arrived = set(scan.data)
        lost = [f for f in SCHEMAS[event_id] if f not in arrived]
        warnings.append(
            f"line truncated {scan.cut}; lost: {', '.join(lost)}"
            if lost
            else f"line truncated {scan.cut}"
        )

    fields = Fields(scan.data, warnings)
    host = _text(scan.computer, "Computer", warnings)
    if host is None:
        raise Unusable(_missing(scan, "the host (Computer)"))
    ts = fields.text("UtcTime")
    if ts is None:
        ts = scan.system_time
        if ts is None:
            raise Unusable(_missing(scan, "the time (UtcTime)"))
        warnings.append("UtcTime lost; the time is TimeCreated (when Sysmon wrote the event)")
    guid = fields.guid("ProcessGuid")
    pid = fields.integer("ProcessId")
    if guid is None:
        raise Unusable(_missing(scan, "the process identity (ProcessGuid)"))

    record_number = _text(scan.record_id, "EventRecordID", warnings)
    event: dict[str, Any] = {
        # without its record number, an event is named by its XML, whatever syslog put before
        "id": f"sysmon:{host}:{record_number}" if record_number else record_id(name, xml),
        "ts": ts,
        "source": name,
        "host": {"id": host},
        "kind": kind,
    }
    process: dict[str, Any] = {
        "key": guid,
        "pid": pid,
        "exe": fields.text("Image"),
        "user": fields.text("User"),
    }
    if event_id == 1:
        _exec(event, process, fields, ts)
    elif event_id == 3:
        event["network"] = _network(fields, scan)
        if fields.text("Initiated") == "false":
            event["kind"] = "network_accept"
    elif event_id == 9:
        event["file"] = {"path": _required(fields, "Device", scan)}
    elif event_id in (11, 23, 26):
        event["file"] = {"path": _required(fields, "TargetFilename", scan)}
    event["process"] = process
    return event


def _exec(event: dict[str, Any], process: dict[str, Any], fields: Fields, ts: str) -> None:
    """Fills a process_exec event: the new process, its start, and its parent."""
    command_line = fields.text("CommandLine")
    if command_line is not None:
        process["args"] = command_line.split()
    elif process["exe"] is not None:
        process["args"] = [process["exe"]]
    parent_pid = fields.integer("ParentProcessId")
    process.update(
        ppid=parent_pid,
        cwd=fields.text("CurrentDirectory"),
        uid=fields.integer("LogonId"),
        session_id=fields.integer("TerminalSessionId"),
        start_time=ts,  # UtcTime of a process create is the process's start
    )
    parent_args = fields.text("ParentCommandLine")
    parent = {
        "key": fields.guid("ParentProcessGuid"),
        "pid": parent_pid,
        "exe": fields.text("ParentImage"),
        "args": parent_args.split() if parent_args is not None else None,
        "user": fields.text("ParentUser"),
    }
    if any(value is not None for value in parent.values()):
        event["parent"] = parent


def _network(fields: Fields, scan: Scan) -> dict[str, Any]:
    """Returns the NetworkTarget of an EventID 3, the acting process's end as src."""
    initiated = fields.text("Initiated")
    if initiated not in ("true", "false"):
        if "Initiated" in scan.data:
            raise Unusable(f"Initiated is {initiated!r}, not true or false")
        raise Unusable(
            _missing(scan, "Initiated (whether the connection was outgoing or incoming)")
        )
    source = (fields.ip("SourceIp"), fields.port("SourcePort"))
    destination = (fields.ip("DestinationIp"), fields.port("DestinationPort"))
    local, peer = (source, destination) if initiated == "true" else (destination, source)
    protocol = fields.text("Protocol")
    return {
        "protocol": protocol.lower() if protocol else None,
        "family": _family(fields, local[0] or peer[0]),
        "src_ip": local[0],
        "src_port": local[1],
        "dst_ip": peer[0],
        "dst_port": peer[1],
    }


def _family(fields: Fields, ip: str | None) -> str | None:
    if ip is not None:
        return "inet6" if ":" in ip else "inet"
    flag = fields.text("SourceIsIpv6") or fields.text("DestinationIsIpv6")
    return {"true": "inet6", "false": "inet"}.get(flag or "")


def _required(fields: Fields, field_name: str, scan: Scan) -> str:
    value = fields.text(field_name)
    if value is None:
        if field_name in scan.data:
            raise Unusable(f"{field_name} is empty")
        raise Unusable(_missing(scan, field_name))
    return value


def _missing(scan: Scan, what: str) -> str:
    if scan.cut is not None:
        return f"line truncated {scan.cut}: {what} did not arrive"
    return f"the event has no {what}"


class Fields:
    """Typed, decoded access to the Data fields that arrived whole."""

    def __init__(self, data: dict[str, str], warnings: list[str]) -> None:
        self.data = data
        self.warnings = warnings
        self.cache: dict[str, str | None] = {}

    def text(self, field_name: str) -> str | None:
        """Returns the decoded value; None when absent, empty, or Sysmon's `-` placeholder."""
        if field_name not in self.cache:
            self.cache[field_name] = _text(self.data.get(field_name), field_name, self.warnings)
        return self.cache[field_name]

    def integer(self, field_name: str) -> int | None:
        """Returns the value as an int (decimal or 0x hex); warns and drops anything else."""
        value = self.text(field_name)
        if value is None:
            return None
        try:
            number = int(value, 16) if value.lower().startswith("0x") else int(value)
        except ValueError:
            self.warnings.append(f"{field_name} {value!r} is not a number; dropped")
            return None
        if not 0 <= number <= MAX_ID:
            self.warnings.append(f"{field_name} {value!r} is out of range; dropped")
            return None
        return number

    def guid(self, field_name: str) -> str | None:
        """Returns a process GUID; None when absent or all zeros (no such process)."""
        value = self.text(field_name)
        return None if value is None or value == NULL_GUID else value

    def ip(self, field_name: str) -> str | None:
        """Returns an IP address; warns and drops anything that is not one."""
        value = self.text(field_name)
        if value is None:
            return None
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            self.warnings.append(f"{field_name} {value!r} is not an IP address; dropped")
            return None

    def port(self, field_name: str) -> int | None:
        """Returns a port number; warns and drops anything outside 0-65535."""
        number = self.integer(field_name)
        if number is not None and number > 65535:
            self.warnings.append(f"{field_name} {number} is not a port; dropped")
            return None
        return number


def _text(raw: str | None, field_name: str, warnings: list[str]) -> str | None:
    """Decodes a raw XML value; Sysmon's placeholders (`-`, unknown process) become None."""
    if raw is None:
        return None
    if _UNKNOWN_PROCESS.fullmatch(raw):
        if "&" in raw and not raw.strip().endswith("&gt;"):
            warnings.append(
                f"{field_name}: malformed escape {raw!r} read as Sysmon's "
                "'<unknown process>' placeholder (no value)"
            )
        return None
    value = unescape(raw, field_name, warnings)
    if value.strip() in ("", "-"):
        return None
    return value


def unescape(raw: str, field_name: str, warnings: list[str]) -> str:
    """Decodes the predefined entities and character references; keeps anything else as text."""
    if "&" not in raw:
        return raw
    out: list[str] = []
    kept: list[str] = []
    pos = 0
    while (amp := raw.find("&", pos)) >= 0:
        out.append(raw[pos:amp])
        match = _REFERENCE.match(raw, amp)
        char = _referenced(match) if match else None
        if match is not None and char is not None:
            out.append(char)
            pos = match.end()
            continue
        broken = _BROKEN_REFERENCE.match(raw, amp)
        literal = broken.group(0) if broken else "&"
        out.append(literal)
        kept.append(literal)
        pos = amp + len(literal)
    out.append(raw[pos:])
    if kept:
        shown = ", ".join(repr(k) for k in dict.fromkeys(kept))
        warnings.append(f"{field_name}: malformed or unknown escape {shown} kept as text")
    return "".join(out)


def _referenced(match: re.Match[str]) -> str | None:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _PREDEFINED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    # the characters XML allows; anything else stays as written
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0x10FFFF
    return chr(code) if allowed and code not in (0xFFFE, 0xFFFF) else None
