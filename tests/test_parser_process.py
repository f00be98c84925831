"""The parser process of large ingests (app/ingest.py: _forked): its batches arrive
in order, its failures reach the writer, and it leaves nothing behind."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterator

import pytest

from app.errors import InputError, StorylineError
from app.ingest import Batch, Report, _forked
from app.rows import Rows


def source(count: int, then: str = "end") -> Iterator[Batch]:
    for index in range(count):
        yield Batch(Rows(), [], Report(format="storyline", accepted=index))
    if then == "raise":
        raise InputError("record 7: bad input")
    if then == "die":
        os._exit(3)


def receivers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "storyline-receiver"]


def test_batches_arrive_in_order() -> None:
    assert [b.report.accepted for b in _forked(source(25))] == list(range(25))
    assert not receivers() and not multiprocessing.active_children()


def test_a_failure_in_the_parser_is_raised_in_the_writer_after_its_batches() -> None:
    got = []
    with pytest.raises(InputError, match="record 7: bad input"):
        for batch in _forked(source(3, then="raise")):
            got.append(batch.report.accepted)
    assert got == [0, 1, 2]
    assert not receivers() and not multiprocessing.active_children()


def test_a_parser_that_dies_is_reported_with_its_exit_code() -> None:
    with pytest.raises(StorylineError, match=r"parser process died \(exit code 3\)"):
        list(_forked(source(2, then="die")))
    assert not receivers() and not multiprocessing.active_children()


def test_a_writer_that_stops_early_leaves_no_parser_and_no_thread() -> None:
    batches = _forked(source(1000))
    assert next(batches).report.accepted == 0
    batches.close()  # what a failed write does to the loop over batches
    assert not receivers() and not multiprocessing.active_children()
