"""Framing: JSON arrays, NDJSON, pretty-printed objects, broken values, gzip bodies."""

from __future__ import annotations

import gzip
import io

import pytest

from app.errors import InputError, PayloadTooLarge
from app.framing import BadJson, decode_body, json_values, lines, open_stream, split_lines


def frame(text: str) -> list[tuple[int, object]]:
    out = []
    for r in json_values(io.StringIO(text)):
        out.append((r.position, r.text.error if isinstance(r.text, BadJson) else r.value))
    return out


def test_ndjson_with_a_broken_line_keeps_the_others() -> None:
    assert frame('{"a": 1}\n{"a": \n\n{"a": 3}\n') == [
        (1, {"a": 1}),
        (2, "invalid JSON: Expecting value at line 4 column 1"),
        (4, {"a": 3}),
    ]


def test_pretty_printed_objects_one_after_another() -> None:
    text = '{\n  "a": 1,\n  "b": {"c": "}"}\n}\n{\n  "a": 2\n}\n'
    assert frame(text) == [(1, {"a": 1, "b": {"c": "}"}}), (5, {"a": 2})]


def test_an_object_that_never_closes_is_one_bad_record() -> None:
    text = '{\n  "a": 1,\n{"a": 2}\n'
    got = frame(text)
    assert got[0][0] == 1 and str(got[0][1]).startswith("invalid JSON")
    assert got[1] == (3, {"a": 2})


def test_a_json_array_positions_are_indexes() -> None:
    assert frame('[{"a": 1},\n {"a": 2}]') == [(1, {"a": 1}), (2, {"a": 2})]


def test_a_broken_array_element_is_rejected_alone_and_the_rest_goes_through() -> None:
    got = frame('[{"a": 1}, {"a": ], {"b": 2} {"c": 3}, {"d": 4}]')
    assert got[0] == (1, {"a": 1})
    assert got[1][0] == 2 and got[1][1].startswith("invalid JSON")
    assert got[2] == (3, {"b": 2})
    assert got[3][0] == 4 and "expected ','" in got[3][1]
    assert got[4] == (5, {"d": 4})
    assert frame("[1, 2")[-1] == (3, "invalid JSON array: it never closes")
    tail = frame('[1,\n 2]\n{"after": 1}\n')
    assert tail == [(1, 1), (2, 2), (3, {"after": 1})]  # after the array: records again


def test_an_array_that_stops_making_sense_gives_way_to_records() -> None:
    got = frame('[1, 2\n{"a": 1}\n{"b": 2}\n')
    assert got == [(1, 1), (2, 2), (3, {"a": 1}), (4, {"b": 2})]
    first_line_array = frame('[1, 2]\n{"a": 1}\n')  # NDJSON whose first record is an array
    assert first_line_array == [(1, [1, 2]), (2, {"a": 1})]


def test_a_bracket_line_mid_stream_is_one_line_not_an_array() -> None:
    got = frame('{"a": 1}\n[1, 2\n{"b": 2}\n')
    assert got[0] == (1, {"a": 1})
    assert got[1][0] == 2 and got[1][1].startswith("invalid JSON")
    assert got[2] == (3, {"b": 2})


def test_deep_nesting_is_one_rejected_record_not_a_crash() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    nested = '{"a": ' + "[" * 100 + "]" * 100 + "}"
    got = frame(f'{{"x": {deep}}}\n{nested}\n{{"ok": 1}}\n')
    assert [p for p, _ in got] == [1, 2, 3]
    assert "nests too deeply" in got[0][1] and "nests too deeply" in got[1][1]
    assert got[2] == (3, {"ok": 1})
    assert "nests too deeply" in frame(f"[{deep}, 1]")[0][1]


def test_scalars_and_garbage_are_records_the_adapter_rejects() -> None:
    assert frame("42\nhello\n") == [
        (1, 42),
        (2, "invalid JSON: Expecting value at line 2 column 1"),
    ]


def test_lines_skip_blanks_and_keep_positions() -> None:
    assert [(r.position, r.text) for r in lines(["a\n", "\n", "b\r\n"])] == [(1, "a"), (3, "b")]


def test_gzip_bodies_are_inflated_within_the_limit() -> None:
    body = gzip.compress(b'{"a": 1}\n' * 100)
    assert decode_body(body, 10_000) == b'{"a": 1}\n' * 100
    with pytest.raises(PayloadTooLarge):
        decode_body(body, 500)  # compressed it fits, inflated it does not
    with pytest.raises(InputError, match="bad gzip"):
        decode_body(body[:20], 10_000)
    with pytest.raises(InputError, match="bad gzip"):
        decode_body(b"\x1f\x8b" + b"garbage" * 10, 10_000)


def test_open_stream_reads_plain_and_gzip_files() -> None:
    for raw in (b"x\ny\n", gzip.compress(b"x\ny\n")):
        assert list(open_stream(io.BytesIO(raw))) == ["x\n", "y\n"]


def test_escaped_quotes_and_braces_inside_strings_of_pretty_values() -> None:
    import json

    first = {"cmd": 'echo "}" \\" {', "items": [{"k": i} for i in range(50)]}
    text = json.dumps(first, indent=2) + "\n" + json.dumps({"a": "]"}, indent=2) + "\n"
    got = frame(text)
    assert got == [(1, first), (len(json.dumps(first, indent=2).splitlines()) + 1, {"a": "]"})]


def test_every_gzip_member_of_a_body_is_read() -> None:
    body = gzip.compress(b'{"a": 1}\n') + gzip.compress(b'{"a": 2}\n') + b"\0\0"
    assert decode_body(body, 1000) == b'{"a": 1}\n{"a": 2}\n'
    with pytest.raises(PayloadTooLarge):
        decode_body(gzip.compress(b"x" * 600) + gzip.compress(b"y" * 600), 1000)
    with pytest.raises(InputError, match="not gzip"):
        decode_body(gzip.compress(b"x") + b"garbage", 1000)


def test_lines_end_at_newline_only_never_at_unicode_breaks() -> None:
    argv = "sh -c 'echo a\u0085b\u2028c\u2029d\x0be\x0cf\x1cg\x1dh\x1ei\r'"
    text = '{"args": "' + argv.replace("\r", "\\r") + '"}\n{"n": 2}'
    assert list(split_lines(text)) == [
        '{"args": "' + argv.replace("\r", "\\r") + '"}\n',
        '{"n": 2}',
    ]
    raw = io.BytesIO(("x\u2028y\rz\n" + "w\n").encode())
    assert list(open_stream(raw)) == ["x\u2028y\rz\n", "w\n"]
