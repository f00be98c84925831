"""What a syscall acted on and with: argv (EXECVE, PROCTITLE), its peer (SOCKADDR), its file."""

from __future__ import annotations

import ipaddress
import posixpath
import re
from typing import Any

from app.adapters.auditd.records import DIGITS, HEX, Group, Record, decode, decode_bytes, plain
from app.adapters.auditd.syscalls import arch_name
from app.adapters.fields import Unusable

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
FAMILIES = {0: "unspec", 1: "unix", 2: "inet", 10: "inet6", 16: "netlink", 17: "packet"}
_OCTAL = re.compile(r"[0-7]+")


def exec_args(group: Group, warnings: list[str]) -> list[str] | None:
    """Returns argv from the EXECVE records (a long argv spans several)."""
    records = group.all("EXECVE")
    if not records:
        return None
    fields: dict[str, str] = {}
    for record in records:
        for key, text in record.fields.items():
            fields.setdefault(key, text)
    argc_text = plain(fields.get("argc"))
    if argc_text is None or not DIGITS.fullmatch(argc_text):
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
    length = plain(fields.get(f"a{index}_len"))
    if length is None or not DIGITS.fullmatch(length):
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


def proctitle(group: Group, warnings: list[str]) -> list[str] | None:
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


def network(group: Group, kind: str, warnings: list[str]) -> dict[str, Any]:
    """Returns the NetworkTarget: the SOCKADDR is the peer, or the local end for bind."""
    target: dict[str, Any] = {}
    record = group.one("SOCKADDR")
    if kind == "network_listen":
        return target
    if record is None:
        warnings.append("no SOCKADDR record: the address is unknown")
        return target
    address = sockaddr(record.fields.get("saddr"), warnings)
    if address is None:
        return target
    family, ip, port = address
    target["family"] = family
    end = "src" if kind == "network_bind" else "dst"
    target[f"{end}_ip"] = ip
    target[f"{end}_port"] = port
    return target


def sockaddr(raw: str | None, warnings: list[str]) -> tuple[str, str | None, int | None] | None:
    """Decodes a hex sockaddr into (family, ip, port)."""
    data = decode_bytes(raw) if raw and HEX.fullmatch(raw) else None
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


def file_target(
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
        at_cwd = dirfd is None or (syscall.arg(dirfd) or 0) & 0xFFFFFFFF == AT_FDCWD
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
        mode = syscall.arg(CHMOD_ARGS[call][1])
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
        result["flags"] = _flag_names(flags, syscall.enriched.get("ARCH") or arch_name(syscall))
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
    return None if position is None else syscall.arg(position)


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
