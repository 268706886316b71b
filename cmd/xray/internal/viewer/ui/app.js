"use strict";
// OpenXRay local viewer: plain DOM, no dependencies.
const $ = (s) => document.querySelector(s);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
};
const ms = (s) => (s * 1000).toFixed(s < 0.01 ? 2 : 1) + " ms";
const showError = (m) => { $("#err").textContent = m || ""; };

// api returns the answer of path, or of a request already made for it.
async function api(path, pending) {
  const r = await (pending || fetch(path));
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

// esc makes any value safe as HTML text or a quoted attribute value.
const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function badges(x) {
  const out = [];
  if (x.fault) out.push(el("span", { class: "badge b-fault" }, "fault"));
  if (x.error) out.push(el("span", { class: "badge b-error" }, "error"));
  if (x.throttle) out.push(el("span", { class: "badge b-throttle" }, "throttle"));
  return out;
}

// scatter draws the traces of the list's filter and range over time (x)
// and duration (y, log scale), coloured by status: all of them
// (/api/scatter: up to 2,000, sampled over the range when more match), not
// only the listed ones, on a canvas (thousands of SVG
// elements take the page hundreds of milliseconds to lay out). Hovering a
// point tells its duration, clicking it opens its trace. Dragging a
// rectangle lists the traces inside it (a query on the server, so traces
// the list's first page did not hold are found); the chip above the list
// clears the selection. scatterState keeps the points' positions (CSS
// pixels in the canvas) for hovering, and for tests.
let listTraces = [], listTotal = 0, scatterNote = "", selection = null, drag = null, scatterState = { pts: [] };

// One listener for the end of a drag, wherever the mouse is released.
window.addEventListener("mouseup", (e) => {
  if (!drag || !drag.start) return;
  const [cx, cy] = drag.at(e), [sx, sy] = drag.start;
  drag.start = null;
  drag.band.hidden = true;
  if (Math.abs(cx - sx) < 3 && Math.abs(cy - sy) < 3) {
    const p = nearestPoint(cx, cy);
    if (p) location.hash = "#/trace/" + p.id;
    return;
  }
  selection = { from: drag.xi(Math.min(sx, cx)), to: drag.xi(Math.max(sx, cx)), min: drag.yi(Math.max(sy, cy)), max: drag.yi(Math.min(sy, cy)) };
  loadList();
});
const FAULT = 1, ERROR = 2, THROTTLE = 4;
function nearestPoint(x, y) {
  let best = null, bd = 36; // within 6 px
  for (const p of scatterState.pts) {
    const d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d < bd) { bd = d; best = p; }
  }
  return best;
}
function scatter(points) {
  const box = $("#scatter"), W = box.clientWidth || 900, H = 150, P = 28;
  scatterState = { pts: [] };
  if (!points.length) { box.replaceChildren(); return; }
  const canvas = document.createElement("canvas"), dpr = window.devicePixelRatio || 1;
  canvas.width = W * dpr; canvas.height = H * dpr;
  canvas.style.width = W + "px"; canvas.style.height = H + "px";
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  const css = getComputedStyle(document.documentElement), v = (name) => css.getPropertyValue(name).trim();
  let t0 = Infinity, t1 = -Infinity, d0 = Infinity, d1 = -Infinity;
  for (const [t, d] of points) { t0 = Math.min(t0, t); t1 = Math.max(t1, t); d0 = Math.min(d0, d); d1 = Math.max(d1, d); }
  t1 = Math.max(t1, t0 + 1e-3);
  const l0 = Math.log10(Math.max(d0, 1e-5)) - 0.1, l1 = Math.log10(Math.max(d1, 1e-5)) + 0.1;
  const x = (t) => P + ((t - t0) / (t1 - t0)) * (W - 2 * P);
  const y = (dur) => H - P + 10 - ((Math.log10(Math.max(dur, 1e-5)) - l0) / (l1 - l0)) * (H - P);
  const xi = (px) => t0 + ((px - P) / (W - 2 * P)) * (t1 - t0);
  const yi = (py) => Math.pow(10, l0 + ((H - P + 10 - py) / (H - P)) * (l1 - l0));
  g.strokeStyle = v("--line"); g.beginPath(); g.moveTo(P, H - P + 10.5); g.lineTo(W - P, H - P + 10.5); g.stroke();
  g.fillStyle = v("--muted"); g.font = "10px system-ui, sans-serif";
  g.fillText(ms(Math.pow(10, l1)), 2, 12); g.fillText(ms(Math.pow(10, l0)), 2, H - P + 8);
  // One path of small squares per colour (a software canvas draws
  // thousands of squares much faster than circles), the failures last,
  // over the rest.
  const colours = [["--seg", (st) => !st], ["--error", (st) => st === ERROR], ["--throttle", (st) => st & THROTTLE && !(st & FAULT)], ["--fault", (st) => st & FAULT]];
  for (const [t, d, st, id] of points) scatterState.pts.push({ x: x(t), y: y(d), d, st, id });
  for (const [name, has] of colours) {
    g.fillStyle = v(name); g.beginPath();
    for (const p of scatterState.pts) if (has(p.st)) g.rect(p.x - 2.5, p.y - 2.5, 5, 5);
    g.fill();
  }
  const band = el("div", { class: "band", hidden: true });
  const at = (e) => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  drag = { start: null, band, at, xi, yi };
  canvas.addEventListener("mousedown", (e) => { drag.start = at(e); e.preventDefault(); });
  canvas.addEventListener("mousemove", (e) => {
    const [cx, cy] = at(e);
    if (!drag.start) {
      const p = nearestPoint(cx, cy);
      canvas.title = p ? `${ms(p.d)} · ${p.st & FAULT ? "fault" : p.st & ERROR ? "error" : p.st & THROTTLE ? "throttled" : "ok"} · click to open` : "Drag a rectangle to list the traces inside it";
      canvas.style.cursor = p ? "pointer" : "crosshair";
      return;
    }
    const [sx, sy] = drag.start;
    Object.assign(band.style, { left: Math.min(sx, cx) + "px", top: Math.min(sy, cy) + "px", width: Math.abs(cx - sx) + "px", height: Math.abs(cy - sy) + "px" });
    band.hidden = false;
  });
  box.replaceChildren(canvas, band);
}

