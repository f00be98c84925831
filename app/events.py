"""The normalised event model: one discriminated union over event kinds.

This is Storyline's native ingest format (`format=storyline`): every adapter turns
a sensor's records into these models, and `storyline generate` writes them as
NDJSON. Its JSON Schema is checked in as `events.schema.json` (`storyline schema --events`).

Conventions:
- timestamps are UTC, RFC 3339, normalised to nanoseconds
  (`2024-05-01T12:00:00.123456789Z`) so that the sensor's precision is kept and
  string order is time order;
- a missing optional value is `null`, never `""`;
- `process` is the acting process; `parent` its direct parent; `ancestors` the
  lineage beyond the parent, nearest first (Tetragon's convention).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9})\d*)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def normalize_ts(value: Any) -> str:
    """Returns a timestamp as UTC RFC 3339 with nine fractional digits.

    Accepts RFC 3339 / ISO 8601 strings (any fractional precision, any offset; a
    missing offset means UTC), datetimes, and epoch numbers: seconds below 1e11,
    milliseconds below 1e14, microseconds below 1e17, nanoseconds above.
    """
    if isinstance(value, str):
        if len(value) == 30 and _NORMALIZED.fullmatch(value) and _in_range(value):
            return value  # already normalised, as what Storyline writes and most events carry
        return _normalize_text(value)
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        dt = dt.astimezone(UTC)
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}000Z"
    if isinstance(value, bool):
        raise ValueError("a timestamp cannot be a boolean")
    if isinstance(value, int | float | Decimal):
        try:
            return _from_epoch_ns(_epoch_ns(Decimal(str(value))))
        except (OverflowError, ArithmeticError, OSError):
            raise ValueError(f"timestamp out of range: {value!r}") from None
    raise ValueError(f"not a timestamp: {value!r}")


def format_ts(value: Any) -> str | None:
    """Returns a time as the one format the API, the CLI and the exports print:
    UTC RFC 3339 with nine fractional digits and a Z (`2022-01-19T11:16:29.378000000Z`),
    the format ingest normalises to, so that string order is time order.

    Takes what the code holds a time as: Neo4j's `toString()` text (fractional
    digits trimmed), a Neo4j DateTime (or anything with `iso_format`), a datetime,
    None (returned as is). Text that is not a time is returned unchanged.
    """
    if value is None:
        return None
    if hasattr(value, "iso_format"):
        value = value.iso_format()
    try:
        return normalize_ts(value)
    except ValueError:
        return value if isinstance(value, str) else str(value)


# The normalised form itself. Text already in it (every timestamp Storyline writes, and
# most sensors' after their adapter) is returned as is once its fields are in range.
# Parsing and printing it again took about a seventh of all parsing (bench.parsing),
# and each event's own time, unique, missed the cache below and churned it.
_NORMALIZED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z", re.ASCII)


def _in_range(text: str) -> bool:
    """Whether a timestamp of the normalised form names a real moment that
    _normalize_text accepts: a date from 1970 on, hours below 24, minutes and
    seconds below 60."""
    return (
        _valid_date(text[:10]) and text[11:13] < "24" and text[14:16] < "60" and text[17:19] < "60"
    )


@functools.lru_cache(maxsize=4096)
def _valid_date(text: str) -> bool:
    try:
        return date.fromisoformat(text).year >= 1970
    except ValueError:
        return False


@functools.lru_cache(maxsize=65536)
def _normalize_text(value: str) -> str:
    """normalize_ts for strings, cached: events repeat their processes' start times."""
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return normalize_ts(Decimal(text))
    match = _ISO.match(text)
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    year, month, day, hour, minute, second, frac, offset = match.groups()
    nanos = int((frac or "").ljust(9, "0"))
    try:
        base = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError as exc:
        raise ValueError(f"not a valid date or time: {value!r} ({exc})") from None
    seconds = int(base.timestamp())
    if offset and offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 23 or minutes > 59:
            raise ValueError(f"not a UTC offset: {offset!r}")
        seconds -= sign * (hours * 3600 + minutes * 60)
    return _from_epoch_ns(seconds * 1_000_000_000 + nanos)


def _epoch_ns(number: Decimal) -> int:
    if number < 0:
        raise ValueError("a timestamp cannot be negative")
    if number < Decimal("1e11"):
        return int(number * 1_000_000_000)
    if number < Decimal("1e14"):
        return int(number * 1_000_000)
    if number < Decimal("1e17"):
        return int(number * 1_000)
    return int(number)


def _from_epoch_ns(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    dt = datetime.fromtimestamp(seconds, tz=UTC)
    if not 1970 <= dt.year <= 9999:
        raise ValueError("timestamp out of range")
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos:09d}Z"


