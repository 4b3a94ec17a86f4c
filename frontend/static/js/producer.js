// The producer's desk (issue 9): the R4 clock and its phase buttons, the rundown, the air.
//
// Every action is a call of the studio's HTTP API with the session's CSRF token (the routes a
// Stream Deck drives through Companion). The moderators' console socket says when something
// changed; the desk then asks the API again. The countdown runs from the server's own time
// (`as_of`), corrected by the offset between the server's clock and this machine's, so every
// screen shows the same time whatever this machine's clock says.

const config = JSON.parse(document.getElementById("config").textContent);
const S = config.strings;
const CSRF = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const PLURALS = new Intl.PluralRules(config.lang);
const $ = (id) => document.getElementById(id);

const state = {
  reading: null, // the last clock reading, with `offset`: server ms - Date.now() at receipt
  onAir: null,
  rundown: [],
  selected: null, // the id of the selected rundown question
  busy: false,
};

function format(text, values) {
  const chosen = text !== null && typeof text === "object"
    ? text[PLURALS.select(values.n)] ?? text.other ?? text.many
    : text;
  return String(chosen ?? "").replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function idOf(question) {
  return question.question ?? question.id;
}

function clockText(seconds) {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

// Talking to the server

async function call(method, url, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    headers["X-CSRF-Token"] = CSRF;
  }
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.detail || `${response.status}`);
  return answer;
}

function notify(error) {
  const notice = $("notice");
  notice.textContent = error ? format(S.producer_failed, { detail: error.message }) : "";
  notice.hidden = !error;
}

async function act(method, url, body) {
  if (state.busy) return;
  state.busy = true;
  try {
    const answer = await call(method, url, body);
    notify(null);
    return answer;
  } catch (error) {
    notify(error);
    return undefined;
  } finally {
    state.busy = false;
  }
}

async function loadClock() {
  const sent = Date.now();
  const reading = await call("GET", config.clock);
  const received = Date.now();
  setReading(reading, sent, received);
}

function setReading(reading, sent = Date.now(), received = Date.now()) {
  // The server read its clock about halfway through the round trip.
  reading.offset = reading.as_of - (sent + received) / 2;
  state.reading = reading;
  renderClock();
}

async function loadAir() {
  setAir(await call("GET", config.rundown));
}

function setAir(air) {
  state.onAir = air.on_air ?? null;
  state.rundown = air.rundown ?? [];
  if (!state.rundown.some((q) => idOf(q) === state.selected)) {
    state.selected = state.rundown.length ? idOf(state.rundown[0]) : null;
  }
  renderAir();
}

async function refresh() {
  try {
    await Promise.all([loadClock(), loadAir()]);
    notify(null);
  } catch (error) {
    notify(error);
  }
}

let refreshing = null;
function refreshSoon() {
  // A burst of events (a take is two or three) asks once.
  if (refreshing) return;
  refreshing = setTimeout(() => {
    refreshing = null;
    refresh();
  }, 50);
}

// The clock

function renderClock() {
  const r = state.reading;
  if (!r) return;
  const running = r.phase === "presentation";
  const passed = running ? (Date.now() + r.offset - r.as_of) / 1000 : 0;
  const used = r.presentation_s + passed;
  const remaining = r.budget_s - used;
  const phase = $("phase");
  phase.dataset.phase = r.phase;
  phase.textContent = S[`phase_${r.phase}`] ?? r.phase;
  const over = remaining < 0;
  $("remaining").textContent = over ? `+${clockText(-remaining)}` : clockText(remaining);
  $("remaining").dataset.over = String(over);
  $("used").textContent = format(over ? S.producer_overrun : S.producer_used, {
    used: clockText(used),
    budget: clockText(r.budget_s),
    over: clockText(-remaining),
  });
  for (const button of document.querySelectorAll("[data-phase-button]")) {
    button.setAttribute("aria-pressed", String(button.dataset.phaseButton === r.phase));
    button.disabled = r.phase === "ended";
  }
}

async function changePhase(phase) {
  if (phase === "ended" && !window.confirm(S.producer_confirm_end)) return;
  const reading = await act("POST", config.phase, { phase });
  if (reading) setReading(reading);
}

// The air and the rundown

function who(question) {
  const place = question.district
    ? format(S.studio_resident_of, { district: question.district })
    : S.studio_resident;
  return [question.name || place, question.district && question.name ? question.district : ""]
    .filter(Boolean).join(" · ");
}

function renderAir() {
  const box = $("on-air");
  const q = state.onAir;
  box.dataset.empty = String(!q);
  box.querySelector("[data-on-air-text]").textContent = q ? q.text : "";
  box.querySelector("[data-on-air-who]").textContent = q ? who(q) : "";
  $("answered").disabled = $("deferred").disabled = $("clear").disabled = !q;
  $("next").disabled = state.rundown.length === 0;
  const list = $("rundown");
  list.replaceChildren(...state.rundown.map(row));
  $("rundown-count").textContent = String(state.rundown.length);
  $("rundown-empty").hidden = state.rundown.length > 0;
}

