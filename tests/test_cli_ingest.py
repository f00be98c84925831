"""`storyline ingest` and `storyline dead-letters` from the command line."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from app.cli import main
from app.neo4j.database import Database
from tests.graphstate import rows_counted
from tests.test_ingest import ndjson, scenario


def test_ingest_files_plain_and_gzip_with_a_summary(
    db: Database, neo4j_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = scenario()
    plain = tmp_path / "a.ndjson"
    plain.write_text("".join(ndjson(events[:6])))
    packed = tmp_path / "b.ndjson.gz"
    packed.write_bytes(gzip.compress("".join(ndjson(events[6:])).encode()))
    assert main(["ingest", "--format", "storyline", str(plain), str(packed)]) == 0
    captured = capsys.readouterr()
    assert f"{plain}: 6 accepted (6 events, 0 audit records, 0 findings), 0 rejected" in (
        captured.out
    )
    assert f"{packed}: 6 accepted" in captured.out
    assert "events/s" in captured.err  # the progress line
    # each of the scenario's events once
    every_event = Counter((f"ev-{n}",) for n in range(1, 13))
    assert rows_counted(db, "MATCH (e:Event) RETURN e.id") == every_event


def test_rejections_are_reported_and_exit_3(
    db: Database, neo4j_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_text("".join(ndjson(scenario()[:2])) + '{"kind": "nope"}\n')
    assert main(["ingest", "--quiet", "--json", str(path)]) == 3
    report = json.loads(capsys.readouterr().out)[str(path)]
    assert report["accepted"] == 2
    assert report["rejected"][0]["position"] == 3
    assert main(["dead-letters", "list"]) == 0
    letters = json.loads(capsys.readouterr().out)
    assert [(x["position"], x["origin"]) for x in letters] == [(3, "cli")]
    assert main(["dead-letters", "resubmit"]) == 3  # still bad
    assert json.loads(capsys.readouterr().out)["still_rejected"][0]["id"] == letters[0]["id"]


def test_unknown_format_and_missing_file_are_clear_errors(
    neo4j_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "--format", "nosuch", "x"]) == 1
    assert "unknown format 'nosuch'" in capsys.readouterr().err
    assert main(["ingest", "/nonexistent/file.json"]) == 1
    assert "cannot read /nonexistent/file.json" in capsys.readouterr().err
