// The story list: by score, filtered by severity, status and text; live through the
// storyUpdates subscription; routine stories in a section of their own.

import { gql, subscribe } from "./api.js";
import { SEVERITIES, html, mount, severity, when } from "./html.js";

const FIELDS = "id title severity score status routine hosts signalCount firstSeen lastSeen tactics rules";
const LIST = `query($f: StoryFilter) { stories(first: 200, filter: $f) { totalCount edges { node { ${FIELDS} } } } }`;
const UPDATES = `subscription { storyUpdates { ${FIELDS} } }`;

export async function storiesView(root, announce) {
  const state = { stories: new Map(), fresh: new Set(), text: "", severities: new Set(), status: "" };
  mount(root, html`
    <h1>Stories</h1>
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
    </form>
    <p class="count" aria-live="polite"></p>
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

  const filter = () => {
    const f = {};
    if (state.severities.size) f.severity = [...state.severities].map((s) => s.toUpperCase());
    if (state.status) f.status = [state.status];
    return f;
  };
  const matches = (s) => {
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
  const load = async () => {
    const data = await gql(LIST, { f: filter() });
    state.stories = new Map(data.stories.edges.map((e) => [e.node.id, e.node]));
    draw();
  };
  form.addEventListener("input", (event) => {
    const data = new FormData(form);
    state.text = String(data.get("text") || "").trim().toLowerCase();
    state.status = String(data.get("status") || "");
    state.severities = new Set(data.getAll("severity").map(String));
    if (event.target.name === "text") draw();
    else load();
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  await load();
  const stop = subscribe(UPDATES, {}, (data) => {
    const s = data.storyUpdates;
    const before = state.stories.get(s.id);
    const changed = !before || ["severity", "status", "signalCount", "title"].some((k) => before[k] !== s[k]);
    state.stories.set(s.id, s);
    if (!changed) return;
    state.fresh.add(s.id);
    const known = Boolean(before);
    if (!known && matches(s)) announce(`New story: ${s.title} (${String(s.severity).toLowerCase()})`);
    draw();
  });
  return stop;
}
