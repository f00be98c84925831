// A story: its investigation graph beside its threat timeline, triage and exports.
// Selecting a process shows its details and narrows the timeline to it; selecting a
// timeline entry highlights its process in the graph. The time scrubber above them
// narrows both to a window of time; the Cypher disclosure shows what each part ran.

import cytoscape from "cytoscape";
import { download, downloadExport, gql, gqlWithCypher } from "./api.js";
import { cypherPanel } from "./cypher.js";
import { exceptionsPane } from "./exceptions.js";
import { html, mount, pivots, severity, when } from "./html.js";
import { layout } from "./layout.js";
import { relatedStories } from "./related.js";
import { describe, scrubber } from "./scrubber.js";

const GRAPH_FIELDS = "truncated nodes { id kind label properties } edges { id source target type count firstSeen lastSeen kinds }";
const STORY = `query($id: ID!) { story(id: $id) {
  id title summary severity score status assignee routine layer hosts tactics rules signalCount
  recommendedActions correlationKeys suppressed lastSeen graph { ${GRAPH_FIELDS} } } }`;
const GRAPH = `query($id: ID!, $from: String, $to: String) { story(id: $id) { graph(from: $from, to: $to) { ${GRAPH_FIELDS} } } }`;
const ACTIVITY = `query($id: ID!) { story(id: $id) { activity { bucketSeconds buckets { start events signals } } } }`;
const ENTRY = `type kind ts
  event { id kind ts summary processKey processPid processExe }
  triage { actor field fromValue toValue comment ts }
  auditRecord { source actor action target outcome ts }
  signals { ruleId title severity tactic technique } recommendedActions`;
const TIMELINE = `query($id: ID!, $after: String, $from: String, $to: String) { story(id: $id) {
  timeline(first: 50, after: $after, from: $from, to: $to) {
  pageInfo { hasNextPage endCursor } edges { node { ${ENTRY} } } } } }`;
const PROCESS_EVENTS = `query($key: ID!, $after: String) { process(key: $key) { events(first: 50, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { id kind ts summary processKey processPid processExe signalRules } } } } }`;
const PROCESS = `query($key: ID!) { process(key: $key) {
  key pid ppid exe args cwd user uid tty hostId containerId startTime exitTime exitCode sessionUser
  correlationKey placeholder contexts { layer key rootProcessKey reason } links { title url } } }`;

const STYLE = [
  { selector: "node", style: {
    label: "data(short)", "font-size": 11, "text-valign": "bottom", "text-margin-y": 4,
    "min-zoomed-font-size": 7, width: 26, height: 26, "background-color": "#8aa4c8",
    "border-width": 1, "border-color": "#44546a", color: "#1b1f24" } },
  { selector: "node[kind = 'Process']", style: { shape: "round-rectangle", "background-color": "#7da7d9" } },
  { selector: "node[kind = 'ProcessGroup']", style: { shape: "round-rectangle", "border-style": "double", "border-width": 4, "background-color": "#a9c4e6" } },
  { selector: "node[kind = 'File']", style: { shape: "rectangle", "background-color": "#d8cfa8", width: 18, height: 22 } },
  { selector: "node[kind = 'Endpoint']", style: { shape: "diamond", "background-color": "#e3a977" } },
  { selector: "node[kind = 'Domain']", style: { shape: "hexagon", "background-color": "#e6c36a" } },
  { selector: "node[kind = 'Host']", style: { shape: "barrel", "background-color": "#9bbf8f", width: 34 } },
  { selector: "node[kind = 'Container']", style: { shape: "round-tag", "background-color": "#b5d3a7" } },
  { selector: "node[kind = 'Pod']", style: { shape: "ellipse", "background-color": "#c8e0bd" } },
  { selector: "node[kind = 'AuditRecord']", style: { shape: "tag", "background-color": "#c6a9d9" } },
  { selector: "node[kind = 'Finding']", style: { shape: "star", "background-color": "#e08a8a" } },
  { selector: "node.exited", style: { "border-style": "dashed" } },
  { selector: "node.outside", style: { opacity: 0.55 } },
  { selector: "node.sev-medium", style: { "border-color": "#b7791f", "border-width": 3 } },
  { selector: "node.sev-high", style: { "border-color": "#c0392b", "border-width": 4 } },
  { selector: "node.sev-critical", style: { "border-color": "#7b1010", "border-width": 6 } },
  { selector: "node:selected", style: { "overlay-color": "#1a73e8", "overlay-opacity": 0.25, "overlay-padding": 6 } },
  { selector: "edge", style: { width: 1, "line-color": "#b0b8c4", "curve-style": "straight", "target-arrow-shape": "triangle", "target-arrow-color": "#b0b8c4", "arrow-scale": 0.6 } },
  { selector: "edge[type = 'CHILD_OF']", style: { width: 2, "line-color": "#5d6d82", "target-arrow-color": "#5d6d82" } },
  { selector: "edge[type = 'ON_HOST'], edge[type = 'IN_CONTAINER'], edge[type = 'IN_POD']", style: { width: 0.6, "line-color": "#dde3ea", "target-arrow-shape": "none", opacity: 0.7 } },
];