Timestamp = Annotated[str, BeforeValidator(normalize_ts)]
"""A UTC timestamp string at nanosecond precision; see normalize_ts."""


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and value.strip() == "":
        return None
    return value


OptStr = Annotated[str | None, BeforeValidator(_blank_to_none)]
U32 = Annotated[int, Field(ge=-1, le=2**32 - 1)]
"""A kernel id (pid, uid, gid, auid, session id): 32 bits; -1 where sensors write unset."""


# Bounds on what a monitored host controls: a string field, argv entries, all of
# argv. Past them a value is cut (with a warning on the record, see `clipped`):
# rules then match in time that cannot grow without bound, and one record cannot
# fill the database. Generous beside real values (PATH_MAX is 4096).
MAX_TEXT = 4096
MAX_HASHES = 8  # hashes kept per file per event
MAX_HASH = 200  # characters of one hash (algorithm prefix included)
MAX_ARGS = 1024
MAX_ARGV = 65536

# A decoded JSON string is never longer than the text it came from, and n argv
# entries take at least 3n - 1 characters ('"",' each): a record whose JSON text
# is at most this long holds nothing to cut. Validated with context=WITHIN_BOUNDS
# (the native adapter does so for such records), models skip the bound checks.
SHORT_RECORD = min(MAX_TEXT, 3 * MAX_ARGS)
WITHIN_BOUNDS: dict[str, bool] = {"within_bounds": True}


class Model(BaseModel):
    """Base of every model: unknown fields are errors, blank strings are null.

    String fields longer than MAX_TEXT (and argv past MAX_ARGS entries or
    MAX_ARGV characters) are cut; `clipped` names what was cut.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    @model_validator(mode="after")
    def _bound(self, info: ValidationInfo) -> Model:
        if info.context is WITHIN_BOUNDS:
            return self
        # Runs on every model, after the models it holds: their notes are gathered
        # here, so that `clipped` reads one tuple. The notes live in the private
        # slot pydantic leaves empty (no private attributes: declaring one costs
        # every instance a dict, and records are validated by the hundred thousand).
        notes: list[str] = []
        for name, value in self.__dict__.items():
            kind = type(value)
            if kind is str:
                if len(value) > MAX_TEXT:
                    object.__setattr__(self, name, value[:MAX_TEXT])
                    notes.append(f"{name} cut from {len(value)} to {MAX_TEXT} characters")
            elif kind is list:
                if name == "args":
                    notes += _bound_args(self, value)
                elif value and isinstance(value[0], Model):
                    for i, child in enumerate(value):
                        notes += [f"{name}[{i}].{note}" for note in child.clipped()]
            elif isinstance(value, Model):
                notes += [f"{name}.{note}" for note in value.clipped()]
        if notes:
            object.__setattr__(self, "__pydantic_private__", {"clipped": tuple(notes)})
        return self

    def clipped(self) -> list[str]:
        """Says what was cut from this model and the models it holds, by field path."""
        private = self.__pydantic_private__
        return list(private["clipped"]) if private else []


def _bound_args(model: Model, args: list[Any]) -> list[str]:
    """Cuts argv to MAX_ARGS entries of at most MAX_TEXT characters, MAX_ARGV in all."""
    sizes = [len(a) for a in args]
    size = sum(sizes)
    if len(args) <= MAX_ARGS and size <= MAX_ARGV and max(sizes, default=0) <= MAX_TEXT:
        return []
    kept, total = [], 0
    for arg in args[:MAX_ARGS]:
        arg = arg[:MAX_TEXT]
        if total + len(arg) > MAX_ARGV:
            break
        kept.append(arg)
        total += len(arg)
    if kept == args:
        return []
    object.__setattr__(model, "args", kept)
    return [f"args cut from {len(args)} entries ({size} characters) to {len(kept)} ({total})"]


class Host(Model):
    """The machine (or Kubernetes node) the event happened on."""

    id: str = Field(min_length=1, description="Stable host id (machine id, node name, hostname).")
    name: OptStr = Field(None, description="Hostname, when it differs from id.")


class Container(Model):
    """The container the acting process runs in."""

    id: str = Field(min_length=1, description="Container id without runtime prefix.")
    name: OptStr = None
    image: OptStr = None
    runtime: OptStr = Field(None, description="docker, containerd, cri-o, ...")


class Pod(Model):
    """The Kubernetes pod of the container."""

    uid: OptStr = None
    name: str = Field(min_length=1)
    namespace: str = Field(min_length=1)
    cluster: OptStr = None
    workload: OptStr = Field(None, description="Owning workload, e.g. deployment/web.")

    @property
    def key(self) -> str:
        """Returns the pod's key: its uid, else cluster/namespace/name."""
        return self.uid or f"{self.cluster or ''}/{self.namespace}/{self.name}"


