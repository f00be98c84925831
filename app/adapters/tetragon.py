"""Tetragon's JSON export (`format=tetragon`): one event object per record.

A record holds exactly one event key (`process_exec`, `process_exit`,
`process_kprobe`, `process_tracepoint`, `process_lsm`, or the older
`process_connect` / `process_close` / `process_listen`) beside `node_name` and
`time`. The process key is Tetragon's `exec_id`; `parent` and `ancestors` keep
Tetragon's order (parent, then nearest ancestor first), as the model does.

Kprobe and LSM hooks become file or network events when the hooked function
names a file or socket operation this module knows (FILE_CALLS, NETWORK_CALLS);
any other hook is rejected with its name, as is `process_close` (no event kind
holds a connection's end and byte counts yet).

Network targets: `src` is the acting process's end of the socket, `dst` the
peer (Tetragon's saddr/daddr); a listening or bound socket has only `src`.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import Any

from app.adapters import Outcome, RawRecord
from app.adapters.fields import (
    Unusable,
    must_be_list,
    must_be_object,
    must_be_string,
    record_object,
)
from app.adapters.outcomes import Mapped, answer
from app.events import EVENT_ADAPTER, record_id

name = "tetragon"
framing = "json"

EVENT_KEYS = (
    "process_exec", "process_exit", "process_kprobe", "process_tracepoint",
    "process_lsm", "process_connect", "process_close", "process_listen",
)  # fmt: skip
# Tetragon event types this adapter knows of but cannot map to an event kind.
UNSUPPORTED_KEYS = (
    "process_uprobe", "process_usdt", "process_loader", "process_throttle",
    "rate_limit_info", "test",
)  # fmt: skip
CONTEXT_KEYS = ("node_name", "time", "cluster_name", "node_labels", "aggregation_info")

# Prefixes of syscall entry points, so that `__x64_sys_openat` and `sys_openat` read as `openat`.
SYSCALL_PREFIXES = (
    "__x64_sys_", "__arm64_sys_", "__ia32_compat_sys_", "__ia32_sys_", "__se_sys_",
    "__do_sys_", "__sys_", "ksys_", "sys_",
)  # fmt: skip

OPEN_CALLS = frozenset({
    "open", "openat", "openat2", "open_by_handle_at", "fd_install", "security_file_open",
    "do_sys_open", "do_sys_openat2", "do_filp_open", "vfs_open",
})  # fmt: skip
READ_CALLS = frozenset({
    "read", "pread64", "readv", "preadv", "preadv2", "vfs_read", "vfs_readv",
})  # fmt: skip
FILE_CALLS: dict[str, str] = {
    **dict.fromkeys(OPEN_CALLS, "file_open"),
    **dict.fromkeys(READ_CALLS, "file_open"),
    "security_file_permission": "file_open",
    **dict.fromkeys((
        "write", "pwrite64", "writev", "pwritev", "pwritev2", "vfs_write", "vfs_writev",
        "truncate", "ftruncate", "do_truncate", "vfs_truncate", "security_path_truncate",
        "security_file_truncate",
    ), "file_write"),
    **dict.fromkeys((
        "creat", "mkdir", "mkdirat", "mknod", "mknodat", "do_mkdirat", "do_mknodat",
        "vfs_create", "vfs_mkdir", "security_path_mknod", "security_path_mkdir",
        "security_inode_create", "security_inode_mkdir",
    ), "file_create"),
    **dict.fromkeys((
        "rename", "renameat", "renameat2", "do_renameat2", "vfs_rename",
        "security_path_rename", "security_inode_rename",
    ), "file_rename"),
    **dict.fromkeys((
        "unlink", "unlinkat", "rmdir", "do_unlinkat", "do_rmdir", "vfs_unlink", "vfs_rmdir",
        "security_path_unlink", "security_path_rmdir", "security_inode_unlink",
        "security_inode_rmdir",
    ), "file_unlink"),
    **dict.fromkeys((
        "chmod", "fchmod", "fchmodat", "fchmodat2", "chmod_common", "security_path_chmod",
    ), "file_chmod"),
}  # fmt: skip
NETWORK_CALLS: dict[str, str] = {
    **dict.fromkeys((
        "connect", "tcp_connect", "tcp_v4_connect", "tcp_v6_connect", "inet_stream_connect",
        "ip4_datagram_connect", "security_socket_connect",
    ), "network_connect"),
    **dict.fromkeys((
        "accept", "accept4", "inet_csk_accept", "security_socket_accept",
    ), "network_accept"),
    **dict.fromkeys((
        "bind", "inet_bind", "inet6_bind", "security_socket_bind",
    ), "network_bind"),
    **dict.fromkeys((
        "listen", "inet_listen", "inet_csk_listen_start", "security_socket_listen",
    ), "network_listen"),
}  # fmt: skip

# security_file_permission's mask bits (include/linux/fs.h).
MAY_WRITE, MAY_READ, MAY_APPEND = 0x2, 0x4, 0x8

# Open flags whose values are the same on x86-64 and arm64 (asm-generic/fcntl.h);
# any other bit is kept as hex rather than named after one architecture.
OPEN_FLAG_BITS = (
    (0o100, "O_CREAT"), (0o200, "O_EXCL"), (0o400, "O_NOCTTY"), (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"), (0o4000, "O_NONBLOCK"), (0o10000, "O_DSYNC"),
    (0o2000000, "O_CLOEXEC"), (0o4000000, "O_SYNC"), (0o10000000, "O_PATH"),
    (0o20000000, "O_TMPFILE"),
)  # fmt: skip
ACCESS_MODES = ("O_RDONLY", "O_WRONLY", "O_RDWR")

# Kprobe actions after which the hooked call may not have happened.
BLOCKING_ACTIONS = (
    "KPROBE_ACTION_SIGKILL", "KPROBE_ACTION_OVERRIDE", "KPROBE_ACTION_NOTIFYENFORCER",
)  # fmt: skip


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Maps each Tetragon record to one event, or rejects it with the reason."""
    for record in records:
        yield from answer(record.position, record.text, "", _mapped, record)


