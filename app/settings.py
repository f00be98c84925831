"""Every environment variable Storyline reads, read once into typed settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.errors import ConfigError

INGEST_BATCH_SIZE = 5000  # events per write transaction (STORYLINE_INGEST_BATCH_SIZE)


class Secret:
    """A string that never shows itself in a repr, a log line or a traceback."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Returns the secret value."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _default_home() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "storyline"


def _default_cache() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "storyline"


@dataclass(frozen=True)
class LocalNeo4jSettings:
    """How the local, Docker-free Neo4j is laid out and sized."""

    data_dir: Path
    cache_dir: Path
    bolt_port: int = 7687
    http_port: int = 7474
    heap: str = "1g"
    pagecache: str = "512m"
    start_timeout: float = 180.0
    java_home: Path | None = None
    maven_repo: str = "https://repo1.maven.org/maven2"


@dataclass(frozen=True)
class KafkaSettings:
    """The Kafka consumer (storyline consume, and serve's when topics are set) and local broker."""

    bootstrap: str = "127.0.0.1:9092"
    topics: tuple[tuple[str, str], ...] = ()  # (topic, format): serve consumes them when set
    group: str = "storyline"
    max_queued: int = 200_000  # events waiting in the background stage before consuming pauses
    # librdkafka properties for the brokers (TLS, SASL, ...), one key=value a line
    client_config: Path | None = None
    # the local broker of `storyline kafka start` (development and tests)
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"


