"""One real Neo4j for the whole suite, wiped between tests.

Where it comes from, in order:
1. NEO4J_URI (with NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE) when set;
2. testcontainers' `neo4j:5.26-community` when a Docker engine answers;
3. the local launcher (`storyline neo4j`), in .storyline/test under the checkout,
   on ports 17687/17474 so that it never touches the server `make run` uses.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.neo4j.database import Database, Target
from app.neo4j.launcher import LocalNeo4j, port_free
from app.settings import LocalNeo4jSettings, Secret, Settings

ROOT = Path(__file__).resolve().parent.parent
# the sensor samples and Sigma rules the tests read, each with its SOURCE.txt
DATA = ROOT / "tests" / "data"
DATASETS = DATA / "datasets"
SIGMA_LINUX = DATA / "sigma-linux"
TEST_BOLT_PORT = int(os.environ.get("STORYLINE_TEST_BOLT_PORT", "17687"))
TEST_HTTP_PORT = int(os.environ.get("STORYLINE_TEST_HTTP_PORT", "17474"))
# another home (with other ports) lets two checkouts' suites run at once
TEST_HOME = Path(os.environ.get("STORYLINE_TEST_HOME", ROOT / ".storyline" / "test"))
# The suite's apps are open (no API token) unless a test gives them a token file:
# a developer's own tokens must not change what the tests see.
os.environ["STORYLINE_API_TOKENS_FILE"] = str(TEST_HOME / "no-api-tokens")
# In-process apps run no background worker: each test drains the stage with the
# rules it chose (ingest's after_batch). The real server's tests turn it on.
os.environ["STORYLINE_PIPELINE_WORKER"] = "off"


def docker_answers() -> bool:
    """Tells whether a Docker engine (not just the client) answers."""
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True, timeout=15, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def free_ports(count: int) -> list[int]:
    """Free loopback ports below the ephemeral range: a port probed free there cannot
    be taken by some outgoing connection before our server binds it."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    found = list(itertools.islice((p for p in range(low - 3000, low) if port_free(p)), count))
    assert len(found) == count, "no free ports below the ephemeral range"
    return found


def local_settings_for(home: Path, bolt: int, http: int) -> LocalNeo4jSettings:
    """Returns launcher settings for a test server in `home` on the given ports."""
    base = Settings.from_env().local
    return LocalNeo4jSettings(
        data_dir=home,
        cache_dir=base.cache_dir,
        bolt_port=bolt,
        http_port=http,
        heap="1g",
        pagecache="256m",
        start_timeout=base.start_timeout,
        java_home=base.java_home,
    )


@pytest.fixture(scope="session")
def neo4j_backend() -> Iterator[tuple[str, Target, LocalNeo4j | None]]:
    """Yields (kind, target, local launcher or None) for the suite's Neo4j."""
    if os.environ.get("NEO4J_URI"):
        settings = Settings.from_env()
        assert settings.neo4j_password is not None, "NEO4J_URI is set without NEO4J_PASSWORD"
        target = Target(
            settings.neo4j_uri or "",
            settings.neo4j_user,
            settings.neo4j_password,
            settings.neo4j_database,
        )
        yield "uri", target, None
        return
    if docker_answers():
        from testcontainers.community.neo4j import Neo4jContainer

        with Neo4jContainer("neo4j:5.26-community") as container:
            target = Target(
                container.get_connection_url(), "neo4j", Secret(container.password), None
            )
            yield "testcontainers", target, None
        return
    local = LocalNeo4j(local_settings_for(TEST_HOME, TEST_BOLT_PORT, TEST_HTTP_PORT))
    _, started = local.start()
    try:
        yield "local", Target(local.bolt_uri, local.user, local.password(), None), local
    finally:
        if started and not os.environ.get("STORYLINE_TEST_KEEP_NEO4J"):
            local.stop()


@pytest.fixture(scope="session")
def neo4j_target(neo4j_backend: tuple[str, Target, LocalNeo4j | None]) -> Target:
    """Returns where the suite's Neo4j is."""
    return neo4j_backend[1]


@pytest.fixture(scope="session")
def session_db(neo4j_target: Target) -> Iterator[Database]:
    """One driver for the suite, with the constraints applied."""
    database = Database(neo4j_target)
    database.apply_constraints()
    yield database
    database.close()


@pytest.fixture
def db(session_db: Database) -> Database:
    """The suite's database, emptied before the test."""
    with session_db.session(write=True) as s:
        s.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
    return session_db


def target_env(target: Target) -> dict[str, str]:
    """Returns the environment that points a subprocess at the test Neo4j."""
    env = {
        "NEO4J_URI": target.uri,
        "NEO4J_USER": target.user,
        "NEO4J_PASSWORD": target.password.reveal(),
    }
    if target.database:
        env["NEO4J_DATABASE"] = target.database
    return env


@pytest.fixture
def neo4j_env(neo4j_target: Target, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Points Settings.from_env() (and subprocesses) at the suite's Neo4j."""
    env = target_env(neo4j_target)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
