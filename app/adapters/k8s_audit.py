"""Kubernetes API server audit events (`format=k8s-audit`) as AuditRecords.

Accepts `audit.k8s.io` Events (v1, v1beta1) one per record, or an `EventList`
whose `items` each become a record. The API server's log backend writes no
`kind`/`apiVersion` in some versions and exporters drop them, so an object
without `kind` that has `auditID` and `stage` is read as an Event too.

Mapping:
- id = `auditID:stage`. One request is audited at each stage it reaches
  (RequestReceived, ResponseStarted for long-running calls such as exec and
  watch, ResponseComplete, Panic), all with the same auditID; keyed on auditID
  alone, those records would overwrite each other and the result would depend
  on arrival order. An event without `stage` keeps the bare auditID.
- ts = stageTimestamp, else requestReceivedTimestamp, else the v1beta1 `timestamp`.
- actor = user.username; with impersonation, the impersonated user (whose
  rights the request used) and a warning that names the real one.
- action = verb + resource[/subresource] ("create pods/exec"); for a
  non-resource request, verb + URL path ("get /healthz").
- target = namespace/name (name alone for cluster-scoped objects and
  namespaces); a create names its object only in responseObject/requestObject.
- outcome = responseStatus.code as text ("201"); none before the response.
- pods/exec and pods/attach: pod = objectRef.name; container and command come
  from the requestURI's `container=` and repeated `command=` parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from app.adapters import Outcome, RawRecord, Rejected
from app.adapters.fields import Unusable
from app.adapters.fields import mapping as _object
from app.adapters.fields import text as _text
from app.adapters.outcomes import Mapped, answer, answer_each
from app.events import AuditRecord

name = "k8s-audit"
framing = "json"

SESSION_SUBRESOURCES = frozenset({"exec", "attach"})


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Turns audit Events and EventLists into AuditRecords."""
    for record in records:
        value = record.value
        try:
            events = _events(value)
        except Unusable as exc:
            yield Rejected(record.position, str(exc), record.text)
            continue
        if events is None:
            yield from answer(record.position, record.text, "", _record, value)
        else:
            yield from answer_each(record, "items", events, _record)


def _events(value: Any) -> list[Any] | None:
    """Returns an EventList's items, or None when the value is a single Event."""
    if not isinstance(value, dict):
        raise Unusable("a Kubernetes audit record must be a JSON object (Event or EventList)")
    api_version = value.get("apiVersion")
    if api_version is not None and not (
        isinstance(api_version, str) and api_version.startswith("audit.k8s.io/")
    ):
        raise Unusable(f"apiVersion {api_version!r} is not audit.k8s.io: not an audit event")
    kind = value.get("kind")
    if kind == "EventList":
        items = value.get("items")
        if not isinstance(items, list):
            raise Unusable("an EventList needs an `items` list")
        return items
    if kind == "Event" or (kind is None and "auditID" in value and "stage" in value):
        return None
    raise Unusable(f"kind {kind!r} is not a Kubernetes audit Event or EventList")


def _record(event: Any) -> Mapped:
    if not isinstance(event, dict):
        raise Unusable("an audit event must be a JSON object")
    if event.get("kind", "Event") != "Event":
        raise Unusable(f"kind {event.get('kind')!r} is not a Kubernetes audit Event")
    audit_id = _text(event, "auditID")
    verb = _text(event, "verb")
    if audit_id is None:
        raise Unusable("missing auditID")
    if verb is None:
        raise Unusable("missing verb")
    stage = _text(event, "stage")
    ts = next(
        (
            event[key]
            for key in ("stageTimestamp", "requestReceivedTimestamp", "timestamp")
            if event.get(key) is not None
        ),
        None,
    )
    if ts is None:
        raise Unusable("missing stageTimestamp and requestReceivedTimestamp")

    warnings: list[str] = []
    user = _object(event, "user")
    impersonated = _object(event, "impersonatedUser")
    actor = _text(user, "username", "user.")
    as_user = _text(impersonated, "username", "impersonatedUser.")
    if as_user is not None:
        warnings.append(f"impersonation: {actor or 'an unnamed user'} acted as {as_user}")
        actor = as_user

    ref = _object(event, "objectRef")
    resource = _text(ref, "resource", "objectRef.")
    subresource = _text(ref, "subresource", "objectRef.")
    namespace = _text(ref, "namespace", "objectRef.")
    object_name = _text(ref, "name", "objectRef.") or _created_name(event)
    uri = _text(event, "requestURI")
    url = urlsplit(uri or "")

    if resource is not None:
        action = f"{verb} {resource}/{subresource}" if subresource else f"{verb} {resource}"
    elif url.path:
        action = f"{verb} {url.path}"
    else:
        action = verb

    if resource == "namespaces" or namespace is None:
        target = object_name
    else:
        target = f"{namespace}/{object_name}" if object_name else namespace

    pod = container = command = None
    if resource == "pods" and subresource in SESSION_SUBRESOURCES:
        pod = object_name
        params = parse_qsl(url.query, keep_blank_values=True)
        containers = list(dict.fromkeys(v for k, v in params if k == "container"))
        if containers:
            container = containers[0]
        if len(containers) > 1:
            warnings.append(f"requestURI names containers {', '.join(containers)}; kept the first")
        command = [v for k, v in params if k == "command"] or None

    ips = event.get("sourceIPs")
    source_ip = ips[0] if isinstance(ips, list) and ips else None

    record = AuditRecord(
        id=f"{audit_id}:{stage}" if stage else audit_id,
        ts=ts,
        source="k8s_audit",
        actor=actor,
        action=action,
        target=target,
        outcome=_outcome(_object(event, "responseStatus")),
        source_ip=source_ip,
        user_agent=event.get("userAgent"),
        namespace=namespace,
        pod=pod,
        container=container,
        command=command,
    )
    return [(record, warnings)]


def _created_name(event: dict[str, Any]) -> str | None:
    """Returns the name in the response or request body: a create's objectRef has none."""
    for key in ("responseObject", "requestObject"):
        body = event.get(key)
        metadata = body.get("metadata") if isinstance(body, dict) else None
        found = metadata.get("name") if isinstance(metadata, dict) else None
        if isinstance(found, str) and found:
            return found
    return None


def _outcome(status: dict[str, Any]) -> str | None:
    code = status.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        return str(code)
    text = status.get("status")
    return text.lower() if isinstance(text, str) and text else None
