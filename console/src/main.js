// The console: a hash router over its views (stories, a story, a process, an event,
// search hits), the search box of the header, a token prompt when the API asks for
// one, and a live region for announcements.

import { Unauthorized, setToken, token } from "./api.js";
import { eventView } from "./event.js";
import { html, mount } from "./html.js";
import { processView } from "./process.js";
import { installSearch, searchView } from "./search.js";
import { storiesView } from "./stories.js";
import { storyView } from "./story.js";

window.__storyline = { ready: false };

// [pattern, view, raw]: a view gets the pattern's groups URL-decoded, unless raw (a
// query string, which the view decodes itself)
const ROUTES = [
  [/^#?\/?$/, storiesView],
  [/^#\/stories(?:\?(.*))?$/, storiesView, true],
  [/^#\/story\/(.+)$/, storyView],
  [/^#\/process\/(.+)$/, processView],
  [/^#\/event\/(.+)$/, eventView],
  [/^#\/search\/(.*)$/, searchView],
];

const main = document.querySelector("main");
const live = document.querySelector("#announce");
let cleanup = () => {};
let generation = 0;

function announce(text) {
  live.textContent = "";
  setTimeout(() => { live.textContent = text; }, 20);
}

function askForToken(reason) {
  mount(main, html`<h1>API token</h1><p>${reason}</p>
    <form id="token-form"><label>Token <input type="password" name="token" autocomplete="off" required></label>
    <button type="submit">Use it</button></form>
    <p class="hint">It is kept for this tab only. Ask your administrator for one (<code>storyline tokens add NAME --scope read</code>).</p>`);
  const form = main.querySelector("#token-form");
  form.querySelector("input").focus();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(String(new FormData(form).get("token")).trim());
    render();
  });
}

async function render() {
  const mine = ++generation;
  cleanup();
  cleanup = () => {};
  window.__storyline.ready = false;
  const hash = location.hash || "#/";
  for (const [pattern, view, raw] of ROUTES) {
    const m = hash.match(pattern);
    if (!m) continue;
    mount(main, html`<p class="loading">Loading…</p>`);
    try {
      const groups = m.slice(1).map((g) => (raw ? g || "" : decodeURIComponent(g)));
      const stop = await view(main, announce, ...groups);
      if (mine !== generation) { stop(); return; }
      cleanup = stop;
      window.__storyline.ready = true;
      const heading = main.querySelector("h1");
      if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: true }); }
    } catch (error) {
      if (error instanceof Unauthorized) {
        const had = token();
        setToken(null);
        askForToken(had ? "That token was refused: enter another." : "This Storyline needs an API token.");
      } else {
        mount(main, html`<h1>Something went wrong</h1><p role="alert">${error.message}</p><p><a href="#/">All stories</a></p>`);
      }
      window.__storyline.ready = true;
    }
    return;
  }
  mount(main, html`<h1>Not found</h1><p><a href="#/">All stories</a></p>`);
  window.__storyline.ready = true;
}

installSearch(document.querySelector("#search-form"));
window.addEventListener("hashchange", render);
render();
