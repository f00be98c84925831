from pathlib import Path

import pytest

from app.errors import ConfigError
from app.settings import Secret, Settings


def test_defaults_use_the_local_neo4j() -> None:
    settings = Settings.from_env({"HOME": "/h"})
    assert settings.uses_local_neo4j
    assert settings.neo4j_user == "neo4j"
    assert settings.local.bolt_port == 7687
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "NEO4J_URI": "neo4j+s://example.databases.neo4j.io",
            "NEO4J_USER": "analyst",
            "NEO4J_PASSWORD": "s3cret-value",
            "NEO4J_DATABASE": "stories",
            "STORYLINE_HOME": "/srv/storyline",
            "STORYLINE_CACHE": "/var/cache/storyline",
            "STORYLINE_NEO4J_BOLT_PORT": "7700",
            "STORYLINE_NEO4J_HTTP_PORT": "7701",
            "STORYLINE_NEO4J_HEAP": "2g",
            "STORYLINE_NEO4J_PAGECACHE": "1g",
            "STORYLINE_HOST": "0.0.0.0",
            "STORYLINE_PORT": "9000",
            "STORYLINE_MAX_BODY_BYTES": "1024",
            "STORYLINE_INGEST_BATCH_SIZE": "500",
            "STORYLINE_JAVA_HOME": "/opt/java-21",
            "STORYLINE_MAVEN_REPO": "https://mirror.example/maven2",
        }
    )
    assert not settings.uses_local_neo4j
    assert settings.neo4j_password == Secret("s3cret-value")
    assert settings.neo4j_database == "stories"
    assert settings.local.data_dir == Path("/srv/storyline")
    assert settings.local.cache_dir == Path("/var/cache/storyline")
    assert (settings.local.bolt_port, settings.local.http_port) == (7700, 7701)
    assert (settings.local.heap, settings.local.pagecache) == ("2g", "1g")
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert (settings.max_body_bytes, settings.ingest_batch_size) == (1024, 500)
    assert settings.local.java_home == Path("/opt/java-21")
    assert settings.local.maven_repo == "https://mirror.example/maven2"


def test_secrets_never_show_in_reprs() -> None:
    settings = Settings.from_env({"NEO4J_URI": "bolt://x", "NEO4J_PASSWORD": "hunter2-secret"})
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in str(settings.neo4j_password)
    assert settings.neo4j_password is not None
    assert settings.neo4j_password.reveal() == "hunter2-secret"


@pytest.mark.parametrize("value", ["abc", "0", "-5"])
def test_a_bad_port_is_a_clear_error(value: str) -> None:
    with pytest.raises(ConfigError, match="STORYLINE_PORT"):
        Settings.from_env({"STORYLINE_PORT": value})