function row(question, index) {
  const id = idOf(question);
  const item = document.createElement("li");
  item.className = "desk-row";
  item.dataset.id = id;
  item.draggable = true;
  item.setAttribute("aria-selected", String(id === state.selected));
  const text = document.createElement("p");
  text.className = "desk-row-text";
  text.append(Object.assign(document.createElement("bdi"), { textContent: question.text }));
  const meta = document.createElement("p");
  meta.className = "desk-row-meta muted";
  const channel = S[`channel_${question.channel}`] ?? question.channel;
  meta.textContent = [who(question), channel, format(S.votes, { n: question.votes ?? 0 })]
    .filter(Boolean).join(" · ");
  const take = document.createElement("button");
  take.type = "button";
  take.className = "desk-take";
  take.textContent = S.producer_take;
  take.addEventListener("click", () => takeToAir(id));
  item.append(text, meta, take);
  item.addEventListener("click", (event) => {
    if (event.target !== take) select(id);
  });
  item.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData("text/plain", id);
    event.dataTransfer.effectAllowed = "move";
  });
  item.addEventListener("dragover", (event) => event.preventDefault());
  item.addEventListener("drop", (event) => {
    event.preventDefault();
    const dragged = event.dataTransfer.getData("text/plain");
    if (dragged && dragged !== id) moveTo(dragged, index);
  });
  return item;
}

function select(id) {
  state.selected = id;
  for (const item of $("rundown").children) {
    const chosen = item.dataset.id === id;
    item.setAttribute("aria-selected", String(chosen));
    if (chosen) item.scrollIntoView({ block: "nearest" });
  }
}

function step(delta) {
  const ids = state.rundown.map(idOf);
  if (!ids.length) return;
  const at = Math.max(0, ids.indexOf(state.selected));
  select(ids[Math.min(ids.length - 1, Math.max(0, at + delta))]);
}

async function moveTo(id, position) {
  const air = await act("POST", `${config.rundown}/move`, { question: id, position });
  if (air) setAir(air);
}

async function shift(delta) {
  const ids = state.rundown.map(idOf);
  const at = ids.indexOf(state.selected);
  const to = at + delta;
  if (at < 0 || to < 0 || to >= ids.length) return;
  await moveTo(state.selected, to);
}

async function takeToAir(id) {
  if (!id) return;
  const air = await act("POST", `${config.rundown}/take`, { question: id });
  if (air) setAir(air);
}

async function airAction(name) {
  const air = await act("POST", `${config.rundown}/${name}`, {});
  if (air) setAir(air);
}

// Keys: the desk is driven from the keyboard while the studio is live.

const PHASE_KEYS = { p: "presentation", q: "qa", b: "break", e: "ended" };

function onKey(event) {
  if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey) return;
  const key = event.key.toLowerCase();
  if (event.key === "ArrowUp" || event.key === "ArrowDown") {
    const delta = event.key === "ArrowUp" ? -1 : 1;
    if (event.shiftKey) shift(delta);
    else step(delta);
  } else if (event.key === "Enter" || key === "t") {
    takeToAir(state.selected);
  } else if (key === "n") {
    airAction("next");
  } else if (key === "c") {
    airAction("clear");
  } else if (key === "a") {
    airAction("answered");
  } else if (key === "d") {
    airAction("deferred");
  } else if (key in PHASE_KEYS && !event.shiftKey && !event.altKey) {
    changePhase(PHASE_KEYS[key]);
  } else {
    return;
  }
  event.preventDefault();
}

// The broadcast (issue 16): the studio's ingest, our HLS, the recording and each restream
// output, as the ingest's node reports them (`GET /api/meetings/{id}/broadcast`, every 2 s),
// and the record's state at once from `broadcast.changed`. URLs come masked; the stream key is
// never on this page (`halyq meeting keys` shows it).

const BROADCAST_EVERY_MS = 2000;

function secondsUntil(ms) {
  return Math.max(0, Math.round((ms - Date.now()) / 1000));
}

function setBroadcastState(value) {
  const badge = $("broadcast-state");
  $("broadcast").dataset.state = value;
  badge.dataset.state = value;
  badge.textContent = S[`producer_broadcast_${value}`] ?? value;
}

function ingestText(ingest) {
  const parts = [S[`producer_broadcast_${ingest.state}`] ?? ingest.state];
  if (ingest.state === "live" && ingest.bitrate_kbps) {
    parts.push(format(S.producer_bitrate, { kbps: ingest.bitrate_kbps }));
  }
  if (ingest.part) parts.push(format(S.producer_part, { part: ingest.part }));
  const codecs = [ingest.video, ingest.audio].filter(Boolean).join("/");
  if (codecs) parts.push(codecs);
  if (ingest.state === "reconnecting" && ingest.grace_until) {
    parts.push(format(S.producer_grace, { seconds: secondsUntil(ingest.grace_until) }));
  }
  return parts.join(" · ");
}