$("#traces tbody").addEventListener("click", (e) => {
  const tr = e.target.closest("tr.row");
  if (tr) location.hash = "#/trace/" + tr.dataset.trace;
});
function renderList() {
  const tbody = $("#traces tbody");
  const shown = listTraces;
  $("#selection").replaceChildren(...(selection ? [
    `${shown.length}${shown.length === LIST_ROWS ? "+" : ""} trace${shown.length === 1 ? "" : "s"} between ${ms(selection.min)} and ${ms(selection.max)}, ${new Date(selection.from * 1000).toLocaleTimeString()}–${new Date(selection.to * 1000).toLocaleTimeString()} `,
    el("button", { id: "clear-selection", onclick: () => { selection = null; loadList(); } }, "clear")] : listTotal > shown.length ? [`the newest ${shown.length} of ${listTotal} traces` + scatterNote] : []));
  // The rows as one string of markup, every value escaped: two hundred
  // rows built a node at a time take the page tens of milliseconds more.
  tbody.innerHTML = shown.map((t) => `<tr class="row" data-trace="${esc(t.trace_id)}"><td>${esc(new Date(t.start_time * 1000).toLocaleTimeString())}</td>` +
    `<td>${esc(t.name)}</td><td>${esc(ms(t.duration))}</td><td>${esc(t.http_status || "")}</td>` +
    `<td>${t.fault ? '<span class="badge b-fault">fault</span>' : ""}${t.error ? '<span class="badge b-error">error</span>' : ""}${t.throttle ? '<span class="badge b-throttle">throttle</span>' : ""}${!t.fault && !t.error && !t.throttle ? "ok" : ""}</td>` +
    `<td>${Object.entries(t.annotations || {}).map(([k, v]) => `<span class="ann">${esc(k + "=" + v)}</span>`).join("")}</td></tr>`).join("");
  if (!shown.length) tbody.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No traces match.")));
}

// The list's state lives in the URL (#/?filter=…&since=…), so a search
// can be bookmarked and shared.
function listHash() {
  const q = new URLSearchParams();
  const f = $("#filter").value.trim();
  if (f) q.set("filter", f);
  q.set("since", $("#since").value);
  return "#/?" + q;
}

// The search builder: what the store holds, offered as choices, turned
// into filter expressions.
let suggestions = null;
async function loadSuggestions() {
  try {
    suggestions = await api("/api/suggest");
    const keepS = $("#b-service").value, keepK = $("#b-key").value, keepN = $("#b-name").value;
    $("#b-name").replaceChildren(el("option", { value: "" }, "any name"), ...suggestions.names.map((v) => el("option", { value: v }, v)));
    $("#b-name").value = keepN;
    $("#b-service").replaceChildren(el("option", { value: "" }, "any service"), ...suggestions.services.map((v) => el("option", { value: v }, v)));
    $("#b-key").replaceChildren(el("option", { value: "" }, "annotation…"), ...Object.keys(suggestions.annotations).map((k) => el("option", { value: k }, k)));
    $("#b-service").value = keepS; $("#b-key").value = keepK;
    suggestValues();
  } catch (e) { /* the builder stays empty; the free text still works */ }
}
function suggestValues() {
  const vs = (suggestions && suggestions.annotations[$("#b-key").value]) || [];
  $("#b-values").replaceChildren(...vs.map((v) => el("option", { value: v })));
}
$("#b-key").addEventListener("change", suggestValues);
$("#b-add").addEventListener("click", () => {
  const q = (v) => '"' + String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
  const parts = [];
  if ($("#b-service").value) parts.push("service(" + q($("#b-service").value) + ")");
  if ($("#b-name").value) parts.push("name = " + q($("#b-name").value));
  const k = $("#b-key").value, v = $("#b-value").value.trim();
  if (k && v) parts.push(`annotation.${k} = ` + (/^-?\d+(\.\d+)?$/.test(v) ? v : q(v)));
  if ($("#b-status").value) parts.push($("#b-status").value);
  if ($("#b-min").value) parts.push("responsetime >= " + Number($("#b-min").value));
  if ($("#b-max").value) parts.push("responsetime <= " + Number($("#b-max").value));
  if (!parts.length) return;
  const cur = $("#filter").value.trim();
  $("#filter").value = (cur ? "(" + cur + ") AND " : "") + parts.join(" AND ");
  $("#apply").click();
});

