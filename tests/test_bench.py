"""The benchmarks that need no database run to the end, as `python -m bench.<name>`.

The others (ingest, api, kafka, ...) need a Neo4j loaded with up to a million
events, which is a bench run, not a test. Before this file no test ran any
bench, and bench.parsing called a function the writer no longer had.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("parsing", ["ingest_python_side_us_per_event", "ratio_to_json_loads"]),
        ("packing", ["median_ms_default_packer", "median_ms_debug_line_as_sent"]),
    ],
)
def test_a_bench_without_a_database_runs(name: str, keys: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "STORYLINE_BENCH_OUT": str(tmp_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--events", "300", "--rounds", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / f"{name}.json").read_text())
    assert all(result[k] > 0 for k in keys), result


@pytest.mark.parametrize("path", sorted((ROOT / "bench").glob("[a-z]*.py")), ids=lambda p: p.stem)
def test_every_bench_imports(path: Path) -> None:
    importlib.import_module(f"bench.{path.stem}")
