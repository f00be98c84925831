"""The CloudTrail adapter on OTRF's EC2-proxy/IMDS/S3 sample and on hand-made edge cases."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters import Accepted, Outcome, RawRecord, Rejected, cloudtrail, get_adapter
from app.events import AuditRecord, record_id
from app.framing import BadJson, json_values
from tests.adapters.fuzz import JSON, paths, replaced
from tests.conftest import DATASETS

SAMPLE = DATASETS / "cloudtrail-otrf-imds-s3/ec2_proxy_s3_exfiltration_2020-09-14011940.json"
# issued to the instance profile by AssumeRole, then used from the attacker's laptop
STOLEN_KEY = "ASIA5FLZVX4OPVKKVBMX"
ROLE_SESSION = (
    "arn:aws:sts::123456789123:assumed-role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0"
    "/i-0317f6c6b66ae9c40"
)
AWS_CLI = "[aws-cli/1.18.136 Python/3.8.5 Darwin/19.5.0 botocore/1.17.59]"


def frame(path: Path) -> tuple[list[RawRecord], list[RawRecord]]:
    """Frames a file as the product does; returns (JSON records, invalid JSON records)."""
    with path.open(encoding="utf-8") as stream:
        records = list(json_values(stream))
    good = [r for r in records if not isinstance(r.text, BadJson)]
    return good, [r for r in records if isinstance(r.text, BadJson)]


def sample_records() -> dict[int, AuditRecord]:
    """Returns the sample's records by line number."""
    found = {}
    for outcome in cloudtrail.parse(frame(SAMPLE)[0]):
        assert isinstance(outcome, Accepted), outcome
        assert isinstance(outcome.item, AuditRecord)
        found[outcome.position] = outcome.item
    return found


def parse_value(value: Any, position: int = 1) -> list[Outcome]:
    return list(cloudtrail.parse([RawRecord(position, json.dumps(value), value)]))


def sample_line(number: int) -> dict[str, Any]:
    return json.loads(SAMPLE.read_text().splitlines()[number - 1])


def test_module_shape() -> None:
    assert cloudtrail.name == "cloudtrail"
    assert cloudtrail.framing == "json"
    assert get_adapter("cloudtrail") is cloudtrail


def test_the_sample_is_accepted_whole_with_pinned_counts() -> None:
    good, bad = frame(SAMPLE)
    results = list(cloudtrail.parse(good))
    assert (len(good), len(bad)) == (103, 0)
    assert all(isinstance(r, Accepted | Rejected) for r in results)
    assert sum(isinstance(r, Accepted) for r in results) == 103
    assert sum(isinstance(r, Rejected) for r in results) == 0


def test_action_and_key_counts() -> None:
    records = sample_records().values()
    actions = Counter(r.action for r in records if not r.action.startswith("ec2."))
    assert actions == {
        "s3.amazonaws.com:ListObjects": 7,
        "s3.amazonaws.com:ListBuckets": 2,
        "s3.amazonaws.com:GetObject": 2,
        "sts.amazonaws.com:AssumeRole": 5,
        "elasticloadbalancing.amazonaws.com:DescribeLoadBalancers": 3,
        "monitoring.amazonaws.com:DescribeAlarms": 2,
        "compute-optimizer.amazonaws.com:GetEnrollmentStatus": 2,
    }
    keys = Counter(r.access_key_id for r in records)
    assert keys == {"ASIA5FLZVX4OI4ZDQJOL": 87, STOLEN_KEY: 11, None: 5}
    assert {r.actor for r in records if r.access_key_id == STOLEN_KEY} == {ROLE_SESSION}
    assert len({r.id for r in records}) == 103


def test_list_buckets_with_the_stolen_instance_profile_key() -> None:
    assert sample_records()[98] == AuditRecord(
        id="19d32cc1-edab-4b96-9a11-2cd7794b2527",
        ts="2020-09-14T01:01:50.000000000Z",
        source="cloudtrail",
        actor=ROLE_SESSION,
        action="s3.amazonaws.com:ListBuckets",
        target=None,
        outcome="success",
        source_ip="1.2.3.4",
        user_agent=AWS_CLI,
        access_key_id=STOLEN_KEY,
    )


def test_get_object_names_the_exfiltrated_object() -> None:
    record = sample_records()[80]
    assert record.id == "771299cb-e200-4926-9604-c85358b30499"
    assert record.ts == "2020-09-14T01:02:34.000000000Z"
    assert record.action == "s3.amazonaws.com:GetObject"
    assert record.target == "s3://mordors3stack-s3bucket-llp2yingx64a/ring.txt"
    assert (record.actor, record.access_key_id) == (ROLE_SESSION, STOLEN_KEY)
    assert sample_records()[45].target == "s3://mordors3stack-s3bucket-llp2yingx64a"


def test_assume_role_by_the_ec2_service() -> None:
    record = sample_records()[44]
    assert record.actor == "ec2.amazonaws.com"  # an AWS service has no arn
    assert record.action == "sts.amazonaws.com:AssumeRole"
    assert (
        record.target
        == "arn:aws:iam::123456789123:role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0"
    )
    assert record.access_key_id is None
    assert record.source_ip == "ec2.amazonaws.com"


