import os
import re
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


SETTINGS_PY = Path(__file__).resolve().parent.parent / "app" / "settings.py"
RULES = f"/etc/storyline/rules{os.pathsep}/srv/storyline/rules"
SIGMA = f"/opt/sigma/linux{os.pathsep}/opt/sigma/cloud"
# every variable app/settings.py reads from the mapping, each with a value unlike its default
EVERY_VARIABLE = {
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
    "STORYLINE_NEO4J_START_TIMEOUT": "45",
    "STORYLINE_HOST": "0.0.0.0",
    "STORYLINE_PORT": "9000",
    "STORYLINE_MAX_BODY_BYTES": "1024",
    "STORYLINE_INGEST_BATCH_SIZE": "500",
    "STORYLINE_SUBSCRIPTION_POLL_MS": "250",
    "STORYLINE_API_TOKENS_FILE": "/etc/storyline/tokens",
    "STORYLINE_AUTH": "off",
    "STORYLINE_ROUTINE_STORIES": "off",
    "STORYLINE_PIPELINE_WORKER": "off",
    "STORYLINE_MAX_CONCURRENT_INGESTS": "9",
    "STORYLINE_ALLOWED_ORIGINS": "https://a.example, https://b.example:8443,",
    "STORYLINE_RULES_DIRS": RULES,
    "STORYLINE_SIGMA_DIRS": SIGMA,
    "STORYLINE_JAVA_HOME": "/opt/java-21",
    "STORYLINE_MAVEN_REPO": "https://mirror.example/maven2",
    "STORYLINE_LINKS_FILE": "/etc/storyline/links.yaml",
    "STORYLINE_NEO4J_BROWSER_URL": "https://neo4j.example/browser/",
    "STORYLINE_RETENTION": "30d",
    "STORYLINE_ACTION_WEBHOOK_URL": "https://soar.example/hooks/storyline",
    "STORYLINE_ACTION_WEBHOOK_SECRET": "webhook-secret-value",
    "STORYLINE_ACTION_WEBHOOK_SECRET_FILE": "/run/secrets/storyline-webhook",
    "STORYLINE_ACTION_WEBHOOK_TIMEOUT": "7",
    "STORYLINE_KAFKA_BOOTSTRAP": "kafka-1.example:9092,kafka-2.example:9092",
    "STORYLINE_KAFKA_TOPICS": "tetragon.shard-07=tetragon, falco=falco",
    "STORYLINE_KAFKA_GROUP": "storyline.shard-07",
    "STORYLINE_KAFKA_MAX_QUEUED": "5000",
    "STORYLINE_KAFKA_PORT": "19192",
    "STORYLINE_KAFKA_CONTROLLER_PORT": "19193",
    "STORYLINE_KAFKA_HEAP": "1g",
    "STORYLINE_KAFKA_CONFIG": "/etc/storyline/kafka.properties",
}
# read from the process environment, for the defaults of STORYLINE_HOME and STORYLINE_CACHE
DEFAULT_LOCATIONS = {"XDG_DATA_HOME", "XDG_CACHE_HOME"}


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(EVERY_VARIABLE)
    assert not settings.uses_local_neo4j
    assert settings.neo4j_uri == "neo4j+s://example.databases.neo4j.io"
    assert settings.neo4j_user == "analyst"
    assert settings.neo4j_password == Secret("s3cret-value")
    assert settings.neo4j_database == "stories"
    assert settings.local.data_dir == Path("/srv/storyline")
    assert settings.local.cache_dir == Path("/var/cache/storyline")
    assert (settings.local.bolt_port, settings.local.http_port) == (7700, 7701)
    assert (settings.local.heap, settings.local.pagecache) == ("2g", "1g")
    assert settings.local.start_timeout == 45.0
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert (settings.max_body_bytes, settings.ingest_batch_size) == (1024, 500)
    assert settings.subscription_poll_ms == 250
    assert settings.api_tokens_file == Path("/etc/storyline/tokens")
    assert settings.tokens_path == Path("/etc/storyline/tokens")
    assert settings.auth_off is True
    assert settings.routine_stories is False
    assert settings.pipeline_worker is False
    assert settings.max_concurrent_ingests == 9
    assert settings.allowed_origins == ("https://a.example", "https://b.example:8443")
    assert settings.rule_dirs == ("/etc/storyline/rules", "/srv/storyline/rules")
    assert settings.sigma_dirs == ("/opt/sigma/linux", "/opt/sigma/cloud")
    assert settings.retention == "30d"
    assert settings.local.java_home == Path("/opt/java-21")
    assert settings.local.maven_repo == "https://mirror.example/maven2"
    assert settings.links_file == Path("/etc/storyline/links.yaml")
    assert settings.browser_url == "https://neo4j.example/browser/"
    assert settings.action_webhook_url == "https://soar.example/hooks/storyline"
    assert settings.action_webhook_secret == Secret("webhook-secret-value")
    assert settings.action_webhook_secret_file == Path("/run/secrets/storyline-webhook")
    assert settings.action_webhook_timeout == 7
    assert "webhook-secret-value" not in repr(settings)
    kafka = settings.kafka
    assert kafka.bootstrap == "kafka-1.example:9092,kafka-2.example:9092"
    assert kafka.topics == (("tetragon.shard-07", "tetragon"), ("falco", "falco"))
    assert (kafka.group, kafka.max_queued) == ("storyline.shard-07", 5000)
    assert (kafka.port, kafka.controller_port, kafka.heap) == (19192, 19193, "1g")
    assert kafka.client_config == Path("/etc/storyline/kafka.properties")