// listQuery is the list's filter and range as query parameters.
function listQuery() {
  const q = new URLSearchParams();
  const f = $("#filter").value.trim();
  if (f) q.set("filter", f);
  if ($("#since").value) q.set("since", $("#since").value);
  return q;
}

// showList loads the scatter plot and the list; a new search clears the
// selection.
async function showList() {
  selection = null;
  return refreshList();
}

// refreshList reloads the scatter plot and the list, keeping the
// selection: new traces arrived. Both answers are awaited, then the plot is
// drawn before the rows go in, so that its width is read from a page not
// yet holding a page of new rows to lay out.
async function refreshList() {
  const q = listQuery();
  const e = takeEarly(q);
  try {
    const [pts, traces] = await Promise.all([api("/api/scatter?" + q, e && e.scatter), fetchList(e && e.list)]);
    showError("");
    listTotal = pts.total;
    scatterNote = pts.sampled ? ` · the plot shows ${pts.points.length} of them, spread over the range, every failure included` : "";
    scatter(pts.points);
    listTraces = traces;
    renderList();
  } catch (e) { showError(e.message); }
  // The builder's choices once the list is drawn: they are not needed
  // first.
  if (!suggestions) setTimeout(loadSuggestions);
}

// LIST_ROWS is how many traces the list shows: the newest of the search,
// or of the selection; the scatter plot shows the rest.
const LIST_ROWS = 100;

// loadList lists the newest LIST_ROWS traces of the search, within the scatter
// plot's selection if there is one.
async function loadList() {
  try {
    listTraces = await fetchList();
    showError("");
    renderList();
  } catch (e) { showError(e.message); }
}

// takeEarly returns the requests index.html made for the first list, once,
// if they are for query q (and no selection narrows it).
function takeEarly(q) {
  const e = window.early;
  window.early = null;
  return e && !selection && e.q === q.toString() ? e : null;
}

async function fetchList(pending) {
  const q = listQuery();
  if (selection) {
    const f = q.get("filter");
    const within = `responsetime >= ${selection.min.toPrecision(6)} AND responsetime <= ${selection.max.toPrecision(6)}`;
    q.set("filter", f ? `(${f}) AND ${within}` : within);
    q.delete("since");
    q.set("from", selection.from.toFixed(6)); q.set("to", selection.to.toFixed(6));
  }
  q.set("limit", String(LIST_ROWS));
  return (await api("/api/traces?" + q, pending)).traces;
}

function colour(n) {
  if (n.fault) return "var(--fault)";
  if (n.throttle) return "var(--throttle)";
  if (n.error) return "var(--error)";
  if (n.kind === "segment") return "var(--seg)";
  if (n.namespace === "remote") return "var(--remote)";
  if (n.namespace === "aws") return "var(--aws)";
  return "var(--local)";
}

// show renders any JSON value as indented text, cutting what nests deeper
// than maxDepth and long arrays, so that a hostile or deep document cannot
// throw or stall the page.
function show(v, maxDepth = 32) {
  const seen = new Set();
  const cut = (x, d) => {
    if (x === null || typeof x !== "object") return x;
    if (d >= maxDepth || seen.has(x)) return "…";
    seen.add(x);
    if (Array.isArray(x)) {
      const out = x.slice(0, 1000).map((y) => cut(y, d + 1));
      if (x.length > 1000) out.push(`… ${x.length - 1000} more`);
      return out;
    }
    const out = {};
    for (const [k, y] of Object.entries(x).slice(0, 1000)) out[k] = cut(y, d + 1);
    return out;
  };
  try { return JSON.stringify(cut(v, 0), null, 2) ?? String(v); } catch (e) { return "(cannot be shown: " + e.message + ")"; }
}

const text = (v) => (v === null || v === undefined) ? "" : (typeof v === "object" ? show(v, 4) : String(v));

