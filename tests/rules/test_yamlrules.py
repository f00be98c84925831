"""The YAML rule format: operators, modifiers, conditions, loading errors, action templates."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from app.errors import StorylineError
from app.rules.model import ActionTemplate, Rule
from app.rules.yamlrules import (
    DEFAULT_KINDS,
    RuleError,
    load_builtin,
    load_rules,
    parse_rules,
    render_actions,
)


def view(kind: str = "process_exec", **sections: Any) -> dict[str, Any]:
    """Returns a minimal view: `view(process={"exe": "/bin/sh"}, event={"dst_port": 80})`."""
    event = {"id": "e1", "kind": kind, "host_id": "node-1", **sections.pop("event", {})}
    out: dict[str, Any] = {"event": event, "process": {}, "parent": None, "ancestors": []}
    out.update(sections)
    return out


def rule(match: str, **extra: str) -> Rule:
    """Compiles one rule whose `match` is the given YAML text."""
    head = {"id": "t.rule", "title": "Test", "severity": "low", **extra}
    lines = [f"{k}: {v}" for k, v in head.items()]
    body = "\n".join(lines) + "\nmatch:\n" + textwrap.indent(textwrap.dedent(match), "  ")
    (compiled,) = parse_rules(body, "test.yaml")
    return compiled


def hits(match: str, *views: dict[str, Any]) -> list[bool]:
    compiled = rule(match)
    return [compiled.matches(v) for v in views]


def proc(**fields: Any) -> dict[str, Any]:
    return view(process=fields)


def load_error(text: str, source: str = "bad.yaml") -> str:
    with pytest.raises(RuleError) as caught:
        parse_rules(textwrap.dedent(text), source)
    return str(caught.value)


# -- the file shapes --------------------------------------------------------------------------


def test_a_file_with_one_rule_compiles_into_a_rule() -> None:
    text = """
    id: acme.curl
    title: curl ran
    description: A test rule.
    severity: medium
    tactic: command_and_control
    technique: T1105
    compromises: true
    kinds: [process_exec]
    match:
      process.exe|basename: curl
    actions: ["Kill {process.pid}"]
    """
    (compiled,) = parse_rules(textwrap.dedent(text), "acme.yaml")
    assert compiled.id == "acme.curl"
    assert compiled.title == "curl ran"
    assert compiled.description == "A test rule."
    assert compiled.severity == "medium"
    assert compiled.tactic == "command_and_control"
    assert compiled.technique == "T1105"
    assert compiled.compromises is True
    assert compiled.kinds == frozenset({"process_exec"})
    assert compiled.actions == (ActionTemplate("REVIEW", "Kill {process.pid}"),)
    assert compiled.source == "user:acme.yaml"
    assert compiled.matches(proc(exe="/usr/bin/curl"))
    assert not compiled.matches(proc(exe="/usr/bin/wget"))
    assert not compiled.matches(view("network_connect", process={"exe": "/usr/bin/curl"}))


def test_a_file_with_rules_and_lists_shares_the_lists() -> None:
    text = """
    lists:
      fetchers: [curl, wget]
    rules:
      - id: a.one
        title: One
        severity: low
        match: {process.exe|basename: $fetchers}
      - id: a.two
        title: Two
        severity: info
        match: {process.exe|basename: {in: [$fetchers, aria2c]}}
    """
    one, two = parse_rules(textwrap.dedent(text))
    assert one.matches(proc(exe="/usr/bin/wget"))
    assert two.matches(proc(exe="/usr/bin/aria2c"))
    assert two.matches(proc(exe="/usr/bin/curl"))
    assert not one.matches(proc(exe="/usr/bin/aria2c"))


def test_built_in_lists_are_visible_to_user_rules() -> None:
    assert hits("process.exe|basename: $shells", proc(exe="/bin/dash"), proc(exe="/bin/ls")) == [
        True,
        False,
    ]


def test_a_double_dollar_is_a_literal_dollar() -> None:
    assert hits("process.args: {in: [$$HOME]}", proc(args=["echo", "$HOME"])) == [True]
    assert hits("process.user: $$x", proc(user="$x")) == [True]


def test_kinds_default_to_every_kind_but_alerts() -> None:
    compiled = rule("event.host_id: node-1")
    assert compiled.kinds == DEFAULT_KINDS
    assert "alert" not in DEFAULT_KINDS
    assert compiled.matches(view("file_open"))
    assert not compiled.matches(view("alert"))


def test_an_empty_file_has_no_rules() -> None:
    assert parse_rules("") == []
    assert parse_rules("# nothing yet\n") == []


# -- operators --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("match", "yes", "no"),
    [
        ("process.user: root", {"user": "root"}, {"user": "app"}),
        ("process.uid: {equals: 0}", {"uid": 0}, {"uid": 1000}),
        ("process.user: [root, admin]", {"user": "admin"}, {"user": "app"}),
        ("process.user: {in: [root, admin]}", {"user": "root"}, {"user": "app"}),
        ("process.cwd: {contains: www}", {"cwd": "/var/www/html"}, {"cwd": "/srv"}),
        ("process.cwd: {contains: [www, srv]}", {"cwd": "/srv/app"}, {"cwd": "/opt"}),
        ("process.exe: {startswith: /tmp/}", {"exe": "/tmp/.k"}, {"exe": "/usr/bin/tmp"}),
        ("process.exe: {startswith: [/tmp/, /dev/shm/]}", {"exe": "/dev/shm/x"}, {"exe": "/x"}),
        ("process.exe: {endswith: .sh}", {"exe": "/opt/run.sh"}, {"exe": "/opt/run"}),
        ("process.exe: {regex: '^/usr/s?bin/'}", {"exe": "/usr/sbin/x"}, {"exe": "/opt/usr/bin"}),
        ("process.tty: {exists: true}", {"tty": "pts/0"}, {"tty": None}),
        ("process.tty: {exists: false}", {}, {"tty": "pts/1"}),
        ("process.args: {exists: true}", {"args": ["x"]}, {"args": []}),
        ("process.uid: {gt: 999}", {"uid": 1000}, {"uid": 999}),
        ("process.uid: {gte: 1000}", {"uid": 1000}, {"uid": 999}),
        ("process.uid: {lt: 1000}", {"uid": 999}, {"uid": 1000}),
        ("process.uid: {lte: 999}", {"uid": 999}, {"uid": "0"}),
        ("process.uid: {gt: 0, lt: 1000}", {"uid": 33}, {"uid": 0}),
    ],
)
def test_operator(match: str, yes: dict[str, Any], no: dict[str, Any]) -> None:
    assert hits(match, proc(**yes), proc(**no)) == [True, False]


def test_cidr_matches_v4_and_v6_networks_and_ignores_non_addresses() -> None:
    match = "event.dst_ip: {cidr: [10.0.0.0/8, 'fd00::/8']}"
    events = [
        view("network_connect", event={"dst_ip": ip})
        for ip in ("10.1.2.3", "fd00::1", "11.0.0.1", "2001:db8::1", "not-an-ip", None)
    ]
    assert hits(match, *events) == [True, True, False, False, False, False]
    assert hits("event.dst_ip: {cidr: 127.0.0.0/8}", view(event={"dst_ip": "127.0.0.53"})) == [True]


def test_bit_masks_take_integers_and_octal_strings() -> None:
    setuid = [view("file_chmod", event={"mode": mode}) for mode in (0o4755, 0o755, None)]
    assert hits("event.mode: {bits_any: '0o6000'}", *setuid) == [True, False, False]
    assert hits("event.mode: {bits_any: 1024}", view(event={"mode": 0o2755})) == [True]
    assert hits("event.mode: {bits_all: 0o111}", view(event={"mode": 0o744})) == [False]
    assert hits("event.mode: {bits_all: 73}", view(event={"mode": 0o755})) == [True]


def test_domain_matches_a_name_and_its_subdomains_only() -> None:
    names = ["nanopool.org", "xmr-eu1.NANOPOOL.org.", "notnanopool.org", "nanopool.org.evil.com"]
    events = [view("dns_query", event={"dns_name": name}) for name in names]
    assert hits("event.dns_name: {domain: nanopool.org}", *events) == [True, True, False, False]


def test_several_operators_must_hold_for_the_same_list_element() -> None:
    match = "process.args: {startswith: '-', endswith: x}"
    assert hits(match, proc(args=["cmd", "-x"]), proc(args=["-a", "box"])) == [True, False]


def test_equality_does_not_confuse_types() -> None:
    assert hits("event.dst_port: 4444", view(event={"dst_port": "4444"})) == [False]
    assert hits("event.dst_port: 4444", view(event={"dst_port": 4444})) == [True]
    assert hits("process.exe: {contains: bin}", proc(exe=7)) == [False]


# -- modifiers and lists ----------------------------------------------------------------------


def test_basename_dirname_lower_octal() -> None:
    assert hits("process.exe|basename: curl", proc(exe="/usr/bin/curl")) == [True]
    assert hits("process.exe|basename: curl", proc(exe="curl")) == [True]
    assert hits("process.exe|dirname: /usr/bin", proc(exe="/usr/bin/curl")) == [True]
    assert hits("process.exe|basename|lower: xmrig", proc(exe="/tmp/XMRig")) == [True]
    assert hits("event.mode|octal: '4755'", view(event={"mode": 0o4755})) == [True]
    assert hits("event.mode|octal: {startswith: '4'}", view(event={"mode": 0o755})) == [False]


def test_lower_lowers_the_operands_too() -> None:
    yes = proc(exe="/tmp/XMRIG", args=["XMRIG", "--URL=Stratum+TCP://x"])
    assert hits("process.exe|lower: {endswith: XMRig}", yes) == [True]
    assert hits("process.exe|basename|lower: [XMRIG, Minerd]", yes) == [True]
    assert hits("process.args|lower: {contains: stratum+TCP://}", yes) == [True]
    assert hits("process.exe|basename: xmrig", yes) == [False]


def test_tests_on_list_fields_hold_for_any_element() -> None:
    yes, no = proc(args=["nc", "-e", "/bin/sh"]), proc(args=["nc", "host", "80"])
    assert hits("process.args: '-e'", yes, no) == [True, False]
    assert hits("process.args|basename: sh", yes, no) == [True, False]
    assert hits("process.args: {regex: '^/bin/'}", yes, no) == [True, False]


def test_joined_and_len_turn_a_list_into_one_value() -> None:
    sh = proc(args=["sh", "-c", "curl x | sh"])
    assert hits("process.args|joined: 'sh -c curl x | sh'", sh) == [True]
    assert hits("process.args|joined: {regex: '^sh -c .*\\| sh$'}", sh) == [True]
    assert hits("process.args: {regex: '^sh -c'}", sh) == [False]
    assert hits("process.args|len: 3", sh) == [True]
    assert hits("process.args|len: {gte: 4}", sh) == [False]
    assert hits("process.cmdline|len: {gt: 10}", proc(cmdline="sh -c curl x | sh")) == [True]


def test_ancestors_path_lists_the_ancestors_values_without_the_parent() -> None:
    v = view(parent={"exe": "/bin/sh"}, ancestors=[{"exe": "/usr/sbin/nginx"}, {"exe": None}])
    assert hits("ancestors.exe|basename: nginx", v) == [True]
    assert hits("ancestors.exe|basename: sh", v) == [False]
    nested = view(ancestors=[{"args": ["nginx:", "worker"]}, {"args": ["systemd"]}])
    assert hits("ancestors.args: worker", nested) == [True]


# -- conditions -------------------------------------------------------------------------------


def test_entries_of_a_condition_all_hold() -> None:
    match = "process.exe|basename: sh\nparent.exe|basename: nginx"
    yes = view(process={"exe": "/bin/sh"}, parent={"exe": "/usr/sbin/nginx"})
    no = view(process={"exe": "/bin/sh"}, parent={"exe": "/usr/sbin/cron"})
    assert hits(match, yes, no) == [True, False]


def test_all_any_not() -> None:
    match = """
    all:
      - process.user: www-data
      - any:
          - process.exe|basename: sh
          - process.exe|basename: bash
      - not:
          process.tty: {exists: true}
    """
    cases = [
        proc(user="www-data", exe="/bin/bash"),
        proc(user="www-data", exe="/bin/bash", tty="pts/0"),
        proc(user="www-data", exe="/bin/ls"),
        proc(user="root", exe="/bin/sh"),
    ]
    assert hits(match, *cases) == [True, False, False, False]


def test_not_holds_on_a_missing_field() -> None:
    assert hits("not: {parent.exe|basename: sshd}", view(parent=None), view()) == [True, True]
    assert hits("not: {container.id: {exists: true}}", view(container=None)) == [True]


def test_any_ancestor_checks_the_parent_and_every_ancestor() -> None:
    match = "any_ancestor: {exe|basename: [nginx, httpd], user: www-data}"
    web = {"exe": "/usr/sbin/nginx", "user": "www-data"}
    cases = [
        view(parent=web),
        view(parent={"exe": "/bin/sh"}, ancestors=[{"exe": "/bin/sh"}, web]),
        view(parent={"exe": "/bin/sh"}, ancestors=[{"exe": "/usr/sbin/nginx", "user": "root"}]),
        view(parent=None, ancestors=[]),
        view(process=web, parent={"exe": "/usr/lib/systemd/systemd"}),
    ]
    assert hits(match, *cases) == [True, True, False, False, False]


def test_any_ancestor_takes_combinators() -> None:
    match = "any_ancestor: {any: [{exe|basename: java}, {comm: java}], not: {user: jenkins}}"
    cases = [
        view(parent={"comm": "java", "user": "app"}),
        view(parent={"exe": "/usr/bin/java", "user": "jenkins"}),
    ]
    assert hits(match, *cases) == [True, False]


def test_matching_never_raises_on_odd_views() -> None:
    compiled = rule(
        "process.args: {contains: x}\n"
        "any_ancestor: {exe|basename: sh}\n"
        "event.dst_ip: {cidr: 10.0.0.0/8}"
    )
    for odd in (
        {},
        {"event": {"kind": "process_exec"}},
        {"event": {"kind": "process_exec"}, "process": None, "parent": None, "ancestors": None},
        {"event": {"kind": "process_exec"}, "process": {"args": "x"}, "ancestors": [None, 3]},
        {"event": {"kind": "process_exec", "dst_ip": 10}, "process": {"args": [None, 1]}},
    ):
        assert compiled.matches(odd) is False


# -- load errors ------------------------------------------------------------------------------


def test_an_unknown_operator_is_an_error_naming_the_file_rule_and_place() -> None:
    message = load_error(
        """
        id: t.bad
        title: Bad
        severity: low
        match:
          any:
            - process.exe: {matches: curl}
        """
    )
    assert message.startswith("bad.yaml: rule 't.bad': match.any[0].process.exe.matches:")
    assert "unknown operator 'matches'" in message


def test_a_bad_regex_is_an_error_at_load() -> None:
    message = load_error(
        """
        id: t.regex
        title: Bad
        severity: low
        match: {process.cmdline: {regex: 'curl ('}}
        """
    )
    assert "rule 't.regex'" in message and "bad regex 'curl ('" in message
    assert "bad.yaml" in message


def test_a_regex_that_needs_backtracking_is_refused_at_load() -> None:
    message = load_error(
        """
        id: t.lookahead
        title: Backtracks
        severity: low
        match: {process.cmdline: {regex: 'curl (?!localhost)'}}
        """
    )
    assert "bad regex" in message and "RE2" in message and "no lookaround" in message


@pytest.mark.parametrize(
    ("fragment", "problem"),
    [
        ("enabled: true", "unknown key(s) enabled"),
        ("severity: urgent", "'urgent' is not one of info, low, medium, high, critical"),
        ("tactic: Execution", "'Execution' is not a MITRE ATT&CK tactic"),
        ("technique: T59.1", "'T59.1' is not a technique id"),
        ("technique: 1059", "technique: expected a non-empty string, got 1059"),
        ("compromises: 'yes'", "compromises: expected true or false"),
        ("kinds: [process_start]", "unknown event kind(s) ['process_start']"),
        ("kinds: []", "expected a non-empty list of event kinds"),
        ("actions: [42]", "actions[0]: an action is a string (a review for a person) or"),
        ("actions: 'Kill'", "actions: expected a list of actions"),
        ("actions: [{kill: 'Kill {process.pid}'}]", "unknown action type 'kill'"),
        ("actions: [{kill_process: 'x', review: 'y'}]", "actions[0]: an action is a string"),
        ("actions: [{kill_process: '  '}]", "an action's text is a non-empty string"),
        ("actions: [{block_egress: 'Block {event.dst_ipp}'}]", "unknown field 'event.dst_ipp'"),
        ("actions: ['Kill {process.pidd}']", "unknown field 'process.pidd'"),
        ("actions: ['Kill {process.pid']", "unbalanced '{'"),
        ("actions: ['Kill {process.pid|upper}']", "unknown modifier 'upper'"),
    ],
)
def test_malformed_rule_keys_are_errors(fragment: str, problem: str) -> None:
    base = {"id": "t.x", "title": "X", "severity": "low"}
    key = fragment.split(":", 1)[0]
    lines = [f"{k}: {v}" for k, v in base.items() if k != key] + [fragment]
    message = load_error("\n".join([*lines, "match: {process.exe: /bin/sh}"]))
    assert message.startswith("bad.yaml: rule 't.x': ")
    assert problem in message


@pytest.mark.parametrize(
    ("match", "problem"),
    [
        ("{process.exee: x}", "unknown field 'process.exee'"),
        ("{proc.exe: x}", "unknown field 'proc.exe'"),
        ("{exe: x}", "unknown field 'exe'"),
        ("{process.exe|upper: x}", "unknown modifier 'upper'"),
        ("{process.exe: $nope}", "unknown list '$nope'"),
        ("{process.exe: {in: [$Shells]}}", "'$Shells' is not a list reference"),
        ("{process.exe: {equals: [a, b]}}", "equals takes a scalar"),
        ("{process.exe: {equals: $shells}}", "equals takes a scalar"),
        ("{process.exe: {in: sh}}", "in takes a list"),
        ("{process.exe: null}", "use {exists: false}"),
        ("{process.exe: {}}", "empty test"),
        ("{process.exe: {contains: 3}}", "expected a string, got 3"),
        ("{process.exe: {contains: []}}", "expected at least one string"),
        ("{process.uid: {gt: ten}}", "expected a number, got 'ten'"),
        ("{process.uid: {exists: 1}}", "exists takes true or false"),
        ("{event.dst_ip: {cidr: 10.0.0.0/33}}", "bad CIDR '10.0.0.0/33'"),
        ("{event.mode: {bits_any: 'setuid'}}", "expected an integer mask"),
        ("{event.mode: {bits_any: 0}}", "expected a positive integer mask"),
        ("{all: []}", "expected a non-empty list of conditions"),
        ("{any: {process.exe: x}}", "expected a non-empty list of conditions"),
        ("{not: [{process.exe: x}]}", "a condition is a non-empty mapping"),
        ("[{process.exe: x}]", "a condition is a non-empty mapping"),
        ("{any_ancestor: {process.exe: x}}", "unknown process field 'process.exe'"),
        ("{any_ancestor: {any_ancestor: {exe: x}}}", "cannot be nested"),
    ],
)
def test_malformed_conditions_are_errors(match: str, problem: str) -> None:
    message = load_error(f"id: t.c\ntitle: C\nseverity: low\nmatch: {match}\n")
    assert message.startswith("bad.yaml: rule 't.c': ")
    assert problem in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("id: t.x\ntitle: X\nmatch: {process.exe: x}\n", "missing required key 'severity'"),
        ("title: X\nseverity: low\nmatch: {process.exe: x}\n", "unknown top-level key(s)"),
        ("id: 'bad id'\ntitle: X\nseverity: low\nmatch: {}\n", "bad or missing id 'bad id'"),
        ("id: t.x\nid: t.y\ntitle: X\n", "found duplicate key 'id'"),
        ("id: t.x\ntitle: [unclosed\n", "not valid YAML"),
        ("- id: t.x\n", "a rule file is a mapping"),
        ("rules: {id: t.x}\n", "rules: expected a list of rules"),
        ("rules: [3]\n", "rules[0]: a rule is a mapping"),
        ("lists: {Bad-Name: [x]}\n", "a list name is lower-case"),
        ("lists: {empty: []}\n", "expected a non-empty list of values"),
        ("lists: {shells: [sh]}\n", "list 'shells' is already defined in the built-in pack"),
        ("id: t.x\n---\nid: t.y\n", "not valid YAML"),
    ],
)
def test_malformed_files_are_errors(text: str, problem: str) -> None:
    message = load_error(text)
    assert message.startswith("bad.yaml")
    assert problem in message


def test_duplicate_ids_in_one_file_are_an_error() -> None:
    text = """
    rules:
      - {id: t.same, title: A, severity: low, match: {process.exe: a}}
      - {id: t.same, title: B, severity: low, match: {process.exe: b}}
    """
    assert "rule 't.same': duplicate id, already defined in bad.yaml" in load_error(text)


def test_rule_errors_belong_to_the_storyline_error_tree() -> None:
    with pytest.raises(StorylineError) as caught:
        parse_rules("id: t.x\ntitle: X\nseverity: low\nmatch: {process.exe: {regex: '('}}\n", "f")
    assert isinstance(caught.value, RuleError)
    assert caught.value.rule_id == "t.x"
    assert caught.value.path == "f"


# -- loading directories ----------------------------------------------------------------------

_USER_RULE = "id: {id}\ntitle: T\nseverity: low\nmatch: {{process.exe|basename: {exe}}}\n"


def test_load_rules_adds_every_yaml_file_of_the_user_directories(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "one.yaml").write_text(_USER_RULE.format(id="acme.one", exe="one"))
    (first / "two.yml").write_text(_USER_RULE.format(id="acme.two", exe="two"))
    (first / "notes.txt").write_text("not a rule")
    (first / "sub").mkdir()
    (second / "three.yaml").write_text(_USER_RULE.format(id="acme.three", exe="three"))
    single = tmp_path / "single.yaml"
    single.write_text(_USER_RULE.format(id="acme.four", exe="four"))

    rules = load_rules([first, second, single])
    builtin = load_builtin()
    assert [r.id for r in rules[: len(builtin)]] == [r.id for r in builtin]
    users = rules[len(builtin) :]
    assert [r.id for r in users] == ["acme.one", "acme.two", "acme.three", "acme.four"]
    assert users[0].source == f"user:{first / 'one.yaml'}"
    assert all(r.source == "builtin" for r in builtin)
    assert load_rules() == builtin


def test_user_files_share_their_lists(tmp_path: Path) -> None:
    (tmp_path / "a_lists.yaml").write_text("lists: {mine: [ncat]}\n")
    (tmp_path / "b_rule.yaml").write_text(_USER_RULE.format(id="acme.x", exe="$mine"))
    (compiled,) = [r for r in load_rules([tmp_path]) if r.id == "acme.x"]
    assert compiled.matches(view(process={"exe": "/usr/bin/ncat"}))


def test_a_user_rule_may_not_reuse_a_builtin_id(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(_USER_RULE.format(id="linux.shell_from_web_server", exe="sh"))
    with pytest.raises(RuleError) as caught:
        load_rules([tmp_path])
    message = str(caught.value)
    assert message.startswith(f"{path}: rule 'linux.shell_from_web_server': duplicate id")
    assert "already defined in the built-in pack" in message


def test_duplicate_ids_across_user_files_name_both_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(_USER_RULE.format(id="acme.dup", exe="a"))
    (tmp_path / "b.yaml").write_text(_USER_RULE.format(id="acme.dup", exe="b"))
    with pytest.raises(
        RuleError,
        match=r"b\.yaml: rule 'acme\.dup': duplicate id, already "
        r"defined in .*a\.yaml",
    ):
        load_rules([tmp_path])


def test_a_bad_user_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("id: acme.x\ntitle: X\nseverity: severe\nmatch: {process.exe: x}\n")
    with pytest.raises(RuleError, match=r"broken\.yml: rule 'acme\.x': severity: 'severe'"):
        load_rules([tmp_path])
    (tmp_path / "broken.yml").write_bytes(b"\xff\xfe not text")
    with pytest.raises(RuleError, match=r"broken\.yml: cannot read the rule file"):
        load_rules([tmp_path])


def test_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="no such rule directory"):
        load_rules([tmp_path / "nope"])


# -- actions ----------------------------------------------------------------------------------


def with_actions(*actions: str) -> Rule:
    quoted = ", ".join(repr(a) for a in actions)
    (compiled,) = parse_rules(
        f"id: t.a\ntitle: A\nseverity: low\nmatch: {{process.pid: {{exists: true}}}}\n"
        f"actions: [{quoted}]\n"
    )
    return compiled


def test_actions_are_filled_from_the_view() -> None:
    compiled = with_actions(
        "Kill process {process.pid} ({process.exe|basename}) on host {event.host_id}",
        "Isolate container {container.id}",
        "Remove the crontab entry written to {event.target_path or event.path}",
        "Args: {process.args}; literal {{braces}}",
    )
    v = view(
        "file_rename",
        event={
            "path": "/var/spool/cron/crontabs/tmp.x",
            "target_path": "/var/spool/cron/crontabs/www-data",
        },
        process={"pid": 4242, "exe": "/usr/bin/crontab", "args": ["crontab", "-"]},
        container=None,
    )
    assert render_actions(compiled, v) == [
        "Kill process 4242 (crontab) on host node-1",
        "Remove the crontab entry written to /var/spool/cron/crontabs/www-data",
        "Args: crontab -; literal {braces}",
    ]
    v["event"]["target_path"] = None
    assert render_actions(compiled, v)[1].endswith("written to /var/spool/cron/crontabs/tmp.x")


def test_unknowns_are_said_in_words_and_actions_on_nothing_are_left_out() -> None:
    compiled = with_actions(
        "Rotate {event.access_key_id} of {event.role}",
        "Check the JVM {process.pid} ({process.cmdline}), parent {parent.exe}",
        "Block {event.dst_ip}:{event.dst_port} at the egress firewall",
    )
    assert render_actions(compiled, {}) == [
        "Check the JVM pid unknown (command line unknown), parent executable unknown"
    ]
    unspecified = view(event={"dst_ip": "0:0:0:0:0:0:0:0", "dst_port": 0},
                       process={"pid": 1340, "args": []})  # fmt: skip
    rendered = render_actions(compiled, unspecified)
    assert rendered == ["Check the JVM 1340 (command line unknown), parent executable unknown"]
    assert not any("?" in text or ":::0" in text for text in rendered)
    real = view(event={"dst_ip": "203.0.113.7", "dst_port": 443})
    assert "Block 203.0.113.7:443 at the egress firewall" in render_actions(compiled, real)


def test_actions_of_rules_built_in_code_render_what_they_can() -> None:
    compiled = Rule(
        id="code.rule",
        title="From code",
        severity="low",
        predicate=lambda v: True,
        actions=("Kill {process.pid} {nope} {process.zzz} {", "Plain"),
    )
    assert render_actions(compiled, view(process={"pid": 7})) == [
        "Kill 7 {nope} {process.zzz} {",
        "Plain",
    ]
