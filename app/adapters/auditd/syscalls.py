"""The syscall a SYSCALL record names, and the event kind it maps to or why none does."""

from __future__ import annotations

from app.adapters.auditd.records import AUXILIARY, Group, Record
from app.adapters.fields import Unusable

# audit's arch field (AUDIT_ARCH_*) -> the architecture and its syscall numbers.
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
CLONE_THREAD = 0x10000
# Linux errno numbers, to name why a syscall failed.
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


def classify(group: Group, syscall: Record) -> tuple[str, str]:
    """Returns (syscall name, event kind); raises Unusable when no kind holds the syscall."""
    call = syscall_name(syscall)
    kind = KINDS.get(call)
    if kind is None:
        others = [t for t in dict.fromkeys(group.types) if t not in AUXILIARY and t != "SYSCALL"]
        with_others = f" (with {', '.join(others)})" if others else ""
        raise Unusable(f"syscall {call}{with_others} has no Storyline kind yet")
    exit_value = syscall.signed("exit")
    in_progress = call == "connect" and exit_value == EINPROGRESS  # non-blocking connect
    if syscall.value("success") == "no" and not in_progress:
        raise Unusable(
            f"{call} failed ({_errno(exit_value)}); Storyline has no kind for failed attempts yet"
        )
    if call == "clone" and (syscall.arg(0) or 0) & CLONE_THREAD:
        raise Unusable("clone with CLONE_THREAD made a thread; Storyline has no kind for threads")
    if call == "clone3":
        raise Unusable(
            "clone3 passes its flags in memory the record does not show, so a thread "
            "cannot be told from a process"
        )
    return call, kind


def syscall_name(syscall: Record) -> str:
    """Returns the syscall's name (its number and arch when no table names it)."""
    named = syscall.enriched.get("SYSCALL")
    if named:
        return named
    number = syscall.number("syscall")
    if number is None:
        raise Unusable(syscall.lost("syscall"))
    arch = syscall.value("arch") or ""
    known = SYSCALLS.get(arch.lower())
    if known is None:
        raise Unusable(
            f"arch {arch} is not supported (x86_64 and aarch64 are); "
            f"syscall {number} cannot be named"
        )
    arch_name, table = known
    return table.get(number, f"{number} ({arch_name})")


def arch_name(syscall: Record) -> str:
    """Returns the record's architecture (x86_64, aarch64); empty when no table knows it."""
    known = SYSCALLS.get((syscall.value("arch") or "").lower())
    return known[0] if known else ""


def _errno(exit_value: int | None) -> str:
    if exit_value is None:
        return "no exit value"
    name = ERRNO.get(-exit_value)
    return f"{name}, exit={exit_value}" if name else f"exit={exit_value}"
