"""Splits an input stream into records: JSON values or text lines; gzip is detected.

JSON framing accepts, in one stream:
- one JSON array of records (element by element: a broken element is rejected
  by its index, and the elements after it still go through),
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
    """Returns a request body, gunzipped when it is gzip, bounded by `limit` bytes.

    A gzip body may hold several members one after another (concatenated
    files, `gzip -c a b`): every member is inflated, as the CLI does.
    """
    if len(body) > limit:
        raise PayloadTooLarge(f"request body is {len(body)} bytes; the limit is {limit}")
    if not body.startswith(GZIP_MAGIC):
        return body
    out = bytearray()
    rest = body
    try:
        while rest:
            decompressor = zlib.decompressobj(wbits=31)
            out += decompressor.decompress(rest, limit + 1 - len(out))
            if len(out) > limit or decompressor.unconsumed_tail:
                raise PayloadTooLarge(f"gzip body inflates past the limit of {limit} bytes")
            if not decompressor.eof:
                raise InputError("bad gzip stream: it ends before its end marker")
            rest = decompressor.unused_data
            if rest and not rest.startswith(GZIP_MAGIC):
                if rest.strip(b"\0"):  # gzip allows zero padding after the last member
                    raise InputError("bad gzip stream: bytes after a member are not gzip")
                break
    except zlib.error as exc:
        raise InputError(f"bad gzip stream: {exc}") from None
    return bytes(out)


def decode_text(body: bytes) -> tuple[str, list[int]]:
    """Decodes a body as UTF-8; bytes that are not become U+FFFD, as the CLI reads files.

    Returns the text and the numbers of the lines that held such bytes, so that
    the answer can say which records were altered (nothing else is lost).
    """
    try:
        return body.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    bad = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(number)
    return body.decode("utf-8", errors="replace"), bad


def split_lines(text: str) -> Iterator[str]:
    """Splits text into lines on \\n only, each with its end.

    Not str.splitlines: it also splits on U+0085, U+2028, U+2029 and control
    characters that a command line on a monitored host may hold, cutting one
    record in two. The CLI reads files the same way (open_stream).
    """
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def open_stream(raw: BinaryIO) -> io.TextIOBase:
    """Wraps a binary stream as UTF-8 text, gunzipping it when it starts with gzip's magic."""
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[type-var]
    head = buffered.peek(2)[:2]
    stream: BinaryIO = gzip.GzipFile(fileobj=buffered) if head == GZIP_MAGIC else buffered  # type: ignore[assignment]
    # lines end at \n only, as split_lines splits request bodies
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="\n")


def lines(text_lines: Iterable[str]) -> Iterator[RawRecord]:
    """Frames text as one record per non-blank line; position is the line number."""
    for number, line in enumerate(text_lines, start=1):
        stripped = line.rstrip("\r\n")
        if stripped.strip():
            yield RawRecord(number, stripped)


def json_values(text_lines: Iterable[str]) -> Iterator[RawRecord]:
    """Frames text as JSON values; position is the line the value starts on.

    A stream whose first content is `[` is one JSON array, framed element by
    element (position: the 1-based index); a `[` later in a stream is just a
    line. A value that does not parse is rejected by its position and framing
    picks up again after it: no bad value stops the records around it.
    """
    iterator = iter(enumerate(text_lines, start=1))
    buffer: list[str] = []
    depth = _Depth()
    start = 0
    first = True
    for number, line in iterator:
        if not buffer:
            if not line.strip():
                continue
            if first and line.lstrip().startswith("["):
                rest = "".join(more for _, more in iterator)
                try:
                    whole_line = _loads(line)
                except (json.JSONDecodeError, TooDeep):
                    whole_line = None
                if not (isinstance(whole_line, list) and rest.strip()):
                    yield from _array(line + rest)
                    return
                # a complete array on a first line that records follow: NDJSON
                yield RawRecord(number, line.strip(), whole_line)
                for record in json_values(split_lines(rest)):
                    yield RawRecord(number + record.position, record.text, record.value)
                return
            first = False
            start = number
            try:
                yield RawRecord(number, line.strip(), _loads(line))
                continue
            except (json.JSONDecodeError, TooDeep) as exc:
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
                yield RawRecord(start, text.strip(), _loads(text))
            except (json.JSONDecodeError, TooDeep):
                yield _bad(text, start)
            buffer = []
    if buffer:
        yield _bad("".join(buffer), start)


