"""Raw Linux audit logs (`format=auditd`): audit.log and `ausearch --raw` lines.

One audit event is several lines (records) sharing `msg=audit(time:serial)`:
SYSCALL with its EXECVE, CWD, PATH, SOCKADDR, PROCTITLE records, closed by EOE.
Records of one serial may be interleaved with other serials' records; a group
is complete at its EOE record, and user-space records (USER_*, CRED_*,
SERVICE_*, ...) stand alone. Each group becomes one event, reported at the
position of its first line; a rejected group keeps all its lines as raw text.
At the end of the input, a group that never saw its EOE is still an event when
it has its SYSCALL record (with a warning naming the records that may be
missing); without a SYSCALL record it is rejected, so that it waits in the
dead-letter store for the rest of its lines.

Syscall -> kind: execve/execveat process_exec; clone/fork/vfork process_fork
(the event's process is the child: pid = the syscall's return value);
exit_group process_exit (exit code a0); connect network_connect; accept/accept4
network_accept; bind network_bind; listen network_listen;
open/openat/creat/open_by_handle_at file_create (a PATH record of nametype
CREATE), file_write (opened for writing or truncating) or file_open;
unlink/unlinkat/rmdir file_unlink; rename/renameat/renameat2 file_rename;
chmod/fchmodat/fchmodat2 file_chmod. Anything else, a failed syscall (except a
non-blocking connect under way, EINPROGRESS), a thread (clone with
CLONE_THREAD, or clone3, whose flags the record does not show) and every
record type without a syscall (USER_LOGIN, LOGIN, SERVICE_START, ...) is
rejected with the reason. Syscall numbers are known for x86_64 and aarch64;
the enriched log format (`log_format = ENRICHED`) names the syscall itself.

Process identity. Audit has no global process id and no process start time, so
`Process.key` is None and the model keys a process by host|pid|start_time,
where the start time is the first time this input shows the pid on that host
(or, for the child of a fork, the fork's time). An exec replaces the image: the
new image starts at the exec, and its parent is the image it replaced when this
input showed that pid before (the OS parent, `ppid`, then comes first in
`ancestors`); otherwise its parent is `ppid`. Every later event of an image
names the same parent, so each image has one. A parent carries the start time
this input gave its pid, and only its pid when the input never showed it (the
parent is then unidentifiable, which the model allows). Keys therefore depend on
what the input holds: the same process submitted in two separate inputs may get
two keys. An exit forgets the pid, so a reused pid starts a new process.

Host: the `node=` prefix (auditd.conf `name_format`); without it the host is
"unknown" and every event says so in a warning. Sessions: `auid` and `ses` are
kept as numbers (4294967295 = unset); a successful sshd USER_LOGIN or USER_START
record attaches an SSH session (login, client address) to the later events of
its `ses` on that host.

A line cut short (syslog's line limit) keeps every field that arrived whole; a
value cut in the middle is dropped, and the warnings name what was lost.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from app.adapters import Accepted, Outcome, RawRecord, Rejected
from app.adapters.native import describe
from app.events import EVENT_ADAPTER, normalize_ts

name = "auditd"
framing = "lines"

UNSET = 4294967295
UNKNOWN_HOST = "unknown"
# A group still open this many lines after its last record will not be completed
# (auditd writes an event's records together): it is flushed as at end of input.
STALE_AFTER_LINES = 10_000

SYSCALLS: dict[str, tuple[str, dict[int, str]]] = {
    "c000003e": (
        "x86_64",
        {
            1: "write", 2: "open", 41: "socket", 42: "connect", 43: "accept", 49: "bind",
            50: "listen", 56: "clone", 57: "fork", 58: "vfork", 59: "execve", 60: "exit",
            62: "kill", 82: "rename", 84: "rmdir", 85: "creat", 87: "unlink", 90: "chmod",
            91: "fchmod", 101: "ptrace", 105: "setuid", 231: "exit_group", 257: "openat",
            263: "unlinkat", 264: "renameat", 268: "fchmodat", 288: "accept4",
            304: "open_by_handle_at", 316: "renameat2", 322: "execveat", 435: "clone3",
            437: "openat2", 452: "fchmodat2",
        },
    ),
    "c00000b7": (
        "aarch64",
        {
            35: "unlinkat", 38: "renameat", 52: "fchmod", 53: "fchmodat", 56: "openat",
            64: "write", 93: "exit", 94: "exit_group", 117: "ptrace", 129: "kill",
            146: "setuid", 198: "socket", 200: "bind", 201: "listen", 202: "accept",
            203: "connect", 220: "clone", 221: "execve", 242: "accept4",
            265: "open_by_handle_at", 276: "renameat2", 281: "execveat", 435: "clone3",
            437: "openat2", 452: "fchmodat2",
        },
    ),
}  # fmt: skip

KINDS: dict[str, str] = {
    **dict.fromkeys(("execve", "execveat"), "process_exec"),
    **dict.fromkeys(("clone", "clone3", "fork", "vfork"), "process_fork"),
    "exit_group": "process_exit",
    "connect": "network_connect",
    **dict.fromkeys(("accept", "accept4"), "network_accept"),
    "bind": "network_bind",
    "listen": "network_listen",
    **dict.fromkeys(("open", "openat", "openat2", "creat", "open_by_handle_at"), "file_open"),
    **dict.fromkeys(("unlink", "unlinkat", "rmdir"), "file_unlink"),
    **dict.fromkeys(("rename", "renameat", "renameat2"), "file_rename"),
    **dict.fromkeys(("chmod", "fchmod", "fchmodat", "fchmodat2"), "file_chmod"),
}
# Records a syscall event usually has; named when a group ends without its EOE.
EXPECTED_RECORDS: dict[str, tuple[str, ...]] = {
    "process_exec": ("EXECVE", "CWD", "PATH", "PROCTITLE"),
    "file_open": ("CWD", "PATH", "PROCTITLE"),
    "file_unlink": ("CWD", "PATH", "PROCTITLE"),
    "file_rename": ("CWD", "PATH", "PROCTITLE"),
    "file_chmod": ("CWD", "PATH", "PROCTITLE"),
    "network_connect": ("SOCKADDR", "PROCTITLE"),
    "network_accept": ("SOCKADDR", "PROCTITLE"),
    "network_bind": ("SOCKADDR", "PROCTITLE"),
}
# Argument positions: (dirfd, flags, mode) of the open family, mode of chmod.
OPEN_ARGS: dict[str, tuple[int | None, int | None, int | None]] = {
    "open": (None, 1, 2),
    "openat": (0, 2, 3),
    "open_by_handle_at": (None, 2, None),
    "creat": (None, None, 1),
    "openat2": (0, None, None),
}
CHMOD_ARGS: dict[str, tuple[int | None, int]] = {
    "chmod": (None, 1),
    "fchmod": (None, 1),
    "fchmodat": (0, 2),
    "fchmodat2": (0, 2),
}
AT_FDCWD = 0xFFFFFF9C  # -100 as the low 32 bits of a register
CLONE_THREAD = 0x10000
O_CREAT, O_TRUNC = 0o100, 0o1000
OPEN_FLAGS: tuple[tuple[int, str], ...] = (
    (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"),
    (0o1000000, "O_NOATIME"), (0o2000000, "O_CLOEXEC"), (0o4000000, "O_SYNC"),
    (0o10000000, "O_PATH"), (0o20000000, "O_TMPFILE"),
)  # fmt: skip
ARCH_OPEN_FLAGS: dict[str, tuple[tuple[int, str], ...]] = {
    "x86_64": (
        (0o40000, "O_DIRECT"), (0o100000, "O_LARGEFILE"), (0o200000, "O_DIRECTORY"),
        (0o400000, "O_NOFOLLOW"),
    ),
    "aarch64": (
        (0o40000, "O_DIRECTORY"), (0o100000, "O_NOFOLLOW"), (0o200000, "O_DIRECT"),
        (0o400000, "O_LARGEFILE"),
    ),
}  # fmt: skip
ERRNO: dict[int, str] = {
    1: "EPERM", 2: "ENOENT", 4: "EINTR", 7: "E2BIG", 8: "ENOEXEC", 9: "EBADF",
    11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST",
    18: "EXDEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 24: "EMFILE", 26: "ETXTBSY",
    28: "ENOSPC", 30: "EROFS", 36: "ENAMETOOLONG", 39: "ENOTEMPTY", 40: "ELOOP",
    97: "EAFNOSUPPORT", 98: "EADDRINUSE", 99: "EADDRNOTAVAIL", 101: "ENETUNREACH",
    104: "ECONNRESET", 110: "ETIMEDOUT", 111: "ECONNREFUSED", 113: "EHOSTUNREACH",
    115: "EINPROGRESS",
}  # fmt: skip
EINPROGRESS = -115
FAMILIES = {0: "unspec", 1: "unix", 2: "inet", 10: "inet6", 16: "netlink", 17: "packet"}
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
_HEX = re.compile(r"[0-9A-Fa-f]+")
_DIGITS = re.compile(r"[0-9]+")
_OCTAL = re.compile(r"[0-7]+")


class Unusable(ValueError):
    """The group cannot become an event; the message says why."""


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
        return _plain(self.fields.get(key))

    def string(self, key: str) -> str | None:
        """Returns an encoded string field decoded (quoted as written, else hex)."""
        return decode(self.fields.get(key))

    def number(self, key: str) -> int | None:
        """Returns a decimal id (pid, uid, ses...) as an int; None when absent or not one."""
        value = self.value(key)
        if value is None or not _DIGITS.fullmatch(value) or len(value) > 10:
            return None
        number = int(value)
        return number if number <= UNSET else None


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


@dataclass
class State:
    """What earlier groups of the input taught: process images, their parents, SSH sessions."""

    # (host, pid) -> start time of the pid's current image
    starts: dict[tuple[str, int], str] = field(default_factory=dict)
    # (host, pid) -> parent of the current image, when the input showed its birth
    # (a fork, or an exec replacing an image it showed); else the parent is ppid
    parents: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    sessions: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)

    def seen(self, host: str, pid: int, ts: str) -> str:
        """Returns the start time of the pid's current image, this time if it is new."""
        return self.starts.setdefault((host, pid), ts)

    def parent(self, host: str, pid: int, ppid: int | None) -> dict[str, Any] | None:
        """Returns the parent of the pid's current image: the one its birth showed, else ppid."""
        known = self.parents.get((host, pid))
        if known is not None:
            return known
        if ppid is None:
            return None
        return {"pid": ppid, "start_time": self.starts.get((host, ppid))}

    def born(self, host: str, pid: int, ts: str, parent: dict[str, Any] | None) -> None:
        """Records a new image of the pid, starting now, with its parent when known."""
        self.starts[(host, pid)] = ts
        if parent is None:
            self.parents.pop((host, pid), None)
        else:
            self.parents[(host, pid)] = parent

    def ended(self, host: str, pid: int) -> None:
        """Forgets the pid: a later process with it is another one."""
        self.starts.pop((host, pid), None)
        self.parents.pop((host, pid), None)


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Groups audit records by event and turns each group into one event or a rejection."""
    state = State()
    pending: dict[tuple[str | None, str, str], Group] = {}
    for raw in records:
        record = read_record(raw)
        if isinstance(record, str):
            yield Rejected(raw.position, record, raw.text)
            continue
        key = (record.node, record.time, record.serial)
        group = pending.get(key)
        if group is None and is_standalone(record.type):
            yield convert(Group(record.node, record.time, record.serial, [record]), state, True)
        else:
            if group is None:
                group = pending[key] = Group(record.node, record.time, record.serial)
            group.records.append(record)
            if record.type == "EOE":
                del pending[key]
                yield convert(group, state, True)
        while pending:
            oldest_key, oldest = next(iter(pending.items()))
            if raw.position - oldest.last_position <= STALE_AFTER_LINES:
                break
            del pending[oldest_key]
            yield convert(oldest, state, False)
    for group in pending.values():
        yield convert(group, state, False)


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
        enriched={k: v for k, v in ((k, _plain(v)) for k, v in enriched.items()) if v},
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


def _plain(value: str | None) -> str | None:
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
    if _HEX.fullmatch(value):
        return bytes.fromhex(value) if len(value) % 2 == 0 else None
    return value.encode()


# groups -> events --------------------------------------------------------------


def convert(group: Group, state: State, complete: bool) -> Outcome:
    """Turns one group into an Accepted event or a Rejected with the reason."""
    host = group.node or UNKNOWN_HOST
    syscall = group.one("SYSCALL")
    if syscall is None:
        return Rejected(group.position, _without_syscall(group, host, state, complete), group.raw())
    warnings: list[str] = []
    try:
        event = _event(group, syscall, host, state, complete, warnings)
    except Unusable as exc:
        return Rejected(group.position, f"auditd serial {group.serial}: {exc}", group.raw())
    try:
        item = EVENT_ADAPTER.validate_python(event)
    except ValidationError as exc:
        return Rejected(
            group.position, f"auditd serial {group.serial}: {describe(exc)}", group.raw()
        )
    return Accepted(group.position, item, tuple(warnings))


def _without_syscall(group: Group, host: str, state: State, complete: bool) -> str:
    """Learns what a group without SYSCALL teaches, and returns why it is rejected."""
    types = list(dict.fromkeys(group.types))
    if len(group.records) == 1 and is_standalone(group.records[0].type):
        record = group.records[0]
        pid = record.number("pid")
        ts = _ts(group)
        if pid is not None and ts is not None:
            state.seen(host, pid, ts)
        reason = (
            f"auditd serial {group.serial}: record type {record.type} has no Storyline kind yet"
        )
        ses = _learn_session(record, host, state)
        if ses is not None:
            reason += f" (its SSH session is attached to the later events of ses {ses})"
        return reason
    own = [t for t in types if t not in AUXILIARY]
    if complete and own:
        return (
            f"auditd serial {group.serial}: record type {', '.join(own)} has no Storyline kind yet"
        )
    return (
        f"auditd serial {group.serial}: no SYSCALL record in this input; "
        f"submit the whole event (records seen: {', '.join(types)})"
    )


def _learn_session(record: Record, host: str, state: State) -> int | None:
    """Remembers the SSH login of a successful sshd USER_LOGIN/USER_START; returns its ses."""
    if record.type not in ("USER_LOGIN", "USER_START"):
        return None
    exe = record.string("exe") or ""
    if posixpath.basename(exe) not in ("sshd", "sshd-session"):
        return None
    ses = record.number("ses")
    if record.value("res") not in ("success", "1") or ses is None or ses == UNSET:
        return None
    learned = {
        "kind": "ssh",
        "id": str(ses),
        "user": record.string("acct") or record.enriched.get("ACCT") or record.enriched.get("ID"),
        "ssh_client_ip": _ip(record.value("addr")),
    }
    # USER_LOGIN names the login by uid only: keep what USER_START said
    known = state.sessions.get((host, ses), {})
    state.sessions[(host, ses)] = {
        k: v if v is not None else known.get(k) for k, v in learned.items()
    }
    return ses


def _ts(group: Group) -> str | None:
    try:
        return normalize_ts(group.time)
    except ValueError:
        return None


def _event(
    group: Group, syscall: Record, host: str, state: State, complete: bool, warnings: list[str]
) -> dict[str, Any]:
    """Returns the event of a group with a SYSCALL record; raises Unusable."""
    ts = _ts(group)
    if ts is None:
        raise Unusable(f"time {group.time} is out of range")
    pid = syscall.number("pid")
    if pid is None:
        raise Unusable(_lost(syscall, "pid"))
    try:
        call, kind = _classify(group, syscall)
    except Unusable:
        state.seen(host, pid, ts)  # a rejected event still shows the pid alive
        raise
    _truncation_warnings(group, warnings)
    if group.node is None:
        warnings.append(
            f"no node= prefix: the host is unknown (id {UNKNOWN_HOST!r}); "
            "set name_format in auditd.conf"
        )
    if not complete:
        missing = [t for t in EXPECTED_RECORDS.get(kind, ("PROCTITLE",)) if group.one(t) is None]
        warnings.append(
            f"auditd serial {group.serial}: no EOE record in this input; "
            + (
                f"records that may be missing: {', '.join(missing)}"
                if missing
                else "it may be incomplete"
            )
        )

    process = _process(group, syscall)
    event: dict[str, Any] = {
        "id": f"auditd:{host}:{group.time}:{group.serial}",
        "ts": ts,
        "source": name,
        "host": {"id": host},
        "kind": kind,
        "process": process,
    }
    ses = process["session_id"]
    if ses is not None and (host, ses) in state.sessions:
        event["session"] = state.sessions[(host, ses)]
    if kind == "process_exec":
        _exec(event, group, host, state, warnings)
        return event

    process["args"] = _proctitle(group, warnings)
    process["start_time"] = state.seen(host, pid, ts)
    parent = state.parent(host, pid, process["ppid"])
    if kind == "process_fork":
        # the syscall is the parent's; the event's process is the child it made
        child = _signed(syscall.value("exit"))
        if child is None or not 0 < child < UNSET:
            raise Unusable(f"{call} returned {syscall.value('exit')!r}, not a child pid")
        caller = {"pid": pid, "ppid": process["ppid"], "start_time": process["start_time"]}
        state.born(host, child, ts, caller)
        event["process"] = {**process, "pid": child, "ppid": pid, "start_time": ts}
        event["parent"] = process
        if parent is not None:
            event["ancestors"] = [parent]
        return event
    if parent is not None:
        event["parent"] = parent
    if kind == "process_exit":
        status = _arg(syscall, 0)
        event["exit_code"] = None if status is None else status & 0xFF
        state.ended(host, pid)
    elif kind.startswith("network_"):
        event["network"] = _network(group, kind, warnings)
    else:
        event["file"] = _file(group, syscall, call, kind, process["cwd"], complete, warnings)
        event["kind"] = event["file"].pop("kind")
    return event


def _classify(group: Group, syscall: Record) -> tuple[str, str]:
    """Returns (syscall name, event kind); raises Unusable when no kind holds the syscall."""
    call = _syscall_name(syscall)
    kind = KINDS.get(call)
    if kind is None:
        others = [t for t in dict.fromkeys(group.types) if t not in AUXILIARY and t != "SYSCALL"]
        with_others = f" (with {', '.join(others)})" if others else ""
        raise Unusable(f"syscall {call}{with_others} has no Storyline kind yet")
    exit_value = _signed(syscall.value("exit"))
    in_progress = call == "connect" and exit_value == EINPROGRESS  # non-blocking connect
    if syscall.value("success") == "no" and not in_progress:
        raise Unusable(
            f"{call} failed ({_errno(exit_value)}); Storyline has no kind for failed attempts yet"
        )
    if call == "clone" and (_arg(syscall, 0) or 0) & CLONE_THREAD:
        raise Unusable("clone with CLONE_THREAD made a thread; Storyline has no kind for threads")
    if call == "clone3":
        raise Unusable(
            "clone3 passes its flags in memory the record does not show, so a thread "
            "cannot be told from a process"
        )
    return call, kind


def _exec(
    event: dict[str, Any], group: Group, host: str, state: State, warnings: list[str]
) -> None:
    """Fills a process_exec: argv, and the image the exec replaced or the OS parent."""
    process = event["process"]
    args = _exec_args(group, warnings)
    if args is None:
        args = _proctitle(group, warnings)
        if args is not None:
            warnings.append("no EXECVE record: args are from PROCTITLE")
    pid, ppid, ts = process["pid"], process["ppid"], event["ts"]
    process.update(args=args, start_time=ts)
    previous = state.starts.get((host, pid))
    if previous is None:
        state.born(host, pid, ts, None)
        parent = state.parent(host, pid, ppid)
        if parent is not None:
            event["parent"] = parent
        return
    # this input showed the pid before: the exec replaced that image
    replaced = {"pid": pid, "ppid": ppid, "start_time": previous}
    beyond = state.parent(host, pid, ppid)
    state.born(host, pid, ts, replaced)
    event["parent"] = replaced
    if beyond is not None:
        event["ancestors"] = [beyond]


def _process(group: Group, syscall: Record) -> dict[str, Any]:
    """Returns the acting process as the SYSCALL and CWD records describe it."""
    cwd_record = group.one("CWD")
    return {
        "pid": syscall.number("pid"),
        "ppid": syscall.number("ppid"),
        "exe": syscall.string("exe"),
        "comm": syscall.string("comm"),
        "cwd": cwd_record.string("cwd") if cwd_record else None,
        "uid": syscall.number("uid"),
        "user": syscall.enriched.get("UID"),
        "gid": syscall.number("gid"),
        "group": syscall.enriched.get("GID"),
        "auid": syscall.number("auid"),
        "session_id": syscall.number("ses"),
        "tty": syscall.value("tty"),
    }


def _syscall_name(syscall: Record) -> str:
    """Returns the syscall's name (its number and arch when no table names it)."""
    named = syscall.enriched.get("SYSCALL")
    if named:
        return named
    number = syscall.number("syscall")
    if number is None:
        raise Unusable(_lost(syscall, "syscall"))
    arch = syscall.value("arch") or ""
    known = SYSCALLS.get(arch.lower())
    if known is None:
        raise Unusable(
            f"arch {arch} is not supported (x86_64 and aarch64 are); "
            f"syscall {number} cannot be named"
        )
    arch_name, table = known
    return table.get(number, f"{number} ({arch_name})")


