// The viewer's own questions and comments and what became of them ("My questions", issue 10.7).
// The list comes from GET /api/meetings/{id}/mine, which knows the viewer by its cookie, so it
// survives reloads. It is loaded with the page, after each of the viewer's own acks, when the
// socket tells of a change to one of them (approved, on air, answered are public events), and
// every 20 s while the page is visible (a rejection is not public: only asking finds it).

import { $, S, format, meetingId, reasonLabel, setNote } from "./meeting_state.js";

const section = $("mine");
const list = $("my-questions");
const count = $("mine-count");
const MINE_URL = `/api/meetings/${encodeURIComponent(meetingId)}/mine`;
const POLL_MS = 20000;
const SOON_MS = 250; // events of one decision come together: one request for them all

const known = new Map(); // item id -> the item as the server last said
let loading = null; // the request on its way
let again = false; // something changed while it was on its way: ask once more after it
let soonTimer = null;

// Words

export function fate(item) {
  if (item.status === "sent") return S.question_pending;
  const words = S[`mine_${item.status}`] ?? item.status;
  return format(words, { reason: reasonLabel(item.reason) });
}

// Rendering: one row per item, kept (and only changed) across refreshes, so that a screen
// reader hears a fate that changed, and nothing else.

function rowOf(id) {
  return list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
}

function filled(item) {
  const row = rowOf(item.id) ?? document.createElement("li");
  row.dataset.id = item.id;
  row.dataset.kind = item.kind;
  row.dataset.status = item.status;
  delete row.dataset.client; // acknowledged long ago: the server's row now
  row.className = item.kind === "question" ? "asked" : "said";
  if (!row.querySelector(".meta .kind")) fillRow(row, item.kind, item.text);
  const text = row.querySelector(".text");
  if (text.textContent !== item.text) {
    text.textContent = item.text;
    text.title = item.text;
  }
  const words = fate(item);
  if (row.querySelector(".note").textContent !== words) setNote(row, words);
  return row;
}

// A row: the text (two lines at most, all of it on hover), then "Question · <its fate>".
function fillRow(row, kind, text) {
  const body = document.createElement("bdi");
  body.className = "text";
  body.textContent = text;
  body.title = text;
  const meta = document.createElement("span");
  meta.className = "meta";
  const label = document.createElement("span");
  label.className = "kind";
  label.textContent = kind === "question" ? S.kind_question : S.kind_comment;
  const note = document.createElement("span");
  note.className = "note";
  meta.append(label, note);
  row.replaceChildren(body, meta);
}

function render(items) {
  known.clear();
  for (const item of items) known.set(item.id, item);
  const rows = items.map(filled);
  // Rows of this tab the server does not list yet: sending, refused, or acknowledged while
  // the answer was on its way. They stay after the server's, in the order sent.
  const local = [...list.children].filter(
    (row) => !rows.includes(row) && row.dataset.client && !known.has(row.dataset.id ?? ""),
  );
  const wanted = [...rows, ...local];
  if (wanted.some((row, index) => list.children[index] !== row) || list.children.length !== wanted.length) {
    list.replaceChildren(...wanted);
  }
  updated();
}

function updated() {
  const n = list.children.length;
  section.hidden = n === 0;
  count.textContent = String(n);
}

// A question asked in this tab, before its ack: shown at once, as "Sending…".
export function showQuestionPending(clientId, entry) {
  const row = document.createElement("li");
  row.className = "asked pending";
  row.dataset.client = clientId;
  row.dataset.kind = "question";
  fillRow(row, "question", entry.text);
  setNote(row, S.sending);
  list.append(row);
  updated();
}

// Loading

export async function refreshMine() {
  if (loading) {
    again = true;
    return loading;
  }
  loading = load();
  try {
    await loading;
  } finally {
    loading = null;
  }
  if (again) {
    again = false;
    await refreshMine();
  }
}

async function load() {
  try {
    const answer = await fetch(MINE_URL, { credentials: "same-origin", cache: "no-store" });
    if (answer.ok) render((await answer.json()).items ?? []);
  } catch {
    // offline or the server restarting: the next refresh tries again
  }
}

// Soon, once: after an ack, or an event about one of the viewer's own items.
export function refreshMineSoon() {
  if (soonTimer) return;
  soonTimer = setTimeout(() => {
    soonTimer = null;
    refreshMine();
  }, SOON_MS);
}

// A live event of the viewer socket: does it change one of the viewer's own items?
export function noticeEvent(event) {
  const ids = [event.question, event.merged, event.comment].filter(Boolean);
  if (ids.some((id) => known.has(id) || rowOf(id))) refreshMineSoon();
}

function poll() {
  // Spread over a second or two, so that the viewers of a meeting do not ask all at once.
  setTimeout(async () => {
    if (document.visibilityState === "visible" && list.children.length) await refreshMine();
    poll();
  }, POLL_MS + Math.random() * 2000);
}

export function startMine() {
  refreshMine();
  poll();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && list.children.length) refreshMineSoon();
  });
}
