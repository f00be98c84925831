// A process: its lineage, children, contexts and events, at a URL of its own.

import { gql } from "./api.js";
import { html, mount, pivots, when } from "./html.js";

const QUERY = `query($key: ID!, $after: String) { process(key: $key) {
  key pid ppid exe args cwd user uid tty hostId containerId startTime exitTime exitCode sessionUser
  correlationKey placeholder links { title url }
  ancestors { key pid exe args }
  children(first: 100) { edges { node { key pid exe args } } }
  contexts { layer key rootProcessKey reason }
  events(first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id kind ts summary signalRules } } } } }`;

const link = (p) => html`<a href="#/process/${encodeURIComponent(p.key)}">${p.exe || "unknown executable"} (pid ${p.pid ?? "unknown"})</a> <code>${(p.args || []).join(" ")}</code>`;

export async function processView(root, announce, key) {
  const { process: p } = await gql(QUERY, { key, after: null });
  if (!p) {
    mount(root, html`<h1>No such process</h1><p><code>${key}</code> is not in the graph. <a href="#/">All stories</a></p>`);
    return () => {};
  }
  mount(root, html`
    <nav class="crumbs"><a href="#/">Stories</a> › process</nav>
    <h1>${p.exe || "unknown executable"} <small>pid ${p.pid ?? "unknown"}</small></h1>
    ${pivots(p.links)}
    <dl class="props">
      <dt>argv</dt><dd><code>${(p.args || []).join(" ")}</code></dd>
      <dt>user</dt><dd>${p.user ?? ""} ${p.uid ?? ""}</dd><dt>cwd</dt><dd>${p.cwd ?? ""}</dd>
      <dt>started</dt><dd>${when(p.startTime)}</dd><dt>exited</dt><dd>${p.exitTime ? html`${when(p.exitTime)} (code ${p.exitCode})` : "not seen"}</dd>
      <dt>host</dt><dd>${p.hostId ?? ""}</dd><dt>container</dt><dd>${p.containerId ?? ""}</dd>
      <dt>key</dt><dd><code>${p.key}</code>${p.placeholder ? " (named by others, not seen itself)" : ""}</dd>
      <dt>correlation key</dt><dd><code>${p.correlationKey ?? ""}</code></dd>
    </dl>
    <section><h2>Lineage</h2><ol class="lineage" reversed>${[...p.ancestors].reverse().map((a) => html`<li>${link(a)}</li>`)}<li aria-current="true"><strong>this process</strong></li></ol></section>
    <section><h2>Children</h2><ul>${p.children.edges.map((e) => html`<li>${link(e.node)}</li>`)}</ul></section>
    <section><h2>Execution contexts</h2><ul class="contexts">${p.contexts.map((c) => html`<li><strong>${c.layer}</strong> <code>${c.key}</code> — ${c.reason || ""}</li>`)}</ul></section>
    <section><h2>Events</h2><ol class="timeline">${p.events.edges.map((e) => html`<li class="entry${e.node.signalRules.length ? " flagged" : ""}"><time>${when(e.node.ts)}</time> <span class="kind">${e.node.kind}</span> ${e.node.summary || ""} <a href="#/event/${encodeURIComponent(e.node.id)}">#</a>${e.node.signalRules.length ? html` <span class="rules">${e.node.signalRules.join(", ")}</span>` : ""}</li>`)}</ol>
      ${p.events.pageInfo.hasNextPage ? html`<p class="hint">The first 100 events.</p>` : ""}</section>`);
  announce(`Process ${p.pid ?? ""} ${p.exe || ""}`);
  return () => {};
}