function short(label) {
  return label.length > 28 ? `${label.slice(0, 27)}…` : label;
}

function elementsOf(nodes, edges) {
  const positions = layout(nodes, edges);
  const classes = (n) => {
    const p = n.properties || {};
    const out = [];
    if (p.signal_severity) out.push(`sev-${String(p.signal_severity).toLowerCase()}`);
    if (p.status === "exited") out.push("exited");
    if (p.in_story === false) out.push("outside");
    return out.join(" ");
  };
  return [
    ...nodes.map((n) => ({ group: "nodes", data: { id: n.id, kind: n.kind, label: n.label, short: short(n.label), properties: n.properties }, position: positions.get(n.id) || { x: 0, y: 0 }, classes: classes(n) })),
    ...edges.map((e) => ({ group: "edges", data: { id: e.id, source: e.source, target: e.target, type: e.type, count: e.count } })),
  ];
}

export async function storyView(root, announce, id) {
  // the story and its activity at once; an activity that fails leaves the rest usable
  const [{ data, cypher: ran }, activity] = await Promise.all([
    gqlWithCypher(STORY, { id }),
    gqlWithCypher(ACTIVITY, { id }).catch((error) => ({ error })),
  ]);
  const story = data.story;
  if (!story) {
    mount(root, html`<h1>No such story</h1><p>No story has the id <code>${id}</code>. <a href="#/">All stories</a></p>`);
    return () => {};
  }
  const graph = story.graph || { nodes: [], edges: [], truncated: false };
  const processes = graph.nodes.filter((n) => n.kind === "Process" || n.kind === "ProcessGroup");
  mount(root, html`
    <nav class="crumbs"><a href="#/">Stories</a> › <span>${story.title}</span></nav>
    <header class="story-head">
      <h1>${story.title}</h1>
      <p>${severity(story.severity)} <span class="badge">${String(story.status).toLowerCase().replace("_", " ")}</span>
        <span class="badge">score ${Math.round(story.score)}</span> ${story.routine ? html`<span class="badge">routine</span>` : ""}
        <span class="badge">${story.layer || ""}</span> <span>${story.hosts.join(", ")}</span></p>
      <p class="summary">${story.summary}</p>
    </header>
    <section class="triage" aria-label="triage and exports">
      <form id="status-form"><label>Status <select name="status">
        ${["OPEN", "UNDER_REVIEW", "ARCHIVED"].map((s) => html`<option value="${s}" ${s === story.status ? "selected" : ""}>${s.toLowerCase().replace("_", " ")}</option>`)}
        </select></label> <label>Comment <input name="comment" maxlength="500"></label> <button type="submit">Set status</button></form>
      <form id="note-form"><label>Note <input name="note" maxlength="2000" required></label> <button type="submit">Add note</button></form>
      <p class="exports">Export the graph: <button type="button" data-format="json">JSON</button>
        <button type="button" data-format="cytoscape">Cytoscape.js</button> <button type="button" data-format="graphml">GraphML</button></p>
      <p class="reports">For a ticket or a SIEM: <button type="button" data-export="report">Incident report (Markdown)</button>
        <button type="button" data-export="ocsf">OCSF findings (JSON)</button></p>
      <p class="message" role="status"></p>
    </section>
    ${story.recommendedActions.length ? html`<details class="recommended"><summary>Recommended actions (${story.recommendedActions.length})</summary>
      <ul class="actions">${story.recommendedActions.map((a) => html`<li>${a}</li>`)}</ul></details>` : ""}
    <section class="signals-pane" aria-labelledby="signals-h"></section>
    <section class="related" aria-labelledby="related-h" hidden></section>
    <div class="cypher-slot"></div>
    <section class="activity" aria-labelledby="activity-h"><h2 id="activity-h">Activity</h2><p class="hint">loading…</p></section>
    <div class="split">
      <section class="graph-pane" aria-labelledby="graph-h">
        <h2 id="graph-h">Investigation graph</h2>
        <p class="hint" id="graph-hint">${graphHint(graph, null)}</p>
        <label>Process <select id="pick">${processOptions(processes)}</select></label>
        <div id="graph" role="img" aria-label="investigation graph of ${graph.nodes.length} nodes"></div>
        <aside id="details" aria-live="polite"></aside>
      </section>
      <section class="timeline-pane" aria-labelledby="timeline-h">
        <h2 id="timeline-h">Threat timeline</h2>
        <p id="scope" class="hint">Every event of the story, triage changes and related audit records.</p>
        <ol id="timeline" class="timeline" aria-busy="true"></ol>
        <div id="more" class="more">loading…</div>
      </section>
    </div>`);

  const cypher = cypherPanel(root.querySelector(".cypher-slot"));
  cypher.set("story", "The story and its graph", ran);
  const message = root.querySelector(".message");
  // the story's signals, each with "benign…" (an exception with a preview); saving one
  // regroups the story, so the timeline starts again
  const signals = exceptionsPane(root.querySelector(".signals-pane"), story, announce, () => timeline.restart());
  const status = root.querySelector("#status-form");
  status.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = new FormData(status);
    await gql(`mutation($id: ID!, $s: StoryStatus!, $c: String) { setStoryStatus(id: $id, status: $s, comment: $c) { status } }`,
      { id, s: f.get("status"), c: f.get("comment") || null });
    message.textContent = "Status saved.";
    announce("Status saved");
    timeline.restart();
  });
  const note = root.querySelector("#note-form");
  note.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = new FormData(note);
    await gql(`mutation($id: ID!, $n: String!) { addStoryNote(id: $id, note: $n) { id } }`, { id, n: f.get("note") });
    note.reset();
    message.textContent = "Note added.";
    timeline.restart();
  });
  root.querySelectorAll(".exports button").forEach((b) =>
    b.addEventListener("click", () => download(id, b.dataset.format).catch((e) => { message.textContent = e.message; })));
  root.querySelectorAll(".reports button").forEach((b) =>
    b.addEventListener("click", () => downloadExport(id, b.dataset.export).catch((e) => { message.textContent = e.message; })));

  // the graph
  const started = performance.now();
  const cy = cytoscape({
    container: root.querySelector("#graph"),
    elements: elementsOf(graph.nodes, graph.edges),
    style: STYLE,
    layout: { name: "preset" },
    wheelSensitivity: 0.3,
    textureOnViewport: graph.nodes.length > 1500,
    hideEdgesOnViewport: graph.nodes.length > 1500,
    pixelRatio: graph.nodes.length > 1500 ? 1 : "auto",
  });
  cy.fit(undefined, 20);
  cy.one("render", () => {
    window.__storyline.graphDrawn = { nodes: graph.nodes.length, ms: performance.now() - started, sinceNavigation: performance.now() };
  });
  const relayout = () => {
    const nodes = cy.nodes().map((n) => ({ id: n.id(), kind: n.data("kind"), label: n.data("label"), properties: n.data("properties") }));
    const edges = cy.edges().map((e) => ({ id: e.id(), source: e.data("source"), target: e.data("target"), type: e.data("type") }));
    const positions = layout(nodes, edges);
    cy.nodes().positions((n) => positions.get(n.id()) || n.position());
  };
  const unfold = (group) => {
    const p = group.data("properties") || {};
    const members = p.members || [];
    const added = members.map((key) => ({ group: "nodes", data: { id: `Process:${key}`, kind: "Process", label: group.data("label").replace(/ x\d+$/, ""), short: short(group.data("label").replace(/ x\d+$/, "")), properties: { ...p, members: undefined, count: undefined, key } }, classes: group.classes().join(" ") }));
    const edges = [];
    group.connectedEdges().forEach((e) => members.forEach((key) => {
      const nid = `Process:${key}`;
      const source = e.data("source") === group.id() ? nid : e.data("source");
      const target = e.data("target") === group.id() ? nid : e.data("target");
      edges.push({ group: "edges", data: { id: `${e.id()}|${key}`, source, target, type: e.data("type"), count: e.data("count") } });
    }));
    cy.remove(group);
    cy.add([...added, ...edges]);
    relayout();
    announce(`Unfolded ${members.length} processes`);
  };

  // the timeline, or one process's events once a process is selected; both kept to
  // the scrubber's window when one is applied
  const list = root.querySelector("#timeline");
  const more = root.querySelector("#more");
  const scope = root.querySelector("#scope");
  const inWindow = (ts, win) => {
    const t = Date.parse(ts);
    return (!win.from || t >= Date.parse(win.from)) && (!win.to || t <= Date.parse(win.to));
  };
  const timeline = {
    processKey: null, window: null, after: null, done: false, loading: false, generation: 0,
    restart(processKey = this.processKey) {
      this.processKey = processKey; this.after = null; this.done = false; this.loading = false;
      this.generation += 1; // a page still on its way belongs to the old timeline: dropped
      list.innerHTML = "";
      more.textContent = "loading…";
      const win = this.window;
      if (processKey) {
        scope.innerHTML = String(html`Events of process <code>${processKey}</code>${win ? " in the window" : ""}.
          <button type="button" id="all">${win ? "Show every entry of the window" : "Show the whole story"}</button>`);
      } else {
        scope.textContent = win
          ? `Entries of the window only: ${describe(win)}`
          : "Every event of the story, triage changes and related audit records.";
      }
      const all = scope.querySelector("#all");
      if (all) all.addEventListener("click", () => { cy.elements().unselect(); details.innerHTML = ""; this.restart(null); });
      this.next();
    },
    async next() {
      if (this.loading || this.done) return;
      this.loading = true;
      const mine = this.generation;
      list.setAttribute("aria-busy", "true");
      const key = this.processKey;
      const win = this.window || {};
      let page;
      let items;
      try {
        if (key) {
          const { data: d, cypher: ran } = await gqlWithCypher(PROCESS_EVENTS, { key, after: this.after });
          if (mine !== this.generation) return;
          page = d.process ? d.process.events : { edges: [], pageInfo: { hasNextPage: false } };
          // a process's events have no window argument: kept here, in time order
          items = page.edges.filter((e) => inWindow(e.node.ts, win)).map((e) => eventItem(e.node));
          if (win.to && page.edges.some((e) => Date.parse(e.node.ts) > Date.parse(win.to))) page.pageInfo.hasNextPage = false;
          cypher.set("timeline", "The timeline: the selected process's events (its latest page)", ran);
        } else {
          const { data: d, cypher: ran } = await gqlWithCypher(TIMELINE, { id, after: this.after, from: win.from || null, to: win.to || null });
          if (mine !== this.generation) return;
          page = d.story.timeline;
          items = page.edges.map((e) => entryItem(e.node));
          cypher.set("timeline", "The timeline (its latest page)", ran);
        }
      } catch (error) {
        if (mine !== this.generation) return;
        this.loading = false;
        this.done = true;
        more.textContent = `The timeline could not be loaded: ${error.message}`;
        list.setAttribute("aria-busy", "false");
        return;
      }
      list.insertAdjacentHTML("beforeend", items.map(String).join(""));
      this.after = page.pageInfo.endCursor;
      this.done = !page.pageInfo.hasNextPage;
      more.textContent = !this.done ? "loading…" : list.childElementCount ? "end of the timeline" : "nothing in the timeline here";
      list.setAttribute("aria-busy", "false");
      this.loading = false;
      if (!this.done && more.getBoundingClientRect().top < window.innerHeight + 400) this.next();
    },
  };
  new IntersectionObserver((seen) => { if (seen.some((s) => s.isIntersecting)) timeline.next(); }).observe(more);

  const details = root.querySelector("#details");
  const select = async (nodeId, narrow = true) => {
    const node = cy.getElementById(nodeId);
    if (node.empty()) return;
    cy.elements().unselect();
    node.select();
    cy.animate({ center: { eles: node } }, { duration: 200 });
    if (node.data("kind") === "ProcessGroup") { unfold(node); return; }
    if (node.data("kind") !== "Process") {
      details.innerHTML = String(html`<h3>${node.data("kind")}: ${node.data("label")}</h3>${props(node.data("properties"))}`);
      return;
    }
    const key = nodeId.slice("Process:".length);
    const d = await gql(PROCESS, { key });
    const p = d.process;
    details.innerHTML = String(p ? processCard(p) : html`<p>No process ${key}.</p>`);
    if (narrow) timeline.restart(key);
  };
  cy.on("tap", "node", (event) => select(event.target.id()));
  const related = relatedStories(root.querySelector(".related"), id, cy, cypher);
  root.querySelector("#pick").addEventListener("change", (event) => event.target.value && select(event.target.value));
  list.addEventListener("click", (event) => {
    const item = event.target.closest("[data-process]");
    if (!item || event.target.closest("a")) return;
    highlight(item.dataset.process);
  });
  list.addEventListener("keydown", (event) => {
    const item = event.target.closest("[data-process]");
    if (item && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); highlight(item.dataset.process); }
  });
  const highlight = (processKey) => {
    let node = cy.getElementById(`Process:${processKey}`);
    if (node.empty()) node = cy.nodes("[kind = 'ProcessGroup']").filter((g) => (g.data("properties").members || []).includes(processKey));
    cy.elements().unselect();
    if (node.nonempty()) { node.select(); cy.animate({ center: { eles: node } }, { duration: 200 }); }
    announce(node.nonempty() ? `Process ${processKey} highlighted` : "That process is not in the graph");
  };
  // the scrubber's window: the graph of the processes alive in it, the timeline of it
  let stopped = false;
  const pick = root.querySelector("#pick");
  const applyWindow = async (win) => {
    const { data: d, cypher: ran } = await gqlWithCypher(GRAPH, { id, from: win ? win.from : null, to: win ? win.to : null });
    if (stopped) return;
    const g = (d.story && d.story.graph) || { nodes: [], edges: [], truncated: false };
    cypher.set("graph", win ? "The graph of the window" : "The graph of the whole story", ran);
    cy.elements().remove();
    cy.add(elementsOf(g.nodes, g.edges));
    related.draw();
    cy.fit(undefined, 20);
    root.querySelector("#graph-hint").innerHTML = String(graphHint(g, win));
    root.querySelector("#graph").setAttribute("aria-label", `investigation graph of ${g.nodes.length} nodes`);
    pick.innerHTML = String(processOptions(g.nodes.filter((n) => n.kind === "Process" || n.kind === "ProcessGroup")));
    details.innerHTML = "";
    timeline.window = win;
    timeline.restart(null);
    announce(win ? `${describe(win)} ${g.nodes.length} nodes in the graph.` : "The whole story again.");
  };
  const activityPane = root.querySelector(".activity");
  if (activity.error) {
    scrubber(activityPane, { bucketSeconds: 1, buckets: [] }, applyWindow);
    activityPane.querySelector(".error").textContent = `The activity could not be loaded: ${activity.error.message}`;
  } else {
    cypher.set("activity", "The activity histogram", activity.cypher);
    scrubber(activityPane, activity.data.story.activity, applyWindow);
  }

  timeline.restart(null);
  signals.load().catch((e) => { message.textContent = `The signals could not be loaded: ${e.message}`; });
  return () => { stopped = true; cy.destroy(); };
}

