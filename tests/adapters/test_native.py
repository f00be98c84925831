"""The native format's short-record path: a record too short to hold anything past
the bounds skips the bound checks, and gets what the checks would give it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters import Accepted
from app.events import EVENT_ADAPTER, MAX_ARGS, MAX_TEXT, SHORT_RECORD
from app.ingest import outcomes


def event(**process: Any) -> dict[str, Any]:
    return {"id": "e1", "ts": 1, "source": "t", "kind": "process_exec",
            "host": {"id": "h"}, "process": {"key": "k", **process}}  # fmt: skip


def parsed(text: str) -> Accepted:
    [outcome] = outcomes("storyline", [text + "\n"])
    assert isinstance(outcome, Accepted), outcome
    return outcome


# Near the edges of the bounds: many tiny argv entries, one long string, or both,
# in compact, spaced or indented JSON (the last frames as one record over lines).
LAYOUTS = {"compact": {"separators": (",", ":")}, "spaced": {}, "indented": {"indent": 1}}
tiny_args = st.tuples(
    st.integers(0, 5) | st.integers(MAX_ARGS - 40, MAX_ARGS + 80),
    st.lists(st.sampled_from(["", "a", "é", "\x00"]), min_size=1, max_size=4),
).map(lambda spec: [spec[1][i % len(spec[1])] for i in range(spec[0])])
long_text = st.integers(SHORT_RECORD - 300, MAX_TEXT + 10).map(lambda n: "x" * n)


@settings(max_examples=60, deadline=None)
@given(args=tiny_args, exe=st.none() | long_text, layout=st.sampled_from(sorted(LAYOUTS)))
def test_a_native_record_is_bounded_as_the_full_checks_bound_it(
    args: list[str], exe: str | None, layout: str
) -> None:
    value = event(args=args, **({"exe": exe} if exe is not None else {}))
    text = json.dumps(value, **LAYOUTS[layout])  # type: ignore[arg-type]
    full = EVENT_ADAPTER.validate_python(value)
    outcome = parsed(text)
    assert outcome.item == full
    assert list(outcome.warnings) + outcome.item.clipped() == full.clipped()
    if len(text) <= SHORT_RECORD:  # the premise of the short path
        assert full.clipped() == []


def test_argv_one_entry_past_the_bound_is_cut_though_every_entry_is_empty() -> None:
    outcome = parsed(json.dumps(event(args=[""] * (MAX_ARGS + 1)), separators=(",", ":")))
    assert outcome.item.process.args == [""] * MAX_ARGS
    assert outcome.item.clipped() == [
        f"process.args cut from {MAX_ARGS + 1} entries (0 characters) to {MAX_ARGS} (0)"
    ]
