// A story's time scrubber: its events per time bucket as a small histogram (a bucket
// with signals has a triangle above its bar and says so in its title), and the window
// to look at: dragged over the histogram, or typed in two UTC fields and applied with a
// button; "Clear" goes back to the whole story. The window in effect is said in words.

import { html, mount, when } from "./html.js";

const MARK = 10; // viewBox units: a signal mark's width, and the narrowest bucket
const WIDE = 600; // the histogram is at least this wide: few buckets get wide bars
const HEIGHT = 64;
const TOP = 12; // signal marks above this line, bars below

const epoch = (ts) => Date.parse(ts);
const iso = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");

// <input type="datetime-local"> values, read as UTC, to RFC 3339 and back, to the
// second: a window's end holds the whole of its last second (the API's nanoseconds)
const toField = (ts) => (ts ? new Date(epoch(ts)).toISOString().slice(0, 19) : "");
const second = (value) => (value.length === 16 ? `${value}:00` : value.slice(0, 19));
const fromField = (value) => (value ? `${second(value)}Z` : null);
const untilField = (value) => (value ? `${second(value)}.999999999Z` : null);

function width(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

export function describe(win) {
  if (!win) return "Whole story.";
  if (win.from && win.to) return `Window: ${when(win.from)} to ${when(win.to)} (UTC).`;
  return win.from ? `Window: from ${when(win.from)} (UTC).` : `Window: until ${when(win.to)} (UTC).`;
}

function bar(b, i, most, slot) {
  const x = i * slot;
  const mid = x + slot / 2;
  const h = b.events ? Math.max(2, (b.events / most) * (HEIGHT - TOP - 2)) : 0;
  const said = `${when(b.start)}: ${b.events} event${b.events === 1 ? "" : "s"}${b.signals ? `, ${b.signals} signal${b.signals === 1 ? "" : "s"}` : ""}`;
  return html`<g class="bucket${b.signals ? " signalled" : ""}" data-start="${b.start}"><title>${said}</title>
    <rect class="slot" x="${x}" y="0" width="${slot}" height="${HEIGHT}"></rect>
    ${h ? html`<rect class="events" x="${x + 1}" y="${HEIGHT - h}" width="${slot - 2}" height="${h}"></rect>` : ""}
    ${b.signals ? html`<polygon class="mark" points="${mid - MARK / 2 + 1},${TOP - 2} ${mid},1 ${mid + MARK / 2 - 1},${TOP - 2}"></polygon>` : ""}</g>`;
}

// Draws the scrubber into `root` for `activity` ({ bucketSeconds, buckets }); calls
// onWindow({ from, to }) or onWindow(null) to apply a window or clear it (a promise:
// what it rejects with is said on the page and the window in effect stays).
export function scrubber(root, activity, onWindow) {
  const buckets = activity.buckets || [];
  const n = buckets.length;
  const step = activity.bucketSeconds * 1000;
  const start = n ? epoch(buckets[0].start) : 0;
  const end = n ? epoch(buckets[n - 1].start) + step : 0;
  const most = Math.max(1, ...buckets.map((b) => b.events));
  const slot = n ? Math.max(MARK, WIDE / n) : MARK; // viewBox units per bucket
  const signalled = buckets.filter((b) => b.signals).length;
  const span = n ? html` from ${when(buckets[0].start)} to ${when(iso(end))}` : "";
  mount(root, html`
    <h2 id="activity-h">Activity</h2>
    ${n ? html`<p class="hint">Events per ${width(activity.bucketSeconds)}${span};
        <span aria-hidden="true">▲</span> marks the ${signalled} bucket${signalled === 1 ? "" : "s"} with signals.
        Drag over the bars to look at a window of time, or type one below (UTC, to the second, both
        ends included).</p>
      <svg class="histogram" viewBox="0 0 ${n * slot} ${HEIGHT}" preserveAspectRatio="none" role="img"
        aria-label="events per ${width(activity.bucketSeconds)}${span}, ${signalled} buckets with signals">
        ${buckets.map((b, i) => bar(b, i, most, slot))}
        <rect class="selection" x="0" y="0" width="0" height="${HEIGHT}"></rect></svg>`
      : html`<p class="hint">No events recorded for this story.</p>`}
    <form class="window" aria-label="time window">
      <label>From <input type="datetime-local" name="from" step="1" min="${toField(n ? buckets[0].start : "")}" max="${toField(n ? iso(end) : "")}"></label>
      <label>To <input type="datetime-local" name="to" step="1" min="${toField(n ? buckets[0].start : "")}" max="${toField(n ? iso(end) : "")}"></label>
      <span class="hint">UTC</span>
      <button type="submit">Apply</button> <button type="button" class="clear">Clear</button>
    </form>
    <p class="window-now" aria-live="polite">${describe(null)}</p>
    <p class="error" role="alert"></p>`);

  const form = root.querySelector("form.window");
  const now = root.querySelector(".window-now");
  const error = root.querySelector(".error");
  const svg = root.querySelector("svg.histogram");
  const selection = root.querySelector(".selection");
  let current = null;

  // the selection rectangle over buckets lo..hi, or over the window in effect
  const mark = (lo, hi) => {
    if (!selection) return;
    selection.setAttribute("x", String(lo * slot));
    selection.setAttribute("width", String(hi < lo ? 0 : (hi - lo + 1) * slot));
  };
  const markWindow = (win) => {
    if (!win || !n) return mark(0, -1);
    const at = (ts, fallback) => (ts ? ((epoch(ts) - start) / (end - start)) * n : fallback);
    const lo = Math.max(0, at(win.from, 0));
    const hi = Math.min(n, at(win.to, n));
    selection.setAttribute("x", String(lo * slot));
    selection.setAttribute("width", String(Math.max(0, hi - lo) * slot));
  };
  const buttons = [...form.querySelectorAll("button")];
  const apply = async (win) => {
    error.textContent = "";
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await onWindow(win);
      current = win;
      form.elements.from.value = toField(win && win.from);
      form.elements.to.value = toField(win && win.to);
    } catch (e) {
      error.textContent = e.message;
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      now.textContent = describe(current);
      markWindow(current);
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const from = fromField(form.elements.from.value);
    const to = untilField(form.elements.to.value);
    if (from && to && epoch(from) > epoch(to)) {
      error.textContent = "The window starts after it ends.";
      return;
    }
    apply(from || to ? { from, to } : null);
  });
  form.querySelector(".clear").addEventListener("click", () => apply(null));

  if (svg) {
    const indexAt = (x) => {
      const box = svg.getBoundingClientRect();
      return Math.min(n - 1, Math.max(0, Math.floor(((x - box.left) / box.width) * n)));
    };
    let drag = null;
    svg.addEventListener("pointerdown", (event) => {
      drag = { a: indexAt(event.clientX) };
      drag.b = drag.a;
      svg.setPointerCapture(event.pointerId);
      mark(drag.a, drag.b);
      event.preventDefault();
    });
    svg.addEventListener("pointermove", (event) => {
      if (!drag) return;
      drag.b = indexAt(event.clientX);
      mark(Math.min(drag.a, drag.b), Math.max(drag.a, drag.b));
    });
    svg.addEventListener("pointerup", () => {
      if (!drag) return;
      const lo = Math.min(drag.a, drag.b);
      const hi = Math.max(drag.a, drag.b);
      drag = null;
      // both ends are included: the window ends with the last second of bucket hi
      apply({ from: buckets[lo].start, to: untilField(toField(iso(epoch(buckets[hi].start) + step - 1000))) });
    });
    svg.addEventListener("pointercancel", () => { drag = null; markWindow(current); });
  }
}