function graphHint(graph, win) {
  return html`${graph.nodes.length} nodes, ${graph.edges.length} edges${graph.truncated ? " (cut at the limit)" : ""}${win ? html`: the processes alive in the window` : ""}.
    Click a process to see it and narrow the timeline; click a group to unfold it.`;
}

function processOptions(processes) {
  return html`<option value="">choose a process…</option>${processes.map((n) => html`<option value="${n.id}">${n.label}</option>`)}`;
}

function props(p) {
  const entries = Object.entries(p || {}).filter(([, v]) => v !== null && v !== undefined && v !== "");
  return html`<dl class="props">${entries.map(([k, v]) => html`<dt>${k}</dt><dd>${Array.isArray(v) ? v.join(" ") : typeof v === "object" ? JSON.stringify(v) : v}</dd>`)}</dl>`;
}

function processCard(p) {
  return html`<h3>${p.exe || "unknown executable"} (pid ${p.pid ?? "unknown"})</h3>
    <p><a href="#/process/${encodeURIComponent(p.key)}">Open the process page</a></p>
    ${pivots(p.links)}
    <dl class="props">
      <dt>argv</dt><dd><code>${(p.args || []).join(" ")}</code></dd>
      <dt>user</dt><dd>${p.user ?? ""} ${p.uid !== null && p.uid !== undefined ? html`(uid ${p.uid})` : ""}${p.sessionUser ? html`, session ${p.sessionUser}` : ""}</dd>
      <dt>started</dt><dd>${when(p.startTime)}</dd><dt>exited</dt><dd>${p.exitTime ? html`${when(p.exitTime)} (code ${p.exitCode})` : "not seen"}</dd>
      <dt>host</dt><dd>${p.hostId ?? ""}${p.containerId ? html`, container ${p.containerId}` : ""}</dd>
      <dt>key</dt><dd><code>${p.key}</code></dd>
    </dl>
    <h4>Why this key</h4>
    <ul class="contexts">${(p.contexts || []).map((c) => html`<li><strong>${c.layer}</strong> <code>${c.key}</code>${c.key === p.correlationKey ? " (its correlation key)" : ""}<br>${c.reason || ""}${c.rootProcessKey && c.rootProcessKey !== p.key ? html` — rooted at <a href="#/process/${encodeURIComponent(c.rootProcessKey)}">${c.rootProcessKey}</a>` : ""}</li>`)}</ul>`;
}

