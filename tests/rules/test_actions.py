"""Typed response actions: the YAML forms, typed targets, ids, what is left out."""

from __future__ import annotations

import textwrap
from typing import Any

from app.rules.actions import ResponseAction, render_typed
from app.rules.model import ActionTemplate, Rule
from app.rules.yamlrules import load_builtin, parse_rules
from tests.rules.test_yamlrules import view

RULE = """
id: acme.typed
title: Typed actions
severity: high
match: {process.exe: /bin/sh}
actions:
  - kill_process: "Kill process {process.pid} ({process.cmdline}) on host {event.host_id}"
  - isolate_container: "Isolate container {container.id}"
  - block_egress: "Block {event.dst_ip}:{event.dst_port}"
  - rotate_credential: "Rotate {event.access_key_id}"
  - review: "Ask {process.user} why"
  - "Read the shell history"
"""


def typed_rule() -> Rule:
    (compiled,) = parse_rules(textwrap.dedent(RULE), "typed.yaml")
    return compiled


def full_view() -> dict[str, Any]:
    return view(
        "network_connect",
        event={"dst_ip": "203.0.113.9", "dst_port": 4444, "access_key_id": "ASIAEXAMPLE",
               "role": "web-role", "container_id": "c1"},
        process={"pid": 4242, "key": "node-1|4242|t0", "exe": "/bin/sh", "user": "www-data",
                 "args": ["sh", "-i"], "cmdline": "sh -i"},
        container={"id": "c1", "name": "web", "image": "shop/web:1", "runtime": "containerd"},
    )  # fmt: skip


def test_the_yaml_forms_give_each_action_its_type() -> None:
    assert [(a.type, a.text[:12]) for a in typed_rule().actions] == [
        ("KILL_PROCESS", "Kill process"), ("ISOLATE_CONTAINER", "Isolate cont"),
        ("BLOCK_EGRESS", "Block {event"), ("ROTATE_CREDENTIAL", "Rotate {even"),
        ("REVIEW", "Ask {process"), ("REVIEW", "Read the she"),
    ]  # fmt: skip


def test_typed_actions_carry_their_targets() -> None:
    found = [a.as_dict() for a in render_typed(typed_rule(), full_view())]
    assert [(a["type"], a["target"], a["text"]) for a in found] == [
        ("KILL_PROCESS", {"kind": "process", "host": "node-1", "pid": 4242,
                          "key": "node-1|4242|t0", "exe": "/bin/sh"},
         "Kill process 4242 (sh -i) on host node-1"),
        ("ISOLATE_CONTAINER", {"kind": "container", "id": "c1", "host": "node-1"},
         "Isolate container c1"),
        ("BLOCK_EGRESS", {"kind": "address", "ip": "203.0.113.9", "port": 4444, "domain": None},
         "Block 203.0.113.9:4444"),
        ("ROTATE_CREDENTIAL", {"kind": "credential", "access_key_id": "ASIAEXAMPLE",
                               "role": "web-role"}, "Rotate ASIAEXAMPLE"),
        ("REVIEW", None, "Ask www-data why"),
        ("REVIEW", None, "Read the shell history"),
    ]  # fmt: skip
    assert all(a["id"].startswith("act_") and len(a["id"]) == 24 for a in found)
    assert len({a["id"] for a in found}) == 6


def test_an_action_whose_target_is_unknown_is_left_out() -> None:
    bare = view("process_exec", process={"pid": 4242, "exe": "/bin/sh", "user": "root"})
    assert [a.type for a in render_typed(typed_rule(), bare)] == [
        "KILL_PROCESS", "REVIEW", "REVIEW",
    ]  # fmt: skip
    # unspecified addresses and ports are unknown; a domain alone is enough to block
    unspecified = view("dns_query", event={"dst_ip": "0.0.0.0", "dst_port": 0,
                                           "dns_name": "Pool.Example.org."})  # fmt: skip
    rule = Rule("r", "r", "low", lambda v: True,
                actions=(ActionTemplate("BLOCK_EGRESS", "Block {event.dns_name}"),))  # fmt: skip
    [block] = render_typed(rule, unspecified)
    assert block.target == {"kind": "address", "ip": None, "port": None,
                            "domain": "pool.example.org"}  # fmt: skip
    assert render_typed(rule, view("dns_query", event={"dst_ip": "::"})) == []
    # a process without a pid cannot be killed
    assert [a.type for a in render_typed(typed_rule(), view(process={"exe": "/bin/sh"}))] == [
        "REVIEW", "REVIEW",
    ]  # fmt: skip


def test_ids_depend_on_type_and_target_not_on_wording() -> None:
    target = {"kind": "process", "host": "h", "pid": 1, "key": None, "exe": None}
    one = ResponseAction("KILL_PROCESS", "Kill 1", target)
    other = ResponseAction("KILL_PROCESS", "Kill process 1 and its children", dict(target))
    assert one.id == other.id
    assert one.id != ResponseAction("KILL_PROCESS", "Kill 2", {**target, "pid": 2}).id
    assert ResponseAction("REVIEW", "a", None).id != ResponseAction("REVIEW", "b", None).id
    assert ResponseAction.from_dict(one.as_dict()) == one


def test_the_built_in_pack_types_its_machine_actions() -> None:
    types = {a.type for r in load_builtin() for a in r.actions}
    assert types == {"KILL_PROCESS", "ISOLATE_CONTAINER", "BLOCK_EGRESS", "ROTATE_CREDENTIAL",
                     "REVIEW"}  # fmt: skip
    kills = [r.id for r in load_builtin() if any(a.type == "KILL_PROCESS" for a in r.actions)]
    assert {"linux.reverse_shell_dev_tcp", "linux.shell_from_web_server"} <= set(kills)
    # every typed text names what its target is
    for r in load_builtin():
        for a in r.actions:
            if a.type == "KILL_PROCESS":
                assert "{process.pid}" in a.text, (r.id, a.text)
            if a.type == "ISOLATE_CONTAINER":
                assert "{container.id}" in a.text, (r.id, a.text)
            if a.type == "BLOCK_EGRESS":
                assert "{event.dst_ip}" in a.text or "{event.dns_name}" in a.text, (r.id, a.text)
            if a.type == "ROTATE_CREDENTIAL":
                assert "{event.access_key_id}" in a.text, (r.id, a.text)