def _mapped(record: RawRecord) -> Mapped:
    warnings: list[str] = []
    return [(EVENT_ADAPTER.validate_python(_event(record, warnings)), warnings)]


def _event(record: RawRecord, warnings: list[str]) -> dict[str, Any]:
    value = record_object(record, "a tetragon record")
    key = _event_key(value)
    body = must_be_object(value[key], key)
    if key == "process_close":
        raise Unusable(
            "tetragon process_close (a connection's end, with its byte counts) has no "
            "Storyline event kind yet"
        )
    if key == "process_tracepoint":
        hook = f"{body.get('subsys')}/{body.get('event')}"
        raise Unusable(
            f"tetragon process_tracepoint {hook} has no mapping to a Storyline event kind yet"
        )
    if body.get("process") is None:
        raise Unusable(f"tetragon {key} has no process object")
    process = _process(body["process"], f"{key}.process", warnings)
    event: dict[str, Any] = {
        "id": record_id(name, value),
        "ts": _time(value, key, body, process),
        "source": name,
        "host": {"id": _host(value)},
        "process": process,
    }
    if value.get("time") is None and body.get("time") is None:
        warnings.append("record has no time: the event time is the process start_time")
    event.update(_placement(body["process"], key, value.get("cluster_name"), warnings))
    _lineage(event, body, key, warnings)
    event.update(_activity(key, body, warnings))
    return event


def _event_key(value: dict[str, Any]) -> str:
    found = [key for key in value if key not in CONTEXT_KEYS]
    known = [key for key in found if key in EVENT_KEYS]
    if len(known) > 1:
        raise Unusable(f"a tetragon record holds one event, this one has {', '.join(known)}")
    if known:
        return known[0]
    others = [key for key in found if key in UNSUPPORTED_KEYS or key.startswith("process_")]
    if others:
        raise Unusable(f"tetragon {others[0]} events have no mapping to a Storyline event kind yet")
    listed = ", ".join(found) if found else "none"
    raise Unusable(
        f"not a tetragon event: expected one of {', '.join(EVENT_KEYS)}; keys found: {listed}"
    )


def _host(value: dict[str, Any]) -> Any:
    node = value.get("node_name")
    if node is None or node == "":
        raise Unusable("tetragon record has no node_name, so its host is unknown")
    return node


def _time(value: dict[str, Any], key: str, body: dict[str, Any], process: dict[str, Any]) -> Any:
    for holder in (value, body):  # process_exit also carries its time inside
        if holder.get("time") is not None:
            return holder["time"]
    # An exec's own time is when the new image started (equal to start_time up to
    # microseconds in Tetragon's output); no other event kind has a stand-in.
    if key == "process_exec" and process.get("start_time") is not None:
        return process["start_time"]
    raise Unusable(f"tetragon {key} record has no time")