class TooDeep(ValueError):
    """A JSON value nests deeper than MAX_DEPTH (or than Python's parser can follow)."""

    msg = "the value nests too deeply"
    lineno = 1
    colno = 1


MAX_DEPTH = 64  # nesting past this is not sensor output: it is an attempt to exhaust us


def _loads(text: str) -> object:
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep() from None
    # str.count runs at C speed: only a value with many brackets is walked
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
        raise TooDeep()
    return value


def _depth(value: object) -> int:
    """Returns how deep a parsed JSON value nests (iteratively: no recursion to exhaust)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _array(text: str) -> Iterator[RawRecord]:
    """Frames one JSON array element by element; a bad element is rejected alone.

    A broken element is rejected up to the end of its line and framing picks up
    on the next line; where the array stops making sense (something other than
    ',' or ']' after an element) or after it closes, the rest is framed as
    NDJSON. Positions go on counting: element indexes, then one per record.
    """
    decoder = json.JSONDecoder()
    at = _skip(text, text.index("[") + 1)
    index = 0
    while at < len(text) and text[at] != "]":
        index += 1
        try:
            value, end = decoder.raw_decode(text, at)
            element = text[at:end]
            if element.count("[") + element.count("{") > MAX_DEPTH and _depth(value) > MAX_DEPTH:
                raise RecursionError
        except (json.JSONDecodeError, RecursionError) as exc:
            # resynchronise at the next ',' between elements, or at the next line
            end = min(_element_end(text, at), _line_end(text, at))
            reason = "the value nests too deeply" if isinstance(exc, RecursionError) else (
                f"invalid JSON: {exc.msg}"
            )  # fmt: skip
            yield RawRecord(index, BadJson(text[at:end].strip(), f"{reason} (element {index})"))
            at = _skip(text, end)
            if at < len(text) and text[at] == ",":
                at = _skip(text, at + 1)
            continue
        yield RawRecord(index, json.dumps(value, separators=(",", ":")), value)
        at = _skip(text, end)
        if at < len(text) and text[at] == ",":
            at = _skip(text, at + 1)
        elif at < len(text) and text[at] != "]":
            if "\n" in text[end:at]:
                break  # not an array any more: the lines that follow are records
            index += 1  # on the same line, something stands where ',' belongs: reject it
            after = min(_element_end(text, at), _line_end(text, at))
            yield RawRecord(index, BadJson(text[at:after].strip(), "invalid JSON: expected "
                                           f"',' or ']' before element {index}"))  # fmt: skip
            at = _skip(text, after)
            if at < len(text) and text[at] == ",":
                at = _skip(text, at + 1)
    else:
        if at >= len(text):
            yield RawRecord(index + 1, BadJson("", "invalid JSON array: it never closes"))
            return
        at += 1  # the closing ']'
    rest = text[at:]
    if rest.lstrip(" \t\r").startswith("\n"):
        rest = rest[rest.index("\n") + 1 :]  # the line the array closed on is done
    for record in json_values(split_lines(rest)):
        yield RawRecord(index + record.position, record.text, record.value)


def _line_end(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end < 0 else end


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\r\n":
        at += 1
    return at


def _element_end(text: str, at: int) -> int:
    """Returns where a (broken) array element ends: the next ',' or ']' outside strings
    and nested brackets, or the end of the text. Linear."""
    depth, in_string, escaped = 0, False, False
    for i in range(at, len(text)):
        char = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            if depth == 0:
                return i
            depth -= 1
        elif char == "," and depth == 0:
            return i
    return len(text)


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
        _loads(text)
        error = "incomplete JSON value"
    except (json.JSONDecodeError, TooDeep) as exc:
        error = _where(exc, start)
    return RawRecord(start, BadJson(text.strip(), error))


def _where(exc: json.JSONDecodeError | TooDeep, first_line: int) -> str:
    return f"invalid JSON: {exc.msg} at line {first_line + exc.lineno - 1} column {exc.colno}"


def frame(framing: str, text_lines: Iterable[str]) -> Iterator[RawRecord]:
    """Frames text for an adapter's framing ('json' or 'lines')."""
    return json_values(text_lines) if framing == "json" else lines(text_lines)
