"""Reading indicator feeds: STIX 2.1 bundles and CSV, what is skipped and why, hostile feeds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.indicators.feeds import MAX_ERRORS, MAX_INDICATORS, FeedError, Parsed, parse
from app.indicators.values import event_hash, lookups, normalise, observables
from tests.conftest import DATA

FEEDS = DATA / "indicators"
NOW = "2026-01-05T00:00:00Z"
SHA256 = "4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877"
MD5 = "f87e499e0b387e9a8a29197a85f50792"
SHA1 = "a9993e364706816aba3e25717850c26c9cd0d89d"


def entries(parsed: Parsed) -> set[tuple[Any, ...]]:
    return {
        (e.type, e.value, e.description, e.valid_until, e.tactic, e.technique)
        for e in parsed.entries.values()
    }


def bundle(*objects: Any) -> str:
    return json.dumps({"type": "bundle", "id": "bundle--0", "objects": list(objects)})


def indicator(pattern: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1",
        "id": "indicator--7e9f1d3b-2a4c-4e6b-8d0f-1a3c5e7b9d24",
        "created": "2025-11-02T09:00:00.000Z", "modified": "2025-11-02T09:00:00.000Z",
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2025-11-02T09:00:00Z",
        **extra,
    }  # fmt: skip


def test_values_are_normalised_as_feeds_and_sensors_write_them() -> None:
    assert normalise("ip", " ::FFFF:203.0.113.50 ") == "203.0.113.50"
    assert normalise("ip", "2001:DB8:0:0::50") == "2001:db8::50"
    assert normalise("ip", "203.0.113.50/32") == "203.0.113.50"
    assert normalise("domain", "Update.Bad-Actor.Example.") == "update.bad-actor.example"
    assert normalise("domain", "bücher.example") == "xn--bcher-kva.example"
    assert normalise("sha256", SHA256.upper()) == SHA256
    for type_, bad in (("ip", "999.1.1.1"), ("ip", "10.0.0.0/8"), ("domain", "a..b"),
                       ("domain", "x" * 300), ("md5", SHA256), ("sha1", "z" * 40)):  # fmt: skip
        with pytest.raises(ValueError):
            normalise(type_, bad)
    assert lookups("ip", "203.0.113.50") == ["203.0.113.50", "::ffff:203.0.113.50"]
    assert lookups("domain", "xn--bcher-kva.example") == ["xn--bcher-kva.example", "bücher.example"]
    assert event_hash(f"SHA256:{SHA256.upper()}") == ("sha256", SHA256)
    assert event_hash(f"sha-1:{SHA1}") == ("sha1", SHA1)
    assert event_hash(MD5) == ("md5", MD5)
    assert event_hash(f"sha512:{SHA256}") is None
    assert event_hash("md5:nothex") is None


def test_an_event_offers_its_remote_address_its_query_and_its_hashes() -> None:
    assert observables({"kind": "network_connect", "dst_ip": "::ffff:203.0.113.50"}) == [
        "ip:203.0.113.50"
    ]
    # a bind or a listen names a local address: never an indicator's
    assert observables({"kind": "network_bind", "dst_ip": "203.0.113.50"}) == []
    assert observables({"kind": "dns_query", "dns_name": "C2.Bad-Actor.Example."}) == [
        "domain:c2.bad-actor.example"
    ]
    assert observables({"kind": "file_open", "hashes": [f"sha256:{SHA256}", MD5, "crc:1"]}) == [
        f"md5:{MD5}",
        f"sha256:{SHA256}",
    ]
    assert observables({"kind": "network_connect", "dst_ip": "not an address"}) == []


def test_a_stix_bundle_gives_its_indicators_and_says_what_it_skipped() -> None:
    parsed = parse("stix", (FEEDS / "example-cert.stix.json").read_text(), now=NOW)
    until = "2099-01-01T00:00:00.000000000Z"
    c2 = "Addresses the Poison Ivy agents beacon to"
    assert entries(parsed) == {
        ("sha256", SHA256, "This file is part of Poison Ivy", None, "execution", None),
        ("ip", "203.0.113.50", c2, until, "command_and_control", None),
        ("ip", "203.0.113.51", c2, until, "command_and_control", None),
        ("ip", "2001:db8::50", c2, until, "command_and_control", None),
        ("domain", "c2.bad-actor.example", "Poison Ivy C2 names", None,
         "command_and_control", None),
        ("domain", "update.bad-actor.example", "Poison Ivy C2 names", None,
         "command_and_control", None),
        ("md5", MD5, "Poison Ivy dropper", None, None, None),
        ("sha1", SHA1, "Poison Ivy dropper", None, None, None),
    }  # fmt: skip
    assert parsed.read == 10
    assert dict(parsed.skipped) == {
        "not an indicator: identity": 1,
        "not an indicator: marking-definition": 1,
        "not an indicator: malware": 1,
        "not an indicator: relationship": 1,
        "pattern part on url:value": 1,
        "pattern part using AND": 1,
        "expired (valid_until passed)": 1,
        "pattern_type sigma": 1,
        "a network range (CIDR), not one address": 1,
        "revoked": 1,
    }
    assert parsed.errors == []
    assert parsed.entries["sha256", SHA256].ref == "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"


def test_only_the_or_branches_that_can_match_alone_are_read() -> None:
    pattern = (
        "[ipv4-addr:value = '203.0.113.9'] OR ([domain-name:value = 'a.example'] "
        "FOLLOWEDBY [domain-name:value = 'b.example']) OR [ipv4-addr:value NOT = '192.0.2.1'] "
        "OR [domain-name:value LIKE '%.evil.example'] OR [domain-name:value = 'c.example'] "
        "REPEATS 3 TIMES"
    )
    parsed = parse("stix", bundle(indicator(pattern)), now=NOW)
    assert sorted(parsed.entries) == [("ip", "203.0.113.9")]
    assert dict(parsed.skipped) == {
        "pattern part using FOLLOWEDBY": 1,
        "pattern part using NOT": 1,
        "pattern part using LIKE": 1,
        "pattern part using a qualifier (REPEATS, WITHIN, START ... STOP)": 1,
    }


def test_a_csv_feed_reads_per_line_and_names_each_bad_line() -> None:
    parsed = parse("csv", (FEEDS / "example-cert.csv").read_text(), now=NOW)
    assert entries(parsed) == {
        ("ip", "203.0.113.50", "Poison Ivy C2 server", None, "command_and_control", "T1071.001"),
        ("domain", "c2.bad-actor.example", "Poison Ivy C2 name", None, "command_and_control",
         "T1071.004"),
        ("sha256", SHA256, "Poison Ivy agent", None, "execution", None),
        ("md5", MD5, "Poison Ivy dropper", None, None, None),
    }  # fmt: skip
    assert parsed.read == 7
    assert dict(parsed.skipped) == {"duplicate value": 1}
    assert parsed.errors == [
        (7, "a network range, not one address: '198.51.100.0/24'"),
        (8, "unknown type 'url' (ip, domain, sha256, sha1 or md5)"),
    ]


def test_expiry_is_decided_against_now() -> None:
    feed = (
        "type,value,valid_until\n"
        "ip,192.0.2.1,2026-01-01T00:00:00Z\n"
        "ip,192.0.2.2,2026-02-01T00:00:00Z\n"
    )
    parsed = parse("csv", feed, now=NOW)
    assert sorted(parsed.entries) == [("ip", "192.0.2.2")]
    assert dict(parsed.skipped) == {"expired (valid_until passed)": 1}
    assert sorted(parse("csv", feed, now="2025-12-01T00:00:00Z").entries) == [
        ("ip", "192.0.2.1"),
        ("ip", "192.0.2.2"),
    ]


@pytest.mark.parametrize(
    ("fmt", "content", "message"),
    [
        ("stix", "{not json", "the feed is not JSON: Expecting property name"),
        ("stix", "[" * 100_000 + "]" * 100_000, "the feed is not JSON: nested too deeply"),
        ("stix", '{"type": "indicator"}', 'a STIX feed is one bundle: a JSON object with "type"'),
        ("stix", '{"type": "bundle", "objects": {}}', "the bundle's objects must be a list"),
        ("csv", "", "the feed is empty: a CSV feed starts with a header"),
        ("csv", "ip,value\n1.2.3.4,x\n", "line 1: the header must name the columns type and"),
        ("csv", "x" * 5000 + "\n", "line 1: a header of 5,000 characters"),
        ("yaml", "type,value\n", "unknown feed format 'yaml' (one of stix, csv)"),
        ("csv", b"type,value\nip,\xff\n", "the feed is not UTF-8 text"),
    ],
)
def test_a_feed_that_cannot_be_read_is_one_clear_error(
    fmt: str, content: str | bytes, message: str
) -> None:
    with pytest.raises(FeedError) as caught:
        parse(fmt, content, now=NOW)
    assert str(caught.value).startswith(message)


def test_bad_objects_and_lines_are_errors_of_their_own_and_the_rest_is_read() -> None:
    objects = [
        indicator("[ipv4-addr:value = '203.0.113.9']"),
        indicator("[ipv4-addr:value = "),
        indicator("[ipv4-addr:value = '" + "1" * 100_000 + "']"),
        indicator("[ipv4-addr:value = '999.0.0.1'] OR [ipv4-addr:value = '203.0.113.10']"),
        indicator("[domain-name:value = '" + "a" * 300 + ".example']"),
        {**indicator("[ipv4-addr:value = '192.0.2.1']"), "valid_from": "yesterday"},
        "a string",
        {"type": "indicator"},
        indicator("(" * 500 + "[ipv4-addr:value = '192.0.2.1']" + ")" * 500),
    ]
    parsed = parse("stix", bundle(*objects), now=NOW)
    assert sorted(parsed.entries) == [("ip", "203.0.113.10"), ("ip", "203.0.113.9")]
    ref = "indicator--7e9f1d3b-2a4c-4e6b-8d0f-1a3c5e7b9d24"
    expected = [
        (2, f"{ref}: Invalid value for Indicator 'pattern': FAIL: Error found at line 1:19. "
            "mismatched input '<EOF>' expecting {I"),
        (3, f"{ref}: a pattern of 100,022 characters (at most 4,096)"),
        (4, f"{ref}: not an IP address: '999.0.0.1'"),
        (5, f"{ref}: not a domain name: '{'a' * 80}'"),
        (6, f"{ref}: Invalid value for Indicator 'valid_from': must be a datetime object, date "
            "object, or timestamp s"),
        (7, "not a JSON object"),
        (8, "an indicator without an id: No values for required properties for Indicator: "
            "(pattern, pattern_type)."),
        (9, f"{ref}: nested too deeply (the object or its pattern)"),
    ]  # fmt: skip
    assert [p for p, _ in parsed.errors] == [p for p, _ in expected]
    for (_, reason), (_, start) in zip(parsed.errors, expected, strict=True):
        assert reason.startswith(start), (reason, start)
    lines = ["type,value"] + [f"ip,203.0.113.{i}" for i in range(3)]
    lines += ["ip," + "9" * 10_000, "md5,abc", "ip,2001:db8::zz", "domain,good.example"]
    parsed = parse("csv", "\n".join(lines), now=NOW)
    assert sorted(parsed.entries) == [
        ("domain", "good.example"), ("ip", "203.0.113.0"), ("ip", "203.0.113.1"),
        ("ip", "203.0.113.2"),
    ]  # fmt: skip
    assert parsed.errors == [
        (5, "a line of 10,003 characters (at most 4,096)"),
        (6, "not a md5 hash (32 hex digits): 'abc'"),
        (7, "not an IP address: '2001:db8::zz'"),
    ]


def test_errors_are_listed_up_to_a_bound_and_counted_beyond() -> None:
    feed = "type,value\n" + "ip,nope\n" * (MAX_ERRORS + 50) + "ip,192.0.2.1\n"
    parsed = parse("csv", feed, now=NOW)
    assert (len(parsed.errors), parsed.error_count) == (MAX_ERRORS, MAX_ERRORS + 50)
    assert sorted(parsed.entries) == [("ip", "192.0.2.1")]


def test_a_feed_past_the_bounds_is_refused_whole() -> None:
    million = "type,value\n" + "ip,192.0.2.1\n" * 1_000_000
    with pytest.raises(FeedError) as caught:
        parse("csv", million, now=NOW)
    assert str(caught.value) == (
        f"the feed holds more than {MAX_INDICATORS:,} indicators: split it"
    )
    with pytest.raises(FeedError) as caught:
        parse("csv", "type,value\n" + "#" * (33 * 1024 * 1024), now=NOW)
    assert str(caught.value) == "the feed is 34,603,019 bytes; at most 33,554,432 are read"
