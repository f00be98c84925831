"""A story's signals as OCSF Detection Findings, validated against the published schema.

The schema is OCSF 1.3.0 as schema.ocsf.io publishes it (`/1.3.0/export/schema`),
shipped in the `ocsf-json-schema` package (Apache-2.0 schema files), compiled by that
package into a JSON Schema (draft 2020-12: required attributes, types, enums, ranges,
regexes, at_least_one/just_one constraints, closed objects) for class
detection_finding with the profiles the findings declare.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import httpx2 as httpx
import pytest
from jsonschema import Draft202012Validator
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from app.investigation.evidence import gather
from app.investigation.ocsf import OCSF_VERSION, PROFILES, epoch_ms, findings
from app.neo4j.database import Database, Target
from tests.api.test_actions import jvm_story
from tests.api.test_search import SHA, scenario
from tests.conftest import target_env
from tests.server import serve, storyline_command


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    published = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION))
    schema = published.get_class_schema("detection_finding", profiles=PROFILES)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(validator: Draft202012Validator, finding: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(finding)]


def story_findings(db: Database, story: str) -> list[dict[str, Any]]:
    evidence = gather(db, story, indicators=False)
    assert evidence is not None
    return findings(evidence)


def test_every_finding_validates_against_the_published_schema(
    db: Database, validator: Draft202012Validator
) -> None:
    world = scenario(db)
    jvm = jvm_story(db)  # the built-in rules on top of the scenario's sensor alerts
    checked = 0
    for story in (world["shell"], world["jvm"], jvm):
        for finding in story_findings(db, story):
            assert errors(validator, finding) == [], finding
            checked += 1
    assert checked >= 10


def test_the_validator_refuses_what_the_schema_does(
    db: Database, validator: Draft202012Validator
) -> None:
    [finding, *_] = story_findings(db, jvm_story(db))
    assert errors(validator, finding) == []
    for change, words in (
        ({"severity_id": 7}, "is not one of"),
        ({"class_uid": 2001}, "was expected"),
        ({"finding_info": {"title": "no uid"}}, "'uid' is a required property"),
        ({"time": "yesterday"}, "is not of type 'integer'"),
        ({"surprise": 1}, "Additional properties are not allowed"),
    ):
        broken = {**finding, **change}
        assert any(words in e for e in errors(validator, broken)), (
            change,
            errors(validator, broken),
        )
    no_metadata = {k: v for k, v in finding.items() if k != "metadata"}
    assert "'metadata' is a required property" in " ".join(errors(validator, no_metadata))
    bad_ip = json.loads(json.dumps(finding))
    bad_ip["evidences"] = [{"dst_endpoint": {"ip": "not-an-ip"}}]
    assert any("does not match" in e for e in errors(validator, bad_ip))


def test_a_finding_says_what_the_signal_and_its_event_are(db: Database) -> None:
    world = scenario(db)
    by_rule = {f["finding_info"]["analytic"]["uid"]: f for f in story_findings(db, world["shell"])}
    shadow = by_rule["shadow_read"]
    assert (shadow["class_uid"], shadow["category_uid"], shadow["activity_id"]) == (2004, 2, 1)
    assert shadow["type_uid"] == 200401
    assert (shadow["severity_id"], shadow["severity"]) == (4, "High")
    assert (shadow["status_id"], shadow["status"]) == (1, "New")
    assert shadow["time"] == epoch_ms("2026-01-05T08:00:55Z") == 1767600055000
    assert shadow["metadata"]["version"] == "1.3.0"
    assert shadow["metadata"]["correlation_uid"] == world["shell"]
    assert shadow["metadata"]["profiles"] == ["host", "container"]
    info = shadow["finding_info"]
    assert info["attacks"] == [{"tactic": {"uid": "TA0006", "name": "Credential Access"},
                                "technique": {"uid": "T1003"},
                                "sub_technique": {"uid": "T1003.008"}}]  # fmt: skip
    assert info["analytic"] == {"uid": "shadow_read", "name": "shadow read", "type_id": 1,
                                "type": "Rule"}  # fmt: skip
    [evidence] = shadow["evidences"]
    assert evidence["file"] == {"name": "shadow", "path": "/etc/shadow", "type_id": 0,
                                "type": "Unknown",
                                "hashes": [{"algorithm_id": 3, "algorithm": "SHA-256",
                                            "value": SHA.split(":")[1]}]}  # fmt: skip
    process = evidence["process"]
    assert (process["pid"], process["name"], process["uid"]) == (2101, "sh", world["sh"])
    image = {"name": "shop/web:1.4", "uid": "shop/web:1.4"}
    assert process["container"] == {"uid": "c1", "name": "web", "image": image,
                                    "orchestrator": "kubernetes"}  # fmt: skip
    assert process["parent_process"]["name"] == "runc"
    assert shadow["device"] == {"uid": "node-2", "name": "node-2", "hostname": "node-2",
                                "type_id": 0, "type": "Unknown"}  # fmt: skip
    assert {(o["type_id"], o["value"]) for o in shadow["observables"]} == {
        (9, "sh"), (7, "shadow"), (8, SHA.split(":")[1]),
    }  # fmt: skip
    unmapped = shadow["unmapped"]["storyline"]
    assert unmapped["story_id"] == world["shell"] and unmapped["event_kind"] == "file_open"


def test_typed_actions_are_the_remediation_and_addresses_the_observables(db: Database) -> None:
    story = jvm_story(db)
    found = story_findings(db, story)
    port = [f for f in found if f["finding_info"]["analytic"]["uid"] == "linux.reverse_shell_port"]
    [shell_port] = port
    assert shell_port["evidences"][0]["dst_endpoint"] == {"ip": "198.51.100.9", "port": 4444}
    assert (2, "198.51.100.9") in {(o["type_id"], o["value"]) for o in shell_port["observables"]}
    assert shell_port["remediation"]["desc"].splitlines() == [
        "Kill process 4001 (bash) on host node-3",
        "Block 198.51.100.9:4444 at the egress firewall",
    ]
    assert [f["time"] for f in found] == sorted(f["time"] for f in found)


def test_ocsf_over_rest_and_from_the_cli(db: Database, neo4j_target: Target, tmp_path: Any) -> None:
    story = jvm_story(db)
    with serve(neo4j_target, tmp_path) as server:
        answer = httpx.get(f"{server.url}/api/v1/stories/{story}/ocsf", timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        over_rest = answer.json()
        missing = httpx.get(f"{server.url}/api/v1/stories/nope/ocsf", timeout=60)
        assert missing.status_code == 404
    cli = subprocess.run(
        [*storyline_command(), "story", story[:8], "--ocsf"],
        env={**os.environ, **target_env(neo4j_target)},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(cli.stdout) == over_rest == story_findings(db, story)
    assert len(over_rest) == 6  # the story's six signals
