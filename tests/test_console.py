"""The console in a real browser: headless Chromium, driven by Playwright, against the
real `storyline serve` and a Neo4j loaded with a generated scenario (its truth file says
which processes each planted attack holds)."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import sync_playwright

from app.generate import Truth, lines
from app.ingest import ingest
from app.investigation.stories import story_id as story_id_of
from app.neo4j.database import Database, Target
from tests.server import Server, serve
from tests.test_layers import P, jvm_exploit

# Debian's Chromium when installed (.ci/run installs it), else Playwright's own
# (`python -m playwright install chromium`, which make test runs when there is none)
CHROMIUM = shutil.which("chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
OUT = Path(__file__).resolve().parent.parent / "bench" / "out" / "console"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def loaded(db: Database) -> Truth:
    truth = Truth(7, 3000, 3, True)
    ingest(db, "storyline", (x + "\n" for x in lines(7, 3000, 3, truth=truth)))
    return truth


@pytest.fixture
def server(neo4j_target: Target, tmp_path: Path, loaded: Truth) -> Iterator[Server]:
    with serve(neo4j_target, tmp_path, {"STORYLINE_SUBSCRIPTION_POLL_MS": "300"}) as running:
        yield running


class Page:
    """A browser tab that fails the test on any console error."""

    def __init__(self, browser: Any, base: str) -> None:
        self.errors: list[str] = []
        self.tab = browser.new_page(viewport={"width": 1500, "height": 1000})
        self.tab.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))
        self.base = base

    def open(self, fragment: str) -> None:
        self.tab.goto(f"{self.base}/{fragment}")
        self.ready()

    def ready(self) -> None:
        self.tab.wait_for_function(
            "() => window.__storyline && window.__storyline.ready", timeout=60_000
        )

    def shot(self, name: str) -> Path:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{name}.png"
        self.tab.screenshot(path=str(path), full_page=False)
        return path


def graph_process_keys(server: Server, story_id: str) -> set[str]:
    query = "query($id: ID!) { story(id: $id) { graph { nodes { id kind properties } } } }"
    data = httpx.post(f"{server.url}/graphql", json={"query": query, "variables": {"id": story_id}},
                      timeout=60).json()["data"]  # fmt: skip
    keys: set[str] = set()
    for n in data["story"]["graph"]["nodes"]:
        if n["kind"] == "Process":
            keys.add(n["id"].removeprefix("Process:"))
        elif n["kind"] == "ProcessGroup":
            keys.update(n["properties"]["members"])
    return keys


def test_an_analyst_investigates_a_planted_attack(
    browser: Any, server: Server, loaded: Truth, db: Database
) -> None:
    page = Page(browser, server.url)
    page.open("#/")
    top = page.tab.locator("#attacks tr").first
    story_id = top.get_attribute("data-id")
    assert story_id
    page.shot("stories")
    # the top story is one planted chain: its graph holds that chain's processes
    in_graph = graph_process_keys(server, story_id)
    chains = [c for c in loaded.chains if set(c.processes) <= in_graph]
    assert len(chains) == 1, [c.kind for c in loaded.chains]

    top.locator("a").click()
    page.ready()
    page.tab.wait_for_function("() => window.__storyline.graphDrawn !== undefined", timeout=60_000)
    page.tab.wait_for_selector("#timeline li")
    page.shot("story")

    # selecting a process (from the keyboard-reachable list) narrows the timeline to it
    root_key = chains[0].root
    page.tab.select_option("#pick", f"Process:{root_key}")
    page.tab.wait_for_function(
        "() => document.querySelector('#scope').textContent.includes('Events of process')"
    )
    page.tab.wait_for_selector("#timeline li")
    owners = page.tab.eval_on_selector_all("#timeline li", "els => els.map(e => e.dataset.process)")
    assert owners and set(owners) == {root_key}
    assert root_key in page.tab.inner_text("#details")
    # selecting a timeline entry highlights its process
    page.tab.click("#scope #all")
    page.tab.wait_for_function(
        "() => !document.querySelector('#scope').textContent.includes('Events of process')"
    )
    page.tab.wait_for_selector("#timeline li.event")
    page.tab.locator("#timeline li.event").first.click()
    page.tab.wait_for_function("() => document.querySelector('#announce').textContent.length > 0")

    # a triage change survives a reload
    page.tab.select_option("#status-form select", "UNDER_REVIEW")
    page.tab.fill("#status-form input[name=comment]", "looking at it")
    page.tab.click("#status-form button")
    page.tab.wait_for_function(
        "() => document.querySelector('.message').textContent.includes('saved')"
    )
    page.tab.reload()
    page.ready()
    assert page.tab.input_value("#status-form select") == "UNDER_REVIEW"
    page.tab.wait_for_selector("#timeline li.triage")
    assert "looking at it" in page.tab.inner_text("#timeline")

    # a process and an event each have a URL an analyst can paste into a ticket
    event_link = page.tab.locator("#timeline li.event a.permalink").first.get_attribute("href")
    page.open(f"#/process/{root_key}")
    assert root_key in page.tab.inner_text("main") and "Lineage" in page.tab.inner_text("main")
    page.shot("process")
    page.open(event_link)
    assert "Why this key" in page.tab.inner_text("main")

    # a story that arrives while the analyst looks appears without a reload
    page.open("#/")
    events, key_of, compromise = jvm_exploit()
    body = gzip.compress("".join(json.dumps(e) + "\n" for e in [*events, compromise]).encode())
    assert httpx.post(f"{server.url}/api/v1/events", content=body, timeout=60).status_code == 200
    page.tab.wait_for_selector(f"tr[data-id='{story_id_of(key_of[4000])}']", timeout=60_000)
    assert page.errors == []


def test_a_graph_at_the_cap_draws_and_the_time_is_measured(
    browser: Any, neo4j_target: Target, db: Database, tmp_path: Path
) -> None:
    # a compromised service that ran 5,000 different commands: a graph at the 5,000-node cap
    java = P("big-node", 100, 0, "/usr/bin/java", ["java", "-jar", "app.jar"],
             attrs={"cgroup": "/system.slice/app.service"})  # fmt: skip
    shell = java.child(101, 1, "/bin/sh", ["sh", "-c", "run"])
    events = [java.exec(), shell.exec()]
    for i in range(5200):
        worker = shell.child(
            1000 + i, 2 + i // 100, f"/usr/bin/tool{i % 50}", [f"tool{i % 50}", str(i)]
        )
        events.append(worker.exec())
    events.append(shell.event("alert", alert={"rule_id": "sensor.shell_from_jvm", "title": "Shell",
                                              "severity": "high", "compromises": True,
                                              "on_event": events[1]["id"]}))  # fmt: skip
    ingest(db, "storyline", [json.dumps(e) + "\n" for e in events], batch_size=2000)
    with serve(neo4j_target, tmp_path) as running:
        page = Page(browser, running.url)
        page.open("#/")
        story = page.tab.locator("#attacks tr").first.get_attribute("data-id")
        page.tab.goto(f"{running.url}/#/story/{story}")
        page.tab.wait_for_function(
            "() => window.__storyline.graphDrawn !== undefined", timeout=300_000
        )
        drawn = page.tab.evaluate("() => window.__storyline.graphDrawn")
        page.shot("graph-5000")
    assert drawn["nodes"] >= 5000
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "graph-5000.json").write_text(json.dumps(drawn) + "\n")
    print(f"5,000-node graph drawn {drawn['sinceNavigation'] / 1000:.1f} s after navigation")
    assert page.errors == []