@dataclass(frozen=True)
class Settings:
    """Storyline's configuration. See the README's configuration table."""

    neo4j_uri: str | None
    neo4j_user: str
    neo4j_password: Secret | None = field(repr=False)
    neo4j_database: str | None
    local: LocalNeo4jSettings
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = 64 * 1024 * 1024
    ingest_batch_size: int = INGEST_BATCH_SIZE
    subscription_poll_ms: int = 2000
    api_tokens_file: Path | None = None
    auth_off: bool = False
    routine_stories: bool = True
    pipeline_worker: bool = True
    max_concurrent_ingests: int = 4
    allowed_origins: tuple[str, ...] = ()
    rule_dirs: tuple[str, ...] = ()
    sigma_dirs: tuple[str, ...] = ()
    links_file: Path | None = None
    neo4j_browser_url: str | None = None
    retention: str | None = None  # an age (30d): the background stage prunes past it
    action_webhook_url: str | None = None
    action_webhook_secret: Secret | None = field(default=None, repr=False)
    action_webhook_secret_file: Path | None = None
    action_webhook_timeout: int = 5

    @property
    def browser_url(self) -> str | None:
        """Where analysts open Neo4j Browser: the setting, else the local server's."""
        if self.neo4j_browser_url:
            return self.neo4j_browser_url
        if self.uses_local_neo4j:
            return f"http://127.0.0.1:{self.local.http_port}/browser/"
        return None

    @property
    def tokens_path(self) -> Path:
        """Where the API tokens are kept (see app/api/auth.py)."""
        return self.api_tokens_file or self.local.data_dir / "api-tokens"

    @property
    def uses_local_neo4j(self) -> bool:
        """Tells whether the app must start (or find) the local Neo4j."""
        return self.neo4j_uri is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Reads the settings from the environment (or the mapping given)."""
        env = os.environ if env is None else env
        password = env.get("NEO4J_PASSWORD")
        java_home = env.get("STORYLINE_JAVA_HOME")
        local = LocalNeo4jSettings(
            data_dir=Path(env.get("STORYLINE_HOME") or _default_home()).expanduser().absolute(),
            cache_dir=Path(env.get("STORYLINE_CACHE") or _default_cache()).expanduser().absolute(),
            bolt_port=_int(env, "STORYLINE_NEO4J_BOLT_PORT", 7687),
            http_port=_int(env, "STORYLINE_NEO4J_HTTP_PORT", 7474),
            heap=env.get("STORYLINE_NEO4J_HEAP", "1g"),
            pagecache=env.get("STORYLINE_NEO4J_PAGECACHE", "512m"),
            start_timeout=float(_int(env, "STORYLINE_NEO4J_START_TIMEOUT", 180)),
            java_home=Path(java_home).expanduser() if java_home else None,
            maven_repo=env.get("STORYLINE_MAVEN_REPO") or "https://repo1.maven.org/maven2",
        )
        return cls(
            neo4j_uri=env.get("NEO4J_URI") or None,
            neo4j_user=env.get("NEO4J_USER", "neo4j"),
            neo4j_password=Secret(password) if password else None,
            neo4j_database=env.get("NEO4J_DATABASE") or None,
            local=local,
            kafka=KafkaSettings(
                bootstrap=env.get("STORYLINE_KAFKA_BOOTSTRAP")
                or f"127.0.0.1:{_int(env, 'STORYLINE_KAFKA_PORT', 9092)}",
                topics=_topics(env.get("STORYLINE_KAFKA_TOPICS")),
                group=env.get("STORYLINE_KAFKA_GROUP") or "storyline",
                max_queued=_int(env, "STORYLINE_KAFKA_MAX_QUEUED", 200_000),
                client_config=_path(env.get("STORYLINE_KAFKA_CONFIG")),
                port=_int(env, "STORYLINE_KAFKA_PORT", 9092),
                controller_port=_int(env, "STORYLINE_KAFKA_CONTROLLER_PORT", 9093),
                heap=env.get("STORYLINE_KAFKA_HEAP", "512m"),
            ),
            host=env.get("STORYLINE_HOST", "127.0.0.1"),
            port=_int(env, "STORYLINE_PORT", 8000),
            max_body_bytes=_int(env, "STORYLINE_MAX_BODY_BYTES", 64 * 1024 * 1024),
            ingest_batch_size=_int(env, "STORYLINE_INGEST_BATCH_SIZE", INGEST_BATCH_SIZE),
            subscription_poll_ms=_int(env, "STORYLINE_SUBSCRIPTION_POLL_MS", 2000),
            api_tokens_file=Path(
                env.get("STORYLINE_API_TOKENS_FILE") or local.data_dir / "api-tokens"
            ).expanduser(),
            auth_off=env.get("STORYLINE_AUTH", "on").lower() == "off",
            routine_stories=env.get("STORYLINE_ROUTINE_STORIES", "on").lower() != "off",
            pipeline_worker=env.get("STORYLINE_PIPELINE_WORKER", "on").lower() != "off",
            max_concurrent_ingests=_int(env, "STORYLINE_MAX_CONCURRENT_INGESTS", 4),
            allowed_origins=tuple(
                o.strip() for o in env.get("STORYLINE_ALLOWED_ORIGINS", "").split(",") if o.strip()
            ),
            rule_dirs=_paths(env.get("STORYLINE_RULES_DIRS")),
            sigma_dirs=_paths(env.get("STORYLINE_SIGMA_DIRS")),
            links_file=_path(env.get("STORYLINE_LINKS_FILE")),
            neo4j_browser_url=env.get("STORYLINE_NEO4J_BROWSER_URL") or None,
            retention=env.get("STORYLINE_RETENTION") or None,
            action_webhook_url=env.get("STORYLINE_ACTION_WEBHOOK_URL") or None,
            action_webhook_secret=_secret(env.get("STORYLINE_ACTION_WEBHOOK_SECRET")),
            action_webhook_secret_file=_path(env.get("STORYLINE_ACTION_WEBHOOK_SECRET_FILE")),
            action_webhook_timeout=_int(env, "STORYLINE_ACTION_WEBHOOK_TIMEOUT", 5),
        )


def _topics(raw: str | None) -> tuple[tuple[str, str], ...]:
    """Reads STORYLINE_KAFKA_TOPICS: `topic=format,topic2=format2`."""
    pairs = []
    for item in (raw or "").split(","):
        if not item.strip():
            continue
        topic, sep, format_name = item.partition("=")
        if not sep or not topic.strip() or not format_name.strip():
            raise ConfigError(
                f"STORYLINE_KAFKA_TOPICS: {item.strip()!r} is not topic=format "
                "(for example tetragon=tetragon,falco-events=falco)"
            )
        pairs.append((topic.strip(), format_name.strip()))
    return tuple(pairs)


def _secret(raw: str | None) -> Secret | None:
    return Secret(raw) if raw else None


def _path(raw: str | None) -> Path | None:
    return Path(raw).expanduser() if raw else None


def _paths(raw: str | None) -> tuple[str, ...]:
    return tuple(p for p in (raw or "").split(os.pathsep) if p)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value