function signalList(signals) {
  if (!signals || !signals.length) return "";
  return html`<ul class="signals">${signals.map((s) => html`<li>${severity(s.severity)} <strong>${s.ruleId}</strong> ${s.title}${s.tactic ? html` <span class="tactic">${s.tactic}${s.technique ? ` ${s.technique}` : ""}</span>` : ""}</li>`)}</ul>`;
}

function entryItem(e) {
  if (e.type === "TRIAGE" && e.triage) {
    const t = e.triage;
    return html`<li class="entry triage"><time datetime="${e.ts}">${when(e.ts)}</time> <span class="kind">triage</span>
      <strong>${t.actor}</strong> ${t.field}: ${t.fromValue ?? ""} → ${t.toValue ?? ""}${t.comment ? html` — ${t.comment}` : ""}</li>`;
  }
  if (e.type === "AUDIT_RECORD" && e.auditRecord) {
    const a = e.auditRecord;
    return html`<li class="entry audit"><time datetime="${e.ts}">${when(e.ts)}</time> <span class="kind">${a.source}</span>
      ${a.actor ?? ""}: ${a.action ?? ""} ${a.target ?? ""} ${a.outcome ? html`(${a.outcome})` : ""}</li>`;
  }
  const ev = e.event || {};
  const flagged = e.signals && e.signals.length;
  return html`<li class="entry event${flagged ? " flagged" : ""}" tabindex="0" data-process="${ev.processKey || ""}">
    <time datetime="${e.ts}">${when(e.ts)}</time> <span class="kind">${e.kind}</span>
    <span class="who">pid ${ev.processPid ?? "unknown"}</span> ${ev.summary || ""}
    <a class="permalink" href="#/event/${encodeURIComponent(ev.id || "")}" title="link to this event">#</a>
    ${signalList(e.signals)}
    ${e.recommendedActions && e.recommendedActions.length ? html`<ul class="actions">${e.recommendedActions.map((a) => html`<li>${a}</li>`)}</ul>` : ""}</li>`;
}

function eventItem(ev) {
  return html`<li class="entry event${ev.signalRules.length ? " flagged" : ""}" tabindex="0" data-process="${ev.processKey || ""}">
    <time datetime="${ev.ts}">${when(ev.ts)}</time> <span class="kind">${ev.kind}</span> <span class="who">pid ${ev.processPid ?? "unknown"}</span> ${ev.summary || ""}
    <a class="permalink" href="#/event/${encodeURIComponent(ev.id)}" title="link to this event">#</a>
    ${ev.signalRules.length ? html`<p class="rules">rules: ${ev.signalRules.join(", ")}</p>` : ""}</li>`;
}

