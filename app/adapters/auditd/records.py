"""Raw audit lines as records, and records grouped into the audit events they make up.

A line is `[node=NODE ]type=TYPE msg=audit(time:serial): key=value ...`, with the
enriched log format's interpreted names after a 0x1d separator. A line cut short
keeps every field that arrived whole; `Record.cut` says that the field its type
ends with is missing. Values are kept as written: `Record.value` strips quotes,
`Record.string` decodes audit's hex encoding. Records sharing `time:serial` (and
node) are one event, complete at its EOE record; user-space records stand alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from app.adapters import RawRecord, Rejected

UNSET = 4294967295  # an unset id (auid, ses): (u32)-1

# Old audit userspace prints record types it does not know by number.
TYPE_NUMBERS = {
    1006: "LOGIN", 1300: "SYSCALL", 1302: "PATH", 1306: "SOCKADDR", 1307: "CWD",
    1309: "EXECVE", 1320: "EOE", 1327: "PROCTITLE",
}  # fmt: skip
# User-space records (sent by PAM, sshd, sudo, systemd, auditd...) have no EOE.
STANDALONE_PREFIXES = (
    "USER_", "CRED_", "DAEMON_", "SERVICE_", "SYSTEM_", "ANOM_LOGIN_", "ACCT_", "GRP_",
    "ROLE_", "VIRT_", "CRYPTO_", "RESP_", "LABEL_",
)  # fmt: skip
STANDALONE_TYPES = frozenset({
    "ADD_USER", "DEL_USER", "ADD_GROUP", "DEL_GROUP", "CHGRP_ID", "CHUSER_ID",
    "USYS_CONFIG", "TRUSTED_APP", "DAC_CHECK", "MAC_CHECK", "SOFTWARE_UPDATE", "TEST",
    "KERNEL", "ANOM_RBAC_FAIL", "ANOM_RBAC_INTEGRITY_FAIL", "ANOM_CRYPTO_FAIL",
    "ANOM_EXEC", "ANOM_MK_EXEC", "ANOM_ADD_ACCT", "ANOM_DEL_ACCT", "ANOM_MOD_ACCT",
    "ANOM_ROOT_TRANS", "ANOM_MAX_DAC", "ANOM_MAX_MAC", "ANOM_AMTU_FAIL",
})  # fmt: skip
SYSCALL_FIELDS = (
    "arch", "syscall", "success", "exit", "a0", "a1", "a2", "a3", "items", "ppid", "pid",
    "auid", "uid", "gid", "euid", "suid", "fsuid", "egid", "sgid", "fsgid", "tty", "ses",
    "comm", "exe", "subj", "key",
)  # fmt: skip
PATH_FIELDS = (
    "item", "name", "inode", "dev", "mode", "ouid", "ogid", "rdev", "obj", "nametype",
)  # fmt: skip
# Records that only describe a syscall; a group of these alone has lost its SYSCALL.
AUXILIARY = frozenset({
    "EXECVE", "CWD", "PATH", "PROCTITLE", "SOCKADDR", "SOCKETCALL", "FD_PAIR", "MMAP",
    "BPRM_FCAPS", "CAPSET", "OBJ_PID", "IPC", "EOE",
})  # fmt: skip
# The field each record type ends with when its line arrived whole.
LAST_FIELD = {"SYSCALL": "key", "PATH": "nametype", "CWD": "cwd", "SOCKADDR": "saddr"}
_HEADER = re.compile(
    r"(?:node=(?P<node>\S+) )?type=(?P<type>[A-Za-z0-9_]+(?:\[\d+\])?) "
    r"msg=audit\((?P<time>\d+(?:\.\d+)?):(?P<serial>\d+)\):[ ]?"
)
_INTERPRETED = re.compile(r"msg=audit\(\d{1,2}/\d{1,2}/\d{2,4} ")
_FIELD = re.compile(r"""([\w\-\[\]]+)=("[^"]*"?|'[^']*'?|[^\s"']\S*|)""")
HEX = re.compile(r"[0-9A-Fa-f]+")
DIGITS = re.compile(r"[0-9]+")


