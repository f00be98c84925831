"""The console in a real browser: headless Chromium, driven by Playwright, against the
real `storyline serve` and a Neo4j loaded with a generated scenario (its truth file says
which processes each planted attack holds)."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

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
    links = tmp_path / "links.yaml"
    links.write_text("process:\n  - {title: 'EDR {pid}', url: 'https://edr.example/p/{key}'}\n")
    env = {
        "STORYLINE_SUBSCRIPTION_POLL_MS": "300",
        "STORYLINE_LINKS_FILE": str(links),
        "STORYLINE_NEO4J_BROWSER_URL": "http://127.0.0.1:7474/browser/",
    }
    with serve(neo4j_target, tmp_path, env) as running:
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

    # the incident report and the OCSF findings download from the page, as the API gives them
    with page.tab.expect_download() as report:
        page.tab.click("button[data-export=report]")
    assert report.value.suggested_filename == f"story-{story_id}.md"
    text = Path(report.value.path()).read_text()
    assert text.startswith("# Incident report: ") and f"`{story_id}`" in text
    assert text == httpx.get(f"{server.url}/api/v1/stories/{story_id}/report.md", timeout=60).text
    with page.tab.expect_download() as ocsf:
        page.tab.click("button[data-export=ocsf]")
    findings = json.loads(Path(ocsf.value.path()).read_text())
    assert {f["class_uid"] for f in findings} == {2004}

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
    # with its pivot links out (STORYLINE_LINKS_FILE)
    pivot = page.tab.locator("#details .pivots a").first
    assert pivot.get_attribute("href") == "https://edr.example/p/" + quote(root_key, safe="")
    assert pivot.inner_text().startswith("EDR ")
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
    # the change is now, after the story's events: scrolled to, past the first page
    for _ in range(20):
        if page.tab.locator("#timeline li.triage").count():
            break
        page.tab.locator("#more").scroll_into_view_if_needed()
        page.tab.wait_for_function("() => document.querySelector('#timeline')"
                                   ".getAttribute('aria-busy') === 'false'")  # fmt: skip
    page.tab.wait_for_selector("#timeline li.triage")
    assert "looking at it" in page.tab.inner_text("#timeline")

    # a process and an event each have a URL an analyst can paste into a ticket
    event_link = page.tab.locator("#timeline li.event a.permalink").first.get_attribute("href")
    page.open(f"#/process/{root_key}")
    assert root_key in page.tab.inner_text("main") and "Lineage" in page.tab.inner_text("main")
    assert page.tab.locator("main .pivots a").count() == 1
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


ACTIVITY = """query($id: ID!) { story(id: $id) {
  activity { bucketSeconds buckets { start events signals } } } }"""


def graphql(server: Server, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = {"query": query, "variables": variables or {}}
    answer = httpx.post(f"{server.url}/graphql", json=body, timeout=60).json()
    assert not answer.get("errors"), answer
    return answer["data"]


def utc(text: str) -> datetime:
    """Returns a time as the console or the API writes it (`2026-01-05 08:00:51.123Z`)."""
    return datetime.fromisoformat(text.strip().replace(" ", "T").replace("Z", "+00:00"))


def test_an_analyst_searches_a_host_then_scrubs_its_story_in_time(
    browser: Any, server: Server, loaded: Truth, db: Database
) -> None:
    query = "{ stories(first: 1) { edges { node { id hosts } } } }"
    top = graphql(server, query)["stories"]["edges"][0]["node"]
    story_id, host = top["id"], top["hosts"][0]
    assert host in {c.host for c in loaded.chains}
    page = Page(browser, server.url)
    page.open("#/")

    # typing a host id lists it as a HOST hit, with its stories
    page.tab.fill("#search", host)
    hit = page.tab.locator(f"#search-results li.hit[data-kind='HOST'][data-key='{host}']")
    hit.wait_for()
    assert hit.locator(".kind").inner_text() == "host" and "stor" in hit.inner_text()
    assert hit.locator(f"a[href='#/story/{story_id}']").count() == 1
    page.shot("search")
    # the arrow keys move into the hits, Escape closes them and goes back to the box
    page.tab.press("#search", "ArrowDown")
    assert page.tab.evaluate("() => !!document.activeElement.closest('#search-results li.hit')")
    page.tab.keyboard.press("Escape")
    assert page.tab.locator("#search-results").is_hidden()
    assert page.tab.evaluate("() => document.activeElement.id") == "search"
    # Enter opens every hit on a page; a hit narrows the story list to its entity
    page.tab.press("#search", "Enter")
    page.ready()
    page.tab.locator(f"main li.hit[data-kind='HOST'][data-key='{host}']").wait_for()
    page.tab.locator(f"main li.hit[data-kind='HOST'][data-key='{host}'] a.narrow").click()
    page.ready()
    assert page.tab.evaluate("() => location.hash") == f"#/stories?host={host}"
    assert host in page.tab.inner_text(".narrowed")
    # the narrowed list arrives after the page: wait for the story the host is in
    page.tab.locator(f"#attacks tr[data-id='{story_id}']").wait_for()
    hosts = page.tab.eval_on_selector_all(
        "#attacks tr td:nth-child(5)", "els => els.map(e => e.textContent)"
    )
    assert hosts and all(host in h.split(", ") for h in hosts)
    assert page.tab.locator(f"#attacks tr[data-id='{story_id}']").count() == 1
    page.tab.locator(".narrowed a", has_text="Show every story").click()
    page.ready()
    # the whole list is drawn after the page is ready: wait for the narrowing to go
    page.tab.locator(".narrowed").wait_for(state="detached")
    assert page.tab.locator(".narrowed").count() == 0
    # what the API refuses is said on the page, which stays
    page.open("#/stories?from=not-a-time")
    page.tab.wait_for_function("() => document.querySelector('main .error').textContent")
    assert "RFC 3339" in page.tab.inner_text("main .error")
    assert page.tab.locator(".narrowed code").inner_text() == "not-a-time"
    page.tab.fill("#search", "a b c d e f g h i")
    page.tab.locator("#search-results .error").wait_for()
    assert "at most" in page.tab.inner_text("#search-results .error")
    # back to the host: its story link opens the story
    page.tab.fill("#search", host)
    hit.locator(f"a[href='#/story/{story_id}']").click()
    # the click returns before the hashchange runs: until then the last page is "ready"
    page.tab.wait_for_function(f"() => location.hash === '#/story/{story_id}'")
    page.ready()
    page.tab.locator("#search-results").wait_for(state="hidden")

    # the scrubber draws the story's events per bucket, signals marked
    page.tab.locator("svg.histogram .bucket").first.wait_for()
    activity = graphql(server, ACTIVITY, {"id": story_id})["story"]["activity"]
    buckets = activity["buckets"]
    assert page.tab.locator("svg.histogram .bucket").count() == len(buckets) > 1
    assert (
        page.tab.locator("svg.histogram .mark").count()
        == sum(1 for b in buckets if b["signals"])
        > 0
    )
    page.tab.wait_for_selector("#timeline li")
    # a window of the busiest bucket, typed and applied from the keyboard
    busiest = max(buckets, key=lambda b: b["events"])
    start = utc(busiest["start"])
    end = start + timedelta(seconds=activity["bucketSeconds"] - 1)
    page.tab.fill("form.window input[name=from]", start.strftime("%Y-%m-%dT%H:%M:%S"))
    page.tab.fill("form.window input[name=to]", end.strftime("%Y-%m-%dT%H:%M:%S"))
    page.tab.focus("form.window button[type=submit]")
    page.tab.keyboard.press("Enter")
    page.tab.wait_for_function(
        "() => document.querySelector('.window-now').textContent.startsWith('Window:')"
    )
    page.tab.wait_for_function(
        "() => document.querySelector('#scope').textContent.includes('window')"
        " && !document.querySelector('#more').textContent.includes('loading')"
    )
    times = [
        utc(t)
        for t in page.tab.eval_on_selector_all(
            "#timeline li time", "els => els.map(e => e.textContent)"
        )
    ]
    # every entry shown is of the window (both ends included, the last second whole)
    assert times and all(start <= t < end + timedelta(seconds=1) for t in times), (start, end)
    page.shot("story-window")
    # the Cypher behind the view: each file with its parameters, ready for Neo4j Browser
    page.tab.click(".cypher summary")
    cypher = page.tab.inner_text(".cypher")
    assert "cypher/queries/story_activity.cypher" in cypher
    assert "cypher/timeline/events.cypher" in cypher
    # the windowed graph's statements carry the window
    assert "cypher/graph/members.cypher" in cypher and f'from: "{start:%Y-%m-%dT%H:%M:%S}' in cypher
    # and each can be opened in Neo4j Browser: its parameters, then its text in the editor
    opens = page.tab.eval_on_selector_all(
        ".cypher .browser-links a", "links => links.map(a => a.href)"
    )
    assert any(h.startswith("http://127.0.0.1:7474/browser/?cmd=params&arg=") for h in opens)
    edit = next(h for h in opens if "cmd=edit" in h)
    assert unquote(edit.split("arg=", 1)[1]).lstrip().startswith("//")  # a cypher/ file's text
    # clearing the window gives the whole story back
    page.tab.click("form.window .clear")
    page.tab.wait_for_function(
        "() => document.querySelector('.window-now').textContent === 'Whole story.'"
    )
    # and a window can be dragged over the histogram
    box = page.tab.locator("svg.histogram").bounding_box()
    assert box
    page.tab.mouse.move(box["x"] + 2, box["y"] + box["height"] / 2)
    page.tab.mouse.down()
    page.tab.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=5)
    page.tab.mouse.up()
    page.tab.wait_for_function(
        "() => document.querySelector('.window-now').textContent.startsWith('Window:')"
    )
    assert page.tab.input_value("form.window input[name=from]") == buckets[0]["start"][:19]
    page.shot("story-dragged")
    assert page.errors == []


BENIGN_DRAFT = """query($s: ID!) { exceptionDraft(signalId: $s) { ruleId
  conditions { process user host container image path } } }"""
BENIGN_PREVIEW = """query($r: String!, $c: ExceptionConditionsInput!, $from: String, $to: String) {
  previewException(ruleId: $r, conditions: $c, from: $from, to: $to) { suppressed } }"""


def test_an_analyst_says_a_signal_is_benign(
    browser: Any, server: Server, loaded: Truth, db: Database
) -> None:
    query = "{ stories(first: 1) { edges { node { id } } } }"
    story_id = graphql(server, query)["stories"]["edges"][0]["node"]["id"]
    page = Page(browser, server.url)
    page.open(f"#/story/{story_id}")
    page.tab.wait_for_selector("#signal-list li.signal")
    # a signal that marks no compromise (suppressing one re-keys the story's processes)
    button = page.tab.locator(
        "#signal-list li.signal[data-compromises='false'] button.benign"
    ).first
    signal = button.get_attribute("data-signal")
    assert signal
    draft = graphql(server, BENIGN_DRAFT, {"s": signal})["exceptionDraft"]
    button.click()
    form = page.tab.locator("#exception-form")
    form.wait_for()
    # the form holds the signal's own values, and saving waits for a preview
    for name, values in draft["conditions"].items():
        assert form.locator(f"textarea[name={name}]").input_value() == "\n".join(values), name
    assert draft["ruleId"] in form.locator("h3").inner_text()
    assert form.locator(".save").is_disabled()
    form.locator("input[name=reason]").fill("the nightly inventory job")
    form.locator(".preview").click()
    form.locator(".would-suppress").wait_for()
    shown = int(form.locator(".would-suppress").inner_text())
    window = {k: form.locator(f"input[name={k}]").input_value() for k in ("from", "to")}
    conditions = {k: v or None for k, v in draft["conditions"].items()}
    expected = graphql(server, BENIGN_PREVIEW, {"r": draft["ruleId"], "c": conditions, **window})
    assert shown == expected["previewException"]["suppressed"] >= 1
    page.shot("exception-preview")
    # a change after the preview asks for a new one
    form.locator("textarea[name=path]").fill("/nowhere")
    assert form.locator(".save").is_disabled()
    form.locator("textarea[name=path]").fill("\n".join(draft["conditions"]["path"]))
    assert form.locator(".save").is_enabled()
    form.locator(".save").click()
    page.tab.wait_for_function(
        "() => document.querySelector('.exception-message').textContent.includes('saved')"
    )
    assert f"saved: {shown} signals suppressed" in page.tab.inner_text(".exception-message")
    # the signal is gone from the story's list; the toggle shows it, marked, with its reason
    page.tab.wait_for_selector("#signal-list[aria-busy=false]")
    assert page.tab.locator(f"#signal-list li[data-signal='{signal}']").count() == 0
    page.tab.check("#show-suppressed")
    hidden = page.tab.locator(f"#signal-list li.suppressed[data-signal='{signal}']")
    hidden.wait_for()
    assert "the nightly inventory job" in hidden.inner_text()
    page.shot("exception-saved")
    # the story's triage history (and so its timeline) records it
    history = graphql(server, "query($id: ID!) { story(id: $id) { triageHistory { field } } }",
                      {"id": story_id})["story"]["triageHistory"]  # fmt: skip
    assert {"field": "exception"} in history
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


def test_related_stories_are_listed_and_drawn_in_the_story_view(
    browser: Any, neo4j_target: Target, db: Database, tmp_path: Path
) -> None:
    from app.indicators.imports import import_feed
    from tests.indicators.test_matching import NO_RULES, STIX, hosts
    from tests.test_layers import load

    events, keys = hosts()
    load(db, events)
    import_feed(db, "example-cert", "stix", STIX, now="2026-01-05T00:00:00Z")
    NO_RULES.drain(db)
    a, b = story_id_of(keys["a"]), story_id_of(keys["b"])
    with serve(neo4j_target, tmp_path) as running:
        page = Page(browser, running.url)
        page.open(f"#/story/{a}")
        page.tab.wait_for_function("() => window.__storyline.relatedDrawn !== undefined")
        item = page.tab.locator(f".related-list > li[data-id='{b}']")
        assert page.tab.locator(".related-list > li").count() == 1
        title = "Indicator from example-cert: 203.0.113.50 on node-b"
        assert item.locator("a").inner_text() == title
        shared = item.locator(".shared li").all_inner_texts()
        assert [s.split()[:2] for s in shared] == [
            ["ip", "203.0.113.50"],
            ["sha256", "4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877"],
        ]
        # in the graph: the other story's node, joined to the endpoint and the file it shares
        drawn = page.tab.evaluate("() => window.__storyline.relatedDrawn")
        node = f"RelatedStory:{b}"
        assert drawn == {
            "nodes": [node],
            "edges": [
                ["Endpoint:203.0.113.50:443", node],
                ["File:host:node-a:/tmp/.cache/pivy", node],
            ],
        }
        page.shot("story-related")
        # its link opens the other story, which lists this one
        item.locator("a").click()
        page.ready()
        page.tab.wait_for_function("() => window.__storyline.relatedDrawn !== undefined")
        page.tab.locator(f".related-list > li[data-id='{a}']").wait_for()
        assert page.tab.evaluate("() => location.hash") == f"#/story/{b}"
        # a story that shares nothing shows no related section
        page.open(f"#/story/{story_id_of(keys['c'])}")
        page.tab.wait_for_function("() => window.__storyline.relatedDrawn !== undefined")
        assert page.tab.evaluate("() => window.__storyline.related") == 0
        assert page.tab.locator("section.related").is_hidden()
    assert page.errors == []
