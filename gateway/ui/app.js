// Cube's dashboard (docs/dashboard.md): one page, hash routes, plain DOM. Everything it shows
// comes from the gateway's own REST routes (GET /tasks, /nodes, /services, ...) with the
// caller's bearer token; GET /events (Server-Sent Events) tells it when to read them again.
// Where the gateway has no /events (404), it reads them again every 2 s instead.
"use strict";

const STATES = ["Pending", "Scheduled", "Running", "Completed", "Failed"];
const POLL_MS = 2000;          // snapshot refresh without /events
const STATS_MS = 10000;        // with /events: node stats are not events, so read them this often
const RECONNECT_MS = 1000;     // after the event stream ends or fails
const REFRESH_DEBOUNCE_MS = 50;  // many events in a burst cause one refresh
const LOGS_IDLE_MS = 250;      // as `cube-client logs -f`: ask again this long after nothing new
const MAX_EVENTS = 50;         // recent events kept for the overview
const TOKEN_KEY = "cube-token";

const model = { tasks: [], nodes: [], services: [], events: [], loaded: false };
let view = null;  // the mounted view: {update()} and an optional unmount()

// ---------------------------------------------------------------- DOM helpers
// el("td", {class: "num"}, "text", child...): text always goes in as text, never as HTML.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
function $(sel) { return document.querySelector(sel); }
function stateName(n) { return STATES[n] || String(n); }
function badge(text) { return el("span", { class: "badge " + text }, text); }
function taskLink(t) { return el("a", { href: "#/tasks/" + encodeURIComponent(t.ID) }, t.Name || t.ID); }
function nodeLink(name) {
  return name ? el("a", { href: "#/nodes/" + encodeURIComponent(name) }, name) : el("span", { class: "muted" }, "-");
}
function serviceLink(name) { return el("a", { href: "#/services/" + encodeURIComponent(name) }, name); }
function size(bytes) {
  if (!bytes) return "0";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
  return (i ? bytes.toFixed(1) : bytes) + " " + units[i];
}
function time(text) { return text ? text.replace("T", " ").replace(/\.\d+Z$/, "Z") : ""; }
function showError(text) {
  const box = $("#error");
  box.hidden = !text;
  box.textContent = text || "";
}

// ---------------------------------------------------------------- API and the token
function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
function authHeaders(extra) {
  const h = Object.assign({}, extra || {});
  if (token()) h.Authorization = "Bearer " + token();
  return h;
}

// One prompt at a time; every call that got a 401 waits for it and tries again.
let tokenWaiters = null;
function askForToken(problem) {
  if (!tokenWaiters) {
    tokenWaiters = [];
    const p = $("#token-problem");
    p.hidden = !problem;
    p.textContent = problem || "";
    $("#token-prompt").hidden = false;
    $("#token-input").focus();
  }
  return new Promise((resolve) => tokenWaiters.push(resolve));
}
function saveToken() {
  const value = $("#token-input").value.trim();
  if (!value) return;
  sessionStorage.setItem(TOKEN_KEY, value);
  $("#token-input").value = "";
  $("#token-prompt").hidden = true;
  const waiters = tokenWaiters || [];
  tokenWaiters = null;
  waiters.forEach((w) => w());
}

// fetch() with the token; asks for a token on 401 and repeats the call. Resolves to the
// Response (any status but 401).
async function call(path, options) {
  for (;;) {
    const opts = Object.assign({}, options || {});
    opts.headers = authHeaders(opts.headers);
    const r = await fetch(path, opts);
    if (r.status !== 401) return r;
    let message = "";
    try { message = (await r.json()).error.message; } catch (e) { /* not JSON */ }
    if (token()) sessionStorage.removeItem(TOKEN_KEY);
    await askForToken(message);
  }
}
// GET path as JSON; throws an Error carrying the gateway's message otherwise.
async function getJson(path) {
  const r = await call(path);
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    const err = new Error((body && body.error && body.error.message) || "HTTP " + r.status);
    err.status = r.status;
    throw err;
  }
  return body;
}

