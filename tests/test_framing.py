"""Framing: JSON arrays, NDJSON, pretty-printed objects, broken values, gzip bodies."""

from __future__ import annotations

import gzip
import io

import pytest

from app.errors import InputError, PayloadTooLarge
from app.framing import BadJson, decode_body, json_values, lines, open_stream


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


def test_a_broken_array_is_an_input_error() -> None:
    with pytest.raises(InputError, match="invalid JSON array"):
        frame('[{"a": 1},\n {"a": ]')


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