def _lost(record: Record, key: str) -> str:
    if record.cut:
        return f"the {record.type} line is cut before {key}"
    return f"the {record.type} record has no {key}"


def _truncation_warnings(group: Group, warnings: list[str]) -> None:
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


def _exec_args(group: Group, warnings: list[str]) -> list[str] | None:
    """Returns argv from the EXECVE records (a long argv spans several)."""
    records = group.all("EXECVE")
    if not records:
        return None
    fields: dict[str, str] = {}
    for record in records:
        for key, value in record.fields.items():
            fields.setdefault(key, value)
    argc_text = _plain(fields.get("argc"))
    if argc_text is None or not _DIGITS.fullmatch(argc_text):
        warnings.append("EXECVE line truncated; lost: argc and the arguments")
        return None
    argc = int(argc_text)
    last_written = records[-1].last
    args: list[str] = []
    for index in range(argc):
        value = _exec_arg(fields, index)
        # the line stops after this argument though more were due: a bare (hex)
        # value may itself be cut there
        bare = not fields.get(f"a{index}", "").endswith('"')
        if index < argc - 1 and last_written == f"a{index}" and bare:
            value = None
        if value is None:
            after = argc - index - 1
            warnings.append(
                f"EXECVE line truncated; lost: argument {index}"
                + (f" and the {after} after it" if after else "")
                + f" (argc={argc})"
            )
            break
        args.append(value)
    return args