@dataclass
class Record:
    """One audit record (one line): its header and its fields as written."""

    position: int
    text: str
    node: str | None
    type: str
    time: str
    serial: str
    fields: dict[str, str]
    enriched: dict[str, str]
    last: str | None  # the last field that arrived whole
    dropped: str | None  # a last field dropped because the line may end inside it
    cut: bool  # the line stops before the field its type ends with

    def value(self, key: str) -> str | None:
        """Returns a field without its quotes; None when absent or `(null)`/`?`."""
        return plain(self.fields.get(key))

    def string(self, key: str) -> str | None:
        """Returns an encoded string field decoded (quoted as written, else hex)."""
        return decode(self.fields.get(key))

    def number(self, key: str) -> int | None:
        """Returns a decimal id (pid, uid, ses...) as an int; None when absent or not one."""
        value = self.value(key)
        if value is None or not DIGITS.fullmatch(value) or len(value) > 10:
            return None
        number = int(value)
        return number if number <= UNSET else None

    def signed(self, key: str) -> int | None:
        """Returns a signed decimal field (a syscall's exit) as an int; None when not one."""
        value = self.value(key)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            return None

    def arg(self, index: int) -> int | None:
        """Returns the syscall argument a<index> (hex) as an int; None when absent or cut."""
        value = self.value(f"a{index}")
        if value is None or not HEX.fullmatch(value):
            return None
        return int(value, 16)

    def lost(self, key: str) -> str:
        """Says why the record has no `key`: its line is cut before it, or it has none."""
        if self.cut:
            return f"the {self.type} line is cut before {key}"
        return f"the {self.type} record has no {key}"


@dataclass
class Group:
    """The records of one audit event (one `time:serial`), in input order."""

    node: str | None
    time: str
    serial: str
    records: list[Record] = field(default_factory=list)

    @property
    def position(self) -> int:
        return self.records[0].position

    @property
    def last_position(self) -> int:
        return self.records[-1].position

    @property
    def types(self) -> list[str]:
        return [r.type for r in self.records]

    def all(self, record_type: str) -> list[Record]:
        return [r for r in self.records if r.type == record_type]

    def one(self, record_type: str) -> Record | None:
        return next((r for r in self.records if r.type == record_type), None)

    def raw(self) -> str:
        return "\n".join(r.text for r in self.records)


def groups(
    records: Iterable[RawRecord], stale_after: int
) -> Iterator[tuple[Group, bool] | Rejected]:
    """Groups records by event, yielding each group with whether it is complete.

    A group is complete at its EOE record, or at once when it is a standalone
    record. A group still open `stale_after` lines after its last record, and any
    group open at the end of the input, is yielded as incomplete. A line that is
    not a raw audit record is rejected with the reason.
    """
    pending: dict[tuple[str | None, str, str], Group] = {}
    for raw in records:
        record = read_record(raw)
        if isinstance(record, str):
            yield Rejected(raw.position, record, raw.text)
            continue
        key = (record.node, record.time, record.serial)
        group = pending.get(key)
        if group is None and is_standalone(record.type):
            yield Group(record.node, record.time, record.serial, [record]), True
        else:
            if group is None:
                group = pending[key] = Group(record.node, record.time, record.serial)
            group.records.append(record)
            if record.type == "EOE":
                del pending[key]
                yield group, True
        while pending:
            oldest_key, oldest = next(iter(pending.items()))
            if raw.position - oldest.last_position <= stale_after:
                break
            del pending[oldest_key]
            yield oldest, False
    for group in pending.values():
        yield group, False


def is_standalone(record_type: str) -> bool:
    """Tells whether a record type is a whole event by itself (user-space messages)."""
    if record_type.startswith("UNKNOWN["):
        number = int(record_type[len("UNKNOWN[") : -1])
        return 1100 <= number <= 1299 or 2100 <= number <= 2999
    return record_type in STANDALONE_TYPES or record_type.startswith(STANDALONE_PREFIXES)


