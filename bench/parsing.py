"""The Python side of ingest (framing, validation, rows) against bare json.loads.

Before a batch reaches Neo4j, ingest frames the text, validates each record
into the event model and pre-merges the batch's rows. This measures that work
per event on a generated workload and divides it by the cost of json.loads on
the same lines, in the same process: the floor any JSON ingest pays. Each round
parses a workload of its own (another seed), as a new parser process meets
events it has not seen: no cache holds its hosts, processes or times yet.

    python -m bench.parsing [--events 40000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json

from app import events
from app.adapters import Rejected
from app.generate import lines
from app.ingest import outcomes
from app.rows import Rows
from bench.common import median, save, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    workloads = [[x + "\n" for x in lines(5 + r, args.events, 3)] for r in range(args.rounds)]

    def parse_only(text: list[str]) -> None:
        for line in text:
            json.loads(line)

    def ingest_side(text: list[str]) -> None:
        events._normalize_text.cache_clear()  # every round starts cold, as a new process would
        events._valid_date.cache_clear()
        shaped = Rows()
        for outcome in outcomes("storyline", text):
            if not isinstance(outcome, Rejected):
                shaped.add(outcome.item)
        shaped.as_params()

    floor, ours = [], []
    for text in workloads:  # interleaved, so that noise hits both alike
        floor.append(timed(lambda text=text: parse_only(text)))
        ours.append(timed(lambda text=text: ingest_side(text)))
    result = {
        "command": f"python -m bench.parsing --events {args.events} --rounds {args.rounds}",
        "json_loads_us_per_event": round(median(floor) / args.events * 1e6, 2),
        "ingest_python_side_us_per_event": round(median(ours) / args.events * 1e6, 2),
        "ratio_to_json_loads": round(median(ours) / median(floor), 1),
    }
    save("parsing", result)


if __name__ == "__main__":
    main()