def _chunks(fields: dict[str, str], index: int) -> int:
    count = 0
    while f"a{index}[{count}]" in fields:
        count += 1
    return count


def _exec_arg(fields: dict[str, str], index: int) -> str | None:
    """Returns one argument, joined from its chunks when the kernel split it."""
    whole = fields.get(f"a{index}")
    if whole is not None:
        return decode(whole)
    length = _plain(fields.get(f"a{index}_len"))
    if length is None or not _DIGITS.fullmatch(length):
        return None
    parts: list[bytes] = []
    written = 0
    for chunk in range(_chunks(fields, index)):
        raw = fields[f"a{index}[{chunk}]"]
        data = decode_bytes(raw)
        if data is None:
            return None
        parts.append(data)
        written += len(raw) - 2 if raw.startswith('"') else len(raw)
    if written != int(length):
        return None  # chunks are missing: the argument is incomplete
    return b"".join(parts).decode("utf-8", "replace")


def _proctitle(group: Group, warnings: list[str]) -> list[str] | None:
    """Returns argv from PROCTITLE (NUL-separated, capped at 128 bytes by the kernel)."""
    record = group.one("PROCTITLE")
    if record is None:
        return None
    raw = record.fields.get("proctitle")
    data = decode_bytes(raw)
    if data is None:
        if raw:
            warnings.append("PROCTITLE line truncated; lost: proctitle")
        return None
    args = [part.decode("utf-8", "replace") for part in data.split(b"\0")]
    while args and args[-1] == "":
        args.pop()
    if len(data) >= 128:
        warnings.append(
            "PROCTITLE is capped at 128 bytes by the kernel: the last argument may be cut"
        )
    return args or None