def test_console_calls_name_their_instance() -> None:
    records = sample_records()
    assert records[5].actor == "arn:aws:iam::123456789123:user/pedro"
    assert records[5].target == "i-044b1baf4c96e1b62"  # requestParameters.instanceId
    assert records[2].target == "i-044b1baf4c96e1b62"  # instancesSet.items
    assert records[66].target == "i-044b1baf4c96e1b62"  # instancesSet.item
    assert records[9].target is None  # DescribeHosts names nothing


def test_a_cloudtrail_log_file_yields_each_record_and_rejects_bad_items_by_index() -> None:
    good = sample_line(98)
    untimed = {k: v for k, v in good.items() if k != "@timestamp"}
    log_file = {"Records": [good, untimed, "x"]}
    results = parse_value(log_file, position=3)
    assert [type(r) for r in results] == [Accepted, Rejected, Rejected]
    assert all(r.position == 3 for r in results)
    assert results[1] == Rejected(
        3, "Records[1]: missing eventTime", json.dumps(untimed, separators=(",", ":"))
    )
    assert results[2] == Rejected(3, "Records[2]: a CloudTrail record must be a JSON object", '"x"')


def test_eventbridge_delivery_and_event_time() -> None:
    record = {k: v for k, v in sample_line(80).items() if k != "@timestamp"}
    record["eventTime"] = "2020-09-14T01:02:34Z"
    event = {
        "version": "0",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.s3",
        "detail": record,
    }
    [result] = parse_value(event)
    assert isinstance(result, Accepted)
    assert result.item.id == "771299cb-e200-4926-9604-c85358b30499"
    assert result.item.ts == "2020-09-14T01:02:34.000000000Z"


def test_errors_and_identity_fallbacks() -> None:
    denied = {
        "eventVersion": "1.08",
        "eventTime": "2024-05-14T09:20:11Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": "CreateAccessKey",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:i-0abc"},
        "requestParameters": {"userName": "admin"},
        "errorCode": "AccessDenied",
        "errorMessage": "not authorized",
        "sourceIPAddress": "203.0.113.50",
    }
    [result] = parse_value(denied)
    assert isinstance(result, Accepted)
    item = result.item
    assert (item.actor, item.outcome, item.target) == (
        "AROAEXAMPLE:i-0abc",
        "AccessDenied",
        "admin",
    )
    assert item.id == record_id("cloudtrail", denied)  # no eventID: a stable hash
    [again] = parse_value(denied)
    assert isinstance(again, Accepted) and again.item.id == item.id
    typed = {**denied, "userIdentity": {"type": "Root"}}
    [root] = parse_value(typed)
    assert isinstance(root, Accepted) and root.item.actor == "Root"


def test_several_instances_and_resource_arns() -> None:
    record = sample_line(2)
    record["requestParameters"] = {
        "instancesSet": {"items": [{"instanceId": "i-1"}, {"instanceId": "i-2"}]}
    }
    [result] = parse_value(record)
    assert isinstance(result, Accepted) and result.item.target == "i-1,i-2"
    record["requestParameters"] = None
    record["resources"] = [{"ARNPrefix": "arn:aws:s3:::b/"}, {"ARN": "arn:aws:s3:::b"}]
    [result] = parse_value(record)
    assert isinstance(result, Accepted) and result.item.target == "arn:aws:s3:::b"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (42, "a CloudTrail record must be a JSON object"),
        ([1], "a CloudTrail record must be a JSON object"),
        ({}, "missing eventName: not a CloudTrail record"),
        ({"kind": "Event"}, "missing eventName: not a CloudTrail record"),
        ({"Records": {}}, "`Records` must be a list"),
        ({"eventName": 5}, "eventName: expected a string, got int"),
        ({"eventName": "ListBuckets"}, "missing eventTime"),
        (
            {"eventName": "ListBuckets", "eventTime": "last tuesday"},
            "ts: Value error, not an RFC 3339 timestamp",
        ),
        (
            {"eventName": "ListBuckets", "eventTime": 1e300},
            "ts: Value error, timestamp out of range",
        ),
        (
            {"eventName": "ListBuckets", "eventTime": "2020-09-14T01:01:50Z", "userIdentity": "x"},
            "userIdentity: expected an object, got str",
        ),
        (
            {"eventName": "ListBuckets", "eventTime": "2020-09-14T01:01:50Z", "errorCode": 403},
            "outcome: Input should be a valid string",
        ),
    ],
)
def test_garbage_is_rejected_with_a_reason(value: Any, reason: str) -> None:
    [result] = parse_value(value, position=7)
    assert isinstance(result, Rejected)
    assert result.position == 7
    assert result.reason.startswith(reason), result.reason
    assert result.raw == json.dumps(value)


GET_OBJECT = sample_line(80)


@settings(max_examples=300, database=None, deadline=None)
@given(st.sampled_from(paths(GET_OBJECT)), JSON)
def test_no_exception_escapes_whatever_a_field_holds(path: tuple[Any, ...], new: Any) -> None:
    value = replaced(GET_OBJECT, path, new)
    for wrapped in (value, {"Records": [value]}, {"detail-type": "x", "detail": value}):
        results = parse_value(wrapped)
        assert results
        assert all(isinstance(r, Accepted | Rejected) for r in results)