def test_the_kafka_bootstrap_defaults_to_the_local_broker_port() -> None:
    assert Settings.from_env({}).kafka.bootstrap == "127.0.0.1:9092"
    assert Settings.from_env({"STORYLINE_KAFKA_PORT": "19092"}).kafka.bootstrap == (
        "127.0.0.1:19092"
    )


@pytest.mark.parametrize("value", ["tetragon", "=tetragon", "topic=", "a=tetragon,b"])
def test_a_kafka_topic_without_a_format_is_a_clear_error(value: str) -> None:
    with pytest.raises(ConfigError, match=r"STORYLINE_KAFKA_TOPICS: .* is not topic=format"):
        Settings.from_env({"STORYLINE_KAFKA_TOPICS": value})


def _read_in_settings_py() -> tuple[set[str], set[str]]:
    """Returns the variables app/settings.py reads: from the mapping, and from os.environ."""
    source = SETTINGS_PY.read_text()
    from_mapping = set(re.findall(r'(?<![.\w])env\.get\(\s*"([A-Z][A-Z0-9_]*)"', source))
    from_mapping |= set(re.findall(r'_int\(\s*env,\s*"([A-Z][A-Z0-9_]*)"', source))
    from_process = set(re.findall(r'os\.environ\.get\(\s*"([A-Z][A-Z0-9_]*)"', source))
    return from_mapping, from_process


def test_the_tests_name_every_variable_settings_py_reads() -> None:
    from_mapping, from_process = _read_in_settings_py()
    assert len(from_mapping) >= 26  # the scan finds the reads at all
    assert sorted(from_mapping - set(EVERY_VARIABLE)) == [], "read but not tested"
    assert sorted(set(EVERY_VARIABLE) - from_mapping) == [], "tested but no longer read"
    assert from_process == DEFAULT_LOCATIONS


@pytest.mark.parametrize("name", sorted(EVERY_VARIABLE))
def test_each_variable_alone_changes_the_settings(name: str) -> None:
    assert Settings.from_env({name: EVERY_VARIABLE[name]}) != Settings.from_env({})


def test_the_default_locations_follow_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", "/xdg/data")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg/cache")
    settings = Settings.from_env({})
    assert settings.local.data_dir == Path("/xdg/data/storyline")
    assert settings.local.cache_dir == Path("/xdg/cache/storyline")
    assert settings.tokens_path == Path("/xdg/data/storyline/api-tokens")


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