def _network(group: Group, kind: str, warnings: list[str]) -> dict[str, Any]:
    """Returns the NetworkTarget: the SOCKADDR is the peer, or the local end for bind."""
    target: dict[str, Any] = {}
    record = group.one("SOCKADDR")
    if kind == "network_listen":
        return target
    if record is None:
        warnings.append("no SOCKADDR record: the address is unknown")
        return target
    address = _sockaddr(record.fields.get("saddr"), warnings)
    if address is None:
        return target
    family, ip, port = address
    target["family"] = family
    end = "src" if kind == "network_bind" else "dst"
    target[f"{end}_ip"] = ip
    target[f"{end}_port"] = port
    return target


def _sockaddr(raw: str | None, warnings: list[str]) -> tuple[str, str | None, int | None] | None:
    """Decodes a hex sockaddr into (family, ip, port)."""
    data = decode_bytes(raw) if raw and _HEX.fullmatch(raw) else None
    if data is None or len(data) < 2:
        warnings.append("SOCKADDR line truncated; lost: the address")
        return None
    number = int.from_bytes(data[:2], "little")
    family = FAMILIES.get(number, f"af_{number}")
    if number == 2 and len(data) >= 8:
        return family, str(ipaddress.IPv4Address(data[4:8])), int.from_bytes(data[2:4], "big")
    if number == 10 and len(data) >= 24:
        return family, str(ipaddress.IPv6Address(data[8:24])), int.from_bytes(data[2:4], "big")
    if number in (2, 10):
        warnings.append(f"SOCKADDR line truncated; lost: the {family} address")
    elif number == 1:
        warnings.append(f"unix socket path {_unix_path(data[2:])!r} has no NetworkTarget field")
    else:
        warnings.append(f"SOCKADDR family {family}: its address has no NetworkTarget field")
    return family, None, None


