// A story's signals, and "this is benign": each signal opens a small form for an
// exception (the rule plus conditions pre-filled from the signal, owner, reason,
// expiry) whose preview over a past window must be seen before it can be saved.
// Suppressed signals are shown only with "Show suppressed", each with the exception
// and reason behind it.

import { gql } from "./api.js";
import { html, mount, severity, when } from "./html.js";

const SIGNALS = `query($id: ID!, $all: Boolean!) { story(id: $id) { id suppressed signalCount
  suppressedSignalCount signals(includeSuppressed: $all) { id ruleId title severity ts compromises
  processPid processExe hostId suppressed suppressedBy { id reason owner } } } }`;
const DRAFT = `query($s: ID!) { exceptionDraft(signalId: $s) { ruleId ruleTitle
  conditions { process user host container image path } } }`;
const PREVIEW = `query($rule: String!, $c: ExceptionConditionsInput!, $from: String, $to: String) {
  previewException(ruleId: $rule, conditions: $c, from: $from, to: $to) { from to scanned matched
  suppressed alreadySuppressed complete storiesChanged storiesHidden
  affectedStories { story { id title } signalsBefore signalsAfter hidden } } }`;
const CREATE = `mutation($rule: String!, $c: ExceptionConditionsInput!, $reason: String!, $owner: String,
  $expires: String) { createException(ruleId: $rule, conditions: $c, reason: $reason, owner: $owner,
  expiresAt: $expires) { id suppressedCount } }`;
const CONDITIONS = {
  process: "Process (executable)", user: "User", host: "Host", container: "Container",
  image: "Image", path: "Path",
};
const DAY = 86400000;