def _process(raw: Any, where: str, warnings: list[str]) -> dict[str, Any]:
    """Maps a Tetragon Process object to the model's process fields."""
    proc = must_be_object(raw, where)
    binary = must_be_string(proc.get("binary"), f"{where}.binary")
    flags = (must_be_string(proc.get("flags"), f"{where}.flags") or "").split()
    if "truncArgs" in flags:
        warnings.append(f"{where}.arguments were truncated by Tetragon")
    if "truncFilename" in flags:
        warnings.append(f"{where}.binary was truncated by Tetragon")
    credentials = proc.get("process_credentials")
    user = proc.get("user")
    fields = {
        "key": proc.get("exec_id"),
        "pid": proc.get("pid"),
        "exe": binary,
        "args": _argv(binary, proc.get("arguments"), where, warnings),
        "cwd": proc.get("cwd"),
        "uid": proc.get("uid"),
        "auid": proc.get("auid"),
        "gid": credentials.get("gid") if isinstance(credentials, dict) else None,
        "user": user.get("name") if isinstance(user, dict) else None,
        "start_time": proc.get("start_time"),
    }
    return {field: value for field, value in fields.items() if value is not None}


def _argv(binary: str | None, raw: Any, where: str, warnings: list[str]) -> list[str] | None:
    """Returns argv: the binary, then Tetragon's argument string split shell-style.

    Tetragon joins arguments with spaces and double-quotes those that hold spaces,
    so shlex recovers them; with unbalanced quotes it falls back to whitespace.
    """
    arguments = must_be_string(raw, f"{where}.arguments") or ""
    try:
        rest = shlex.split(arguments)
    except ValueError:
        rest = arguments.split()
        warnings.append(
            f"{where}.arguments have unbalanced quotes: split on whitespace, so arguments "
            "that held spaces are broken up"
        )
    if binary is None:
        if rest:
            warnings.append(f"{where}.arguments dropped: no binary to stand as argv[0]")
        return None
    return [binary, *rest]


def _placement(raw: Any, key: str, cluster: Any, warnings: list[str]) -> dict[str, Any]:
    """Returns the acting process's container and pod."""
    proc = must_be_object(raw, f"{key}.process")
    out: dict[str, Any] = {}
    pod_raw = proc.get("pod")
    if pod_raw is not None:
        pod = must_be_object(pod_raw, f"{key}.process.pod")
        if pod.get("container") is not None:
            container = _container(pod["container"], f"{key}.process.pod.container")
            if container:
                out["container"] = container
        if pod.get("name") and pod.get("namespace"):
            out["pod"] = _pod(pod, cluster)
        elif pod.get("name") or pod.get("namespace"):
            warnings.append(f"{key}.process.pod lacks its name or namespace: pod not recorded")
    if "container" not in out and proc.get("docker"):
        # Tetragon's `docker` is a prefix of the container id, read from the cgroup; it is
        # the only container id of processes in containers outside Kubernetes.
        out["container"] = {"id": proc["docker"]}
    return out


def _container(raw: Any, where: str) -> dict[str, Any] | None:
    container = must_be_object(raw, where)
    full_id = must_be_string(container.get("id"), f"{where}.id")
    if not full_id:
        return None
    scheme, sep, bare_id = full_id.partition("://")
    runtime: str | None = scheme if sep else None
    if not sep:
        bare_id = full_id
    image = container.get("image")
    fields = {
        "id": bare_id,
        "name": container.get("name"),
        "image": image.get("name") if isinstance(image, dict) else None,
        "runtime": runtime,
    }
    return {field: value for field, value in fields.items() if value is not None}


def _pod(pod: dict[str, Any], cluster: Any) -> dict[str, Any]:
    kind, workload = pod.get("workload_kind"), pod.get("workload")
    if isinstance(kind, str) and kind and isinstance(workload, str) and workload:
        workload = f"{kind.lower()}/{workload}"
    fields = {
        "uid": pod.get("uid"),
        "name": pod["name"],
        "namespace": pod["namespace"],
        "cluster": cluster,
        "workload": workload,
    }
    return {field: value for field, value in fields.items() if value is not None}


