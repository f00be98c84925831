// Related stories: the other stories whose processes touched an address, domain or
// file content holding an indicator this story's signals matched (`story.related`).
// A list with links under the story's header, and in the graph one node per related
// story joined to this story's nodes that hold the shared indicators.

import { gqlWithCypher } from "./api.js";
import { html, severity } from "./html.js";
import { placeRelated } from "./layout.js";

const RELATED = `query($id: ID!) { story(id: $id) { related {
  story { id title severity hosts } nodes indicators { id type value feeds } } } }`;

const STYLE = [
  ["node[kind = 'RelatedStory']", { shape: "round-octagon", "background-color": "#f2b8b0", width: 34, height: 34, "border-width": 2, "border-color": "#8a1c12", "text-wrap": "ellipsis", "text-max-width": 160 }],
  ["edge[type = 'RELATED']", { width: 2, "line-style": "dashed", "line-color": "#c0392b", "target-arrow-color": "#c0392b" }],
];

function short(label) {
  return label.length > 28 ? `${label.slice(0, 27)}…` : label;
}

function indicatorText(i) {
  return `${i.type.toLowerCase()} ${i.value} (${i.feeds.join(", ")})`;
}

export function relatedStories(pane, id, cy, cypher) {
  let found = [];
  window.__storyline.related = undefined; // for tests: set once this story's answer is in
  window.__storyline.relatedDrawn = undefined;
  STYLE.forEach(([selector, style]) => cy.style().selector(selector).style(style));
  cy.style().update();

  // the related stories as graph nodes, joined to the nodes of this graph holding the
  // shared indicators; a related story none of whose nodes is drawn (a window, a cut
  // graph) stays in the list only
  const draw = () => {
    if (cy.destroyed()) return; // the analyst left the story before the answer came
    cy.remove("node[kind = 'RelatedStory']");
    const nodes = [];
    const edges = [];
    for (const r of found) {
      const via = r.nodes.filter((n) => cy.getElementById(n).nonempty());
      if (!via.length) continue;
      const nid = `RelatedStory:${r.story.id}`;
      const label = `${r.story.title}`;
      const where = short(`story on ${r.story.hosts.join(", ")}`);
      nodes.push({ group: "nodes", data: { id: nid, kind: "RelatedStory", label, short: where, properties: { story: r.story.id, hosts: r.story.hosts, severity: r.story.severity.toLowerCase(), indicators: r.indicators.map(indicatorText) } } });
      via.forEach((n) => edges.push({ group: "edges", data: { id: `RELATED:${n}|${r.story.id}`, source: n, target: nid, type: "RELATED" } }));
    }
    if (!nodes.length) {
      window.__storyline.relatedDrawn = { nodes: [], edges: [] };
      return;
    }
    const position = new Map(cy.nodes().map((n) => [n.id(), n.position()]));
    const plain = (e) => ({ id: e.data.id, kind: e.data.kind, source: e.data.source, target: e.data.target, type: e.data.type });
    placeRelated(position, nodes.map(plain), edges.map(plain));
    cy.add([...nodes.map((n) => ({ ...n, position: position.get(n.data.id) })), ...edges]);
    window.__storyline.relatedDrawn = { nodes: nodes.map((n) => n.data.id), edges: edges.map((e) => [e.data.source, e.data.target]) };
  };

  // a related story's node shows its story, with a link, in the details pane
  cy.on("tap", "node[kind = 'RelatedStory']", (event) => {
    const p = event.target.data("properties");
    const details = document.querySelector("#details");
    if (!details) return;
    details.innerHTML = String(html`<h3>Related story</h3><p>${severity(p.severity)} <a href="#/story/${encodeURIComponent(p.story)}">${event.target.data("label")}</a></p>
      <p>on ${p.hosts.join(", ")}; shares ${p.indicators.join("; ")}</p>`);
  });

  const load = async () => {
    let answer;
    try {
      answer = await gqlWithCypher(RELATED, { id });
    } catch (error) {
      pane.hidden = false;
      pane.innerHTML = String(html`<h2 id="related-h">Related stories</h2><p class="error">The related stories could not be loaded: ${error.message}</p>`);
      return;
    }
    cypher.set("related", "The related stories", answer.cypher);
    found = (answer.data.story && answer.data.story.related) || [];
    window.__storyline.related = found.length;
    if (!found.length) {
      pane.hidden = true;
      window.__storyline.relatedDrawn = { nodes: [], edges: [] };
      return;
    }
    pane.hidden = false;
    pane.innerHTML = String(html`<h2 id="related-h">Related stories (${found.length})</h2>
      <p class="hint">Their processes touched an address, domain or file this story's signals matched in an indicator feed.</p>
      <ul class="related-list">${found.map((r) => html`<li data-id="${r.story.id}">${severity(r.story.severity)}
        <a href="#/story/${encodeURIComponent(r.story.id)}">${r.story.title}</a> <span class="hint">on ${r.story.hosts.join(", ")}</span>
        <ul class="shared">${r.indicators.map((i) => html`<li><span class="kind">${i.type.toLowerCase()}</span> <code>${i.value}</code> <span class="hint">${i.feeds.join(", ")}</span></li>`)}</ul></li>`)}</ul>`);
    draw();
    if (!cy.destroyed()) cy.fit(undefined, 20);
  };
  load();
  return { draw };
}
