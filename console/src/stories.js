// The story list: by score, filtered by severity, status and text; live through the
// storyUpdates subscription; routine stories in a section of their own. Narrowed to an
// entity or a time window from the URL (#/stories?ip=203.0.113.9&from=...: any field
// of StoryFilter below), as search links to it.

import { Unauthorized, gqlWithCypher, subscribe } from "./api.js";
import { cypherPanel } from "./cypher.js";
import { SEVERITIES, html, mount, severity, when } from "./html.js";

const FIELDS = "id title severity score status routine suppressed hosts signalCount firstSeen lastSeen tactics rules";
const LIST = `query($f: StoryFilter) { stories(first: 200, filter: $f) { totalCount edges { node { ${FIELDS} } } } }`;
const UPDATES = `subscription($f: StoryFilter) { storyUpdates(filter: $f) { ${FIELDS} } }`;

// The StoryFilter fields the URL may set, and how the page says them.
const NARROWING = {
  text: "title words", host: "host", user: "user", rule: "rule", tactic: "tactic", technique: "technique",
  container: "container", image: "image", pod: "pod", process: "process", file: "file", ip: "IP",
  domain: "domain", from: "seen from", to: "seen until",
};

// The URL's narrowing as [field, value] pairs, in the order given (unknown names and
// empty values ignored; a name given twice keeps its last value).
function narrowingOf(query) {
  const pairs = [...new URLSearchParams(query || "")].filter(([k, v]) => k in NARROWING && v !== "");
  return [...new Map(pairs)];
}

function linkWithout(pairs, field) {
  const rest = pairs.filter(([k]) => k !== field);
  return rest.length ? `#/stories?${new URLSearchParams(rest)}` : "#/";
}

export async function storiesView(root, announce, query = "") {
  const state = { stories: new Map(), fresh: new Set(), text: "", severities: new Set(), status: "", suppressed: false };
  const narrowing = narrowingOf(query);
  mount(root, html`
    <h1>Stories</h1>
    ${narrowing.length ? html`<p class="narrowed">Only the stories with
      ${narrowing.map(([k, v]) => html`<span class="chip">${NARROWING[k]} <code>${v}</code>
        <a href="${linkWithout(narrowing, k)}" aria-label="clear the ${NARROWING[k]} filter">clear</a></span>`)}
      <a href="#/">Show every story</a></p>` : ""}
    <form class="filters" aria-label="filter the stories">
      <fieldset><legend>Severity</legend>
        ${SEVERITIES.map((s) => html`<label><input type="checkbox" name="severity" value="${s}"> ${s}</label>`)}
      </fieldset>
      <label>Status
        <select name="status">
          <option value="">any</option><option value="OPEN">open</option>
          <option value="UNDER_REVIEW">under review</option><option value="ARCHIVED">archived</option>
        </select></label>
      <label>Text <input type="search" name="text" placeholder="title, host, rule, tactic"></label>
      <label title="stories whose every signal an exception suppressed"><input type="checkbox" name="suppressed"> Suppressed stories only</label>
    </form>
    <p class="count" aria-live="polite"></p>
    <p class="error" role="alert"></p>
    <div class="cypher-slot"></div>
    <section aria-labelledby="attacks-h"><h2 id="attacks-h">Stories by score</h2>
      <table class="stories"><thead><tr><th scope="col">Severity</th><th scope="col">Score</th>
      <th scope="col">Story</th><th scope="col">Status</th><th scope="col">Hosts</th>
      <th scope="col">Signals</th><th scope="col">First seen</th></tr></thead><tbody id="attacks"></tbody></table>
    </section>
    <section aria-labelledby="routine-h"><h2 id="routine-h">Routine activity</h2>
      <p class="hint">Low-grade activity that repeats: sessions with the same layer, host, user and rules share one story.</p>
      <table class="stories routine"><thead><tr><th scope="col">Severity</th><th scope="col">Score</th>
      <th scope="col">Story</th><th scope="col">Status</th><th scope="col">Hosts</th>
      <th scope="col">Signals</th><th scope="col">First seen</th></tr></thead><tbody id="routine"></tbody></table>
    </section>`);
  const form = root.querySelector("form");
  const error = root.querySelector(".error");
  const cypher = cypherPanel(root.querySelector(".cypher-slot"));

  const filter = () => {
    const f = Object.fromEntries(narrowing);
    if (state.severities.size) f.severity = [...state.severities].map((s) => s.toUpperCase());
    if (state.status) f.status = [state.status];
    if (state.suppressed) f.suppressed = true;
    return f;
  };
  const matches = (s) => {
    // a story an exception just emptied arrives live too, flagged: it leaves the default list
    if (Boolean(s.suppressed) !== state.suppressed) return false;
    if (state.severities.size && !state.severities.has(String(s.severity).toLowerCase())) return false;
    if (state.status && s.status !== state.status) return false;
    if (!state.text) return true;
    const hay = [s.title, ...(s.hosts || []), ...(s.rules || []), ...(s.tactics || [])].join(" ").toLowerCase();
    return state.text.split(/\s+/).every((word) => hay.includes(word));
  };
  const row = (s) => html`<tr class="${state.fresh.has(s.id) ? "fresh" : ""}" data-id="${s.id}">
      <td>${severity(s.severity)}</td><td>${Math.round(s.score)}</td>
      <td><a href="#/story/${encodeURIComponent(s.id)}">${s.title}</a></td>
      <td>${String(s.status).toLowerCase().replace("_", " ")}</td><td>${(s.hosts || []).join(", ")}</td>
      <td>${s.signalCount}</td><td>${when(s.firstSeen)}</td></tr>`;
  const draw = () => {
    const shown = [...state.stories.values()].filter(matches).sort((a, b) => b.score - a.score || a.id.localeCompare(b.id));
    mount(root.querySelector("#attacks"), shown.filter((s) => !s.routine).map(row));
    mount(root.querySelector("#routine"), shown.filter((s) => s.routine).map(row));
    root.querySelector(".count").textContent = `${shown.length} of ${state.stories.size} stories`;
  };
  // a refused filter (a bad time, say) is said on the page, which stays usable
  const load = async () => {
    try {
      const { data, cypher: ran } = await gqlWithCypher(LIST, { f: filter() });
      error.textContent = "";
      state.stories = new Map(data.stories.edges.map((e) => [e.node.id, e.node]));
      cypher.set("list", "The story list", ran);
    } catch (e) {
      if (e instanceof Unauthorized) throw e;
      error.textContent = e.message;
      state.stories = new Map();
    }
    draw();
  };
  form.addEventListener("input", (event) => {
    const data = new FormData(form);
    state.text = String(data.get("text") || "").trim().toLowerCase();
    state.status = String(data.get("status") || "");
    state.severities = new Set(data.getAll("severity").map(String));
    state.suppressed = data.get("suppressed") === "on";
    if (event.target.name === "text") draw();
    else load().catch((e) => { error.textContent = e.message; });
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  await load();
  const narrowed = narrowing.length ? Object.fromEntries(narrowing) : null;
  const stop = subscribe(UPDATES, { f: narrowed }, (data) => {
    const s = data.storyUpdates;
    const before = state.stories.get(s.id);
    const changed = !before || ["severity", "status", "signalCount", "title"].some((k) => before[k] !== s[k]);
    state.stories.set(s.id, s);
    if (!changed) return;
    state.fresh.add(s.id);
    const known = Boolean(before);
    if (!known && matches(s)) announce(`New story: ${s.title} (${String(s.severity).toLowerCase()})`);
    draw();
  }, (message) => { if (!error.textContent) error.textContent = `Live updates: ${message}`; });
  return stop;
}