def _lineage(event: dict[str, Any], body: dict[str, Any], key: str, warnings: list[str]) -> None:
    """Sets parent and ancestors, and each process's ppid from the next process up."""
    process = event["process"]
    claimed = must_be_object(body["process"], f"{key}.process").get("parent_exec_id")
    parent: dict[str, Any] | None = None
    if body.get("parent") is not None:
        parent = _process(body["parent"], f"{key}.parent", warnings)
        if claimed and parent.get("key") and claimed != parent["key"]:
            warnings.append(
                f"{key}.process.parent_exec_id {claimed!r} differs from parent.exec_id "
                f"{parent['key']!r}; the parent object's exec_id is kept"
            )
    elif claimed:
        parent = {"key": claimed}
    ancestors_raw = must_be_list(body.get("ancestors") or [], f"{key}.ancestors")
    ancestors = [
        _process(item, f"{key}.ancestors[{index}]", warnings)
        for index, item in enumerate(ancestors_raw)
    ]
    chain = [process, *([parent] if parent else []), *ancestors]
    for child, up in pairwise(chain):
        # The same pid up the chain is an exec without fork: the OS parent is further up.
        if "ppid" not in child and up.get("pid") not in (None, child.get("pid")):
            child["ppid"] = up["pid"]
    if parent:
        event["parent"] = parent
    if ancestors:
        event["ancestors"] = ancestors