// RFC 3339 to the second, as the form shows and takes it
function iso(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function exceptionsPane(root, story, announce, changed) {
  mount(root, html`<h2 id="signals-h">Signals</h2>
    <p class="hint">Say a signal is benign to suppress it, and those like it, with an exception: they are kept, not counted.</p>
    <p class="suppressed-story" hidden></p>
    <label class="toggle"><input type="checkbox" id="show-suppressed"> Show suppressed <span class="suppressed-count"></span></label>
    <ul class="signal-list" id="signal-list" aria-busy="true"></ul>
    <div id="exception-slot"></div>
    <p class="exception-message" role="status"></p>`);
  const list = root.querySelector("#signal-list");
  const toggle = root.querySelector("#show-suppressed");
  const slot = root.querySelector("#exception-slot");
  const message = root.querySelector(".exception-message");
  const banner = root.querySelector(".suppressed-story");

  const load = async () => {
    list.setAttribute("aria-busy", "true");
    const d = await gql(SIGNALS, { id: story.id, all: toggle.checked });
    const s = d.story;
    if (!s) {
      mount(list, html`<li>This story's signals now belong to other stories. <a href="#/">All stories</a></li>`);
      list.setAttribute("aria-busy", "false");
      return;
    }
    root.querySelector("#signals-h").textContent = `Signals (${s.suppressed ? 0 : s.signalCount})`;
    root.querySelector(".suppressed-count").textContent = `(${s.suppressedSignalCount})`;
    banner.hidden = !s.suppressed;
    banner.textContent = s.suppressed
      ? "Exceptions suppress every signal of this story: it is hidden from the story list (Suppressed stories only shows it)."
      : "";
    mount(list, s.signals.length ? s.signals.map(item) : html`<li class="hint">${toggle.checked ? "No signal." : "No signal counts: show the suppressed ones."}</li>`);
    list.setAttribute("aria-busy", "false");
  };
  toggle.addEventListener("change", () => load().catch((e) => { message.textContent = e.message; }));
  list.addEventListener("click", (event) => {
    const button = event.target.closest("button.benign");
    if (button) open(button.dataset.signal).catch((e) => { message.textContent = e.message; });
  });

  const open = async (signalId) => {
    const d = await gql(DRAFT, { s: signalId });
    const draft = d.exceptionDraft;
    const end = Date.parse(story.lastSeen) || Date.now();
    mount(slot, html`<form id="exception-form" aria-labelledby="exception-h">
      <h3 id="exception-h">Benign: an exception to <code>${draft.ruleId}</code>${draft.ruleTitle ? ` (${draft.ruleTitle})` : ""}</h3>
      <p class="hint">Each condition holds this signal's value: clear one to drop it, end a value with * for a prefix, one value per line for several.</p>
      <fieldset class="conditions"><legend>When the signal's</legend>
        ${Object.entries(CONDITIONS).map(([name, label]) => html`<label>${label}
          <textarea name="${name}" rows="1" maxlength="1024">${draft.conditions[name].join("\n")}</textarea></label>`)}
      </fieldset>
      <label>Reason <input name="reason" required maxlength="2000" placeholder="why these are benign"></label>
      <label>Owner <input name="owner" maxlength="200" placeholder="you"></label>
      <label>Expires (UTC) <input name="expires" value="${iso(Date.now() + 90 * DAY)}"></label>
      <fieldset class="window"><legend>Preview over (UTC)</legend>
        <label>From <input name="from" value="${iso(end - 30 * DAY)}"></label>
        <label>To <input name="to" value="${iso(end + 1000)}"></label></fieldset>
      <p><button type="button" class="preview">Preview</button>
        <button type="submit" class="save" disabled>Save exception</button>
        <button type="button" class="cancel">Cancel</button></p>
      <div class="exception-preview" aria-live="polite"></div>
      <p class="error" role="alert"></p></form>`);
    const form = slot.querySelector("form");
    const error = form.querySelector(".error");
    const save = form.querySelector(".save");
    const shown = form.querySelector(".exception-preview");
    form.querySelector("textarea").focus();
    const conditions = () => {
      const f = new FormData(form);
      return Object.fromEntries(Object.keys(CONDITIONS).map((n) => {
        const values = String(f.get(n) || "").split("\n").map((v) => v.trim()).filter(Boolean);
        return [n, values.length ? values : null];
      }));
    };
    const asked = () => {
      const f = new FormData(form);
      return { rule: draft.ruleId, c: conditions(), from: String(f.get("from") || "") || null, to: String(f.get("to") || "") || null };
    };
    let previewed = null; // what the preview shown was of: saving needs it to be the form's
    form.addEventListener("input", (event) => {
      if (!["reason", "owner", "expires"].includes(event.target.name)) save.disabled = JSON.stringify(asked()) !== previewed;
    });
    form.querySelector(".cancel").addEventListener("click", () => { mount(slot, ""); });
    form.querySelector(".preview").addEventListener("click", async () => {
      error.textContent = "";
      const variables = asked();
      try {
        const p = (await gql(PREVIEW, variables)).previewException;
        previewed = JSON.stringify(variables);
        save.disabled = false;
        mount(shown, html`<p class="preview-counts">From ${when(p.from)} to ${when(p.to)}, it would suppress
          <strong class="would-suppress">${p.suppressed}</strong> of the ${p.scanned} signals of the rule
          (${p.matched} match${p.alreadySuppressed ? `, ${p.alreadySuppressed} already suppressed` : ""})${p.complete ? "" : ", counting the first ones only"};
          ${p.storiesChanged} ${p.storiesChanged === 1 ? "story changes" : "stories change"}, ${p.storiesHidden} would be hidden.</p>
          ${p.affectedStories.length ? html`<ul class="impacts">${p.affectedStories.map((s) => html`<li>${s.story ? html`<a href="#/story/${encodeURIComponent(s.story.id)}">${s.story.title}</a>` : "a story"}:
            ${s.signalsBefore} → ${s.signalsAfter} signals${s.hidden ? " (hidden)" : ""}</li>`)}</ul>` : ""}`);
        announce(`The exception would suppress ${p.suppressed} signals`);
      } catch (e) {
        error.textContent = e.message;
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (save.disabled) return;
      error.textContent = "";
      const f = new FormData(form);
      const v = asked();
      try {
        const made = (await gql(CREATE, { rule: v.rule, c: v.c, reason: String(f.get("reason") || ""),
          owner: String(f.get("owner") || "") || null, expires: String(f.get("expires") || "") || null })).createException;
        mount(slot, "");
        message.textContent = `Exception ${made.id} saved: ${made.suppressedCount} signals suppressed.`;
        announce(`Exception saved: ${made.suppressedCount} signals suppressed`);
        await load();
        changed();
      } catch (e) {
        error.textContent = e.message;
      }
    });
  };
  return { load };
}

function item(s) {
  const by = s.suppressedBy || [];
  return html`<li class="signal${s.suppressed ? " suppressed" : ""}" data-signal="${s.id}" data-compromises="${s.compromises ? "true" : "false"}">
    ${severity(s.severity)} <strong>${s.ruleId}</strong> ${s.title}
    <span class="who">pid ${s.processPid ?? "unknown"} ${s.processExe || ""} on ${s.hostId || "?"}</span>
    <time datetime="${s.ts}">${when(s.ts)}</time>
    ${s.suppressed
      ? html`<span class="badge">suppressed</span> ${by.map((x) => html`<span class="by">by <code>${x.id}</code> (${x.owner}): ${x.reason}</span>`)}`
      : html`<button type="button" class="benign" data-signal="${s.id}">benign…</button>`}</li>`;
}
