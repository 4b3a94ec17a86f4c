// Halyq viewer page: the live chat over the WebSocket protocol of docs/protocol.md.
// User text only ever goes into the page as text (textContent), never as HTML.

const config = JSON.parse(document.getElementById("config").textContent);
const S = config.strings;
const meetingId = config.meeting.id;
const $ = (id) => document.getElementById(id);

const list = $("comments");
const form = $("comment-form");
const nameInput = $("name");
const textInput = $("text");
const sendButton = $("send");
const counter = $("counter");
const closedNote = $("closed-note");
const connection = $("connection");
const newButton = $("new-comments");
const MAX_ITEMS = 300;

const state = {
  status: config.meeting.status,
  last: null, // the id of the last event received: where to resume
  asOf: null, // held counts include every event up to this id
  held: {},
  socket: null,
  ready: false,
  attempts: 0,
  mine: new Map(), // event id -> element of an own, acknowledged comment
};

// Comments waiting for their ack survive reconnects and reloads: nothing typed is lost.
const OUTBOX_KEY = `halyq:outbox:${meetingId}`;
const outbox = new Map(readJSON(OUTBOX_KEY, []));

function readJSON(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function saveOutbox() {
  try {
    localStorage.setItem(OUTBOX_KEY, JSON.stringify([...outbox]));
  } catch {
    // storage full or disabled: the outbox still lives in memory
  }
}

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function format(text, values) {
  return text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function idKey(id) {
  const [ms, seq = "0"] = id.split("-");
  return [Number(ms), Number(seq)];
}

function isAfter(a, b) {
  const [x, y] = [idKey(a), idKey(b)];
  return x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
}

function reasonLabel(reason) {
  return S[`reason_${reason}`] ?? reason;
}

// Rendering

function nearBottom() {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

function append(element) {
  const follow = nearBottom();
  list.append(element);
  while (list.children.length > MAX_ITEMS) list.firstElementChild.remove();
  if (follow) list.scrollTop = list.scrollHeight;
  else newButton.hidden = false;
}

function commentElement(name, text, at) {
  const item = document.createElement("li");
  item.className = "comment";
  const who = document.createElement("bdi");
  who.className = "name";
  who.textContent = name || S.guest;
  const body = document.createElement("bdi");
  body.className = "text";
  body.textContent = text;
  item.append(who, body);
  if (at) addTime(item, at);
  return item;
}

function addTime(item, at) {
  const time = document.createElement("time");
  const moment = new Date(at);
  time.dateTime = moment.toISOString();
  time.textContent = moment.toLocaleTimeString(config.lang, { hour: "2-digit", minute: "2-digit" });
  item.querySelector(".text").after(time);
}

function setNote(item, text) {
  let note = item.querySelector(".note");
  if (!note) {
    note = document.createElement("span");
    note.className = "note";
    item.append(note);
  }
  note.textContent = text;
}

function pendingElement(clientId) {
  return list.querySelector(`[data-client="${CSS.escape(clientId)}"]`);
}

function markMine(item) {
  item.classList.add("mine");
  const you = document.createElement("span");
  you.className = "you";
  you.textContent = `(${S.you})`;
  item.querySelector(".name").after(you);
}

function showPending(clientId, entry) {
  const item = commentElement(entry.name, entry.text, null);
  markMine(item);
  item.classList.add("pending");
  item.dataset.client = clientId;
  setNote(item, S.sending);
  append(item);
  list.scrollTop = list.scrollHeight;
}

function renderHeld() {
  const box = $("held-counts");
  const entries = Object.entries(state.held).filter(([, n]) => n > 0);
  box.replaceChildren();
  let total = 0;
  for (const [reason, count] of entries) {
    total += count;
    const line = document.createElement("li");
    line.textContent = `${reasonLabel(reason)}: ${count}`;
    box.append(line);
  }
  if (!entries.length) {
    const line = document.createElement("li");
    line.className = "muted";
    line.textContent = S.held_none;
    box.append(line);
  }
  $("held-total").textContent = String(total);
}

function setStatus(status) {
  state.status = status;
  document.querySelector("main").dataset.status = status;
  const badge = $("status");
  badge.className = `status status-${status}`;
  badge.textContent = S[`status_${status}`];
  const open = status === "live"; // R3: while live, commenting is always open
  textInput.disabled = !open;
  sendButton.disabled = !open;
  closedNote.hidden = open;
  closedNote.textContent = open ? "" : S[`closed_${status}`];
}

function setConnection(state, text) {
  connection.dataset.state = state; // connecting, open, lost or gone
  connection.textContent = text;
  connection.classList.toggle("bad", state === "lost" || state === "gone");
}

// Protocol

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const after = state.last ? `?after=${encodeURIComponent(state.last)}` : "";
  const socket = new WebSocket(`${scheme}//${location.host}${config.socket}${after}`);
  state.socket = socket;
  socket.onmessage = (message) => receive(JSON.parse(message.data));
  socket.onclose = (event) => {
    state.socket = null;
    state.ready = false;
    if (event.code === 4404) {
      setConnection("gone", S.not_found);
      return;
    }
    setConnection("lost", S.reconnecting);
    // Full jitter, so that a restarted server is not hit by every viewer at once.
    const delay = Math.random() * Math.min(10000, 500 * 2 ** state.attempts);
    state.attempts += 1;
    setTimeout(connect, delay);
  };
}

function receive(message) {
  switch (message.type) {
    case "hello":
      state.attempts = 0;
      state.ready = true;
      state.asOf = message.as_of;
      state.held = { ...message.held };
      renderHeld();
      setStatus(message.meeting.status);
      setConnection("open", "");
      for (const clientId of outbox.keys()) send(clientId);
      break;
    case "reload":
      state.last = null;
      state.mine.clear();
      for (const item of [...list.children]) if (!item.classList.contains("pending")) item.remove();
      break;
    case "events":
      for (const event of message.events) apply(event);
      state.last = message.last;
      break;
    case "ack":
      acknowledged(message);
      break;
    case "rejected":
      rejected(message);
      break;
    default:
      break; // "error": a bug of ours; nothing the viewer can do
  }
}

function apply(event) {
  if (event.kind === "comment.posted") {
    const mine = state.mine.get(event.id);
    if (mine) {
      mine.classList.remove("pending");
      return;
    }
    const item = commentElement(event.name, event.text, event.at);
    item.dataset.id = event.id;
    append(item);
  } else if (event.kind === "comment.held") {
    if (!state.asOf || isAfter(event.id, state.asOf)) {
      state.held[event.reason] = (state.held[event.reason] ?? 0) + 1;
      renderHeld();
    }
  } else if (event.kind === "meeting.started") {
    setStatus("live");
  } else if (event.kind === "meeting.ended") {
    setStatus("ended");
  }
}

function send(clientId) {
  const entry = outbox.get(clientId);
  if (!entry || !state.ready || state.socket?.readyState !== WebSocket.OPEN) return;
  const frame = { type: "comment", client_msg_id: clientId, name: entry.name, text: entry.text };
  state.socket.send(JSON.stringify(frame));
}

function acknowledged(message) {
  const clientId = message.client_msg_id;
  outbox.delete(clientId);
  saveOutbox();
  const item = pendingElement(clientId);
  if (!item) return;
  item.classList.remove("pending");
  if (message.status === "held") {
    item.classList.add("held");
    setNote(item, format(S.held, { reason: reasonLabel(message.reason) }));
    return;
  }
  item.querySelector(".note")?.remove();
  addTime(item, Date.now());
  const shown = list.querySelector(`[data-id="${CSS.escape(message.id)}"]`);
  if (shown) {
    // The event came before its ack: keep one copy.
    markMine(shown);
    item.remove();
  } else {
    item.dataset.id = message.id;
    state.mine.set(message.id, item);
  }
}

function rejected(message) {
  const clientId = message.client_msg_id;
  const item = pendingElement(clientId);
  const reason = message.reason;
  if (reason === "rate_limited" || reason === "unavailable") {
    const wait = reason === "rate_limited" ? message.retry_after ?? 5 : 3;
    const key = reason === "rate_limited" ? "rejected_rate_limited" : "rejected_unavailable";
    if (item) setNote(item, format(S[key], { n: wait }));
    setTimeout(() => send(clientId), wait * 1000);
    return;
  }
  outbox.delete(clientId);
  saveOutbox();
  if (!item) return;
  item.classList.remove("pending");
  item.classList.add("failed");
  const key = `rejected_${reason}`;
  setNote(item, format(S[key] ?? S.rejected_invalid, { n: config.maxChars }));
}

// The form

function updateCounter() {
  const left = config.maxChars - [...textInput.value].length;
  counter.textContent = left < 100 ? format(S.chars_left, { n: left }) : "";
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = textInput.value.trim();
  if (!text || state.status !== "live") return;
  const name = nameInput.value.trim();
  try {
    localStorage.setItem("halyq:name", name);
  } catch {
    // not remembered this time
  }
  const clientId = newId();
  const entry = { name, text };
  outbox.set(clientId, entry);
  saveOutbox();
  showPending(clientId, entry);
  textInput.value = "";
  updateCounter();
  send(clientId);
});

textInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});
textInput.addEventListener("input", updateCounter);
list.addEventListener("scroll", () => {
  if (nearBottom()) newButton.hidden = true;
});
newButton.addEventListener("click", () => {
  list.scrollTop = list.scrollHeight;
  newButton.hidden = true;
});

try {
  nameInput.value = localStorage.getItem("halyq:name") ?? "";
} catch {
  // storage disabled: the name is asked again
}
setStatus(state.status);
renderHeld();
for (const [clientId, entry] of outbox) showPending(clientId, entry);
setConnection("connecting", S.connecting);
connect();
