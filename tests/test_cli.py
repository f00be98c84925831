"""`storyline cypher` and `storyline schema` against the suite's Neo4j."""

from __future__ import annotations

import json

import pytest

from app.cli import main, parse_params
from app.neo4j.database import Database


def test_cypher_prints_a_table(
    db: Database, neo4j_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cypher", "RETURN 1 AS n, 'sshd' AS comm, null AS gone"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split(" | ") == ["n", "comm", "gone"]
    assert [c.strip() for c in out[2].split(" | ")] == ["1", "sshd", "null"]
    assert out[-1] == "(1 row)"


def test_cypher_json_with_params(
    db: Database, neo4j_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["cypher", "--json", "--param", "n=3", "--param", "who=root",
         "UNWIND range(1, $n) AS i RETURN i, $who AS who"]
    )  # fmt: skip
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"i": 1, "who": "root"}, {"i": 2, "who": "root"}, {"i": 3, "who": "root"}]


def test_cypher_is_read_only_unless_write(
    db: Database, neo4j_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cypher", "CREATE (:Host {id: 'h1'})"]) == 1
    assert "--write" in capsys.readouterr().err
    assert db.query("MATCH (h:Host) RETURN count(h) AS n")[1] == [{"n": 0}]
    assert main(["cypher", "--write", "CREATE (:Host {id: 'h1'})"]) == 0
    assert db.query("MATCH (h:Host) RETURN h.id AS id")[1] == [{"id": "h1"}]


def test_cypher_from_a_file(
    db: Database, neo4j_env: dict[str, str], tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "q.cypher"
    query.write_text("// count hosts\nMATCH (h:Host) RETURN count(h) AS hosts\n")
    assert main(["cypher", "--json", "-f", str(query)]) == 0
    assert json.loads(capsys.readouterr().out) == [{"hosts": 0}]


def test_cypher_syntax_errors_are_reported(
    db: Database, neo4j_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cypher", "RETURN RETURN"]) == 1
    assert "Neo.ClientError.Statement.SyntaxError" in capsys.readouterr().err


def test_params_parse_as_json_or_string() -> None:
    assert parse_params(["a=1", "b=x y", "c=[1,2]", "d="]) == {
        "a": 1, "b": "x y", "c": [1, 2], "d": "",
    }  # fmt: skip


def test_a_bad_param_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cypher", "--param", "novalue", "RETURN 1"]) == 1
    assert "K=V" in capsys.readouterr().err


def test_cypher_runs_call_in_transactions(
    db: Database, neo4j_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    query = "UNWIND range(1, 5) AS i CALL (i) { CREATE (:Host {id: toString(i)}) } IN TRANSACTIONS"
    assert main(["cypher", "--write", query]) == 0
    assert db.query("MATCH (h:Host) RETURN count(h) AS n")[1] == [{"n": 5}]


def test_generate_writes_exactly_n_events_and_the_truth(tmp_path, capsys) -> None:
    out, truth = tmp_path / "w.ndjson", tmp_path / "truth.json"
    args = ["generate", "--seed", "4", "--events", "2500", "-o", str(out), "--truth", str(truth)]
    assert main(args) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 2500
    chains = json.loads(truth.read_text())["chains"]
    assert {c["kind"] for c in chains} == {"webshell", "jvm_revshell", "kubectl_exec"}
    assert main(["generate", "--seed", "4", "--events", "2500"]) == 0
    assert capsys.readouterr().out.splitlines() == lines  # same seed, same bytes


def test_demo_loads_a_scenario(
    db: Database, neo4j_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--events", "1500"]) == 0
    assert "loaded 1500 events (0 rejected)" in capsys.readouterr().out
    assert db.query("MATCH (e:Event) RETURN count(e) AS n")[1] == [{"n": 1500}]