class Process(Model):
    """A process as a sensor saw it. `key` is the sensor's global id when it has one."""

    key: OptStr = Field(
        None,
        description="Sensor's global process id (Tetragon exec_id, Sysmon ProcessGuid, "
        "ECS entity_id). Without it the key is host|pid|start_time.",
    )
    pid: U32 | None = None
    ppid: U32 | None = None
    exe: OptStr = Field(None, description="Executable path.")
    comm: OptStr = Field(None, description="Short command name.")
    args: list[str] | None = Field(None, description="argv, including argv[0].")
    cwd: OptStr = None
    uid: U32 | None = None
    user: OptStr = None
    gid: U32 | None = None
    group: OptStr = None
    auid: U32 | None = Field(None, description="Audit login uid; 4294967295 means unset.")
    session_id: U32 | None = Field(None, description="Audit session id (ses).")
    tty: OptStr = None
    cgroup: OptStr = None
    service: OptStr = Field(None, description="systemd unit, e.g. nginx.service.")
    start_time: Timestamp | None = None

    @model_validator(mode="after")
    def _identifiable(self) -> Process:
        if self.key is None and (self.pid is None or self.start_time is None):
            raise ValueError(
                "a process needs its sensor's global id (key) or both pid and start_time"
            )
        return self

    def identity(self, host_id: str) -> str:
        """Returns the process key: the sensor's id, else host|pid|start_time."""
        return self.key or f"{host_id}|{self.pid}|{self.start_time}"


class ProcessRef(Process):
    """A parent or ancestor as shipped with an event; may be unidentifiable (no key)."""

    @model_validator(mode="after")
    def _identifiable(self) -> ProcessRef:
        return self

    def identity_or_none(self, host_id: str) -> str | None:
        """Returns the key, or None when the sensor gave neither id nor pid and start."""
        if self.key is None and (self.pid is None or self.start_time is None):
            return None
        return self.identity(host_id)


class UserSession(Model):
    """The Kubernetes or SSH user session a process belongs to, where the sensor knows it."""

    kind: Literal["k8s", "ssh"]
    id: OptStr = Field(None, description="Sensor's session id.")
    user: OptStr = Field(None, description="Kubernetes username or SSH login.")
    k8s_uid: OptStr = None
    k8s_groups: list[str] | None = None
    ssh_client_ip: OptStr = None
    ssh_client_port: int | None = None


