"""The service under load: many senders at once, and queries on a large graph.

Runs the real `storyline serve` (a subprocess, its worker on) against the
configured Neo4j, in two phases:

- senders: one HTTP client posts a generated workload (--sender-events, batches
  of --sender-batch records), then, on a wiped graph, --senders clients post
  interleaved parts of the same workload at once; each run lasts until the
  background stage has processed everything. It reports both rates, their
  ratio, whether the graphs match (node, relationship, process, story and
  signal counts), and per run when the last post was answered, how busy the
  whole machine was until then (on a machine that one sender already keeps
  busy, more senders cannot be faster), how many transactions the server
  retried (storyline_transaction_retries_total) and how many stage cycles failed
  (storyline_pipeline_errors_total; the server's log is bench/out/api-serve.log);
- queries: after loading --events events (`storyline ingest`), p50/p95 over
  --rounds rounds of the stories list (first 20), a story's graph, a timeline
  page, a search for an address the top story talked to and for a word, the
  stories of that address, and the ancestors of the deepest process, over
  GraphQL on HTTP (one client, its connection kept open) and as
  the same work done in-process on the bare driver (the Cypher files, and the
  Python that shapes graph and timeline), interleaved, with their ratios.

    python -m bench.api [--events 100000] [--rounds 30] [--senders 4]
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
from prometheus_client.parser import text_string_to_metric_families

from app.api.processes import load_processes
from app.generate import lines
from app.investigation.graph import build_graph
from app.investigation.search import search, story_filter_params
from app.investigation.timeline import timeline_page
from app.neo4j.database import Database
from bench.common import OUT, MachineBusy, database, save, stop_on_sigterm, wipe

COUNTS = """
CALL () { MATCH (n) RETURN count(n) AS nodes }
CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }
CALL () { MATCH (p:Process) RETURN count(p) AS processes }
CALL () { MATCH (s:Story) RETURN count(s) AS stories }
CALL () { MATCH (s:Signal) RETURN count(s) AS signals }
RETURN nodes, relationships, processes, stories, signals
"""


def serve(port: int) -> subprocess.Popen[bytes]:
    """Starts `storyline serve` and waits until it answers. Its log goes to
    bench/out/api-serve.log (a stage that stalls, a cycle that fails, say so there)."""
    env = {**os.environ, "STORYLINE_PIPELINE_WORKER": "on", "STORYLINE_SUBSCRIPTION_POLL_MS": "500"}
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "api-serve.log", "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    return proc
            except httpx.TransportError:
                time.sleep(0.2)
        raise SystemExit("storyline serve did not start")
    except BaseException:  # SIGTERM while it starts, too: it must not outlive the bench
        proc.kill()
        proc.wait(timeout=60)
        raise


# One HTTP client with its connection kept open, as a browser or a frontend's server
# keeps it: a new httpx client per request costs ~24 ms more here (it builds a TLS
# context even for http://), which would measure the client, not the service.
CLIENT = httpx.Client(timeout=120)


def graphql(url: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = CLIENT.post(f"{url}/graphql", json={"query": query, "variables": variables})
    body = answer.json()
    if "errors" in body:
        raise SystemExit(f"GraphQL error: {body['errors']}")
    return body["data"]


def wait_processed(url: str) -> None:
    """Polls until no queued work is left for the background stage."""
    query = "{ about { pipelineQueues { detect stamp relate stories } } }"
    while any(graphql(url, query)["about"]["pipelineQueues"].values()):
        time.sleep(0.1)


def post_all(url: str, parts: list[list[str]], batch: int) -> None:
    """Posts each part from its own thread, in bodies of `batch` records (gzip)."""

    def send(part: list[str]) -> None:
        with httpx.Client(timeout=300) as client:
            for i in range(0, len(part), batch):
                body = gzip.compress("".join(part[i : i + batch]).encode())
                answer = client.post(f"{url}/api/v1/events?format=storyline", content=body)
                if answer.status_code != 200 or answer.json()["rejected_count"]:
                    raise SystemExit(f"ingest failed: {answer.status_code} {answer.text[:300]}")

    threads = [threading.Thread(target=send, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# The server's counters a senders run reports, by its name for them.
COUNTERS = {
    "transactions_retried": "storyline_transaction_retries_total",  # deadlocks above all
    "stage_cycles_failed": "storyline_pipeline_errors_total",
}


def counters(url: str) -> dict[str, int]:
    """The server's COUNTERS so far, each summed over its labels, from one /metrics read."""
    totals = dict.fromkeys(COUNTERS, 0.0)
    metric_of = {metric: name for name, metric in COUNTERS.items()}
    for family in text_string_to_metric_families(CLIENT.get(f"{url}/metrics").text):
        for sample in family.samples:
            if sample.name in metric_of:
                totals[metric_of[sample.name]] += sample.value
    return {name: round(total) for name, total in totals.items()}