def _activity(key: str, body: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """Returns the kind and its kind-specific fields."""
    if key == "process_exec":
        return {"kind": "process_exec"}
    if key == "process_exit":
        status, signal = body.get("status"), body.get("signal") or None
        # Tetragon's JSON omits a zero status (proto3), so no status and no signal is exit 0.
        exit_code = status if status is not None else (None if signal else 0)
        return {"kind": "process_exit", "exit_code": exit_code, "signal": signal}
    if key == "process_connect":
        return {"kind": "network_connect", "network": _golden_signal(body, "source", "destination")}
    if key == "process_listen":
        network = {
            "protocol": _protocol(body.get("protocol")),
            "src_ip": body.get("ip"),
            "src_port": body.get("port"),
        }
        return {"kind": "network_listen", "network": network}
    return _hook(key, body, warnings)


def _golden_signal(body: dict[str, Any], src: str, dst: str) -> dict[str, Any]:
    return {
        "protocol": _protocol(body.get("protocol")),
        "src_ip": body.get(f"{src}_ip"),
        "src_port": body.get(f"{src}_port"),
        "dst_ip": body.get(f"{dst}_ip"),
        "dst_port": body.get(f"{dst}_port"),
    }


def _hook(key: str, body: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """Maps a kprobe or LSM hook on a known file or socket function."""
    function = must_be_string(body.get("function_name"), f"{key}.function_name")
    if not function:
        raise Unusable(f"tetragon {key} has no function_name")
    call = _call(function, lsm=key == "process_lsm")
    action = body.get("action")
    if action in BLOCKING_ACTIONS:
        warnings.append(f"Tetragon's policy acted with {action}: the call may not have completed")
    args = _args(body.get("args"), f"{key}.args")
    if call in FILE_CALLS:
        return _file_call(key, function, call, args, warnings)
    if call in NETWORK_CALLS:
        kind = NETWORK_CALLS[call]
        returned = body.get("return")
        if kind == "network_accept" and isinstance(returned, dict):
            args = [returned, *args]  # the accepted socket is the return value
        return {"kind": kind, "network": _socket(key, function, kind, args)}
    raise Unusable(
        f"tetragon {key} on {function!r} has no mapping to a Storyline event kind yet "
        "(mapped: file open, read, write, create, rename, unlink and chmod calls; "
        "socket connect, accept, bind and listen calls)"
    )


def _call(function: str, lsm: bool) -> str:
    """Returns the operation a hooked function stands for, e.g. `openat` for `__x64_sys_openat`."""
    if lsm and not function.startswith("security_"):
        function = f"security_{function}"  # Tetragon names LSM hooks without the prefix
    for prefix in SYSCALL_PREFIXES:
        if function.startswith(prefix):
            return function[len(prefix) :]
    return function


def _file_call(
    key: str, function: str, call: str, args: list[dict[str, Any]], warnings: list[str]
) -> dict[str, Any]:
    paths = _paths(args)
    if not paths:
        raise Unusable(
            f"tetragon {key} on {function!r} carries no path argument "
            "(file_arg, path_arg or string_arg)"
        )
    first_path_at, path = paths[0]
    number = _int_after(args, first_path_at)
    kind = FILE_CALLS[call]
    target: dict[str, Any] = {"path": path}
    if call in OPEN_CALLS and number is not None:
        target["flags"] = _open_flags(number)
        if number & 0b11:
            kind = "file_write"  # opened for writing
    elif call == "security_file_permission" and number and number & (MAY_WRITE | MAY_APPEND):
        kind = "file_write"
    elif kind == "file_chmod" and number is not None:
        target["mode"] = number
    elif kind == "file_rename" and len(paths) > 1:
        target["target_path"] = paths[1][1]
    is_read = call in READ_CALLS or (
        call == "security_file_permission" and number is not None and number & MAY_READ
    )
    if kind == "file_open" and is_read:
        warnings.append(
            f"{function} of {path} is recorded as file_open: the event model has no read kind"
        )
    return {"kind": kind, "file": target}


def _socket(key: str, function: str, kind: str, args: list[dict[str, Any]]) -> dict[str, Any]:
    sock = next((a["sock_arg"] for a in args if isinstance(a.get("sock_arg"), dict)), None)
    addr = next((a["sockaddr_arg"] for a in args if isinstance(a.get("sockaddr_arg"), dict)), None)
    if sock is None and addr is None:
        raise Unusable(
            f"tetragon {key} on {function!r} carries no socket argument (sock_arg or sockaddr_arg)"
        )
    network: dict[str, Any] = {}
    if sock is not None:
        network = {
            "protocol": _protocol(sock.get("protocol")),
            "family": _family(sock.get("family")),
            "src_ip": sock.get("saddr"),
            "src_port": sock.get("sport"),
            "dst_ip": sock.get("daddr"),
            "dst_port": sock.get("dport"),
        }
    if kind in ("network_bind", "network_listen"):
        network["dst_ip"] = network["dst_port"] = None  # a local socket has no peer yet
    if addr is not None:
        side = "dst" if kind == "network_connect" else "src"
        network[f"{side}_ip"] = addr.get("addr")
        network[f"{side}_port"] = addr.get("port")
        network["family"] = network.get("family") or _family(addr.get("family"))
    return network


def _args(raw: Any, where: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    items = must_be_list(raw, where)
    return [must_be_object(item, f"{where}[{index}]") for index, item in enumerate(items)]


def _paths(args: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Returns (position, path) for each path-like argument, in order."""
    found = []
    for index, arg in enumerate(args):
        for kind in ("file_arg", "path_arg", "linux_binprm_arg"):
            path = arg[kind].get("path") if isinstance(arg.get(kind), dict) else None
            if isinstance(path, str) and path:
                # Kernel paths (d_path) are absolute; some Tetragon versions drop the "/".
                found.append((index, path if path.startswith("/") else f"/{path}"))
        text = arg.get("string_arg")
        if isinstance(text, str) and text:
            found.append((index, text))
    return found


def _int_after(args: list[dict[str, Any]], position: int) -> int | None:
    """Returns the first integer argument after `position` (open flags, a mask or a mode)."""
    for arg in args[position + 1 :]:
        for kind in ("int_arg", "uint_arg", "long_arg"):
            number = arg.get(kind)
            if isinstance(number, int) and not isinstance(number, bool):
                return number
            if isinstance(number, str) and number.lstrip("-").isdigit():
                return int(number)
    return None


def _open_flags(number: int) -> str:
    """Names open(2) flags, e.g. 577 -> 'O_WRONLY|O_CREAT|O_TRUNC'."""
    number &= 0xFFFFFFFF
    names = [ACCESS_MODES[number & 0b11] if number & 0b11 < 3 else "O_ACCMODE"]
    rest = number & ~0b11
    for bit, flag in OPEN_FLAG_BITS:
        if rest & bit:
            names.append(flag)
            rest &= ~bit
    if rest:
        names.append(f"0x{rest:x}")
    return "|".join(names)


def _protocol(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower()
        return text.removeprefix("ipproto_") or None
    return value


def _family(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip().lower().removeprefix("af_")  # AF_INET -> inet
        return {"local": "unix"}.get(text, text) or None
    return value
