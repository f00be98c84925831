// The console talks to the API as any client does: GraphQL over HTTP and over a
// WebSocket (graphql-transport-ws), REST for the exports. The token, when one is
// needed, is asked once and kept for the tab (sessionStorage), never in a URL
// the address bar shows.

const TOKEN_KEY = "storyline.token";

export class Unauthorized extends Error {}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const t = token();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

async function post(query, variables, extra = {}) {
  const answer = await fetch("/graphql", {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", ...extra }),
    body: JSON.stringify({ query, variables }),
  });
  if (answer.status === 401) throw new Unauthorized("a token is needed");
  const body = await answer.json();
  if (body.errors && body.errors.length) {
    const error = new Error(body.errors[0].message);
    error.code = body.errors[0].extensions && body.errors[0].extensions.code;
    throw error;
  }
  return body;
}

export async function gql(query, variables = {}) {
  return (await post(query, variables)).data;
}

// The same, asking for the Cypher behind the answer (header `Storyline-Cypher: 1`):
// returns the data and `cypher`, the statements the request ran, each
// { file, parameters, cut }, in order.
export async function gqlWithCypher(query, variables = {}) {
  const body = await post(query, variables, { "Storyline-Cypher": "1" });
  return { data: body.data, cypher: (body.extensions && body.extensions.cypher) || [] };
}

// Subscribes over graphql-transport-ws; reconnects with backoff; returns a stop function.
export function subscribe(query, variables, onData, onError) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const t = token();
  const url = `${scheme}//${location.host}/graphql` + (t ? `?access_token=${encodeURIComponent(t)}` : "");
  let socket = null;
  let stopped = false;
  let wait = 1000;
  const open = () => {
    socket = new WebSocket(url, "graphql-transport-ws");
    socket.onopen = () => socket.send(JSON.stringify({ type: "connection_init", payload: {} }));
    socket.onmessage = (message) => {
      const m = JSON.parse(message.data);
      if (m.type === "connection_ack") {
        wait = 1000;
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
      } else if (m.type === "next") {
        if (m.payload.errors) onError && onError(m.payload.errors[0].message);
        else onData(m.payload.data);
      } else if (m.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (m.type === "error") {
        onError && onError(m.payload && m.payload[0] ? m.payload[0].message : "subscription refused");
      }
    };
    socket.onclose = () => {
      if (!stopped) setTimeout(open, (wait = Math.min(wait * 2, 30000)));
    };
  };
  open();
  return () => {
    stopped = true;
    if (socket) socket.close();
  };
}

// Downloads a story's graph export: fetched with the token, saved from a blob.
export async function download(storyId, format) {
  const path = `/api/v1/stories/${encodeURIComponent(storyId)}/graph?format=${format}`;
  await save(path, `story-${storyId}.${format === "graphml" ? "graphml" : "json"}`);
}

// Downloads a story's incident report (Markdown) or its OCSF Detection Findings (JSON).
export async function downloadExport(storyId, what) {
  const base = `/api/v1/stories/${encodeURIComponent(storyId)}`;
  if (what === "report") await save(`${base}/report.md`, `story-${storyId}.md`);
  else await save(`${base}/ocsf`, `story-${storyId}.ocsf.json`);
}

async function save(path, filename) {
  const answer = await fetch(path, { headers: headers() });
  if (answer.status === 401) throw new Unauthorized("a token is needed");
  if (!answer.ok) throw new Error(`export failed: ${answer.status}`);
  const blob = await answer.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
}