def read_record(raw: RawRecord) -> Record | str:
    """Parses one line into a Record, or returns why it is not a raw audit record."""
    text = raw.text
    match = _HEADER.match(text)
    if match is None:
        if text.strip() == "----" or text.startswith("time->"):
            return "an ausearch separator line, not a record; ausearch --raw omits them"
        if _INTERPRETED.search(text):
            return (
                "an interpreted record (ausearch -i); submit raw records "
                "(/var/log/audit/audit.log or ausearch --raw)"
            )
        if text.startswith(("type=", "node=")):
            return "not a raw audit record: its msg=audit(time:serial) header is cut or malformed"
        return "not a raw audit record: expected 'type=TYPE msg=audit(time:serial): ...'"
    record_type = match.group("type")
    if record_type.startswith("UNKNOWN[") and record_type.endswith("]"):
        record_type = TYPE_NUMBERS.get(int(record_type[8:-1]), record_type)
    body, _, extra = text[match.end() :].partition("\x1d")
    fields: dict[str, str] = {}
    last, dropped = _scan_fields(body, fields)
    cut = dropped is not None
    expected = LAST_FIELD.get(record_type)
    if expected is not None and expected not in fields:
        cut = True
        if dropped is None and last is not None and not fields[last].endswith('"'):
            # the line stops right after a bare value, which may itself be cut
            del fields[last]
            dropped, last = last, next(reversed(fields), None)
    enriched: dict[str, str] = {}
    if extra:
        extra_last, _ = _scan_fields(extra, enriched)
        if extra_last is not None and not enriched[extra_last].endswith('"'):
            del enriched[extra_last]  # names are quoted; a bare last value may be cut
    return Record(
        position=raw.position,
        text=text,
        node=match.group("node"),
        type=record_type,
        time=match.group("time"),
        serial=match.group("serial"),
        fields=fields,
        enriched={k: v for k, v in ((k, plain(v)) for k, v in enriched.items()) if v},
        last=last,
        dropped=dropped,
        cut=cut,
    )


def _scan_fields(body: str, fields: dict[str, str]) -> tuple[str | None, str | None]:
    """Reads `key=value` pairs into fields; returns the last whole key and a cut one."""
    last: str | None = None
    for match in _FIELD.finditer(body):
        key, value = match.groups()
        quote = value[:1]
        if quote in ("'", '"') and (len(value) < 2 or value[-1] != quote):
            if key == "msg" and quote == "'":
                # a user-space message cut short: keep what arrived of it
                inner_last, inner_dropped = _scan_fields(value[1:], fields)
                return inner_last or last, inner_dropped or "msg"
            return last, key
        if key == "msg" and quote == "'":
            inner_last, _ = _scan_fields(value[1:-1], fields)
            last = inner_last or last
            continue
        fields.setdefault(key, value)
        last = key
    return last, None


def plain(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return None if value in ("", "(null)", "?", "(none)") else value


def decode(value: str | None) -> str | None:
    """Decodes an audit string: quoted values as written, bare hex as UTF-8 bytes."""
    data = decode_bytes(value)
    return None if data is None else data.decode("utf-8", "replace")


def decode_bytes(value: str | None) -> bytes | None:
    """Returns an audit string's bytes; None when absent, `(null)`, or cut (odd hex)."""
    if value is None:
        return None
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].encode()
    if value in ("", "(null)", "?", "(none)"):
        return None
    if HEX.fullmatch(value):
        return bytes.fromhex(value) if len(value) % 2 == 0 else None
    return value.encode()


def cut_warnings(group: Group, warnings: list[str]) -> None:
    """Warns about SYSCALL, CWD and PATH lines cut short (the others warn where read)."""
    for record in group.records:
        if not record.cut or record.type not in ("SYSCALL", "CWD", "PATH"):
            continue
        if record.type == "CWD":
            lost = ["cwd"]
        else:
            order = SYSCALL_FIELDS if record.type == "SYSCALL" else PATH_FIELDS
            skip = {"subj", "obj"}
            if (
                record.type == "SYSCALL"
                and "success" not in record.fields
                and "exit" not in record.fields
            ):
                skip |= {"success", "exit"}  # exit and exit_group never return
            lost = [f for f in order if f not in record.fields and f not in skip]
        after = f" after {record.last}" if record.last else ""
        warnings.append(f"{record.type} line truncated{after}; lost: {', '.join(lost)}")
