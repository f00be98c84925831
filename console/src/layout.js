// Positions for the investigation graph, computed in one pass (no force simulation):
// a story's graph is a forest of processes (one parent each), so a tidy tree drawn
// top-down places 5,000 nodes in milliseconds. Places (hosts, pods, containers),
// audit records and findings sit in a band above the tree; what the processes
// touched (files, endpoints, domains) in a band below, under the processes that
// touched them. Stories related through an indicator sit in a last band, under the
// address, domain or file that links them.

const COLUMN = 70;
const ROW = 90;
const PROCESS = new Set(["Process", "ProcessGroup"]);
const PLACE = new Set(["Host", "Pod", "Container", "AuditRecord", "Finding"]);
const RELATED = "RelatedStory";

export function layout(nodes, edges) {
  const parent = new Map();
  const children = new Map();
  for (const e of edges) {
    if (e.type !== "CHILD_OF") continue;
    if (!parent.has(e.source)) parent.set(e.source, e.target);
  }
  const processes = nodes.filter((n) => PROCESS.has(n.kind));
  const ids = new Set(processes.map((n) => n.id));
  for (const n of processes) {
    const p = parent.get(n.id);
    if (p && ids.has(p)) {
      if (!children.has(p)) children.set(p, []);
      children.get(p).push(n.id);
    }
  }
  const byStart = (a, b) => String(a).localeCompare(String(b));
  const roots = processes.filter((n) => !ids.has(parent.get(n.id))).map((n) => n.id).sort(byStart);
  const position = new Map();
  let slot = 0;
  let depthMax = 0;
  // iterative post-order: x of a parent is the middle of its children
  for (const root of roots) {
    const stack = [[root, 0, false]];
    while (stack.length) {
      const [id, depth, done] = stack.pop();
      const kids = (children.get(id) || []).slice().sort(byStart);
      if (!done && kids.length) {
        stack.push([id, depth, true]);
        for (let i = kids.length - 1; i >= 0; i -= 1) stack.push([kids[i], depth + 1, false]);
        continue;
      }
      depthMax = Math.max(depthMax, depth);
      const x = kids.length
        ? (position.get(kids[0]).x + position.get(kids[kids.length - 1]).x) / 2
        : (slot++) * COLUMN;
      position.set(id, { x, y: (depth + 1) * ROW });
    }
  }
  // what was touched: under the mean x of the processes touching it, rows as needed
  const touchedBy = new Map();
  const linked = new Map();
  for (const e of edges) {
    const ends = [e.source, e.target];
    const proc = ends.find((id) => position.has(id));
    const other = ends.find((id) => id !== proc);
    if (!proc || !other) continue;
    if (!linked.has(other)) linked.set(other, []);
    linked.get(other).push(position.get(proc).x);
    if (e.type !== "CHILD_OF") touchedBy.set(other, true);
  }
  const mean = (xs) => (xs && xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const bands = { below: [], above: [] };
  for (const n of nodes) {
    if (position.has(n.id) || n.kind === RELATED) continue;
    (PLACE.has(n.kind) ? bands.above : bands.below).push(n);
  }
  const place = (list, baseY, direction) => {
    const rows = [];
    list
      .map((n) => ({ id: n.id, x: mean(linked.get(n.id)) }))
      .sort((a, b) => a.x - b.x || byStart(a.id, b.id))
      .forEach(({ id, x }) => {
        let row = 0;
        while (rows[row] !== undefined && rows[row] > x - COLUMN) row += 1;
        const placed = Math.max(x, rows[row] === undefined ? x : rows[row] + COLUMN);
        rows[row] = placed;
        position.set(id, { x: placed, y: baseY + direction * row * (ROW / 2) });
      });
  };
  place(bands.above, 0, -1);
  place(bands.below, (depthMax + 2) * ROW, 1);
  placeRelated(position, nodes, edges);
  return position;
}

// Related stories (kind RelatedStory) under the nodes they link to, one band below
// everything placed; `position` holds the other nodes' places and gets theirs.
export function placeRelated(position, nodes, edges) {
  const related = nodes.filter((n) => n.kind === RELATED);
  if (!related.length) return;
  const ids = new Set(related.map((n) => n.id));
  let lowest = 0;
  for (const [id, p] of position) if (!ids.has(id)) lowest = Math.max(lowest, p.y);
  const xs = new Map(related.map((n) => [n.id, []]));
  for (const e of edges) {
    if (ids.has(e.target) && position.has(e.source)) xs.get(e.target).push(position.get(e.source).x);
  }
  const taken = [];
  related
    .map((n) => ({ id: n.id, x: xs.get(n.id).length ? xs.get(n.id).reduce((a, b) => a + b, 0) / xs.get(n.id).length : 0 }))
    .sort((a, b) => a.x - b.x || a.id.localeCompare(b.id))
    .forEach(({ id, x }) => {
      let row = 0;
      while (taken[row] !== undefined && taken[row] > x - 2 * COLUMN) row += 1;
      const placed = Math.max(x, taken[row] === undefined ? x : taken[row] + 2 * COLUMN);
      taken[row] = placed;
      position.set(id, { x: placed, y: lowest + ROW * (1.5 + row / 2) });
    });
}
