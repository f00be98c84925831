"""normalize_ts: text already in the normalised form takes a shortcut, which must
answer exactly as the full parse does, values and refusals alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.events import _normalize_text, normalize_ts

full_parse = _normalize_text.__wrapped__  # the parse without the shortcut or the cache


def answer(parse: object, text: str) -> str:
    try:
        return parse(text)  # type: ignore[operator, no-any-return]
    except ValueError:
        return "refused"


moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(lambda dt: dt.replace(tzinfo=UTC))


@settings(max_examples=300, deadline=None)
@given(moments, st.integers(0, 999_999_999))
def test_a_normalised_time_is_itself(moment: datetime, nanos: int) -> None:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{nanos:09d}Z"
    assert normalize_ts(text) == text == full_parse(text)


# text of the normalised shape with any digits: impossible dates and times included
shaped = st.builds(
    "{}-{}-{}T{}:{}:{}.{}Z".format,
    *(st.from_regex(rf"[0-9]{{{n}}}", fullmatch=True) for n in (4, 2, 2, 2, 2, 2, 9)),
)


@settings(max_examples=500, deadline=None)
@given(shaped)
def test_the_shortcut_answers_any_normalised_shape_as_the_full_parse_does(text: str) -> None:
    assert answer(normalize_ts, text) == answer(full_parse, text)


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29T00:00:00.000000000Z",  # not a leap year
        "2026-13-01T00:00:00.000000000Z",
        "2026-04-31T00:00:00.000000000Z",
        "2026-01-01T24:00:00.000000000Z",
        "2026-01-01T23:60:00.000000000Z",
        "2026-01-01T23:59:60.000000000Z",  # a leap second: datetime has none
        "1969-12-31T23:59:59.999999999Z",  # before the epoch
        "0000-01-01T00:00:00.000000000Z",
    ],
)
def test_an_impossible_time_in_the_normalised_shape_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        normalize_ts(text)


@pytest.mark.parametrize(
    "text",
    [
        "\u0662\u0660\u0662\u0666-01-05T08:00:00.001011473Z",
        "2026-01-05T08:00:00.\u0660\u06601011473Z",
    ],
)
def test_other_digits_are_read_and_written_as_ascii(text: str) -> None:
    # Arabic-Indic digits in the year, then in the fraction: Unicode decimal digits
    # parse (int() reads them); the shortcut, ASCII only, must not hand them back unchanged
    assert normalize_ts(text) == "2026-01-05T08:00:00.001011473Z"