function outputRow(output) {
  const item = document.createElement("li");
  item.className = "broadcast-output";
  item.dataset.name = output.name;
  const head = document.createElement("p");
  const name = Object.assign(document.createElement("strong"), { textContent: output.name });
  const badge = document.createElement("span");
  badge.className = "broadcast-output-state";
  badge.dataset.state = output.state;
  badge.textContent = S[`producer_output_${output.state}`] ?? output.state;
  head.append(name, " ", badge);
  const url = document.createElement("p");
  url.append(Object.assign(document.createElement("code"), { textContent: output.url }));
  const meta = document.createElement("p");
  meta.className = "broadcast-output-meta muted";
  const facts = [format(S.producer_restarts, { n: output.restarts ?? 0 })];
  if (output.state === "live" && output.bitrate_kbps) {
    facts.push(format(S.producer_bitrate, { kbps: output.bitrate_kbps }));
  }
  if (output.retry_at) {
    facts.push(format(S.producer_retry_in, { seconds: secondsUntil(output.retry_at) }));
  }
  meta.textContent = facts.join(" · ");
  item.append(head, url, meta);
  if (output.error) {
    const error = Object.assign(document.createElement("p"), { textContent: output.error });
    error.className = "broadcast-output-error";
    item.append(error);
  }
  return item;
}

function renderBroadcast(status) {
  if (!status) return; // never broadcast here yet: the record's state stays
  setBroadcastState(status.state);
  $("broadcast-ingest").textContent = ingestText(status.ingest ?? { state: status.state });
  const hls = status.hls;
  const restarts = format(S.producer_restarts, { n: hls?.restarts ?? 0 });
  $("broadcast-hls").textContent = hls
    ? [S[`producer_hls_${hls.state}`] ?? hls.state, restarts].join(" · ")
    : "–";
  const recording = status.recording;
  $("broadcast-recording").textContent = recording
    ? format(S.producer_recording, {
      size: (recording.bytes / 1e6).toFixed(1),
      parts: (recording.parts ?? []).length,
    })
    : "–";
  const outputs = status.outputs ?? [];
  $("broadcast-outputs").replaceChildren(...outputs.map(outputRow));
  $("broadcast-no-outputs").hidden = outputs.length > 0;
}

async function loadBroadcast() {
  try {
    const response = await fetch(config.broadcast, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.ok) renderBroadcast(await response.json());
  } catch {
    // the next look tries again
  }
}

function startBroadcast() {
  setBroadcastState($("broadcast").dataset.state);
  if (!config.broadcast) return; // this server's ingest is off: the panel says so
  loadBroadcast();
  setInterval(loadBroadcast, BROADCAST_EVERY_MS);
}

// A console frame: the record's broadcast state shows at once, and the status is asked again.
function onFrame(message) {
  refreshSoon();
  let frame;
  try {
    frame = JSON.parse(message.data);
  } catch {
    return;
  }
  // A hello says the state as of now: a change made while the socket was connecting is in it.
  if (frame.type === "hello" && frame.meeting?.broadcast) {
    setBroadcastState(frame.meeting.broadcast);
    return;
  }
  const changed = (frame.events ?? []).filter((event) => event.kind === "broadcast.changed");
  if (!changed.length) return;
  setBroadcastState(changed[changed.length - 1].state);
  if (config.broadcast) loadBroadcast();
}

// The console socket: it says when to look again.

let backoff = 500;
function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${config.socket}`);
  const connection = $("connection");
  socket.addEventListener("open", () => {
    backoff = 500;
    connection.dataset.state = "connected";
    connection.textContent = S.connected;
    refresh();
  });
  socket.addEventListener("message", onFrame);
  socket.addEventListener("close", () => {
    connection.dataset.state = "reconnecting";
    connection.textContent = S.reconnecting;
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10_000);
  });
}

// The lower third as it is on air: the overlay page itself, at its 1920x1080, scaled to fit.
function fitPreview() {
  const frame = $("preview");
  const scale = frame.parentElement.clientWidth / 1920;
  frame.style.transform = `scale(${scale})`;
}

function start() {
  for (const button of document.querySelectorAll("[data-phase-button]")) {
    button.addEventListener("click", () => changePhase(button.dataset.phaseButton));
  }
  $("next").addEventListener("click", () => airAction("next"));
  $("clear").addEventListener("click", () => airAction("clear"));
  $("answered").addEventListener("click", () => airAction("answered"));
  $("deferred").addEventListener("click", () => airAction("deferred"));
  document.addEventListener("keydown", onKey);
  setInterval(renderClock, 250);
  new ResizeObserver(fitPreview).observe($("preview").parentElement);
  refresh();
  startBroadcast();
  connect();
}

start();
