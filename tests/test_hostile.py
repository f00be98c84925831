"""Input built to stall the service finishes: each case runs in a subprocess with a
generous deadline (a liveness guard, not a timing: the old code took hours)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

DEADLINE = 120  # seconds; each case takes well under one now


def run_isolated(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=DEADLINE, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_a_long_argv_does_not_stall_the_rules() -> None:
    # a backtracking engine took 77 s on 400 KB of this and 4x per doubling
    out = run_isolated(
        """
        from app.rules.yamlrules import load_builtin
        cmd = "curl " * 400_000
        proc = {"exe": "/bin/sh", "args": ["sh", "-c", cmd], "cmdline": "sh -c " + cmd}
        view = {"event": {"kind": "process_exec", "id": "x"}, "process": proc,
                "parent": {"exe": "/usr/sbin/nginx"}, "ancestors": [], "container": None,
                "pod": None}
        print(sorted(r.id for r in load_builtin() if r.matches(view)))
        """
    )
    assert "linux.shell_from_web_server" in out


def test_a_sysmon_line_of_endless_data_tags_does_not_stall_the_scan() -> None:
    out = run_isolated(
        """
        from app.adapters.sysmon import scan_event as scan
        line = "<Event><System><EventID>1</EventID></System><EventData>" + "<Data x" * 300_000
        print(scan(line).cut)
        """
    )
    assert "inside a <Data> tag" in out


@pytest.mark.parametrize("field", ["args", "exe", "cwd"])
def test_a_huge_field_is_cut_with_a_warning_and_the_record_kept(field: str) -> None:
    out = run_isolated(
        f"""
        import json
        from app.ingest import batches
        proc = {{"key": "k", "exe": "/bin/sh", "args": ["sh"]}}
        proc["{field}"] = ["a" * 300_000] * 3 if "{field}" == "args" else "/" + "a" * 300_000
        event = {{"id": "e", "ts": 1, "source": "t", "kind": "process_exec",
                 "host": {{"id": "h"}}, "process": proc}}
        [batch] = list(batches("storyline", [json.dumps(event) + "\\n"], 10, "test"))
        print(batch.report.accepted, batch.report.warnings)
        """
    )
    assert out.startswith("1 ") and "cut from" in out
