"""Splits an input stream into records: JSON values or text lines; gzip is detected.

JSON framing accepts, in one stream:
- one JSON array of records (parsed whole; a broken array is an InputError),
- NDJSON (one value per line),
- pretty-printed objects one after another (as Tetragon's and Kubernetes'
  samples are written).
A value that does not parse is handed on as a record with `value=None` and the
decode error in `text`'s place of origin, so that the adapter rejects it by
position and the records around it still go through.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from app.adapters import RawRecord
from app.errors import InputError, PayloadTooLarge

GZIP_MAGIC = b"\x1f\x8b"


class BadJson(str):
    """The raw text of a record that is not valid JSON, carrying the decode error."""

    error: str

    def __new__(cls, text: str, error: str) -> BadJson:
        obj = super().__new__(cls, text)
        obj.error = error
        return obj


def decode_body(body: bytes, limit: int) -> bytes:
    """Returns a request body, gunzipped when it is gzip, bounded by `limit` bytes."""
    if len(body) > limit:
        raise PayloadTooLarge(f"request body is {len(body)} bytes; the limit is {limit}")
    if not body.startswith(GZIP_MAGIC):
        return body
    try:
        decompressor = zlib.decompressobj(wbits=31)
        out = decompressor.decompress(body, limit + 1)
        if len(out) > limit or decompressor.unconsumed_tail:
            raise PayloadTooLarge(f"gzip body inflates past the limit of {limit} bytes")
        if not decompressor.eof:
            raise InputError("bad gzip stream: it ends before its end marker")
    except zlib.error as exc:
        raise InputError(f"bad gzip stream: {exc}") from None
    return out


def open_stream(raw: BinaryIO) -> io.TextIOBase:
    """Wraps a binary stream as UTF-8 text, gunzipping it when it starts with gzip's magic."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    head = buffered.peek(2)[:2]
    stream: BinaryIO = gzip.GzipFile(fileobj=buffered) if head == GZIP_MAGIC else buffered  # type: ignore[assignment]
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")


def lines(text_lines: Iterable[str]) -> Iterator[RawRecord]:
    """Frames text as one record per non-blank line; position is the line number."""
    for number, line in enumerate(text_lines, start=1):
        stripped = line.rstrip("\r\n")
        if stripped.strip():
            yield RawRecord(number, stripped)


def json_values(text_lines: Iterable[str]) -> Iterator[RawRecord]:
    """Frames text as JSON values; position is the line the value starts on."""
    iterator = iter(enumerate(text_lines, start=1))
    buffer: list[str] = []
    depth = _Depth()
    start = 0
    for number, line in iterator:
        if not buffer:
            if not line.strip():
                continue
            if line.lstrip().startswith("["):
                yield from _array(line, iterator, number)
                return
            start = number
            try:
                yield RawRecord(number, line.strip(), json.loads(line))
                continue
            except json.JSONDecodeError as exc:
                depth = _Depth()
                if not line.lstrip().startswith("{") or depth.feed(line):
                    yield RawRecord(number, BadJson(line.strip(), _where(exc, number)))
                    continue
            buffer = [line]
            continue
        if line.startswith("{"):
            # a new top-level object starts: the buffered one never closed
            yield _bad("".join(buffer), start)
            buffer, start, depth = [line], number, _Depth()
            complete = depth.feed(line)
        else:
            buffer.append(line)
            complete = depth.feed(line)
        if complete:
            text = "".join(buffer)
            try:
                yield RawRecord(start, text.strip(), json.loads(text))
            except json.JSONDecodeError:
                yield _bad(text, start)
            buffer = []
    if buffer:
        yield _bad("".join(buffer), start)


def _array(first: str, rest: Iterator[tuple[int, str]], number: int) -> Iterator[RawRecord]:
    text = first + "".join(line for _, line in rest)
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON array: {_where(exc, number)}") from None
    if not isinstance(values, list):
        raise InputError("invalid JSON array: the input starts with '[' but is not an array")
    for index, value in enumerate(values, start=1):
        yield RawRecord(index, json.dumps(value, separators=(",", ":")), value)


class _Depth:
    """Tracks brace and bracket depth outside strings, line by line (linear in the input)."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False

    def feed(self, text: str) -> bool:
        """Consumes text; tells whether the value may be complete (balanced, not in a string)."""
        for char in text:
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif char == "\\":
                    self.escaped = True
                elif char == '"':
                    self.in_string = False
            elif char == '"':
                self.in_string = True
            elif char in "{[":
                self.depth += 1
            elif char in "}]":
                self.depth -= 1
        return self.depth <= 0 and not self.in_string


def _bad(text: str, start: int) -> RawRecord:
    try:
        json.loads(text)
        error = "incomplete JSON value"
    except json.JSONDecodeError as exc:
        error = _where(exc, start)
    return RawRecord(start, BadJson(text.strip(), error))


def _where(exc: json.JSONDecodeError, first_line: int) -> str:
    return f"invalid JSON: {exc.msg} at line {first_line + exc.lineno - 1} column {exc.colno}"


def frame(framing: str, text_lines: Iterable[str]) -> Iterator[RawRecord]:
    """Frames text for an adapter's framing ('json' or 'lines')."""
    return json_values(text_lines) if framing == "json" else lines(text_lines)
