"""The local servers' jars: committed manifests, fetched from a Maven repository and verified.

Two Java servers run from Maven Central jars, each named by a manifest:
`deploy/neo4j/manifest.tsv` (Neo4j Community, APOC core, Neo4j Browser and their
runtime dependencies) and `deploy/kafka/manifest.tsv` (the Apache Kafka broker,
for development and tests). A manifest lists every jar by Maven coordinates,
with its size and SHA-256. Fetching needs no Maven: each jar is downloaded by
its plain repository path, checked against the manifest, and only then moved
into the cache. Regenerating a manifest (a maintainer moving to another
version) is the one step that runs Maven, on the product's `pom.xml`:

    python -m app.jars regenerate neo4j      # or: make neo4j-manifest
    python -m app.jars regenerate kafka      # or: make kafka-manifest
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from app.errors import FetchFailed, LauncherError
from app.resources import resource

DEFAULT_REPO = "https://repo1.maven.org/maven2"
_HEADER = "# group:artifact:version[:classifier]\tsize\tsha256"
_ATTEMPTS = 3
_WORKERS = 6
_CHUNK = 1 << 16
# each product: its pom's version property; the manifest's first line is `# <product> VERSION`
PRODUCTS = {"neo4j": "neo4j.version", "kafka": "kafka.version"}


def manifest_path(product: str) -> Path:
    """Returns the committed manifest of a product (deploy/<product>/manifest.tsv)."""
    return resource(f"deploy/{product}/manifest.tsv")


def pom_path(product: str) -> Path:
    """Returns the pom.xml a product's manifest is regenerated from."""
    return resource(f"deploy/{product}/pom.xml")


@dataclass(frozen=True)
class Jar:
    """One jar of the manifest."""

    group: str
    artifact: str
    version: str
    classifier: str | None
    size: int
    sha256: str

    @property
    def coordinates(self) -> str:
        """Returns group:artifact:version[:classifier]."""
        tail = f":{self.classifier}" if self.classifier else ""
        return f"{self.group}:{self.artifact}:{self.version}{tail}"

    @property
    def filename(self) -> str:
        """Returns the file name Maven gives the jar."""
        tail = f"-{self.classifier}" if self.classifier else ""
        return f"{self.artifact}-{self.version}{tail}.jar"

    def url(self, repo: str) -> str:
        """Returns the jar's URL in a Maven repository laid out as Maven Central is."""
        group = self.group.replace(".", "/")
        return f"{repo.rstrip('/')}/{group}/{self.artifact}/{self.version}/{self.filename}"


@dataclass(frozen=True)
class Manifest:
    """The jars of one version of a product (neo4j, kafka)."""

    product: str
    version: str
    jars: tuple[Jar, ...]
    digest: str  # of the manifest text: the cache is complete for this digest only

    @property
    def total_bytes(self) -> int:
        """Returns the size of all jars together."""
        return sum(jar.size for jar in self.jars)


def read_manifest(path: Path | None = None, product: str = "neo4j") -> Manifest:
    """Reads and checks a product's manifest (default: the one shipped with the code)."""
    path = path or manifest_path(product)
    text = path.read_text()
    version = None
    jars: list[Jar] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(f"# {product} "):
            version = line.removeprefix(f"# {product} ").strip()
        if not line.strip() or line.startswith("#"):
            continue
        try:
            coordinates, size, sha256 = line.split("\t")
            parts = coordinates.split(":")
            if len(parts) not in (3, 4) or len(sha256) != 64:
                raise ValueError(line)
            group, artifact, jar_version = parts[:3]
            jars.append(
                Jar(group, artifact, jar_version, parts[3] if len(parts) == 4 else None,
                    int(size), sha256.lower())
            )  # fmt: skip
        except ValueError:
            raise LauncherError(f"{path}:{number}: not a manifest line: {line!r}") from None
    if version is None or not jars:
        raise LauncherError(f"{path} names no '# {product} VERSION' or no jar")
    return Manifest(product, version, tuple(jars), hashlib.sha256(text.encode()).hexdigest())


Progress = Callable[[int, int, int, int], None]  # jars done, jars, bytes done, bytes


