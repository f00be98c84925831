"""The benchmarks run to the end, as `python -m bench.<name>`, at tiny sizes.

Those that need a database run on the test Neo4j (each wipes it, as a test's
`db` fixture does). Their figures at these sizes mean nothing; what is tested is
that a bench still runs against the code it measures and writes its result.
Before these tests no test ran any bench, and bench.parsing called a function
the writer no longer had. bench.kafka and the query benches (graph, timeline,
exceptions: their graph sizes are fixed, up to 100,000 events) are only
imported here.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from app.neo4j.database import Database
from tests.conftest import free_ports

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("parsing", ["ingest_python_side_us_per_event", "ratio_to_json_loads"]),
        ("packing", ["median_ms_default_packer", "median_ms_debug_line_as_sent"]),
    ],
)
def test_a_bench_without_a_database_runs(name: str, keys: list[str], tmp_path: Path) -> None:
    result = run_bench(name, ["--events", "300", "--rounds", "1"], tmp_path, os.environ)
    assert all(result[k] > 0 for k in keys), result


def run_bench(name: str, args: list[str], out: Path, env: Mapping[str, str], file: str = "") -> Any:
    """Runs bench.<name> with its results in `out`; returns what it wrote."""
    env = {**env, "STORYLINE_BENCH_OUT": str(out), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / f"{file or name}.json").read_text())


def test_bench_ingest_runs_its_three_paths_on_the_same_events(
    db: Database, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    args = ["--events", "600", "--batch-size", "200", "--seed", "7"]
    result = run_bench("ingest", args, tmp_path, os.environ)
    assert result["events"] == 600
    for path in ("bare_unwind_merge", "writer_alone", "pipeline_until_processed"):
        assert result[path]["events_per_s"] > 0, result
    stage = result["pipeline_until_processed"]["stage"]
    assert stage["detected"] > 0 and stage["stamped"] > 0, stage
    # the pipeline's graph is what the bench leaves: every event, stamped and detected
    counts = db.query(
        "MATCH (e:Event) RETURN count(e) AS events, count(e.correlation_key) AS keyed"
    )[1][0]
    assert counts["events"] == counts["keyed"] > 0
    assert db.query("MATCH (b:Batch) RETURN count(b) AS n")[1][0]["n"] == 0


def test_bench_fidelity_finds_the_planted_chains(
    db: Database, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    args = ["--events", "3000", "--seed", "11"]
    result = run_bench("fidelity", args, tmp_path, os.environ, file="fidelity-11-3000")
    assert result["chains"] > 0 and result["signals"] > 0, result
    assert result["chains_in_exactly_one_story"] == result["chains"], result["per_chain"]


def test_bench_api_serves_its_queries_from_a_real_server(
    db: Database, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_ports(1)[0]
    args = ["--events", "400", "--rounds", "2", "--senders", "2", "--sender-events", "400",
            "--sender-batch", "100", "--port", str(port)]  # fmt: skip
    result = run_bench("api", args, tmp_path, os.environ)
    assert result["senders"] and result["queries"], result
    for run in ("one_sender", "many_senders"):
        assert 0 < result["senders"][run]["machine_busy_while_posting"] <= 1, result["senders"]
        assert result["senders"][run]["stage_cycles_failed"] == 0, result["senders"]
    assert "Uvicorn running" in (tmp_path / "api-serve.log").read_text()


@pytest.mark.parametrize("path", sorted((ROOT / "bench").glob("[a-z]*.py")), ids=lambda p: p.stem)
def test_every_bench_imports(path: Path) -> None:
    importlib.import_module(f"bench.{path.stem}")


def test_bench_stamping_stamps_deep_and_shallow_leaves(
    db: Database, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    args = ["--events", "500", "--leaves", "5", "--rounds", "1", "--batch-size", "250"]
    result = run_bench("stamping", args, tmp_path, os.environ)
    for graph in ("empty_graph", "graph_of_500_events"):
        assert result[graph]["per_event_ms_depth_1"] > 0, result
        assert result[graph]["per_event_ms_depth_50"] > 0, result


def test_bench_prune_ingests_while_retention_empties_the_old_graph(
    db: Database, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    args = ["--events", "1000", "--ingest-events", "500", "--batch-size", "250", "--pace", "1"]
    result = run_bench("prune", args, tmp_path, os.environ)
    assert result["old_graph"]["counts"], result
    for path in ("bare_unwind_merge", "ingest_alone", "ingest_while_pruning"):
        assert result[path]["events_per_s"] > 0, result


def test_a_bench_stopped_by_sigterm_stops_the_server_it_started(
    db: Database, neo4j_env: dict[str, str], tmp_path: Path
) -> None:
    """`timeout` ends a long bench with SIGTERM: bench.api says so on stderr, exits
    non-zero, and its `storyline serve` does not outlive it."""
    port = free_ports(1)[0]
    env = {**os.environ, "STORYLINE_BENCH_OUT": str(tmp_path), "PYTHONPATH": str(ROOT)}
    args = ["--events", "400", "--sender-events", "200000", "--port", str(port)]
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench.api", *args],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    health = f"http://127.0.0.1:{port}/healthz"
    try:
        deadline = time.monotonic() + 120
        while not _answers(health) and time.monotonic() < deadline:
            assert bench.poll() is None, bench.stderr.read() if bench.stderr else ""
            time.sleep(0.2)
        assert _answers(health), "bench.api's server never answered"
        bench.send_signal(signal.SIGTERM)
        _, stderr = bench.communicate(timeout=120)
    finally:
        bench.kill()
    assert bench.returncode != 0
    assert "bench.api: stopped by SIGTERM before it finished; no result written" in stderr
    assert not _answers(health)
    assert not (tmp_path / "api.json").exists()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
