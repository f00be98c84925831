"""Trivy JSON reports (`format=trivy`, `trivy image|fs|rootfs|vm -f json`) as Findings.

One record is one report (SchemaVersion 2): `{ArtifactName, ArtifactType,
Metadata: {ImageID, RepoDigests, ...}, CreatedAt, Results: [{Target, Class, Type,
Vulnerabilities: [...], Misconfigurations: [...]}]}`. It yields a Finding per
vulnerability per package, and one per FAILED misconfiguration (PASS and
EXCEPTION checks are no findings).

Mapping:
- what a finding affects: for ArtifactType container_image, the image as named
  (ArtifactName, e.g. nginx:1.25, matched against Container.image) with
  Metadata.ImageID; for filesystem, rootfs and vm, the host whose id is the
  ArtifactName. Other artifact types (repository, sbom) affect nothing the graph
  holds and are rejected.
- ref = VulnerabilityID, or the check's ID (else AVDID); title = Title, else ref;
  url = PrimaryURL; scanned_at = CreatedAt.
- severity: UNKNOWN -> info, LOW/MEDIUM/HIGH/CRITICAL lower-cased.
- id = trivy:<artifact>:<ref>:<package>@<installed version>[:<package path>]
  for a vulnerability, trivy:<artifact>:<target>:<ref> for a misconfiguration:
  a rescan of the same artifact updates its findings in place.

A report without ArtifactName, or whose shape is wrong, is rejected whole; a
vulnerability or check that cannot be read is rejected alone, by its index
(`Results[0].Vulnerabilities[3]: ...`), and the report's other findings are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from app.adapters import Outcome, RawRecord, Rejected
from app.adapters.fields import Unusable, expect_object
from app.adapters.fields import array as _array
from app.adapters.fields import mapping as _mapping
from app.adapters.fields import text as _text
from app.adapters.outcomes import Mapped, answer_each
from app.events import Finding, normalize_ts

name = "trivy"
framing = "json"

SEVERITIES: dict[str, str] = {
    "UNKNOWN": "info",
    "LOW": "low",
    "MEDIUM": "medium",
    "HIGH": "high",
    "CRITICAL": "critical",
}
IMAGE_TYPES = frozenset({"container_image"})
HOST_TYPES = frozenset({"filesystem", "rootfs", "vm"})


def parse(records: Iterable[RawRecord]) -> Iterator[Outcome]:
    """Turns Trivy JSON reports into Findings, one report per record."""
    for record in records:
        try:
            artifact = _artifact(record.value)
        except Unusable as exc:
            yield Rejected(record.position, str(exc), record.text)
            continue
        yield from _findings(record, artifact)


def _artifact(value: Any) -> dict[str, Any]:
    """Returns what every finding of a report shares, or says why the report is unusable."""
    if not isinstance(value, dict):
        raise Unusable("a Trivy report must be a JSON object (trivy -f json, SchemaVersion 2)")
    version = value.get("SchemaVersion")
    if version is not None and version != 2:
        raise Unusable(f"SchemaVersion {version!r} is not supported (expected 2)")
    artifact = _text(value, "ArtifactName")
    if artifact is None:
        raise Unusable("missing ArtifactName: not a Trivy JSON report")
    artifact_type = _text(value, "ArtifactType")
    if artifact_type in IMAGE_TYPES:
        metadata = _mapping(value, "Metadata")
        shared: dict[str, Any] = {"image": artifact, "image_id": _text(metadata, "ImageID")}
    elif artifact_type in HOST_TYPES:
        shared = {"host": artifact}
    else:
        kinds = ", ".join(sorted(IMAGE_TYPES | HOST_TYPES))
        raise Unusable(f"ArtifactType {artifact_type!r} names no image or host (one of: {kinds})")
    created = value.get("CreatedAt")
    if created is not None:
        try:
            shared["scanned_at"] = normalize_ts(created)
        except ValueError as exc:
            raise Unusable(f"CreatedAt: {exc}") from None
    results = _array(value, "Results")
    for index, result in enumerate(results):
        expect_object(result, f"Results[{index}]: ")
        for key in ("Vulnerabilities", "Misconfigurations"):
            _array(result, key, f"Results[{index}].")
    shared["results"] = results
    return shared


def _findings(record: RawRecord, artifact: dict[str, Any]) -> Iterator[Outcome]:
    shared = {k: v for k, v in artifact.items() if k != "results"}
    for r, result in enumerate(artifact["results"]):
        target = result.get("Target") if isinstance(result.get("Target"), str) else None
        place = {**shared, "target": target}
        for key, shape in (("Vulnerabilities", _vulnerability), ("Misconfigurations", _check)):
            build = partial(_finding, shape, place)
            yield from answer_each(record, f"Results[{r}].{key}", result.get(key) or [], build)


def _finding(
    shape: Callable[[dict[str, Any], dict[str, Any]], Finding | None],
    place: dict[str, Any],
    item: Any,
) -> Mapped:
    found = shape(expect_object(item), place)
    return [] if found is None else [(found, ())]


def _vulnerability(item: dict[str, Any], place: dict[str, Any]) -> Finding:
    ref = _text(item, "VulnerabilityID")
    if ref is None:
        raise Unusable("missing VulnerabilityID")
    package = _text(item, "PkgName")
    installed = _text(item, "InstalledVersion")
    pkg_path = _text(item, "PkgPath")
    key = f"{package or ''}@{installed or ''}" + (f":{pkg_path}" if pkg_path else "")
    return Finding(
        id=f"trivy:{_artifact_name(place)}:{ref}:{key}",
        source="trivy",
        kind="vulnerability",
        ref=ref,
        severity=_severity(item),
        title=_text(item, "Title") or ref,
        package=package,
        installed_version=installed,
        fixed_version=_text(item, "FixedVersion"),
        url=_text(item, "PrimaryURL"),
        **place,
    )


def _check(item: dict[str, Any], place: dict[str, Any]) -> Finding | None:
    """Returns the finding of a failed misconfiguration check; a passed or excepted one is none."""
    if item.get("Status") in ("PASS", "EXCEPTION"):
        return None
    ref = _text(item, "ID") or _text(item, "AVDID")
    if ref is None:
        raise Unusable("missing ID and AVDID")
    status = _text(item, "Status")
    if status not in (None, "FAIL"):
        raise Unusable(f"Status: {status!r} is not one of FAIL, PASS, EXCEPTION")
    return Finding(
        id=f"trivy:{_artifact_name(place)}:{place['target'] or ''}:{ref}",
        source="trivy",
        kind="misconfiguration",
        ref=ref,
        severity=_severity(item),
        title=_text(item, "Title") or ref,
        url=_text(item, "PrimaryURL"),
        **place,
    )


def _artifact_name(place: dict[str, Any]) -> str:
    return str(place.get("image") or place["host"])


def _severity(item: dict[str, Any]) -> str:
    found = _text(item, "Severity")
    if found is None:
        return "info"
    severity = SEVERITIES.get(found.upper())
    if severity is None:
        raise Unusable(f"Severity: {found!r} is not one of {', '.join(SEVERITIES)}")
    return severity