def _unix_path(path: bytes) -> str:
    """Returns a sun_path; an abstract name (leading NUL) is shown as @name."""
    if path[:1] == b"\0":
        return "@" + path[1:].split(b"\0")[0].decode("utf-8", "replace")
    return path.split(b"\0")[0].decode("utf-8", "replace")


def _file(
    group: Group,
    syscall: Record,
    call: str,
    kind: str,
    cwd: str | None,
    complete: bool,
    warnings: list[str],
) -> dict[str, Any]:
    """Returns the FileTarget of a file syscall (with the refined kind under "kind")."""
    items = _path_items(group)
    dirfd: int | None = None  # the argument holding the directory a relative path starts at
    if call in OPEN_ARGS:
        dirfd = OPEN_ARGS[call][0]
    elif call in CHMOD_ARGS:
        dirfd = CHMOD_ARGS[call][0]
    elif call in ("unlinkat", "renameat", "renameat2"):
        dirfd = 0

    def resolve(path: str, dirfd: int | None = dirfd) -> str:
        if path.startswith("/"):
            return posixpath.normpath(path)
        at_cwd = dirfd is None or (_arg(syscall, dirfd) or 0) & 0xFFFFFFFF == AT_FDCWD
        if at_cwd and cwd:
            return posixpath.normpath(posixpath.join(cwd, path))
        base = "a directory descriptor" if not at_cwd else "a working directory not in the input"
        warnings.append(f"path {path!r} is relative to {base}; kept as written")
        return path

    if not items:
        if group.all("PATH"):
            raise Unusable("the PATH line is cut before the file's name")
        if call == "fchmod":
            raise Unusable("fchmod names a file descriptor, not a path; the event needs a path")
        if not complete:
            raise Unusable("no PATH record in this input; submit the whole event")
        raise Unusable(f"{call} without a PATH record names no file")
    named = [item for item in items if item[1] != "PARENT"] or items
    result: dict[str, Any] = {"kind": kind}
    if kind == "file_rename":
        source_index = next((i for i, item in enumerate(named) if item[1] == "DELETE"), 0)
        source = named[source_index]
        result["path"] = resolve(source[0])
        if source_index + 1 < len(named):
            new_dirfd = None if dirfd is None else 2  # renameat(olddirfd, old, newdirfd, new)
            result["target_path"] = resolve(named[source_index + 1][0], new_dirfd)
        else:
            warnings.append("rename without the PATH record of its new name: target unknown")
        return result
    if kind == "file_unlink":
        target = next((item for item in named if item[1] == "DELETE"), named[-1])
        result["path"] = resolve(target[0])
        return result
    if kind == "file_chmod":
        target = next((item for item in named if item[1] == "NORMAL"), named[-1])
        result["path"] = resolve(target[0])
        mode = _arg(syscall, CHMOD_ARGS[call][1])
        result["mode"] = None if mode is None else mode & 0o7777
        return result
    # the open family
    created = next((item for item in named if item[1] == "CREATE"), None)
    target = created or next((item for item in named if item[1] == "NORMAL"), named[-1])
    result["path"] = resolve(target[0])
    flags = _open_flags(syscall, call)
    if flags is None:
        warnings.append(f"{call}: the open flags are not in the record")
    else:
        result["flags"] = _flag_names(flags, syscall.enriched.get("ARCH") or _arch(syscall))
    if created is not None:
        result["kind"] = "file_create"
        result["mode"] = target[2]
    elif flags is not None and (flags & 3 in (1, 2) or flags & O_TRUNC):
        result["kind"] = "file_write"
    return result


