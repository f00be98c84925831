"""Packing a batch's parameters for Bolt: Neo4j's Rust codec against the pure-Python one.

The driver packs every query's parameters; a 2,000-event ingest batch is a
large nested structure. `neo4j-rust-ext` (a dependency) replaces the packer;
this measures both on the same generated batch, in one process, as a ratio.
It also times the text of the driver's RUN debug line, which the driver
builds for every statement, logging on or off (`" ".join(map(repr, fields))`
in neo4j/_sync/io/_bolt/): for the batch as a plain list, and as the list
Database sends (app/neo4j/database.py: _sendable), whose repr is short.

    python -m bench.packing [--events 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json

from neo4j._codec.packstream.v1 import Packer

from app.generate import lines
from app.neo4j.database import _sendable
from bench.common import median, save, timed


class _Sink:
    def write(self, data: bytes) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    batch = {"rows": [json.loads(x) for x in lines(5, args.events, 3)]}
    packer = Packer(_Sink())
    hooks = Packer._inject_hooks()
    sent = _sendable(batch)
    rust, python, plain_line, sent_line = [], [], [], []
    for _ in range(args.rounds):  # interleaved, so that noise hits both alike
        rust.append(timed(lambda: packer.pack(batch)))
        python.append(timed(lambda: packer._py_pack(batch, hooks)))
        plain_line.append(timed(lambda: " ".join(map(repr, ("RETURN 1", batch, {})))))
        sent_line.append(timed(lambda: " ".join(map(repr, ("RETURN 1", sent, {})))))
    result = {
        "command": f"python -m bench.packing --events {args.events} --rounds {args.rounds}",
        "rust_codec": packer._pack.__qualname__ != Packer._py_pack.__qualname__,
        "median_ms_default_packer": round(median(rust) * 1000, 2),
        "median_ms_python_packer": round(median(python) * 1000, 2),
        "python_over_default": round(median(python) / median(rust), 1),
        "median_ms_debug_line_plain_list": round(median(plain_line) * 1000, 2),
        "median_ms_debug_line_as_sent": round(median(sent_line) * 1000, 3),
    }
    save("packing", result)


if __name__ == "__main__":
    main()
