// The lipsync-mock dashboard: polls the control API (/__mock/…) once a second and updates the page in place.
// Requests are hostile input, so every text goes in as a text node (no HTML parsing anywhere), and only
// http(s) URLs and the mock's own paths become links.
"use strict";

const API = "/__mock";
const POLL_MS = 1000;
const TOKEN_KEY = "lipsync-mock-control-token";
// ?namespace=NAME shows (and controls) only that namespace's work: every call carries X-Mock-Namespace.
const NAMESPACE = new URLSearchParams(location.search).get("namespace") || "";
const NO_ANSWER = "the mock did not answer (is it still running?)";

// What the page keeps about its nodes is kept beside them, not on them: each node's entry goes with the node.
const shownData = new WeakMap(); // node → the data it shows, as JSON
const partsOf = new WeakMap(); // task card or result → its parts, and what the browser found out about a video
const listKeys = new WeakMap(); // child of a keyed list → its key

class ControlError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status; // 0: no answer
  }
}

async function call(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers["X-Mock-Control-Token"] = token;
  if (NAMESPACE) headers["X-Mock-Namespace"] = NAMESPACE;
  let response;
  try {
    response = await fetch(API + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
  } catch {
    throw new ControlError(0, NO_ANSWER);
  }
  const answer = await response.json().catch(() => null);
  if (!response.ok) {
    const first = (answer && answer.errors && answer.errors[0]) || {};
    throw new ControlError(response.status, first.message || `HTTP ${response.status}`);
  }
  return answer;
}

// el("td", {className: "x"}, "text", child) — children are strings (as text) or nodes.
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

function link(href, text) {
  // Only the mock's own paths and http(s) URLs: never javascript: or data: from a request.
  const safe = href && (href.startsWith("/") && !href.startsWith("//") || /^https?:\/\//i.test(href));
  return safe ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, text) : el("span", {}, text);
}

function time(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const at = new Date(seconds * 1000);
  return at.toLocaleTimeString([], { hour12: false }) + "." + String(at.getMilliseconds()).padStart(3, "0");
}

function usd(amount) {
  return amount === null ? "unlimited" : "$" + amount;
}

function say(text) {
  document.getElementById("message").textContent = text;
}

// Replace a node's children only when what it shows changed, so a refresh does not disturb the page.
function show(node, data, render) {
  const key = JSON.stringify(data);
  if (shownData.get(node) === key) return;
  shownData.set(node, key);
  node.replaceChildren(...[].concat(render(data)));
}

// Long strings (inline media) are shortened for display; the curl command keeps them whole.
function shortened(value) {
  return JSON.stringify(value, (_, v) =>
    typeof v === "string" && v.length > 160 ? v.slice(0, 80) + `… (${v.length} chars)` : v, 2);
}

// ---- tasks ----

// The lifecycle modes, as the mock named them in the page's own selector.
function lifecycleOptions() {
  return [...document.getElementById("lifecycle-mode").options].map((option) => el("option", {}, option.value));
}

function taskCard(task) {
  const card = el("article", { className: "task" });
  card.dataset.taskUuid = task.taskUUID;
  const head = el("div", { className: "task-head" });
  const lifecycle = el("select", { className: "task-lifecycle" }, ...lifecycleOptions());
  lifecycle.value = task.lifecycle.mode;
  const complete = el("button", { type: "button", className: "complete" }, "Complete now");
  complete.addEventListener("click", () =>
    act(() => call("POST", `/tasks/${encodeURIComponent(task.taskUUID)}/complete`), "completed " + task.taskUUID));
  const setLifecycle = el("button", { type: "button", className: "set-lifecycle" }, "Set lifecycle");
  setLifecycle.addEventListener("click", () =>
    act(() => call("PUT", "/lifecycle", { mode: lifecycle.value, seconds: 0, polls: 1, taskUUID: task.taskUUID }),
      `${task.taskUUID}: lifecycle ${lifecycle.value}`));
  const journal = el("button", { type: "button" }, "Its requests");
  journal.addEventListener("click", () => {
    document.getElementById("filter-task").value = task.taskUUID;
    refresh();
  });
  const controls = el("span", { className: "task-controls" }, lifecycle, setLifecycle, complete, journal);
  const summary = el("span", { className: "task-summary" });
  head.append(summary, controls);
  const body = el("div", { className: "task-body" });
  const details = el("div", { className: "task-details" });
  const results = el("div", { className: "results" });
  const timeline = el("ol", { className: "timeline" });
  body.append(details, results, el("div", {}, el("strong", {}, "Timeline"), timeline));
  card.append(head, body);
  partsOf.set(card, { summary, details, results, timeline, complete, lifecycle });
  return card;
}

function updateCard(card, task) {
  const { summary, details, results, timeline, complete, lifecycle } = partsOf.get(card);
  show(summary, [task.taskUUID, task.status, task.progress], () => {
    const parts = [
      el("code", { className: "task-uuid" }, task.taskUUID),
      el("span", { className: `badge status status-${task.status}` }, task.status),
    ];
    if (task.progress !== null) parts.push(el("progress", { max: 1, value: task.progress }));
    return parts;
  });
  complete.disabled = task.status === "success" || task.status === "error";
  if (document.activeElement !== lifecycle) lifecycle.value = task.lifecycle.mode;
  show(details, [task.syncMode, task.numberResults, task.outputFormat, task.cost, task.lifecycle, task.inputs,
    task.error], () => {
    const rows = [
      el("div", {}, `syncMode ${task.syncMode} · numberResults ${task.numberResults} · ${task.outputFormat}`),
      el("div", {}, "cost " + (task.cost === null ? "—" : "$" + task.cost)),
      el("div", {}, `lifecycle ${task.lifecycle.mode}`),
      el("div", { className: "inputs" }, el("strong", {}, "Inputs"),
        ...task.inputs.map((input) => el("div", {}, el("code", {}, input.parameter), " ", link(input.href, input.text)))),
    ];
    if (task.error) {
      rows.push(el("div", { className: "error" }, el("strong", {}, task.error.code), " ",
        el("code", {}, task.error.parameter || ""), " ", task.error.message || ""));
    }
    return rows;
  });
  // A failed task has no videos to show; its error is in the details.
  syncList(results, task.error ? [] : task.results, (result) => result.videoUUID, resultView, updateResult);
  show(timeline, task.timeline, () => task.timeline.map((event) =>
    el("li", {}, time(event.at) + " ", el("strong", {}, event.event), event.detail ? " " + event.detail : "")));
}

function resultView(result) {
  const node = el("div", { className: "result" });
  node.dataset.videoUuid = result.videoUUID;
  const parts = { player: el("div"), facts: el("div", { className: "facts" }), duration: null, size: null };
  partsOf.set(node, parts);
  node.append(parts.player, parts.facts);
  return node;
}

function updateResult(node, result) {
  const parts = partsOf.get(node);
  const describe = () => {
    const size = parts.size === null ? "…" : parts.size === "?" ? "size unknown" : `${(parts.size / 1024).toFixed(1)} kB`;
    const duration = parts.duration === null ? "…" : `${parts.duration.toFixed(2)} s`;
    show(parts.facts, [result, size, duration], () => [
      el("div", {}, link(result.videoPath, result.videoUUID)),
      el("div", {}, result.served ? `${duration} · ${size}` : ""),
      el("div", {}, `seed ${result.seed}` + (result.cost === null ? "" : ` · $${result.cost}`)
        + (result.NSFWContent === null ? "" : ` · NSFW ${result.NSFWContent}`)),
    ]);
  };
  // The <video> is made once, when the file is served, so a refresh does not restart playback.
  if (result.served && !parts.player.querySelector("video")) {
    const video = el("video", { controls: true, preload: "metadata", src: result.videoPath });
    video.addEventListener("loadedmetadata", () => { parts.duration = video.duration; describe(); });
    parts.player.replaceChildren(video);
    fetch(result.videoPath, { method: "HEAD", cache: "no-store" })
      .then((response) => Number(response.ok && response.headers.get("Content-Length")) || "?")
      .catch(() => {
        say(`the size of ${result.videoUUID} is unknown: ${NO_ANSWER}`);
        return "?";
      })
      .then((size) => { parts.size = size; describe(); });
  } else if (!result.served) {
    parts.player.replaceChildren(el("div", { className: "mono" }, result.ready ? "expired (ttl)" : "not ready"));
  }
  describe();
}

// Keep one child per item, in the items' order: create new ones, update all, drop the gone.
function syncList(container, items, keyOf, create, update) {
  const existing = new Map([...container.children].map((child) => [listKeys.get(child), child]));
  const wanted = items.map((item) => {
    const key = keyOf(item);
    let node = existing.get(key);
    if (node === undefined) {
      node = create(item);
      listKeys.set(node, key);
    }
    update(node, item);
    return node;
  });
  for (const node of existing.values()) if (!wanted.includes(node)) node.remove();
  wanted.forEach((node, index) => {
    if (container.children[index] !== node) container.insertBefore(node, container.children[index] || null);
  });
}

// ---- accounts ----

function showAccounts(answer) {
  document.getElementById("starting-balance").textContent = usd(answer.startingBalance);
  document.getElementById("no-accounts").hidden = answer.accounts.length > 0;
  show(document.getElementById("accounts"), answer.accounts, () => answer.accounts.map((account) =>
    el("tr", {},
      el("td", { className: "mono", title: account.account }, account.account.slice(0, 12) + "…"),
      el("td", { className: "balance" }, usd(account.balance)),
      el("td", { className: "spent" }, "$" + account.spent))));
}

// ---- client coverage ----

function showCoverage(report) {
  document.getElementById("coverage-percent").textContent = report.percent + "%";
  show(document.getElementById("coverage"), report.sections, () => Object.entries(report.sections).map(
    ([name, section]) => el("tr", {},
      el("td", {}, name),
      el("td", {}, `${section.met} of ${section.total} (${section.percent}%)`),
      el("td", { className: "mono" },
        section.entries.filter((entry) => !entry.met).map((entry) => entry.name).join(", ")))));
}

// ---- requests and deliveries ----

function requestRow(entry) {
  const row = el("tr");
  row.dataset.requestId = entry.id;
  const tasks = Array.isArray(entry.request) ? entry.request : [];
  const named = tasks.map((t) => (t && typeof t === "object" ? `${t.taskType ?? "?"} ${t.taskUUID ?? ""}` : "?"));
  const errors = (entry.response && entry.response.errors) || [];
  const copy = el("button", { type: "button", className: "copy-curl" }, "Copy as curl");
  copy.addEventListener("click", () => copyCurl(entry));
  const body = el("details", {}, el("summary", {}, "request / answer"),
    el("pre", {}, shortened(entry.request)), el("pre", {}, shortened(entry.response)));
  row.append(
    el("td", { className: "mono" }, time(entry.receivedAt)),
    el("td", {}, String(entry.status)),
    el("td", {}, el("span", { className: `badge outcome-${entry.outcome}` }, entry.outcome)),
    el("td", { className: "mono" }, ...named.map((text) => el("div", {}, text)), body),
    el("td", {}, ...errors.map((error) =>
      el("div", { className: "error" }, `${error.code ?? ""} `, el("code", {}, error.parameter ?? "")))),
    el("td", {}, copy),
  );
  return row;
}

function shellQuote(text) {
  return "'" + text.replace(/'/g, "'\\''") + "'";
}

function curlCommand(entry) {
  const body = typeof entry.request === "string" ? entry.request : JSON.stringify(entry.request);
  return `curl -s ${shellQuote(location.origin + "/v1")} -H "Authorization: Bearer $RUNWARE_API_KEY" `
    + `-H 'Content-Type: application/json' --data-raw ${shellQuote(body)}`;
}

async function copyCurl(entry) {
  const command = curlCommand(entry);
  const output = document.getElementById("curl-output");
  output.value = command;
  try {
    await navigator.clipboard.writeText(command);
    say("copied the request as a curl command");
  } catch {
    output.select(); // no clipboard (not a secure context): the command is selected, ready to copy
    say("select and copy the command below");
  }
}

function deliveryRow(attempt) {
  const ok = attempt.status !== null && attempt.status >= 200 && attempt.status < 300;
  return el("tr", {},
    el("td", { className: "mono" }, time(attempt.at)),
    el("td", {}, attempt.kind),
    el("td", { className: "mono" }, attempt.taskUUID),
    el("td", { className: "mono" }, attempt.url),
    el("td", {}, String(attempt.attempt)),
    el("td", {}, el("span", { className: "badge " + (ok ? "outcome-ok" : "outcome-refused") },
      attempt.status === null ? attempt.error || "no answer" : String(attempt.status))));
}

// ---- refresh and controls ----

let refreshing = false;

// Never rejects: what went wrong is shown on the page.
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  const connection = document.getElementById("connection");
  const problem = document.getElementById("problem");
  try {
    const filter = new URLSearchParams({ limit: "200" });
    const taskFilter = value("filter-task");
    const outcome = value("filter-outcome");
    if (taskFilter) filter.set("taskUUID", taskFilter);
    if (outcome) filter.set("outcome", outcome);
    const [tasks, requests, deliveries, faults, rate, accounts, coverage] = await Promise.all([
      call("GET", "/tasks?limit=50"),
      call("GET", "/requests?" + filter),
      call("GET", "/deliveries"),
      call("GET", "/faults"),
      call("GET", "/processing-rate"),
      call("GET", "/accounts"),
      call("GET", "/coverage"),
    ]);
    // Cards are kept across refreshes (keyed by taskUUID), so videos and inputs in them keep their state.
    syncList(document.getElementById("tasks"), tasks, (task) => task.taskUUID, taskCard, updateCard);
    document.getElementById("no-tasks").hidden = tasks.length > 0;
    syncList(document.getElementById("requests"), requests.slice().reverse(), (entry) => entry.id, requestRow,
      () => {});
    syncList(document.getElementById("deliveries"), deliveries.slice().reverse(),
      (a) => `${a.at}:${a.kind}:${a.attempt}:${a.taskUUID}`, deliveryRow, () => {});
    show(document.getElementById("fault-rules"), faults, () => faults.map((rule) =>
      el("li", { className: "mono" }, rule.fault + (rule.taskUUID ? ` · taskUUID ${rule.taskUUID}` : "")
        + (rule.taskType ? ` · taskType ${rule.taskType}` : "") + ` · ${rule.times ?? "always"}`)));
    const rateInput = document.getElementById("processing-rate");
    if (document.activeElement !== rateInput) rateInput.value = rate.rate;
    showAccounts(accounts);
    showCoverage(coverage);
    connection.textContent = "live";
    connection.className = "badge outcome-ok";
    problem.textContent = "";
    document.getElementById("token-form").hidden = true;
  } catch (error) {
    const needsToken = error.status === 401;
    connection.textContent = needsToken ? "needs the control token" : "disconnected";
    connection.className = "badge outcome-refused";
    problem.textContent = error instanceof ControlError ? error.message : "the page failed: " + error.message;
    if (needsToken) document.getElementById("token-form").hidden = false;
  } finally {
    refreshing = false;
  }
}

// Run a control call; say what it did, or why it did not.
async function act(action, done) {
  try {
    await action();
    say(done);
  } catch (error) {
    say(error.status === 0 ? error.message : "refused: " + error.message);
  }
  refresh();
}

function onSubmit(id, handler) {
  document.getElementById(id).addEventListener("submit", (event) => {
    event.preventDefault();
    handler();
  });
}

function value(id) {
  return document.getElementById(id).value.trim();
}

// A token given as ?token= is kept for this tab only, and taken out of the address bar.
function takeTokenFromAddress() {
  const params = new URLSearchParams(location.search);
  if (!params.has("token")) return;
  sessionStorage.setItem(TOKEN_KEY, params.get("token"));
  params.delete("token");
  const query = params.toString();
  history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
}

function start() {
  takeTokenFromAddress();
  document.getElementById("namespace").value = NAMESPACE;
  onSubmit("token-form", () => {
    sessionStorage.setItem(TOKEN_KEY, value("token"));
    refresh();
  });
  onSubmit("rate-form", () =>
    act(() => call("PUT", "/processing-rate", { rate: Number(value("processing-rate")) }), "processing rate set"));
  onSubmit("lifecycle-form", () => {
    const body = { mode: value("lifecycle-mode"), seconds: Number(value("lifecycle-seconds") || 0),
      polls: Number(value("lifecycle-polls") || 1) };
    if (value("lifecycle-task")) body.taskUUID = value("lifecycle-task");
    act(() => call("PUT", "/lifecycle", body), `lifecycle ${body.mode} set`);
  });
  onSubmit("fault-form", () => {
    const body = { fault: value("fault") };
    if (value("fault-task")) body.taskUUID = value("fault-task");
    if (value("fault-type")) body.taskType = value("fault-type");
    if (value("fault-times")) body.times = Number(value("fault-times"));
    act(() => call("POST", "/faults", body), "fault rule added");
  });
  onSubmit("balance-form", () => {
    // Empty: unlimited. For every account of the namespace, and those it makes later.
    const amount = value("balance") === "" ? null : Number(value("balance"));
    const namespace = NAMESPACE ? "namespace " + NAMESPACE : "the default namespace";
    act(() => call("PUT", "/balance", { amount }), `every balance of ${namespace} set to ${usd(amount)}`);
  });
  document.getElementById("clear-faults").addEventListener("click", () =>
    act(() => call("DELETE", "/faults"), "fault rules cleared"));
  document.getElementById("reset").addEventListener("click", () =>
    act(() => call("POST", "/reset"), "the mock was reset"));
  document.getElementById("filter-task").addEventListener("input", refresh);
  document.getElementById("filter-outcome").addEventListener("change", refresh);
  refresh();
  setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
}

document.addEventListener("DOMContentLoaded", start);
