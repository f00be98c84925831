// The Cypher behind a view: a <details> listing the statements the view's last load
// ran (the API's `extensions.cypher`, asked for with the `Storyline-Cypher: 1` header),
// each as its file under cypher/ and its parameters as a `:params` line to paste into
// Neo4j Browser before the file's text (shown too when the API sends it, as `text`).

import { gql } from "./api.js";
import { html, mount } from "./html.js";

// Where Neo4j Browser is (about.neo4jBrowserUrl), asked once; null when the service
// does not know (a remote Neo4j without STORYLINE_NEO4J_BROWSER_URL).
let browser;
function browserUrl() {
  browser ??= gql("{ about { neo4jBrowserUrl } }")
    .then((d) => d.about.neo4jBrowserUrl)
    .catch(() => null);
  return browser;
}

// Neo4j Browser takes one command per URL: one link sets the parameters, one puts the
// statement in the editor (https://neo4j.com/docs/browser/operations/browser-url-parameters).
function browserLinks(url, statement) {
  if (!url || !/^https?:\/\//.test(url)) return "";
  const at = (cmd, arg) => `${url}?cmd=${cmd}&arg=${encodeURIComponent(arg)}`;
  return html` <span class="browser-links">in Neo4j Browser:
    <a href="${at("params", literal(statement.parameters || {}))}" target="_blank"
       rel="noopener noreferrer">1. set its parameters</a>
    ${statement.text ? html`<a href="${at("edit", statement.text)}" target="_blank"
       rel="noopener noreferrer">2. open it</a>` : ""}</span>`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

// A parameter value as a Cypher literal: JSON, except that map keys are bare (or in
// backticks), since Cypher reads no "quoted" keys. Strings, numbers, booleans and null
// are written as JSON writes them, which Cypher reads the same.
export function literal(value) {
  if (Array.isArray(value)) return `[${value.map(literal).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const key = (k) => (IDENTIFIER.test(k) ? k : `\`${k.replace(/`/g, "``")}\``);
    return `{${Object.entries(value).map(([k, v]) => `${key(k)}: ${literal(v)}`).join(", ")}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

export function paramsLine(parameters) {
  return `:params ${literal(parameters || {})}`;
}

// Mounts the disclosure into `root` (where it is placed is the view's choice) and
// returns a setter: set(part, label, statements) replaces what one part of the view
// (the list, the graph, the timeline...) last ran; parts keep the order they came in.
export function cypherPanel(root) {
  const parts = new Map();
  mount(root, html`<details class="cypher"><summary>Cypher</summary>
    <p class="hint">What this view's last load ran in Neo4j: paste a <code>:params</code> line into
      Neo4j Browser, then the text of its file.</p><div class="cypher-parts"></div></details>`);
  const body = root.querySelector(".cypher-parts");
  const summary = root.querySelector("summary");
  let url = null;
  const draw = () => {
    const count = [...parts.values()].reduce((n, p) => n + p.statements.length, 0);
    summary.textContent = `Cypher (${count} statement${count === 1 ? "" : "s"})`;
    mount(body, [...parts.values()].map(({ label, statements }) => html`<section>
      <h3>${label}</h3>
      ${statements.length ? html`<ol>${statements.map((s) => html`<li><code class="file">${s.file}</code>${s.cut ? " (lists cut to their first 1,000 items)" : ""}${browserLinks(url, s)}
        <pre>${paramsLine(s.parameters)}</pre>
        ${s.text ? html`<details><summary>its text</summary><pre>${s.text}</pre></details>` : ""}</li>`)}</ol>`
      : html`<p class="hint">No statement.</p>`}</section>`));
  };
  draw();
  browserUrl().then((found) => {
    url = found;
    if (url) draw();
  });
  return {
    set(part, label, statements) {
      parts.set(part, { label, statements: statements || [] });
      draw();
    },
  };
}