def fetch_jars(
    manifest: Manifest,
    lib_dir: Path,
    repo: str = DEFAULT_REPO,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Path:
    """Downloads every jar into lib_dir, verified, unless it is complete; returns lib_dir.

    Jars go to a staging directory beside lib_dir, which replaces lib_dir only
    when every jar has its manifest size and digest; a failed fetch leaves the
    cache as it was, and jars already verified in an earlier attempt are kept.
    """
    marker = lib_dir / ".complete"
    if marker.exists() and marker.read_text().strip() == manifest.digest:
        return lib_dir
    staging = lib_dir.with_name(lib_dir.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    done = {"jars": 0, "bytes": 0}
    lock = threading.Lock()

    def advance(jars: int, size: int) -> None:
        with lock:
            done["jars"] += jars
            done["bytes"] += size
            if progress is not None:
                progress(done["jars"], len(manifest.jars), done["bytes"], manifest.total_bytes)

    def one(jar: Jar) -> None:
        target = staging / jar.filename
        if target.exists() and target.stat().st_size == jar.size and _sha256(target) == jar.sha256:
            advance(1, jar.size)
            return
        _download(jar, jar.url(repo), target, timeout, lambda n: advance(0, n))
        advance(1, 0)

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        # list() re-raises the first failure; the other downloads still finish
        list(pool.map(one, manifest.jars))
    wanted = {jar.filename for jar in manifest.jars}
    for stray in staging.glob("*.jar"):
        if stray.name not in wanted:
            stray.unlink()
    (staging / ".complete").write_text(manifest.digest + "\n")
    shutil.rmtree(lib_dir, ignore_errors=True)
    staging.rename(lib_dir)
    return lib_dir


def _download(
    jar: Jar, url: str, target: Path, timeout: float, grew: Callable[[int], None]
) -> None:
    """Downloads one jar to target through a temporary file, checking size and SHA-256."""
    last_error = ""
    for attempt in range(1, _ATTEMPTS + 1):
        partial = target.with_name(target.name + ".part")
        digest = hashlib.sha256()
        received = 0
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "storyline"})
            with (
                urllib.request.urlopen(request, timeout=timeout) as answer,
                partial.open("wb") as out,
            ):
                while chunk := answer.read(_CHUNK):
                    if received + len(chunk) > jar.size:
                        raise FetchFailed(
                            f"{jar.coordinates}: {url} sends more than the {jar.size} bytes "
                            "the manifest records"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    grew(len(chunk))
        except urllib.error.HTTPError as exc:
            grew(-received)
            partial.unlink(missing_ok=True)
            if exc.code == 404:
                raise FetchFailed(f"{jar.coordinates}: {url} answered 404 Not Found") from None
            last_error = f"HTTP {exc.code} {exc.reason}"
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            grew(-received)
            partial.unlink(missing_ok=True)
            last_error = str(getattr(exc, "reason", exc))
        else:
            if received != jar.size or digest.hexdigest() != jar.sha256:
                grew(-received)
                partial.unlink(missing_ok=True)
                raise FetchFailed(
                    f"{jar.coordinates}: {url} gave {received} bytes with SHA-256 "
                    f"{digest.hexdigest()}, the manifest records {jar.size} bytes and "
                    f"{jar.sha256}; refusing it (a mirror serving other bytes?)"
                )
            partial.rename(target)
            return
        if attempt < _ATTEMPTS:
            time.sleep(2**attempt)
    raise FetchFailed(
        f"{jar.coordinates}: could not download {url} after {_ATTEMPTS} attempts: {last_error}. "
        "Set STORYLINE_MAVEN_REPO to a Maven mirror you can reach."
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def regenerate(product: str, pom: Path | None = None, out: Path | None = None) -> Manifest:
    """Resolves the pom's runtime dependencies with Maven and writes the product's manifest."""
    pom = pom or pom_path(product)
    out = out or manifest_path(product)
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchFailed("regenerating the manifest needs Maven (mvn) on PATH")
    version = _pom_version(pom, PRODUCTS[product])
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "deps.txt"
        command = [
            mvn, "-B", "-q", "-f", str(pom), "dependency:list", "-DincludeScope=runtime",
            f"-DoutputFile={listing}", "-DoutputAbsoluteArtifactFilename=true",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise FetchFailed(f"mvn dependency:list failed:\n{result.stdout}{result.stderr}")
        lines = _manifest_lines(listing.read_text().splitlines())
    out.write_text(f"# {product} {version}\n{_HEADER}\n" + "".join(f"{line}\n" for line in lines))
    return read_manifest(out, product)


def _manifest_lines(listing: Iterable[str]) -> list[str]:
    """Turns `mvn dependency:list` lines (with absolute file names) into manifest lines."""
    lines = []
    for raw in listing:
        # group:artifact:jar[:classifier]:version:scope:/path[ -- module ...]
        fields = raw.strip().split(" -- ")[0].split(":")
        at = next((i for i, f in enumerate(fields) if f.startswith("/")), None)
        if at is None or len(fields) < 6 or fields[2] != "jar":
            continue  # the header, blank lines, poms and BOMs
        group, artifact = fields[:2]
        middle = fields[3 : at - 1]  # [classifier,] version; fields[at - 1] is the scope
        classifier, version = (middle[0], middle[1]) if len(middle) == 2 else (None, middle[0])
        path = Path(":".join(fields[at:]))
        tail = f":{classifier}" if classifier else ""
        lines.append(f"{group}:{artifact}:{version}{tail}\t{path.stat().st_size}\t{_sha256(path)}")
    return sorted(set(lines))


def _pom_version(pom: Path, prop: str) -> str:
    match = re.search(rf"<{re.escape(prop)}>([^<]+)</{re.escape(prop)}>", pom.read_text())
    if not match:
        raise LauncherError(f"no <{prop}> in {pom}")
    return match.group(1).strip()


def main(argv: list[str]) -> int:
    """Regenerates a manifest: `python -m app.jars regenerate neo4j|kafka`."""
    if len(argv) != 2 or argv[0] != "regenerate" or argv[1] not in PRODUCTS:
        print(f"usage: python -m app.jars regenerate {'|'.join(PRODUCTS)}", file=sys.stderr)
        return 2
    manifest = regenerate(argv[1])
    print(
        f"{manifest_path(argv[1])}: {argv[1]} {manifest.version}, {len(manifest.jars)} jars, "
        f"{manifest.total_bytes / 1e6:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
