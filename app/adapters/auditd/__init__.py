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

Modules: records.py tokenises lines into records and groups them by serial;
syscalls.py names the syscall and its event kind; targets.py reads argv, the
peer and the file; events.py turns a group into an event (process identity,
lineage, sessions).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from app.adapters import Outcome, RawRecord, Rejected
from app.adapters.auditd.events import UNKNOWN_HOST, State, convert
from app.adapters.auditd.records import (
    UNSET,
    Group,
    Record,
    decode,
    decode_bytes,
    groups,
    is_standalone,
    read_record,
)
from app.adapters.auditd.syscalls import KINDS, SYSCALLS
from app.adapters.auditd.targets import sockaddr as _sockaddr
from app.adapters.fields import Unusable

__all__ = [
    "KINDS",
    "STALE_AFTER_LINES",
    "SYSCALLS",
    "UNKNOWN_HOST",
    "UNSET",
    "Group",
    "Record",
    "State",
    "Unusable",
    "_sockaddr",
    "convert",
    "decode",
    "decode_bytes",
    "framing",
    "is_standalone",
    "name",
    "parse",
    "read_record",
]

name = "auditd"
framing = "lines"

# A group still open this many lines after its last record will not be completed
# (auditd writes an event's records together): it is flushed as at end of input.
STALE_AFTER_LINES = 10_000


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Groups audit records by event and turns each group into one event or a rejection."""
    state = State()
    for grouped in groups(records, STALE_AFTER_LINES):
        if isinstance(grouped, Rejected):
            yield grouped
        else:
            group, complete = grouped
            yield from convert(group, state, complete)
