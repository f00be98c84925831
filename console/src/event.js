// An event: what it was, why it has its correlation key, and later versions of it.

import { gql } from "./api.js";
import { html, mount, pivots, when } from "./html.js";

const QUERY = `query($id: ID!) { event(id: $id) {
  id kind ts source summary hostId correlationKey processKey processExe processPid
  links { title url }
  explain { layer contextClass rootProcessKey rootProcessExe reason }
  versions { digest receivedAt ts summary fields } } }`;

export async function eventView(root, announce, id) {
  const { event: e } = await gql(QUERY, { id });
  if (!e) {
    mount(root, html`<h1>No such event</h1><p><code>${id}</code>. <a href="#/">All stories</a></p>`);
    return () => {};
  }
  mount(root, html`
    <nav class="crumbs"><a href="#/">Stories</a> › event</nav>
    <h1>${e.kind} <small>${when(e.ts)}</small></h1>
    <p>${e.summary || ""}</p>
    ${pivots(e.links)}
    <dl class="props">
      <dt>id</dt><dd><code>${e.id}</code></dd><dt>source</dt><dd>${e.source ?? ""}</dd><dt>host</dt><dd>${e.hostId ?? ""}</dd>
      <dt>process</dt><dd>${e.processKey ? html`<a href="#/process/${encodeURIComponent(e.processKey)}">${e.processExe || "unknown executable"} (pid ${e.processPid ?? "unknown"})</a>` : "unknown"}</dd>
      <dt>correlation key</dt><dd><code>${e.correlationKey ?? ""}</code></dd>
    </dl>
    ${e.explain ? html`<section><h2>Why this key</h2><p><strong>${e.explain.layer}</strong> (${e.explain.contextClass}) context rooted at
      ${e.explain.rootProcessKey ? html`<a href="#/process/${encodeURIComponent(e.explain.rootProcessKey)}">${e.explain.rootProcessExe || e.explain.rootProcessKey}</a>` : "an unknown process"}: ${e.explain.reason || ""}</p></section>` : ""}
    ${e.versions.length ? html`<section><h2>Later versions that disagreed</h2><ul>${e.versions.map((v) => html`<li>${when(v.receivedAt)}: ${v.summary || ""} (differs in ${v.fields.join(", ")})</li>`)}</ul></section>` : ""}`);
  announce(`Event ${e.kind}`);
  return () => {};
}