// detail shows the selected entity beside the waterfall, in tabs: an
// overview, then each block it has (sql, http, aws, annotations, metadata,
// exception with stack frames). The most telling block opens first.
let detailTab = null;
function detail(n) {
  const d = $("#detail");
  const fields = n.fields || {};
  const tabs = [["overview", "overview"]];
  for (const key of ["sql", "http", "aws", "annotations", "metadata"]) if (fields[key] !== undefined) tabs.push([key, key]);
  if (fields.cause !== undefined) tabs.push(["cause", "exception"]);
  const pane = el("div", { class: "dpane" });
  const render = (key) => {
    detailTab = key;
    bar.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b.dataset.dtab === key));
    if (key === "overview") {
      pane.replaceChildren(el("table", { class: "kv" }, ...[
        ["name", n.name], ["kind", n.kind + (n.namespace ? " (" + n.namespace + ")" : "")], ["id", n.id],
        ["start", new Date(n.start_time * 1000).toISOString()], ["duration", ms(n.end_time - n.start_time)],
        ["status", n.fault ? "fault" : n.error ? "error" : n.throttle ? "throttle" : "ok"],
      ].map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, text(v))))));
      return;
    }
    if (key === "cause") {
      const exceptions = fields.cause && Array.isArray(fields.cause.exceptions) ? fields.cause.exceptions : null;
      if (!exceptions) { pane.replaceChildren(el("pre", {}, show(fields.cause))); return; }
      pane.replaceChildren();
      for (const ex of exceptions) {
        if (!ex || typeof ex !== "object") { pane.append(el("pre", {}, show(ex))); continue; }
        pane.append(el("div", { class: "exc" }, el("b", {}, text(ex.type) || "error"), ": ", text(ex.message)));
        if (Array.isArray(ex.stack)) {
          pane.append(el("pre", { class: "stack" }, ex.stack.slice(0, 200).map((f) => (f && typeof f === "object")
            ? `${text(f.label)}\n    ${text(f.path)}:${text(f.line)}` : text(f)).join("\n")));
        }
      }
      return;
    }
    pane.replaceChildren(el("pre", {}, show(fields[key])));
  };
  const bar = el("div", { class: "dtabs" }, ...tabs.map(([key, title]) => el("button", { "data-dtab": key, onclick: () => render(key) }, title)));
  d.replaceChildren(el("h3", {}, n.name + " (" + n.kind + (n.namespace ? ", " + n.namespace : "") + ")"),
    el("div", { class: "muted" }, ms(n.end_time - n.start_time), " ", ...badges(n)), bar, pane);
  const keys = tabs.map(([k]) => k);
  const first = ["cause", "sql", "http", "aws"].find((k) => keys.includes(k)) || "overview";
  render(keys.includes(detailTab) && detailTab !== "overview" ? detailTab : first);
}

