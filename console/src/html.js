// Building markup safely: every value goes through escape(); html`` joins the pieces.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escape(value) {
  return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export class Markup {
  constructor(text) {
    this.text = text;
  }
  toString() {
    return this.text;
  }
}

function piece(value) {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(piece).join("");
  return escape(value);
}

export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => {
    out += piece(value) + strings[i + 1];
  });
  return new Markup(out);
}

export const SEVERITIES = ["critical", "high", "medium", "low", "info"];

// Severity is said in words and shown with a shape, never by colour alone.
export function severity(value) {
  const name = String(value || "info").toLowerCase();
  const marks = { critical: "!!", high: "!", medium: "~", low: "-", info: "i" };
  return html`<span class="sev sev-${name}" title="severity ${name}"><span aria-hidden="true">${marks[name] || "?"}</span> ${name}</span>`;
}

export function when(ts) {
  if (!ts) return "";
  return String(ts).replace("T", " ").replace(/\.(\d{3})\d*Z$/, ".$1Z");
}

export function mount(root, markup) {
  root.innerHTML = Array.isArray(markup) ? markup.map(String).join("") : String(markup);
}

// Pivot links out to other telemetry (the API's `links { title url }`, from the
// service's STORYLINE_LINKS_FILE); only http(s) ones, each opening a new tab.
export function pivots(links) {
  const safe = (links || []).filter((l) => /^https?:\/\//.test(l.url));
  if (!safe.length) return "";
  return html`<ul class="pivots" aria-label="links to other telemetry">${safe.map((l) => html`<li><a href="${l.url}" target="_blank" rel="noopener noreferrer">${l.title}</a></li>`)}</ul>`;
}
