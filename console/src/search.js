// Search, from the box in the header on every page: hits as you type (after a pause,
// from two characters) in a list under the box, each labelled with its kind and its
// story count, with links to its first stories, to its process page, and to the story
// list narrowed to it. Enter opens every hit at #/search/<words>, paged with "More".

import { Unauthorized, gql } from "./api.js";
import { html, mount, severity } from "./html.js";

const SEARCH = `query($q: String!, $after: String) { search(query: $q, first: 20, after: $after) {
  edges { node { kind key title detail stories { totalCount nodes { id title severity } } } }
  pageInfo { hasNextPage endCursor } } }`;

const PAUSE_MS = 250;
const MIN_CHARS = 2;

// The story-list filter (StoryFilter field) each kind of hit narrows to.
const FILTER_OF = {
  HOST: "host", USER: "user", CONTAINER: "container", IMAGE: "image", POD: "pod", PROCESS: "process",
  FILE: "file", IP: "ip", DOMAIN: "domain", RULE: "rule", TACTIC: "tactic", TECHNIQUE: "technique",
};

export function searchLink(words) {
  return `#/search/${encodeURIComponent(words)}`;
}

export function storiesLink(field, value) {
  return `#/stories?${new URLSearchParams({ [field]: value })}`;
}

const storyLink = (id) => `#/story/${encodeURIComponent(id)}`;

// One hit: its kind in words, what it is, how many stories it is in, its links.
function hitItem(h, shownStories) {
  const kind = h.kind.toLowerCase();
  const count = h.stories.totalCount;
  const filter = FILTER_OF[h.kind];
  let title = html`<strong class="hit-title">${h.title}</strong>`;
  if (h.kind === "STORY") title = html`<a class="hit-title" href="${storyLink(h.key)}">${h.title}</a>`;
  if (h.kind === "PROCESS") title = html`<a class="hit-title" href="#/process/${encodeURIComponent(h.key)}" title="open the process page">${h.title}</a>`;
  const stories = h.kind === "STORY" ? [] : h.stories.nodes.slice(0, shownStories);
  return html`<li class="hit" data-kind="${h.kind}" data-key="${h.key}">
    <span class="kind">${kind}</span> ${title}${h.detail ? html` <span class="detail">${h.detail}</span>` : ""}
    <span class="hit-count">${h.kind === "STORY" ? "" : `in ${count} ${count === 1 ? "story" : "stories"}`}</span>
    ${filter && count ? html`<a class="narrow" href="${storiesLink(filter, h.key)}">stories with this ${kind}</a>` : ""}
    ${stories.length ? html`<ul class="hit-stories">${stories.map((s) => html`<li>${severity(s.severity)}
      <a href="${storyLink(s.id)}">${s.title}</a></li>`)}</ul>` : ""}</li>`;
}

function failure(error) {
  return error instanceof Unauthorized ? "Search needs an API token: reload the page to enter one." : error.message;
}

// The box in the header: wires `form` (holding input#search and #search-results).
export function installSearch(form) {
  const input = form.querySelector("#search");
  const box = form.querySelector("#search-results");
  let timer = null;
  let asked = 0; // the latest search sent; answers to older ones are dropped
  let closing = false; // focus coming back to the box on Escape does not reopen the list
  const isOpen = () => !box.hidden;
  const open = () => { box.hidden = false; input.setAttribute("aria-expanded", "true"); };
  const close = () => { box.hidden = true; input.setAttribute("aria-expanded", "false"); };
  // closing by leaving (Escape, a click elsewhere, a new page) also drops the search
  // still waiting or on its way, which would open the list again when it answers
  const dismiss = () => { clearTimeout(timer); asked++; close(); };

  const run = async (words) => {
    const mine = ++asked;
    mount(box, html`<p class="hint">Searching…</p>`);
    open();
    try {
      const { search } = await gql(SEARCH, { q: words, after: null });
      if (mine !== asked) return;
      const edges = search.edges;
      mount(box, edges.length
        ? html`<ul class="hits">${edges.map((e) => hitItem(e.node, 3))}</ul>
          <p class="all"><a href="${searchLink(words)}">${search.pageInfo.hasNextPage ? "More hits" : "These hits"} on a page of their own</a></p>`
        : html`<p class="hint">Nothing matches <q>${words}</q>.</p>`);
    } catch (error) {
      if (mine !== asked) return;
      mount(box, html`<p class="error" role="alert">${failure(error)}</p>`);
    }
  };
  const links = () => [...box.querySelectorAll("a")];

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const words = input.value.trim();
    if (words.length < MIN_CHARS) { asked++; close(); return; }
    timer = setTimeout(() => run(words), PAUSE_MS);
  });
  input.addEventListener("focus", () => {
    if (!closing && input.value.trim().length >= MIN_CHARS && box.childElementCount) open();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    asked++;
    const words = input.value.trim();
    if (!words) return;
    close();
    const target = searchLink(words);
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent("hashchange"));
    else location.hash = target;
  });
  form.addEventListener("keydown", (event) => {
    if (!isOpen()) return;
    if (event.key === "Escape") {
      event.preventDefault();
      dismiss();
      closing = true;
      input.focus();
      closing = false;
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const all = links();
      if (!all.length) return;
      event.preventDefault();
      const at = all.indexOf(document.activeElement);
      const step = event.key === "ArrowDown" ? 1 : -1;
      const next = at + step;
      if (next < 0) input.focus();
      else all[Math.min(next, all.length - 1)].focus();
    }
  });
  // leaving the box closes the list: tabbing away, or a click elsewhere on the page
  form.addEventListener("focusout", (event) => {
    if (event.relatedTarget && !form.contains(event.relatedTarget)) dismiss();
  });
  document.addEventListener("pointerdown", (event) => { if (!form.contains(event.target)) dismiss(); });
  window.addEventListener("hashchange", dismiss);
}

// The page of every hit: #/search/<words>.
export async function searchView(root, announce, words) {
  const input = document.querySelector("#search");
  if (input && input.value.trim() !== words) input.value = words;
  mount(root, html`
    <nav class="crumbs"><a href="#/">Stories</a> › search</nav>
    <h1>Search: ${words}</h1>
    <p class="count" aria-live="polite"></p>
    <p class="error" role="alert"></p>
    <ol class="hits results"></ol>
    <p><button type="button" id="more-hits" hidden>More</button></p>`);
  const list = root.querySelector(".hits");
  const count = root.querySelector(".count");
  const error = root.querySelector(".error");
  const more = root.querySelector("#more-hits");
  let after = null;
  let shown = 0;
  const next = async () => {
    more.disabled = true;
    error.textContent = "";
    try {
      const { search } = await gql(SEARCH, { q: words, after });
      list.insertAdjacentHTML("beforeend", search.edges.map((e) => String(hitItem(e.node, 5))).join(""));
      shown += search.edges.length;
      after = search.pageInfo.endCursor;
      more.hidden = !search.pageInfo.hasNextPage;
      count.textContent = shown
        ? `${shown} hit${shown === 1 ? "" : "s"}${search.pageInfo.hasNextPage ? ", more to load" : ""}`
        : "Nothing matches.";
      return search.edges.length;
    } catch (e) {
      if (e instanceof Unauthorized && !shown) throw e;
      error.textContent = failure(e);
      return 0;
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", async () => {
    const added = await next();
    if (added) announce(`${added} more hits`);
  });
  await next();
  return () => {};
}