class FileTarget(Model):
    path: str = Field(min_length=1)
    target_path: OptStr = Field(None, description="New path, for rename.")
    mode: int | None = Field(None, ge=0, le=0o177777, description="File mode (chmod, create).")
    flags: OptStr = Field(None, description="Open flags, e.g. O_WRONLY|O_CREAT.")
    hashes: list[str] | None = Field(
        None,
        description="Hashes of the file's content as the sensor reports them, e.g. "
        f"sha256:9f86...; at most {MAX_HASHES} of at most {MAX_HASH} characters are kept.",
    )

    @field_validator("hashes", mode="after")
    @classmethod
    def _few_hashes(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        kept = [h.strip() for h in value if h.strip() and len(h.strip()) <= MAX_HASH]
        return list(dict.fromkeys(kept))[:MAX_HASHES] or None


class NetworkTarget(Model):
    protocol: OptStr = Field(None, description="tcp, udp, ...")
    family: OptStr = Field(None, description="inet, inet6, unix")
    src_ip: OptStr = None
    src_port: int | None = Field(None, ge=0, le=65535)
    dst_ip: OptStr = None
    dst_port: int | None = Field(None, ge=0, le=65535)


class DnsQuery(Model):
    name: str = Field(min_length=1)
    type: OptStr = Field(None, description="A, AAAA, TXT, ...")
    answers: list[str] | None = None


class ImdsRequest(Model):
    cloud: OptStr = Field(None, description="aws, gcp, azure, ...")
    url: OptStr = None
    method: OptStr = None
    server_ip: OptStr = Field(None, description="e.g. 169.254.169.254")
    user_agent: OptStr = None
    role: OptStr = Field(None, description="IAM role whose credentials were returned.")
    access_key_id: OptStr = Field(None, description="Access key id returned, when seen.")


Severity = Literal["info", "low", "medium", "high", "critical"]


class Alert(Model):
    """A rule that fired, as a sensor ships it; becomes a Signal."""

    rule_id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    severity: Severity = "medium"
    description: OptStr = None
    tactic: OptStr = Field(None, description="MITRE ATT&CK tactic, e.g. execution.")
    technique: OptStr = Field(None, description="MITRE ATT&CK technique id, e.g. T1059.004.")
    compromises: bool = Field(
        False, description="Marks the acting process compromised (roots an exploit context)."
    )
    on_event: OptStr = Field(None, description="Id of the event the rule fired on, if known.")

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class EventBase(Model):
    """Fields every event has."""

    id: str = Field(min_length=1, description="Sensor's event id, or a stable hash of the record.")
    ts: Timestamp
    source: str = Field(min_length=1, description="Sensor: tetragon, sysmon, datadog, ...")
    host: Host
    container: Container | None = None
    pod: Pod | None = None
    process: Process
    parent: ProcessRef | None = None
    ancestors: list[ProcessRef] = Field(
        default_factory=list, description="Lineage beyond the parent, nearest first."
    )
    session: UserSession | None = None


class ProcessExec(EventBase):
    kind: Literal["process_exec"]


class ProcessFork(EventBase):
    kind: Literal["process_fork"]


class ProcessExit(EventBase):
    kind: Literal["process_exit"]
    exit_code: int | None = Field(None, ge=-(2**31), le=2**32 - 1)
    signal: OptStr = None


FileKind = Literal[
    "file_open", "file_write", "file_create", "file_rename", "file_unlink", "file_chmod"
]


class FileEvent(EventBase):
    kind: FileKind
    file: FileTarget


NetworkKind = Literal["network_connect", "network_accept", "network_bind", "network_listen"]


class NetworkEvent(EventBase):
    kind: NetworkKind
    network: NetworkTarget


class DnsEvent(EventBase):
    kind: Literal["dns_query"]
    dns: DnsQuery


class ImdsEvent(EventBase):
    kind: Literal["imds_request"]
    imds: ImdsRequest


class AlertEvent(EventBase):
    kind: Literal["alert"]
    alert: Alert


Event = Annotated[
    ProcessExec
    | ProcessFork
    | ProcessExit
    | FileEvent
    | NetworkEvent
    | DnsEvent
    | ImdsEvent
    | AlertEvent,
    Field(discriminator="kind"),
]
"""One normalised event; `kind` says which."""

EVENT_KINDS: tuple[str, ...] = (
    "process_exec", "process_fork", "process_exit",
    "file_open", "file_write", "file_create", "file_rename", "file_unlink", "file_chmod",
    "network_connect", "network_accept", "network_bind", "network_listen",
    "dns_query", "imds_request", "alert",
)  # fmt: skip

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


class AuditRecord(Model):
    """A control-plane audit record (CloudTrail, Kubernetes audit): who did what to what."""

    record: Literal["audit"] = "audit"
    id: str = Field(min_length=1)
    ts: Timestamp
    source: Literal["cloudtrail", "k8s_audit"]
    actor: OptStr = Field(None, description="User, role or service account.")
    action: str = Field(min_length=1, description="API call or verb+resource.")
    target: OptStr = Field(None, description="What the action was on.")
    outcome: OptStr = Field(None, description="success, failure, or the status code.")
    source_ip: OptStr = None
    user_agent: OptStr = None
    access_key_id: OptStr = Field(None, description="CloudTrail: the access key used.")
    cluster: OptStr = None
    namespace: OptStr = None
    pod: OptStr = Field(None, description="k8s: the pod of pods/exec and pods/attach.")
    container: OptStr = Field(None, description="k8s: the container of pods/exec.")
    command: list[str] | None = Field(None, description="k8s: the exec command.")


class Finding(Model):
    """A scanner's finding (Trivy): a vulnerable package or a failed check on an image or host."""

    record: Literal["finding"] = "finding"
    id: str = Field(min_length=1, description="Stable id: scanner, artifact, ref and package.")
    source: Literal["trivy"]
    kind: Literal["vulnerability", "misconfiguration"]
    ref: str = Field(min_length=1, description="CVE (or GHSA, ...) id, or the check id.")
    severity: Severity
    title: str = Field(min_length=1)
    target: OptStr = Field(None, description="What the scanner looked at: OS, lock file, ...")
    package: OptStr = None
    installed_version: OptStr = None
    fixed_version: OptStr = None
    url: OptStr = None
    image: OptStr = Field(None, description="The scanned image as named, e.g. nginx:1.25.")
    image_id: OptStr = Field(None, description="The image's id (sha256:...), when known.")
    host: OptStr = Field(None, description="Host id, for a filesystem, rootfs or VM scan.")
    scanned_at: Timestamp | None = None

    @model_validator(mode="after")
    def _affects_one(self) -> Finding:
        if (self.image is None) == (self.host is None):
            raise ValueError("a finding affects either an image or a host")
        return self


def record_id(source: str, raw: Any) -> str:
    """Returns a stable id for a record that has none: a hash of its canonical JSON."""
    canonical = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{source}\0{canonical}".encode()).hexdigest()
    return f"{source}:{digest[:32]}"


def event_json_schema() -> dict[str, Any]:
    """Returns the JSON Schema of the native format (one event per record)."""
    schema = EVENT_ADAPTER.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Storyline event (format=storyline)"
    return schema
