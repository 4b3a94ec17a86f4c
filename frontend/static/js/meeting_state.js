// The viewer page's state: its config, what the socket has told it so far, and the outbox of
// comments and questions not yet acknowledged, which survives reconnects and reloads.

export const config = JSON.parse(document.getElementById("config").textContent);
export const S = config.strings;
export const meetingId = config.meeting.id;
export const $ = (id) => document.getElementById(id);

export const state = {
  status: config.meeting.status,
  last: null, // the id of the last event received: where to resume
  asOf: null, // held counts include every event up to this id
  held: {},
  socket: null,
  ready: false,
  attempts: 0,
  mine: new Map(), // event id -> element of an own, acknowledged comment
  questions: new Map(), // question id -> the public question, as of the last event
  sort: "votes", // or "time"
  pendingVotes: [], // question ids voted for and not yet answered, in the order sent
};

// Comments waiting for their ack survive reconnects and reloads: nothing typed is lost.
const OUTBOX_KEY = `halyq:outbox:${meetingId}`;
export const outbox = new Map(readJSON(OUTBOX_KEY, []));

export function readJSON(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

export function saveOutbox() {
  try {
    localStorage.setItem(OUTBOX_KEY, JSON.stringify([...outbox]));
  } catch {
    // storage full or disabled: the outbox still lives in memory
  }
}

// Small helpers

export function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// A message with a count comes as its forms by CLDR plural category ({one, few, many, other}):
// the count `n` picks the form the language's rule asks for ("1 голос", "2 голоса", "5 голосов").
const PLURALS = new Intl.PluralRules(config.lang);

function plural(forms, n) {
  return forms[PLURALS.select(n)] ?? forms.other ?? forms.many;
}

export function format(text, values) {
  const chosen = typeof text === "object" ? plural(text, values.n) : text;
  return chosen.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function idKey(id) {
  const [ms, seq = "0"] = id.split("-");
  return [Number(ms), Number(seq)];
}

export function isAfter(a, b) {
  const [x, y] = [idKey(a), idKey(b)];
  return x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
}

export function reasonLabel(reason) {
  return S[`reason_${reason}`] ?? reason;
}

export function setNote(item, text) {
  let note = item.querySelector(".note");
  if (!note) {
    note = document.createElement("span");
    note.className = "note";
    item.append(note);
  }
  note.textContent = text;
}

export function rememberName(name) {
  try {
    localStorage.setItem("halyq:name", name);
  } catch {
    // not remembered this time
  }
}

// Sending: a frame goes out only on a socket that has had its hello.

export function isOpen() {
  return state.ready && state.socket?.readyState === WebSocket.OPEN;
}

export function send(clientId) {
  const entry = outbox.get(clientId);
  if (!entry || !isOpen()) return;
  const frame = { type: "comment", client_msg_id: clientId, name: entry.name, text: entry.text };
  if (entry.kind === "question") {
    frame.type = "question";
    frame.district = entry.district ?? "";
  }
  state.socket.send(JSON.stringify(frame));
}