def senders_phase(db: Database, url: str, events: int, batch: int, senders: int) -> dict:
    text = [x + "\n" for x in lines(21, events)]
    runs = {}
    for name, parts in (("one", [text]), ("many", [text[i::senders] for i in range(senders)])):
        wipe(db)
        counted = counters(url)
        busy = MachineBusy()
        start = time.perf_counter()
        post_all(url, parts, batch)
        posted = time.perf_counter() - start
        busy_posting = busy.since()
        wait_processed(url)
        seconds = time.perf_counter() - start
        _, rows = db.query(COUNTS)
        grown = {key: value - counted[key] for key, value in counters(url).items()}
        runs[name] = {"seconds": round(seconds, 1), "events_per_s": round(events / seconds),
                      "acknowledged_seconds": round(posted, 1),
                      "machine_busy_while_posting": busy_posting, **grown,
                      "graph": rows[0]}  # fmt: skip
    return {
        "command_events": events,
        "batch": batch,
        "senders": senders,
        "one_sender": runs["one"],
        "many_senders": runs["many"],
        "ratio_many_to_one": round(runs["many"]["events_per_s"] / runs["one"]["events_per_s"], 3),
        "same_graph": runs["one"]["graph"] == runs["many"]["graph"],
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(int(0.95 * len(ordered)), len(ordered) - 1)] * 1000, 1),
    }


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def queries_phase(db: Database, url: str, events: int, rounds: int) -> dict:
    wipe(db)
    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as handle:
        handle.writelines(x + "\n" for x in lines(13, events))
    try:
        subprocess.run(
            [sys.executable, "-m", "app.cli", "ingest", "--quiet", handle.name],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        os.unlink(handle.name)
    wait_processed(url)
    every = story_filter_params(db, {})
    [top] = db.read("queries/list_stories", **every, after_score=None, after_id=None,
                    limit=1)  # fmt: skip
    story = top["story"]
    keys = story.get("correlation_keys") or [story["correlation_key"]]
    _, deepest = db.query(
        "MATCH path = (p:Process)-[:CHILD_OF*]->(:Process) "
        "RETURN p.key AS key ORDER BY length(path) DESC LIMIT 1"
    )
    key = deepest[0]["key"]
    # an address one of the top story's processes talked to, and its host
    _, talked = db.query(
        "UNWIND $keys AS k MATCH (p:Process {correlation_key: k})-[:ACTIVITY]->(e:Endpoint) "
        "RETURN e.ip AS ip LIMIT 1", {"keys": keys},
    )  # fmt: skip
    address = talked[0]["ip"] if talked else "10.0.0.1"
    db.query("CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()")
    cases: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "stories_list_first_20": (
            lambda: graphql(url, "{ stories(first: 20) { totalCount edges { node { id title "
                            "severity score } } } }"),
            lambda: (db.read("queries/list_stories", **every, after_score=None,
                             after_id=None, limit=21),
                     db.read("queries/count_stories", **every)),
        ),
        "story_graph": (
            lambda: graphql(url, "query($id: ID!) { story(id: $id) { graph { truncated "
                            "nodes { id kind label } edges { source target type } } } }",
                            id=story["id"]),
            lambda: build_graph(db, story["id"]),
        ),
        "timeline_page_50": (
            lambda: graphql(url, "query($id: ID!) { story(id: $id) { timeline(first: 50) { "
                            "edges { node { type kind ts } } } } }", id=story["id"]),
            lambda: timeline_page(db, story["id"], keys, 50, None),
        ),
        "search_an_address": (
            lambda: graphql(url, "query($q: String!) { search(query: $q, first: 20) { edges { "
                            "node { kind key title stories { totalCount nodes { id } } } } } }",
                            q=address),
            lambda: search(db, address, 20),
        ),
        "search_a_word": (
            lambda: graphql(url, "query($q: String!) { search(query: $q, first: 20) { edges { "
                            "node { kind key title stories { totalCount nodes { id } } } } } }",
                            q="curl"),
            lambda: search(db, "curl", 20),
        ),
        "stories_of_an_address": (
            lambda: graphql(url, "query($ip: String) { stories(first: 20, filter: {ip: $ip}) { "
                            "totalCount edges { node { id title } } } }", ip=address),
            lambda: (lambda p: (
                db.read("queries/list_stories", **p, after_score=None, after_id=None, limit=21),
                db.read("queries/count_stories", **p),
            ))(story_filter_params(db, {"ip": address})),
        ),
        "ancestors_of_deepest_process": (
            lambda: graphql(url, "query($k: ID!) { process(key: $k) { ancestors { key pid "
                            "exe } } }", k=key),
            lambda: (  # what the resolvers read: the process, then its ancestors
                load_processes(db, [key]),
                load_processes(
                    db, [r["key"] for r in db.read("queries/process_ancestors", key=key)]
                ),
            ),
        ),
    }  # fmt: skip
    out: dict[str, Any] = {"events": events}
    for name, (over_api, bare) in cases.items():
        over_api(), bare()  # warm both
        api_times, bare_times = [], []
        for _ in range(rounds):  # interleaved: noise hits both alike
            api_times.append(timed(over_api))
            bare_times.append(timed(bare))
        api, raw = percentiles(api_times), percentiles(bare_times)
        out[name] = {"graphql_http": api, "bare_driver": raw,
                     "ratio_p95": round(api["p95_ms"] / max(raw["p95_ms"], 0.1), 2)}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--sender-events", type=int, default=20_000)
    parser.add_argument("--sender-batch", type=int, default=1000)
    parser.add_argument("--port", type=int, default=18080)
    args = parser.parse_args()
    stop_on_sigterm("bench.api")
    db = database()
    proc = serve(args.port)
    url = f"http://127.0.0.1:{args.port}"
    try:
        senders = senders_phase(db, url, args.sender_events, args.sender_batch, args.senders)
        print(senders, file=sys.stderr)
        queries = queries_phase(db, url, args.events, args.rounds)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        db.close()
    save("api", {
        "command": f"python -m bench.api --events {args.events} --rounds {args.rounds} "
                   f"--senders {args.senders}",
        "senders": senders,
        "queries": queries,
    })  # fmt: skip


if __name__ == "__main__":
    main()
