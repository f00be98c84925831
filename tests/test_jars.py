"""The jar manifest: every download verified, clear errors naming the jar and its URL."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.errors import FetchFailed, LauncherError
from app.jars import Jar, Manifest, _manifest_lines, fetch_jars, read_manifest

GOOD = b"PK\x03\x04 a jar's bytes " * 100
OTHER = b"PK\x03\x04 a mirror's other bytes " * 100


def _jar(artifact: str, body: bytes, classifier: str | None = None) -> Jar:
    return Jar(
        "org.example", artifact, "1.0", classifier, len(body), hashlib.sha256(body).hexdigest()
    )


def _write_manifest(path: Path, jars: list[Jar]) -> Manifest:
    lines = [f"{j.coordinates}\t{j.size}\t{j.sha256}\n" for j in jars]
    path.write_text("# neo4j 5.26.99\n# coordinates\tsize\tsha256\n" + "".join(lines))
    return read_manifest(path)


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A Maven repository layout served over HTTP on loopback; yields (url, root, requested)."""
    root = tmp_path / "repo"
    root.mkdir()
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            requested.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/maven2", root, requested
    finally:
        server.shutdown()
        server.server_close()


def _publish(root: Path, jar: Jar, body: bytes) -> None:
    path = root / "maven2" / "org" / "example" / jar.artifact / jar.version / jar.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


def test_the_shipped_manifest_names_neo4j_apoc_and_the_browser() -> None:
    manifest = read_manifest()
    names = {(j.group, j.artifact, j.classifier) for j in manifest.jars}
    assert ("org.neo4j", "neo4j", None) in names
    assert ("org.neo4j.procedure", "apoc-core", "core") in names
    assert ("org.neo4j.client", "neo4j-browser", None) in names
    versions = {j.artifact: j.version for j in manifest.jars if j.group.startswith("org.neo4j")}
    assert versions["neo4j"] == versions["apoc-core"] == manifest.version
    assert len({j.filename for j in manifest.jars}) == len(manifest.jars)


def test_the_shipped_kafka_manifest_names_one_kafka_version_and_a_log_backend() -> None:
    manifest = read_manifest(product="kafka")
    assert manifest.product == "kafka" and manifest.version == "4.4.0"
    kafka = {j.artifact: j.version for j in manifest.jars if j.group == "org.apache.kafka"}
    assert {"kafka_2.13", "kafka-clients", "kafka-server", "kafka-raft"} <= kafka.keys()
    assert set(kafka.values()) == {manifest.version}
    # the broker logs through SLF4J 1.7, routed to log4j-core (else its log is silent)
    assert {"slf4j-api", "log4j-slf4j-impl", "log4j-core"} <= {j.artifact for j in manifest.jars}
    assert len({j.filename for j in manifest.jars}) == len(manifest.jars)


def test_a_manifest_of_another_product_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "manifest.tsv"
    path.write_text(read_manifest(product="kafka").jars[0].coordinates + "\t1\t" + "0" * 64 + "\n")
    path.write_text("# kafka 4.4.0\n" + path.read_text())
    with pytest.raises(LauncherError, match="names no '# neo4j VERSION'"):
        read_manifest(path, product="neo4j")


def test_jars_are_fetched_verified_with_progress(
    tmp_path: Path, repo: tuple[str, Path, list[str]]
) -> None:
    url, root, requested = repo
    jars = [_jar("alpha", GOOD), _jar("beta", GOOD[:333], classifier="core")]
    for jar in jars:
        _publish(root, jar, GOOD if jar.artifact == "alpha" else GOOD[:333])
    manifest = _write_manifest(tmp_path / "manifest.tsv", jars)
    seen: list[tuple[int, int, int, int]] = []
    lib = fetch_jars(manifest, tmp_path / "cache" / "lib", url, lambda *a: seen.append(a))
    assert sorted(p.name for p in lib.glob("*.jar")) == ["alpha-1.0.jar", "beta-1.0-core.jar"]
    assert (lib / "alpha-1.0.jar").read_bytes() == GOOD
    assert seen[-1] == (2, 2, manifest.total_bytes, manifest.total_bytes)
    assert sorted(requested) == [
        "/maven2/org/example/alpha/1.0/alpha-1.0.jar",
        "/maven2/org/example/beta/1.0/beta-1.0-core.jar",
    ]
    # complete for this manifest: a second fetch downloads nothing
    fetch_jars(manifest, lib, url)
    assert len(requested) == 2


def test_other_bytes_are_refused_naming_the_jar_and_url(
    tmp_path: Path, repo: tuple[str, Path, list[str]]
) -> None:
    url, root, _ = repo
    jar = _jar("alpha", GOOD)
    _publish(root, jar, OTHER[: len(GOOD)])  # same size, other content
    manifest = _write_manifest(tmp_path / "manifest.tsv", [jar])
    lib = tmp_path / "cache" / "lib"
    with pytest.raises(FetchFailed, match=r"org\.example:alpha:1\.0: http://.*alpha-1\.0\.jar"):
        fetch_jars(manifest, lib, url)
    assert not lib.exists()
    assert not list((tmp_path / "cache").rglob("*.jar"))


def test_a_longer_answer_is_refused(tmp_path: Path, repo: tuple[str, Path, list[str]]) -> None:
    url, root, _ = repo
    jar = _jar("alpha", GOOD)
    _publish(root, jar, GOOD + b"trailing")
    manifest = _write_manifest(tmp_path / "manifest.tsv", [jar])
    with pytest.raises(FetchFailed, match="more than the"):
        fetch_jars(manifest, tmp_path / "lib", url)


def test_a_missing_jar_names_it_and_its_url(
    tmp_path: Path, repo: tuple[str, Path, list[str]]
) -> None:
    url, _, _ = repo
    manifest = _write_manifest(tmp_path / "manifest.tsv", [_jar("gone", GOOD)])
    with pytest.raises(
        FetchFailed, match=r"org\.example:gone:1\.0: http://\S+/gone-1\.0\.jar.*404"
    ):
        fetch_jars(manifest, tmp_path / "lib", url)


def test_a_manifest_change_fetches_again(tmp_path: Path, repo: tuple[str, Path, list[str]]) -> None:
    url, root, requested = repo
    alpha, beta = _jar("alpha", GOOD), _jar("beta", OTHER)
    _publish(root, alpha, GOOD)
    _publish(root, beta, OTHER)
    lib = tmp_path / "lib"
    fetch_jars(_write_manifest(tmp_path / "m1.tsv", [alpha]), lib, url)
    fetch_jars(_write_manifest(tmp_path / "m2.tsv", [beta]), lib, url)
    assert [p.name for p in lib.glob("*.jar")] == ["beta-1.0.jar"]
    assert len(requested) == 2


def test_maven_listing_lines_become_manifest_lines(tmp_path: Path) -> None:
    plain, core = tmp_path / "a-1.0.jar", tmp_path / "b-2.0-core.jar"
    plain.write_bytes(GOOD)
    core.write_bytes(OTHER)
    listing = [
        "",
        "The following files have been resolved:",
        f"   org.x:a:jar:1.0:compile:{plain}",
        f"   org.y:b:jar:core:2.0:runtime:{core} -- module b [auto]",
        "   org.x:bom:pom:1.0:compile:/repo/bom-1.0.pom",
    ]
    assert _manifest_lines(listing) == [
        f"org.x:a:1.0\t{len(GOOD)}\t{hashlib.sha256(GOOD).hexdigest()}",
        f"org.y:b:2.0:core\t{len(OTHER)}\t{hashlib.sha256(OTHER).hexdigest()}",
    ]
