"""AWS CloudTrail records (`format=cloudtrail`) as AuditRecords.

Accepts, per input record: one CloudTrail record (NDJSON, as Logstash and most
forwarders ship them), a CloudTrail log file `{"Records": [...]}` (each item a
record), or an EventBridge event `{"detail-type": "AWS API Call via
CloudTrail", "detail": {...}}`.

Mapping:
- id = eventID (a hash of the record when it has none), ts = eventTime, else
  `@timestamp` (Logstash renames eventTime so).
- actor = userIdentity.arn, else principalId, else invokedBy (AWS services
  have no arn), else the identity type.
- access_key_id = userIdentity.accessKeyId: the key the call was signed with,
  which links a call to credentials a process fetched from the instance
  metadata service.
- action = eventSource:eventName, e.g. "s3.amazonaws.com:ListBuckets": the full
  eventSource, because it is not always the IAM prefix (monitoring vs cloudwatch).
- target = the resource from requestParameters (s3://bucket/key, roleArn,
  instanceId, ...), else the first ARN in resources.
- outcome = errorCode, or "success"; source_ip = sourceIPAddress (an AWS
  service's DNS name when a service made the call); user_agent = userAgent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from app.adapters import Outcome, RawRecord, Rejected
from app.adapters.fields import Unusable
from app.adapters.fields import mapping as _mapping
from app.adapters.fields import text as _text
from app.adapters.outcomes import Mapped, answer, answer_each
from app.events import AuditRecord, record_id

name = "cloudtrail"
framing = "json"

# requestParameters that name what a call acted on, most specific first.
TARGET_PARAMETERS: tuple[str, ...] = (
    "roleArn", "policyArn", "instanceId", "userName", "roleName", "groupName",
    "functionName", "secretId", "keyId", "trailName", "stackName", "clusterName",
    "dBInstanceIdentifier", "repositoryName", "logGroupName", "topicArn", "queueUrl",
)  # fmt: skip


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Turns CloudTrail records and log files into AuditRecords."""
    for record in records:
        value = record.value
        if isinstance(value, dict) and "Records" in value:
            items = value["Records"]
            if not isinstance(items, list):
                yield Rejected(record.position, "`Records` must be a list", record.text)
                continue
            yield from answer_each(record, "Records", items, _record)
            continue
        if isinstance(value, dict) and isinstance(value.get("detail"), dict):
            value = value["detail"]
        yield from answer(record.position, record.text, "", _record, value)


def _record(value: Any) -> Mapped:
    if not isinstance(value, dict):
        raise Unusable("a CloudTrail record must be a JSON object")
    event_name = _text(value, "eventName")
    event_source = _text(value, "eventSource")
    if event_name is None:
        raise Unusable("missing eventName: not a CloudTrail record")
    ts = value.get("eventTime") or value.get("@timestamp")
    if ts is None:
        raise Unusable("missing eventTime")
    identity = _mapping(value, "userIdentity")
    actor = next(
        (
            identity[key]
            for key in ("arn", "principalId", "invokedBy", "type")
            if identity.get(key) not in (None, "")
        ),
        None,
    )
    audit_record = AuditRecord(
        id=value.get("eventID") or record_id(name, value),
        ts=ts,
        source="cloudtrail",
        actor=actor,
        action=f"{event_source}:{event_name}" if event_source else event_name,
        target=_target(value),
        outcome=value.get("errorCode") or "success",
        source_ip=value.get("sourceIPAddress"),
        user_agent=value.get("userAgent"),
        access_key_id=identity.get("accessKeyId"),
    )
    return [(audit_record, ())]


def _target(value: dict[str, Any]) -> str | None:
    """Returns a readable name of what the call acted on, or None."""
    params = value.get("requestParameters")
    if isinstance(params, dict):
        bucket = params.get("bucketName")
        if isinstance(bucket, str) and bucket:
            key = params.get("key")
            return f"s3://{bucket}/{key}" if isinstance(key, str) and key else f"s3://{bucket}"
        for param in TARGET_PARAMETERS:
            found = params.get(param)
            if isinstance(found, str) and found:
                return found
        instances = _instance_ids(params.get("instancesSet"))
        if instances:
            return ",".join(instances)
    resources = value.get("resources")
    if isinstance(resources, list):
        for key in ("ARN", "ARNPrefix"):
            for resource in resources:
                found = resource.get(key) if isinstance(resource, dict) else None
                if isinstance(found, str) and found:
                    return found
    return None


def _instance_ids(instances: Any) -> list[str]:
    """Returns the instance ids of an EC2 `instancesSet` ({"items": [{"instanceId"}]})."""
    if not isinstance(instances, dict):
        return []
    items = instances.get("items", instances.get("item"))
    if not isinstance(items, list):
        return []
    return [
        item["instanceId"]
        for item in items
        if isinstance(item, dict) and isinstance(item.get("instanceId"), str)
    ]