// ---------------------------------------------------------------- snapshots and live updates
let refreshing = null;
let refreshAgain = false;
// Reads /tasks, /nodes and /services again, records what changed as events when no feed
// reports them, and updates the view. Calls during a refresh cause one more afterwards.
async function refresh() {
  if (refreshing) { refreshAgain = true; return refreshing; }
  refreshing = (async () => {
    try {
      const [tasks, nodes, services] = await Promise.all([
        getJson("/tasks"), getJson("/nodes"),
        getJson("/services").catch((e) => { if (e.status === 404) return []; throw e; })]);
      if (model.loaded && live.mode !== "events") noteChanges(tasks, nodes);
      model.tasks = tasks || [];
      model.nodes = nodes || [];
      model.services = services || [];
      model.loaded = true;
      showError("");
    } catch (e) {
      showError("Cannot read the cluster: " + e.message);
    }
    if (view) await view.update();
  })();
  await refreshing;
  refreshing = null;
  if (refreshAgain) { refreshAgain = false; return refresh(); }
}
let refreshTimer = null;
function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => { refreshTimer = null; refresh(); }, REFRESH_DEBOUNCE_MS);
}

function addEvent(e) {
  model.events.unshift(e);
  if (model.events.length > MAX_EVENTS) model.events.length = MAX_EVENTS;
}
// Without the feed: what changed between two snapshots, in the feed's shape.
function noteChanges(tasks, nodes) {
  const now = new Date().toISOString();
  const before = new Map(model.tasks.map((t) => [t.ID, t]));
  for (const t of tasks || []) {
    const old = before.get(t.ID);
    if (!old || old.State !== t.State)
      addEvent({ Type: "task", Time: now, Task: { ID: t.ID, Name: t.Name, State: stateName(t.State),
        PreviousState: old ? stateName(old.State) : "", Node: t.Node, Reason: t.Reason } });
  }
  const nodesBefore = new Map(model.nodes.map((n) => [n.ID, n]));
  for (const n of nodes || []) {
    const old = nodesBefore.get(n.ID);
    if (!old || old.State !== n.State)
      addEvent({ Type: "node", Time: now, Node: { Name: n.Name, State: n.State, PreviousState: old ? old.State : "" } });
  }
}

// The event feed: GET /events read with fetch() (EventSource cannot send the bearer token),
// resumed with Last-Event-ID after a break.
const live = { mode: "connecting", lastId: "", pollTimer: null, statsTimer: null };
function setLiveMode(mode) {
  live.mode = mode;
  const badgeEl = $("#live");
  badgeEl.className = "live " + mode;
  badgeEl.textContent = { events: "live", polling: "refreshing every 2 s", connecting: "connecting" }[mode];
}
function startPolling() {
  setLiveMode("polling");
  if (!live.pollTimer) live.pollTimer = setInterval(refresh, POLL_MS);
}
async function followEvents() {
  for (;;) {
    let r;
    try {
      r = await call("/events", { headers: Object.assign({ Accept: "text/event-stream" },
        live.lastId ? { "Last-Event-ID": live.lastId } : {}) });
    } catch (e) {
      setLiveMode("connecting");
      await new Promise((res) => setTimeout(res, RECONNECT_MS));
      continue;
    }
    if (r.status === 404 || !r.ok || !r.body) {
      startPolling();  // this gateway has no feed (404), or no room for another stream (503)
      return;
    }
    if (!live.statsTimer) live.statsTimer = setInterval(() => { if (live.mode === "events") refresh(); }, STATS_MS);
    setLiveMode("events");
    await refresh();  // whatever happened while not connected
    try {
      await readStream(r.body.getReader());
    } catch (e) { /* the connection broke: reconnect */ }
    setLiveMode("connecting");
    await new Promise((res) => setTimeout(res, RECONNECT_MS));
  }
}
// Splits the SSE stream into events (blank-line separated "field: value" lines).
async function readStream(reader) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      onSseBlock(block);
    }
  }
}
function onSseBlock(block) {
  let type = "message", data = "", id = null;
  for (const line of block.split(/\r?\n/)) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "data") data += (data ? "\n" : "") + value;
    else if (field === "id") id = value;
  }
  if (id !== null) live.lastId = id;
  if (type === "reset") {
    // The feed lost our place: the snapshots are the truth again.
    model.events = [];
    refreshSoon();
    return;
  }
  if (!data) return;
  try { addEvent(JSON.parse(data)); } catch (e) { return; }
  refreshSoon();
}