def _path_items(group: Group) -> list[tuple[str, str, int | None]]:
    """Returns the named PATH items in item order: (name, nametype, permission bits)."""
    items: list[tuple[int, str, str, int | None]] = []
    for record in group.all("PATH"):
        path = record.string("name")
        if path is None:
            continue
        mode_text = record.value("mode")
        mode = int(mode_text, 8) & 0o7777 if mode_text and _OCTAL.fullmatch(mode_text) else None
        item = record.number("item")
        order = item if item is not None else len(items)
        items.append((order, path, record.value("nametype") or "", mode))
    items.sort(key=lambda i: i[0])
    return [(path, nametype, mode) for _, path, nametype, mode in items]


def _open_flags(syscall: Record, call: str) -> int | None:
    if call == "creat":
        return 1 | O_CREAT | O_TRUNC
    position = OPEN_ARGS[call][1]
    return None if position is None else _arg(syscall, position)


def _flag_names(flags: int, arch: str) -> str:
    names = [("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")[flags & 3]]
    rest = flags & ~3
    for bit, flag_name in OPEN_FLAGS + ARCH_OPEN_FLAGS.get(arch, ()):
        if rest & bit == bit:
            names.append(flag_name)
            rest &= ~bit
    if rest:
        names.append(hex(rest))
    return "|".join(names)


def _arch(syscall: Record) -> str:
    known = SYSCALLS.get((syscall.value("arch") or "").lower())
    return known[0] if known else ""


def _arg(syscall: Record, index: int) -> int | None:
    value = syscall.value(f"a{index}")
    if value is None or not _HEX.fullmatch(value):
        return None
    return int(value, 16)


def _signed(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _errno(exit_value: int | None) -> str:
    if exit_value is None:
        return "no exit value"
    name = ERRNO.get(-exit_value)
    return f"{name}, exit={exit_value}" if name else f"exit={exit_value}"


def _ip(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