// label says what an entity did, for its waterfall row: the statement and
// database of a SQL call, method, URL and status of an HTTP one, operation
// and table of an AWS call, command and collection of a MongoDB one.
function label(n) {
  const f = n.fields || {};
  const cut = (s, k = 90) => { s = String(s ?? ""); return s.length > k ? s.slice(0, k) + "…" : s; };
  const obj = (x) => (x && typeof x === "object") ? x : {};
  const sql = obj(f.sql), http = obj(f.http), aws = obj(f.aws), mongo = obj(obj(f.metadata).mongodb);
  if (sql.sanitized_query) {
    let db = "";
    try { db = sql.url ? new URL(sql.url).pathname.replace(/^\//, "") : ""; } catch (e) { db = ""; }
    return { kind: "sql", text: cut(sql.sanitized_query) + (db || sql.database_type ? "  · " + (db || sql.database_type) : "") };
  }
  if (mongo.command) return { kind: "mongo", text: [mongo.command, mongo.collection, mongo.database].filter(Boolean).map((x) => cut(x, 40)).join(" · ") };
  if (n.namespace === "aws" && (aws.operation || aws.table_name)) return { kind: "aws", text: [aws.operation, aws.table_name || aws.queue_url || aws.bucket_name].filter(Boolean).map((x) => cut(x, 60)).join(" · ") };
  const rq = obj(http.request), rs = obj(http.response);
  if (rq.method || rq.url) {
    let url = String(rq.url ?? "");
    try { const u = new URL(url); url = u.pathname; if (n.kind !== "segment") url = u.host + u.pathname; } catch (e) { /* keep as is */ }
    return { kind: "http", text: [rq.method, cut(url, 70), rs.status].filter((x) => x !== undefined && x !== "").join(" ") };
  }
  return null;
}

// The waterfall is a tree: rows collapse and expand (the toggle, or the
// arrow keys), the critical path (the chain of last-finishing children
// that sets each parent's end) is marked, and only the rows in view are in
// the page, so a trace of 10,000 spans scrolls as one of 10.
const ROW_H = 22, ROW_BUFFER = 30;
let wf = null;

function waterfall(tr) {
  const items = [];
  const visit = (n, depth, parent) => {
    const it = { n, depth, parent, kids: [], crit: false };
    items.push(it);
    if (parent) parent.kids.push(it);
    (n.children || []).forEach((c) => visit(c, depth + 1, it));
  };
  (tr.roots || []).forEach((r) => visit(r, 0, null));
  const mark = (it) => {
    it.crit = true;
    let last = null;
    for (const k of it.kids) if (k.n.end_time <= it.n.end_time + 1e-9 && (!last || k.n.end_time > last.n.end_time)) last = k;
    if (last) mark(last);
  };
  items.filter((it) => !it.parent).forEach(mark);
  wf = { tr, total: Math.max(tr.end_time - tr.start_time, 1e-6), items, collapsed: new Set(), sel: null, visible: [] };
  const box = $("#waterfall");
  box.scrollTop = 0;
  box.replaceChildren(el("div", { class: "wf-inner" }));
  layoutWaterfall();
}

function layoutWaterfall() {
  const visible = [];
  const walk = (it) => { visible.push(it); if (!wf.collapsed.has(it)) it.kids.forEach(walk); };
  wf.items.filter((it) => !it.parent).forEach(walk);
  wf.visible = visible;
  renderWindow();
}

function renderWindow() {
  const box = $("#waterfall"), inner = box.firstChild;
  if (!wf || !inner) return;
  const first = Math.max(0, Math.floor(box.scrollTop / ROW_H) - ROW_BUFFER);
  const last = Math.min(wf.visible.length, Math.ceil((box.scrollTop + (box.clientHeight || 600)) / ROW_H) + ROW_BUFFER);
  inner.style.height = wf.visible.length * ROW_H + "px";
  inner.style.paddingTop = first * ROW_H + "px";
  inner.replaceChildren(...wf.visible.slice(first, last).map(wfRow));
}

function wfRow(it) {
  const n = it.n, tr = wf.tr;
  const left = ((n.start_time - tr.start_time) / wf.total) * 100;
  const width = Math.max(((n.end_time - n.start_time) / wf.total) * 100, 0.2);
  const lb = label(n);
  const mark = n.fault ? "fault" : n.throttle ? "throttle" : n.error ? "error" : "";
  const toggle = it.kids.length
    ? el("span", { class: "wf-toggle", title: "collapse or expand" }, wf.collapsed.has(it) ? "▸" : "▾")
    : el("span", { class: "wf-toggle none" }, "");
  toggle.addEventListener("click", (e) => { e.stopPropagation(); toggleRow(it); });
  const row = el("div", { class: "wf-row" + (mark ? " wf-" + mark : "") + (it.crit ? " crit" : "") + (it === wf.sel ? " sel" : ""),
    "data-kind": n.kind, "data-namespace": n.namespace || "" },
    el("div", { class: "wf-name", style: `padding-left:${it.depth * 14}px`, title: n.name + (lb ? "\n" + lb.text : "") },
      toggle,
      mark ? el("span", { class: "wf-mark", title: mark }, "!") : null,
      el("span", { class: "wf-title" }, n.name),
      lb ? el("span", { class: "wf-label wf-" + lb.kind }, lb.text) : null),
    el("div", { class: "wf-track" }, el("div", { class: "wf-bar", title: it.crit ? "on the critical path" : "", style: `left:${left}%;width:${width}%;background:${colour(n)}` })),
    el("div", { class: "wf-dur" }, ms(n.end_time - n.start_time)));
  row.addEventListener("click", () => { select(it); $("#waterfall").focus({ preventScroll: true }); });
  return row;
}

function toggleRow(it) {
  if (!it.kids.length) return;
  if (wf.collapsed.has(it)) wf.collapsed.delete(it); else wf.collapsed.add(it);
  layoutWaterfall();
}

function select(it) {
  wf.sel = it;
  const i = wf.visible.indexOf(it), box = $("#waterfall");
  if (i >= 0) {
    if (i * ROW_H < box.scrollTop) box.scrollTop = i * ROW_H;
    else if ((i + 1) * ROW_H > box.scrollTop + box.clientHeight) box.scrollTop = (i + 1) * ROW_H - box.clientHeight;
  }
  renderWindow();
  detail(it.n);
}

$("#waterfall").addEventListener("scroll", () => requestAnimationFrame(renderWindow));
$("#waterfall").addEventListener("keydown", (e) => {
  if (!wf || !wf.visible.length) return;
  const i = Math.max(0, wf.visible.indexOf(wf.sel));
  const it = wf.visible[i];
  switch (e.key) {
    case "ArrowDown": select(wf.visible[Math.min(i + 1, wf.visible.length - 1)]); break;
    case "ArrowUp": select(wf.visible[Math.max(i - 1, 0)]); break;
    case "ArrowLeft": if (it.kids.length && !wf.collapsed.has(it)) toggleRow(it); else if (it.parent) select(it.parent); break;
    case "ArrowRight": if (wf.collapsed.has(it)) toggleRow(it); else if (it.kids.length) select(it.kids[0]); break;
    case "Home": select(wf.visible[0]); break;
    case "End": select(wf.visible[wf.visible.length - 1]); break;
    default: return;
  }
  e.preventDefault();
});

function sqlView(tr) {
  const tbody = $("#sql tbody");
  const sql = tr.sql || [];
  tbody.replaceChildren(...sql.map((s) => el("tr", { class: s.n_plus_one ? "n1" : "" },
    el("td", {}, ((s.start_time - tr.start_time) * 1000).toFixed(1)),
    el("td", {}, ms(s.duration)),
    el("td", {}, s.database),
    el("td", {}, el("code", {}, s.query)),
    el("td", {}, s.rows ?? ""),
    el("td", {}, s.n_plus_one ? el("span", { class: "badge b-n1", title: "the same statement ran " + s.repeated + " times in this trace" }, "N+1 ×" + s.repeated) : "", s.failed ? el("span", { class: "badge b-fault" }, "failed") : ""))));
  if (!sql.length) tbody.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No database calls in this trace.")));
}

async function showTrace(id) {
  try {
    const tr = await api("/api/traces/" + encodeURIComponent(id));
    showError("");
    const root = (tr.roots || [])[0] || {};
    const docs = tr.documents || [];
    $("#trace-title").textContent = root.name || id;
    $("#trace-meta").textContent = `${id} · ${ms(tr.end_time - tr.start_time)} · ${docs.length} document(s) · ${(tr.sql || []).length} statement(s)`;
    $("#trace-note").textContent = tr.truncated
      ? `This trace is too large to show whole: the first ${docs.length} of its ${tr.documents_total} documents are shown.` : "";
    waterfall(tr);
    sqlView(tr);
    compareChoices(id, root.name);
    $("#raw").textContent = docs.map((d) => show(d)).join("\n\n");
    $("#detail").replaceChildren(el("p", { class: "muted" }, "Select a segment."));
  } catch (e) { showError(e.message); }
}

async function showMap() {
  try {
    const m = await api("/api/services?since=" + $("#map-since").value);
    showError("");
    // Columns by the longest chain of calls leading to a node, so that
    // every callee stands right of all its callers (cycles are cut).
    const depth = new Map(m.nodes.map((n) => [n.name, 0]));
    for (let i = 0; i < m.nodes.length; i++) {
      for (const e of m.edges) {
        const d = depth.get(e.from) + 1;
        if (e.from !== e.to && d < m.nodes.length && d > depth.get(e.to)) depth.set(e.to, d);
      }
    }
    const cols = new Map();
    const pos = new Map();
    for (const n of m.nodes) {
      const d = depth.get(n.name); const row = cols.get(d) || 0; cols.set(d, row + 1);
      pos.set(n.name, { x: 40 + d * 400, y: 40 + row * 90, n });
    }
    const W = 80 + Math.max(1, cols.size) * 400, H = 160 + Math.max(1, ...cols.values()) * 90;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("width", W); svg.setAttribute("height", H);
    const add = (tag, attrs, text) => { const e = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v); if (text) e.textContent = text; svg.append(e); return e; };
    const labelsAt = new Map(); // edge labels between the same columns are stacked, not overlaid
    const filterTo = (expr) => () => { $("#filter").value = expr; location.hash = "#/?" + new URLSearchParams({ filter: expr, since: $("#map-since").value }); };
    const q = (v) => '"' + String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';
    for (const e of m.edges) {
      const a = pos.get(e.from), b = pos.get(e.to); if (!a || !b) continue;
      // Edges that skip a column bend below the nodes they pass.
      const skip = Math.max(0, Math.round((b.x - a.x) / 400) - 1);
      const bend = skip * 70;
      const x1 = a.x + 180, y1 = a.y + 18, x2 = b.x, y2 = b.y + 18;
      const both = a.n.kind === "service" && b.n.kind === "service";
      const path = add("path", { d: `M ${x1} ${y1} C ${x1 + 60} ${y1 + bend}, ${x2 - 60} ${y2 + bend}, ${x2} ${y2}`, fill: "none",
        stroke: e.error_rate > 0 ? "var(--fault)" : "var(--edge)", "stroke-width": 2 + Math.min(4, Math.log10(e.calls + 1)), class: "map-edge" + (both ? " link" : "") });
      const slot = `${Math.round((x1 + x2) / 2)}:${Math.round((y1 + y2) / 2 + bend * 0.75)}`;
      const k = labelsAt.get(slot) || 0; labelsAt.set(slot, k + 1);
      const label = add("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 + bend * 0.75 - 6 + k * 13, "text-anchor": "middle", fill: "var(--edge-text)", "font-size": 11, class: "map-edge-label" },
        `${e.calls} calls · ${e.avg_ms.toFixed(1)} ms · ${(e.error_rate * 100).toFixed(0)}% err`);
      if (both) { path.addEventListener("click", filterTo(`service(${q(e.from)}) AND service(${q(e.to)})`)); label.addEventListener("click", filterTo(`service(${q(e.from)}) AND service(${q(e.to)})`)); }
    }
    for (const { x, y, n } of pos.values()) {
      const bad = n.calls ? (n.faults + n.errors) / n.calls : 0;
      const health = n.faults / Math.max(n.calls, 1) > 0.05 ? "fault" : bad > 0.05 ? "error" : "ok";
      const fill = n.kind === "service" ? "var(--node-service)" : n.kind === "aws" ? "var(--node-aws)" : "var(--node-remote)";
      const stroke = health === "fault" ? "var(--fault)" : health === "error" ? "var(--error)" : "var(--local)";
      const rect = add("rect", { x, y, width: 180, height: 36, rx: 6, fill, stroke, "stroke-width": health === "ok" ? 1 : 3,
        class: "map-node" + (n.kind === "service" ? " link" : ""), "data-name": n.name, "data-health": health });
      const text = add("text", { x: x + 8, y: y + 16, fill: "var(--fg)" }, n.name.length > 24 ? n.name.slice(0, 23) + "…" : n.name);
      add("text", { x: x + 8, y: y + 30, fill: "var(--muted)", "font-size": 10 }, `${n.calls} calls` + (bad ? ` · ${(bad * 100).toFixed(0)}% failed` : ""));
      add("title", {}, n.name);
      if (n.kind === "service") { rect.addEventListener("click", filterTo(`service(${q(n.name)})`)); text.addEventListener("click", filterTo(`service(${q(n.name)})`)); }
    }
    $("#map").replaceChildren(svg);
    if (m.truncated) $("#map").prepend(el("p", { class: "muted", id: "map-note" }, "Only the newest documents of this range were read: the map is partial."));
    if (!m.nodes.length) $("#map").replaceChildren(el("p", { class: "muted" }, "No services yet."));
  } catch (e) { showError(e.message); }
}

// The database page: statements aggregated across traces, sortable; a
// statement's row opens the traces it ran in.
let dbView = null, dbSort = { key: "total_ms", asc: false };
async function showDatabase() {
  try {
    const q = new URLSearchParams({ since: $("#db-since").value });
    if ($("#db-service").value) q.set("service", $("#db-service").value);
    const [v, m] = await Promise.all([api("/api/database?" + q), api("/api/services?since=" + $("#db-since").value)]);
    showError("");
    const keep = $("#db-service").value;
    $("#db-service").replaceChildren(el("option", { value: "" }, "all services"),
      ...m.nodes.filter((n) => n.kind === "service").map((n) => el("option", { value: n.name }, n.name)));
    $("#db-service").value = keep;
    $("#db-note").textContent = v.truncated ? "Only the newest documents of this range were read." : "";
    const num = (x, f = (y) => y) => el("td", { class: "num" }, f(x));
    const fmt = (x) => x.toFixed(x < 10 ? 2 : 1) + " ms";
    $("#databases tbody").replaceChildren(...v.databases.map((d) => el("tr", {},
      el("td", {}, d.name), num(d.calls), num(d.errors), num(d.slow_queries), num(d.pool_waits), num(d.pool_wait_ms, fmt))));
    if (!v.databases.length) $("#databases tbody").replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No database calls in this range.")));
    dbView = v;
    renderStatements();
  } catch (e) { showError(e.message); }
}

function renderStatements() {
  const fmt = (x) => x.toFixed(x < 10 ? 2 : 1) + " ms";
  const num = (x, f = (y) => y) => el("td", { class: "num" }, f(x));
  const { key, asc } = dbSort;
  const rows = [...dbView.statements].sort((a, b) => {
    const x = a[key], y = b[key];
    const c = typeof x === "string" ? x.localeCompare(y) : x - y;
    return asc ? c : -c;
  });
  document.querySelectorAll("#statements th[data-sort]").forEach((th) => {
    th.classList.toggle("sorted", th.dataset.sort === key);
    th.classList.toggle("asc", th.dataset.sort === key && asc);
  });
  const out = [];
  for (const s of rows) {
    const tr = el("tr", { class: "stmt" + (s.n_plus_one ? " n1" : "") },
      el("td", {}, el("code", {}, s.query)), el("td", {}, s.database), num(s.calls), num(s.total_ms, fmt), num(s.avg_ms, fmt),
      num(s.p95_ms, fmt), num(s.rows), num(s.errors),
      el("td", { class: "num" }, s.n_plus_one ? el("span", { class: "badge b-n1", title: "parents in which this read ran " + 3 + " times or more" }, "N+1 ×" + s.n_plus_one) : ""),
      num(s.traces));
    const more = el("tr", { class: "examples", hidden: "" }, el("td", { colspan: 10 },
      "Traces: ", ...s.examples.map((x) => el("a", { href: "#/trace/" + x.trace_id, class: "example" }, x.trace_id + " (" + fmt(x.ms) + ")")),
      s.services.length ? el("span", { class: "muted" }, "  services: " + s.services.join(", ")) : null));
    tr.addEventListener("click", () => { more.hidden = !more.hidden; });
    out.push(tr, more);
  }
  $("#statements tbody").replaceChildren(...out);
  if (!rows.length) $("#statements tbody").replaceChildren(el("tr", {}, el("td", { colspan: 10, class: "muted" }, "No statements in this range.")));
}

document.querySelectorAll("#statements th[data-sort]").forEach((th) => th.addEventListener("click", () => {
  dbSort = dbSort.key === th.dataset.sort ? { key: th.dataset.sort, asc: !dbSort.asc } : { key: th.dataset.sort, asc: false };
  if (dbView) renderStatements();
}));
$("#db-service").addEventListener("change", showDatabase);
$("#db-since").addEventListener("change", showDatabase);
$("#map-since").addEventListener("change", showMap);

// Comparing two traces: spans are matched by their path from the root, of
// names and what each did (its statement, request or operation; a repeat
// counts its occurrences), so the table says what
// the second trace added, what it lacks, and what got slower.
async function compareChoices(id, name) {
  // The list's traces, or the recent ones when the list offers no other
  // (a narrow search, or a trace opened from a link).
  let traces = listTraces.filter((t) => t.trace_id !== id);
  if (!traces.length) { try { traces = (await api("/api/traces?limit=200&since=24h")).traces; } catch (e) { traces = []; } }
  const others = traces.filter((t) => t.trace_id !== id).sort((a, b) => (b.name === name) - (a.name === name));
  $("#compare-with").replaceChildren(el("option", { value: "" }, "compare with…"),
    ...others.slice(0, 100).map((t) => el("option", { value: t.trace_id }, `${t.name} · ${ms(t.duration)} · ${new Date(t.start_time * 1000).toLocaleTimeString()}`)));
  $("#compare-with").onchange = () => { if ($("#compare-with").value) location.hash = "#/compare/" + id + "/" + $("#compare-with").value; };
}

function spanPaths(tr) {
  const out = new Map(), order = [];
  const visit = (n, prefix) => {
    const lb = label(n);
    const base = prefix + "\u001f" + n.name + (lb && lb.kind !== "http" ? " · " + lb.text : "");
    let key = base, i = 1;
    while (out.has(key)) key = base + "#" + ++i;
    out.set(key, n); order.push(key);
    for (const c of n.children || []) visit(c, key);
  };
  (tr.roots || []).forEach((r) => visit(r, ""));
  return { map: out, order };
}

async function showCompare(a, b) {
  try {
    const [ta, tb] = await Promise.all([api("/api/traces/" + encodeURIComponent(a)), api("/api/traces/" + encodeURIComponent(b))]);
    showError("");
    const pa = spanPaths(ta), pb = spanPaths(tb);
    const keys = [...pb.order, ...pa.order.filter((k) => !pb.map.has(k))];
    let added = 0, removed = 0, slower = 0;
    const dur = (n) => n.end_time - n.start_time;
    const rows = keys.map((k) => {
      const x = pa.map.get(k), y = pb.map.get(k);
      const depth = k.split("\u001f").length - 2;
      let cls = "same", what = "";
      if (!x) { cls = "added"; what = "added"; added++; }
      else if (!y) { cls = "removed"; what = "removed"; removed++; }
      else {
        const d = dur(y) - dur(x);
        if (d > Math.max(0.0001, dur(x) * 0.1)) { cls = "slower"; what = "slower"; slower++; }
        else if (-d > Math.max(0.0001, dur(x) * 0.1)) { cls = "faster"; what = "faster"; }
      }
      const n = x || y, lb = label(n);
      return el("tr", { class: cls, "data-path": k },
        el("td", { style: `padding-left:${8 + depth * 14}px` }, n.name, lb ? el("span", { class: "wf-label" }, lb.text) : null),
        el("td", { class: "num" }, x ? ms(dur(x)) : ""), el("td", { class: "num" }, y ? ms(dur(y)) : ""),
        el("td", { class: "num" }, x && y ? (dur(y) >= dur(x) ? "+" : "−") + ms(Math.abs(dur(y) - dur(x))) : ""),
        el("td", {}, what));
    });
    $("#compare-meta").textContent = `A ${a} (${ms(ta.end_time - ta.start_time)}) · B ${b} (${ms(tb.end_time - tb.start_time)})`;
    $("#compare-summary").textContent = `B adds ${added} span(s), lacks ${removed}, and ${slower} got slower.`;
    $("#compare tbody").replaceChildren(...rows);
  } catch (e) { showError(e.message); }
}

function route() {
  const h = location.hash || "#/";
  $("#list-view").hidden = true; $("#trace-view").hidden = true; $("#map-view").hidden = true; $("#db-view").hidden = true; $("#compare-view").hidden = true;
  if (h.startsWith("#/trace/")) { $("#trace-view").hidden = false; showTrace(decodeURIComponent(h.slice(8))); }
  else if (h === "#/map") { $("#map-view").hidden = false; showMap(); }
  else if (h === "#/db") { $("#db-view").hidden = false; showDatabase(); }
  else if (h.startsWith("#/compare/")) {
    const [a, b] = h.slice(10).split("/").map(decodeURIComponent);
    $("#compare-view").hidden = false; showCompare(a, b);
  }
  else {
    $("#list-view").hidden = false;
    const i = h.indexOf("?");
    if (i >= 0) {
      const p = new URLSearchParams(h.slice(i + 1));
      $("#filter").value = p.get("filter") || "";
      if (p.has("since")) $("#since").value = p.get("since");
    }
    showList();
  }
}

document.querySelectorAll(".tabs button").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll(".tabs button").forEach((x) => x.classList.toggle("on", x === b));
  for (const t of ["timeline", "sql", "raw"]) $("#tab-" + t).hidden = t !== b.dataset.tab;
}));
$("#apply").addEventListener("click", () => { const h = listHash(); if (location.hash !== h) location.hash = h; else showList(); });
$("#filter").addEventListener("keydown", (e) => { if (e.key === "Enter") $("#apply").click(); });
window.addEventListener("hashchange", route);
route();

// Live: the list shows new traces as they are stored (server-sent events
// from /api/events), without a reload.
let liveTimer = null;
// live keeps one event stream open while the page is shown, and closes it
// when the page is hidden or left: a browser holds at most six connections
// to one host, and a stream left open by each background tab, or by a
// page kept in the back/forward cache, would use them up.
function live() {
  if (!window.EventSource) return;
  let es = null;
  const open = () => {
    if (es) return;
    es = new EventSource("/api/events");
    es.addEventListener("traces", () => {
      if ($("#list-view").hidden) return;
      clearTimeout(liveTimer);
      liveTimer = setTimeout(refreshList, 250);
    });
    es.onopen = () => $("#live").classList.add("on");
    es.onerror = () => $("#live").classList.remove("on");
  };
  const close = () => {
    if (!es) return;
    es.close(); es = null;
    $("#live").classList.remove("on");
  };
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) { close(); return; }
    open();
    if (!$("#list-view").hidden) refreshList(); // what arrived meanwhile
  });
  window.addEventListener("pagehide", close);
  window.addEventListener("pageshow", (e) => { if (e.persisted && !document.hidden) open(); });
  open();
}
live();