// ---------------------------------------------------------------- shared pieces of views
function eventText(e) {
  if (e.Type === "task" && e.Task)
    return ["task ", e.Task.Name || e.Task.ID, ": ", e.Task.PreviousState ? e.Task.PreviousState + " \u2192 " : "",
      e.Task.State, e.Task.Node ? " on " + e.Task.Node : "", e.Task.Reason ? " (" + e.Task.Reason + ")" : ""].join("");
  if (e.Type === "node" && e.Node)
    return "node " + e.Node.Name + ": " + (e.Node.PreviousState ? e.Node.PreviousState + " \u2192 " : "") + e.Node.State;
  if (e.Type === "service" && e.Service)
    return "service " + e.Service.Name + ": " + e.Service.Action + (e.Service.Message ? " (" + e.Service.Message + ")" : "");
  return e.Type || "event";
}
function eventList() {
  if (!model.events.length) return el("p", { class: "muted" }, "No changes seen since this page opened.");
  return el("ul", { class: "events", id: "events" },
    model.events.map((e) => el("li", { "data-type": e.Type }, el("time", {}, time(e.Time)), eventText(e))));
}
// The CSP allows no inline style attributes; a width set through the CSSOM is not one.
function meter(name, used, total, cls) {
  const pct = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 0;
  const fill = el("span");
  fill.style.width = pct + "%";
  return [el("div", { class: "meter-name" }, name),
    el("div", { class: "bar " + (cls || ""), title: pct + "%" }, fill, el("label", {}, pct + "%"))];
}
function nodeMeters(n) {
  const s = n.Stats;
  const parts = [];
  if (s) {
    parts.push(meter("CPU used " + s.CPUUsed.toFixed(2) + " / " + s.CPUTotal + " cores", s.CPUUsed, s.CPUTotal));
    parts.push(meter("Memory used " + size(s.MemoryUsed) + " / " + size(s.MemoryTotal), s.MemoryUsed, s.MemoryTotal));
    parts.push(meter("Disk used " + size(s.DiskUsed) + " / " + size(s.DiskTotal), s.DiskUsed, s.DiskTotal));
  } else {
    parts.push(el("p", { class: "muted" }, "No stats sample yet."));
  }
  const a = n.Allocated || {};
  parts.push(meter("CPU allocated " + (a.CPU || 0) + " / " + n.CPU + " cores", a.CPU || 0, n.CPU, "alloc"));
  parts.push(meter("Memory allocated " + size(a.Memory) + " / " + size(n.Memory), a.Memory || 0, n.Memory, "alloc"));
  parts.push(meter("Disk allocated " + size(a.Disk) + " / " + size(n.Disk), a.Disk || 0, n.Disk, "alloc"));
  return parts;
}
function tasksTable(tasks, id) {
  const rows = tasks.map((t) => el("tr", { "data-task": t.ID, "data-state": stateName(t.State) },
    el("td", {}, taskLink(t)),
    el("td", { class: "state" }, badge(stateName(t.State))),
    el("td", {}, nodeLink(t.Node)),
    el("td", {}, t.Service ? serviceLink(t.Service) : ""),
    el("td", { class: "mono" }, (t.Cmd || []).join(" ") || t.Image || ""),
    el("td", { class: "muted" }, t.Reason || "")));
  return el("table", { id: id || "tasks" },
    el("thead", {}, el("tr", {}, ["Name", "State", "Node", "Service", "Command / image", "Reason"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No tasks."))));
}
// Swaps in a freshly rendered part only when it differs: a part that did not change keeps its
// elements, so a click or a text selection in it is not lost to a refresh.
function replace(id, node) {
  const old = document.getElementById(id);
  if (old && !old.isEqualNode(node)) old.replaceWith(node);
}

// ---------------------------------------------------------------- views
const views = {
  overview() {
    const main = $("#main");
    main.replaceChildren(el("h1", {}, "Overview"), el("div", { id: "overview" }));
    return { update() {
      const counts = STATES.map((s, i) => el("div", { class: "count", "data-state": s },
        el("b", {}, model.tasks.filter((t) => t.State === i).length), el("a", { href: "#/tasks?state=" + s }, s)));
      const cards = model.nodes.map((n) => el("div", { class: "card", "data-node": n.Name, "data-state": n.State },
        el("h3", {}, nodeLink(n.Name), el("span", { class: "state" }, badge(n.State))),
        el("div", { class: "muted" }, n.Running + " running \u00b7 " + (n.Drivers || []).join(", ")),
        nodeMeters(n)));
      replace("overview", el("div", { id: "overview" },
        el("h2", {}, "Nodes"),
        cards.length ? el("div", { class: "cards", id: "nodes" }, cards) : el("p", { class: "muted" }, "No agent has joined."),
        el("h2", {}, "Tasks by state"), el("div", { class: "counts", id: "counts" }, counts),
        el("h2", {}, "Recent events"), eventList()));
    } };
  },

  tasks(params) {
    const main = $("#main");
    const f = { state: params.get("state") || "", node: params.get("node") || "", name: params.get("name") || "" };
    const onFilter = () => {
      f.state = $("#filter-state").value;
      f.node = $("#filter-node").value;
      f.name = $("#filter-name").value;
      const q = new URLSearchParams(Object.entries(f).filter(([, v]) => v)).toString();
      history.replaceState(null, "", "#/tasks" + (q ? "?" + q : ""));
      v.update();
    };
    main.replaceChildren(el("h1", {}, "Tasks"),
      el("div", { class: "filters" },
        el("select", { id: "filter-state", onchange: onFilter, "aria-label": "State" },
          el("option", { value: "" }, "Any state"), STATES.map((s) => el("option", { value: s, selected: s === f.state }, s))),
        el("input", { id: "filter-node", placeholder: "Node", value: f.node, oninput: onFilter, "aria-label": "Node" }),
        el("input", { id: "filter-name", placeholder: "Name contains", value: f.name, oninput: onFilter, "aria-label": "Name" })),
      el("table", { id: "tasks" }));
    const v = { update() {
      const shown = model.tasks.filter((t) =>
        (!f.state || stateName(t.State) === f.state) &&
        (!f.node || (t.Node || "").includes(f.node)) &&
        (!f.name || (t.Name || "").includes(f.name) || t.ID.startsWith(f.name)));
      replace("tasks", tasksTable(shown));
    } };
    return v;
  },

  task(params, id) {
    const main = $("#main");
    const logs = el("pre", { class: "logs", id: "logs" });
    const stop = el("button", { id: "stop", class: "danger", onclick: () => stopTask(id, stop) }, "Stop");
    main.replaceChildren(el("h1", {}, "Task ", el("span", { class: "mono" }, id)),
      el("div", { class: "actions" }, stop, el("span", { id: "stop-result", class: "muted" })),
      el("div", { id: "task" }), el("h2", {}, "Logs"), logs);
    const follower = followLogs(id, logs);
    return {
      async update() {
        let t;
        try { t = await getJson("/tasks/" + encodeURIComponent(id)); } catch (e) {
          replace("task", el("div", { id: "task" }, el("p", { class: "problem" }, e.message)));
          return;
        }
        stop.disabled = t.DesiredState === 3 || t.State >= 3;
        const bindings = [];
        for (const [port, list] of Object.entries(t.PortBindings || {}))
          for (const b of list || []) {
            const shown = (b.HostIp || "*") + ":" + b.HostPort;
            // A link only for a plain port number: the page's host, that port.
            const link = /^\d{1,5}$/.test(String(b.HostPort))
              ? el("a", { href: location.protocol + "//" + location.hostname + ":" + b.HostPort + "/", target: "_blank", rel: "noopener noreferrer" }, shown)
              : shown;
            bindings.push(el("li", {}, port + " \u2192 ", link));
          }
        const spec = [["Name", t.Name], ["State", badge(stateName(t.State))], ["Desired state", stateName(t.DesiredState)],
          ["Node", nodeLink(t.Node)], ["Service", t.Service ? serviceLink(t.Service) : ""], ["Driver", t.Driver],
          ["Image", t.Image], ["Command", el("span", { class: "mono" }, (t.Cmd || []).join(" "))],
          ["CPU", t.CPU], ["Memory", t.Memory ? size(t.Memory) : ""], ["Disk", t.Disk ? size(t.Disk) : ""],
          ["Restart policy", t.RestartPolicy], ["Attempt", t.Attempt], ["Restarts", t.RestartCount],
          ["Exit code", t.ExitCode], ["Reason", t.Reason], ["Started", time(t.StartTime)], ["Finished", time(t.FinishTime)],
          ["Ports", bindings.length ? el("ul", {}, bindings) : ""]];
        replace("task", el("div", { id: "task", "data-state": stateName(t.State) },
          el("dl", { class: "fields" }, spec.filter(([, v]) => v !== "" && v !== undefined && v !== null)
            .map(([k, v]) => [el("dt", {}, k), el("dd", { "data-field": k }, v)])),
          el("h2", {}, "History"),
          el("table", { id: "history" },
            el("thead", {}, el("tr", {}, ["Time", "State", "Node", "Reason"].map((h) => el("th", {}, h)))),
            el("tbody", {}, (t.Events || []).map((e) => el("tr", {}, el("td", {}, time(e.Timestamp)),
              el("td", {}, badge(e.StateName)), el("td", {}, e.Node || ""), el("td", {}, e.Reason || "")))))));
      },
      unmount() { follower.stop(); },
    };
  },

  nodes() {
    const main = $("#main");
    main.replaceChildren(el("h1", {}, "Nodes"), el("table", { id: "node-list" }));
    return { update() {
      replace("node-list", el("table", { id: "node-list" },
        el("thead", {}, el("tr", {}, ["Name", "State", "Running", "CPU", "Memory", "Disk", "Drivers", "Last seen"].map((h) => el("th", {}, h)))),
        el("tbody", {}, model.nodes.map((n) => el("tr", { "data-node": n.Name, "data-state": n.State },
          el("td", {}, nodeLink(n.Name)), el("td", { class: "state" }, badge(n.State)), el("td", { class: "num" }, n.Running),
          el("td", {}, n.CPU), el("td", {}, size(n.Memory)), el("td", {}, size(n.Disk)),
          el("td", {}, (n.Drivers || []).join(", ")), el("td", {}, time(n.LastSeen)))))));
    } };
  },

  node(params, name) {
    const main = $("#main");
    main.replaceChildren(el("h1", {}, "Node ", name), el("div", { id: "node" }));
    return { async update() {
      let n, tasks;
      try {
        [n, tasks] = await Promise.all([getJson("/nodes/" + encodeURIComponent(name)),
          getJson("/nodes/" + encodeURIComponent(name) + "/tasks")]);
      } catch (e) {
        replace("node", el("div", { id: "node" }, el("p", { class: "problem" }, e.message)));
        return;
      }
      const s = n.Stats;
      replace("node", el("div", { id: "node", "data-state": n.State },
        el("dl", { class: "fields" }, [["ID", n.ID], ["State", badge(n.State)], ["Version", n.Version],
          ["Drivers", (n.Drivers || []).join(", ")], ["Slots", n.FreeSlots + " free of " + n.Slots],
          ["Labels", Object.entries(n.Labels || {}).map(([k, v]) => k + "=" + v).join(", ")],
          ["Last seen", time(n.LastSeen)],
          ["Load", s ? [s.Load1, s.Load5, s.Load15].map((x) => x.toFixed(2)).join(" ") : ""],
          ["Stats sampled", s ? time(s.SampledAt) : "no sample yet"]].map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
        el("h2", {}, "Capacity and use"), el("div", { class: "card" }, nodeMeters(n)),
        el("h2", {}, "Tasks on this node"), tasksTable(tasks, "node-tasks")));
    } };
  },

  services() {
    const main = $("#main");
    main.replaceChildren(el("h1", {}, "Services"), el("table", { id: "service-list" }));
    return { update() {
      replace("service-list", el("table", { id: "service-list" },
        el("thead", {}, el("tr", {}, ["Name", "Replicas", "Running", "Version", "Rollout", "Image / command"].map((h) => el("th", {}, h)))),
        el("tbody", {}, model.services.length ? model.services.map((s) => el("tr", { "data-service": s.Name },
          el("td", {}, serviceLink(s.Name)), el("td", { class: "num replicas" }, s.Replicas),
          el("td", { class: "num running" }, s.Running), el("td", { class: "num" }, s.Version),
          el("td", {}, s.UpdateStatus ? [badge(s.UpdateStatus.State), " ", s.UpdateStatus.Message || ""] : el("span", { class: "muted" }, "-")),
          el("td", { class: "mono" }, (s.Template && (s.Template.Image || (s.Template.Cmd || []).join(" "))) || "")))
          : el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No services.")))));
    } };
  },

  service(params, name) {
    const main = $("#main");
    main.replaceChildren(el("h1", {}, "Service ", name), el("div", { id: "service" }));
    return { async update() {
      let s;
      try { s = await getJson("/services/" + encodeURIComponent(name)); } catch (e) {
        replace("service", el("div", { id: "service" }, el("p", { class: "problem" }, e.message)));
        return;
      }
      const u = s.UpdateConfig || {};
      replace("service", el("div", { id: "service" },
        el("dl", { class: "fields" }, [["Replicas", s.Replicas], ["Running", s.Running], ["Version", s.Version],
          ["Template version", s.TemplateVersion],
          ["Rollout", s.UpdateStatus ? [badge(s.UpdateStatus.State), " ", s.UpdateStatus.Message || ""] : "none"],
          ["Update policy", "parallelism " + u.Parallelism + ", order " + u.Order + ", on failure " + u.FailureAction],
          ["Updated", time(s.UpdatedAt)]].map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
        el("h2", {}, "Replicas"), tasksTable((s.TaskList || []).slice().sort((a, b) => (a.Slot || 0) - (b.Slot || 0)), "replicas")));
    } };
  },
};

async function stopTask(id, button) {
  button.disabled = true;
  const r = await call("/tasks/" + encodeURIComponent(id), { method: "DELETE" });
  const out = $("#stop-result");
  if (r.status === 204) {
    out.textContent = "Stop requested.";
  } else {
    let message = "HTTP " + r.status;
    try { message = (await r.json()).error.message; } catch (e) { /* not JSON */ }
    out.textContent = "Stop failed: " + message;
    button.disabled = false;
  }
  refresh();
}

// Follows a task's output as `cube-client logs -f` does: ask from the last offset, again at
// once while there is more, every LOGS_IDLE_MS when there is not, until EOF.
function followLogs(id, pre) {
  let stopped = false;
  let offset = 0;
  (async () => {
    while (!stopped) {
      let chunk = null;
      try {
        const r = await call("/tasks/" + encodeURIComponent(id) + "/logs?offset=" + offset);
        chunk = await r.json().catch(() => null);
        if (!r.ok) {
          // 503: not placed yet, or its agent is away. Keep waiting, saying so.
          pre.dataset.waiting = (chunk && chunk.error && chunk.error.message) || "HTTP " + r.status;
          if (r.status === 404) return;
          chunk = null;
        }
      } catch (e) { chunk = null; }
      if (stopped) return;
      if (chunk) {
        delete pre.dataset.waiting;
        if (chunk.Data) {
          const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          pre.append(document.createTextNode(chunk.Data));
          if (atBottom) pre.scrollTop = pre.scrollHeight;
        }
        offset = chunk.NextOffset;
        if (chunk.EOF) { pre.dataset.eof = "true"; return; }
        if (chunk.Data) continue;
      }
      await new Promise((res) => setTimeout(res, LOGS_IDLE_MS));
    }
  })();
  return { stop() { stopped = true; } };
}

// ---------------------------------------------------------------- routing
function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let make, arg, nav;
  if (parts.length === 0) { make = views.overview; nav = "overview"; }
  else if (parts[0] === "tasks") { make = parts[1] ? views.task : views.tasks; arg = parts[1]; nav = "tasks"; }
  else if (parts[0] === "nodes") { make = parts[1] ? views.node : views.nodes; arg = parts[1]; nav = "nodes"; }
  else if (parts[0] === "services") { make = parts[1] ? views.service : views.services; arg = parts[1]; nav = "services"; }
  else { make = views.overview; nav = "overview"; }
  if (view && view.unmount) view.unmount();
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("current", a.dataset.nav === nav));
  view = make(params, arg);
  if (model.loaded) view.update();
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  $("#token-save").addEventListener("click", saveToken);
  $("#token-input").addEventListener("keydown", (e) => { if (e.key === "Enter") saveToken(); });
  route();
  refresh().then(followEvents);
});
