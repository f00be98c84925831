"""deploy/ agrees with the code: env vars, ports, probes, user, files it copies.

No Docker engine runs here, so the image is not built by the suite; these
checks keep the Dockerfile, compose file and Kubernetes manifests from
drifting away from what the app reads and serves.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.api.app import create_app
from app.neo4j.launcher import LocalNeo4j
from tests.conftest import local_settings_for

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SETTINGS = (ROOT / "app" / "settings.py").read_text()
README = (ROOT / "README.md").read_text()
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()


def known(name: str) -> bool:
    """An environment variable the app reads and the README documents."""
    return f'"{name}"' in SETTINGS and f"`{name}`" in README


def test_the_dockerfile_copies_what_exists_and_sets_known_variables() -> None:
    for line in re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE, re.M):
        for source in line.split()[:-1]:  # the last word is the destination
            assert (ROOT / source).exists(), source
    for name in re.findall(r"\b(STORYLINE_[A-Z_]+)=", DOCKERFILE):
        assert known(name), name
    assert 'ENTRYPOINT ["storyline"]' in DOCKERFILE and "--uid 10001" in DOCKERFILE


def test_kubernetes_runs_what_the_image_and_app_provide(db: object) -> None:
    documents = list(yaml.safe_load_all((DEPLOY / "k8s" / "storyline.yaml").read_text()))
    [deployment] = [d for d in documents if d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert pod["securityContext"]["runAsUser"] == 10001
    for variable in container["env"]:
        assert known(variable["name"]), variable["name"]
    assert container["ports"][0]["containerPort"] == int(
        re.search(r"STORYLINE_PORT=(\d+)", DOCKERFILE).group(1)
    )
    paths = {r.path for r in create_app(db).routes}  # type: ignore[arg-type]
    assert container["readinessProbe"]["httpGet"]["path"] in paths
    assert container["livenessProbe"]["httpGet"]["path"] in paths
    mounted = {m["mountPath"] for m in container["volumeMounts"]}
    tokens = next(v["value"] for v in container["env"] if v["name"] == "STORYLINE_API_TOKENS_FILE")
    assert str(Path(tokens).parent) in mounted


def test_compose_points_the_service_at_its_neo4j() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    service = compose["services"]["storyline"]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert service["environment"]["NEO4J_URI"] == "bolt://neo4j:7687"
    for name in service["environment"]:
        assert known(name), name
    assert compose["services"]["neo4j"]["image"] == "neo4j:5.26-community"


def test_compose_consumers_read_its_kafka_with_a_command_the_cli_takes() -> None:
    from app.cli import build_parser

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    consumer, kafka = compose["services"]["consumer"], compose["services"]["kafka"]
    args = build_parser().parse_args(consumer["command"])
    assert args.handler.__name__ == "cmd_consume"
    assert args.no_stage  # the storyline service's worker runs the stage
    assert consumer["environment"]["STORYLINE_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "PLAINTEXT://kafka:9092" in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    for name in consumer["environment"]:
        assert known(name), name
    assert consumer["deploy"]["replicas"] >= 2  # a group of more than one


def test_compose_tunes_its_neo4j_as_the_launcher_tunes_the_local_one(tmp_path: Path) -> None:
    # Docker's names for settings: NEO4J_ prefix, '.' as '_', '_' as '__'
    env = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["neo4j"]["environment"]
    setting = "dbms.cypher.min_replan_interval"
    docker_name = "NEO4J_" + setting.replace("_", "__").replace(".", "_")
    conf = LocalNeo4j(local_settings_for(tmp_path, 1, 2)).write_conf().read_text()
    assert f"{setting}={env[docker_name]}" in conf.splitlines()
