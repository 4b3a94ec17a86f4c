// The viewer page's chat: the live comments (text only, never HTML), the public count of held
// ones, how an own comment or question learns its fate (ack or rejection), and the chat form.

import {
  $, S, config, format, isAfter, newId, outbox, reasonLabel, rememberName, saveOutbox, send,
  setNote, state,
} from "./meeting_state.js";

export const list = $("comments");
const form = $("comment-form");
export const nameInput = $("name");
export const textInput = $("text");
export const sendButton = $("send");
const counter = $("counter");
const newButton = $("new-comments");
const MAX_ITEMS = 300;

// Rendering

function nearBottom() {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

export function append(element) {
  const follow = nearBottom();
  list.append(element);
  while (list.children.length > MAX_ITEMS) list.firstElementChild.remove();
  if (follow) list.scrollTop = list.scrollHeight;
  else newButton.hidden = false;
}

export function commentElement(name, text, at, channel) {
  const item = document.createElement("li");
  fillComment(item, name, text, at, channel);
  return item;
}

function fillComment(item, name, text, at, channel) {
  item.className = "comment";
  const who = document.createElement("bdi");
  who.className = "name";
  who.textContent = name || S.guest;
  const body = document.createElement("bdi");
  body.className = "text";
  body.textContent = text;
  item.replaceChildren(who, body);
  // Staff speaking as staff (issue 8): an element of its own, which no viewer's name (always
  // text, never HTML, and refused when it reads as a role) can make.
  if (channel === "staff") {
    item.classList.add("staff");
    const badge = document.createElement("span");
    badge.className = "staff-badge";
    badge.textContent = S.staff_badge;
    who.after(badge);
  }
  if (at) addTime(item, at);
}

function addTime(item, at) {
  const time = document.createElement("time");
  const moment = new Date(at);
  time.dateTime = moment.toISOString();
  time.textContent = moment.toLocaleTimeString(config.lang, { hour: "2-digit", minute: "2-digit" });
  item.querySelector(".text").after(time);
}

function pendingElement(clientId) {
  return document.querySelector(`[data-client="${CSS.escape(clientId)}"]`);
}

function markMine(item) {
  item.classList.add("mine");
  item.dataset.mine = "true";
  const you = document.createElement("span");
  you.className = "you";
  you.textContent = `(${S.you})`;
  item.querySelector(".name").after(you);
}

export function showPending(clientId, entry) {
  const item = commentElement(entry.name, entry.text, null);
  markMine(item);
  item.classList.add("pending");
  item.dataset.client = clientId;
  setNote(item, S.sending);
  append(item);
  list.scrollTop = list.scrollHeight;
}

export function renderHeld() {
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

// A moderator hid a comment: its text leaves the chat, its public reason stays (R3).
export function hideComment(event) {
  const item = list.querySelector(`[data-id="${CSS.escape(event.comment)}"]`);
  if (!item) return;
  item.className = "comment system removed";
  item.textContent = format(S.comment_hidden, { reason: reasonLabel(event.reason) });
}

export function releaseComment(event) {
  const shown = list.querySelector(`[data-id="${CSS.escape(event.comment)}"]`);
  if (shown) {
    const mine = shown.dataset.mine === "true";
    fillComment(shown, event.name, event.text, event.posted_at, event.channel);
    if (mine) markMine(shown);
    return;
  }
  const item = commentElement(event.name, event.text, event.posted_at, event.channel);
  item.dataset.id = event.comment;
  // In record order: before the first comment that came after it.
  const later = [...list.children].find((o) => o.dataset.id && isAfter(o.dataset.id, event.comment));
  if (later) later.before(item);
  else append(item);
}

// Answers to an own comment or question

export function acknowledged(message) {
  const clientId = message.client_msg_id;
  outbox.delete(clientId);
  saveOutbox();
  const item = pendingElement(clientId);
  if (!item) return;
  item.classList.remove("pending");
  if (message.status === "pending") {
    item.dataset.id = message.id;
    setNote(item, S.question_pending); // a question waits for the moderators
    return;
  }
  if (message.status === "held") {
    item.dataset.id = message.id; // a moderator may release it later
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

// Not recorded: these pass, so the same comment goes again later (its id is still unused).
const SEND_AGAIN = { rate_limited: 5, overloaded: 1, unavailable: 3 };

export function rejected(message) {
  const clientId = message.client_msg_id;
  const item = pendingElement(clientId);
  const reason = message.reason;
  if (reason in SEND_AGAIN) {
    const wait = message.retry_after ?? SEND_AGAIN[reason];
    if (item) setNote(item, format(S[`rejected_${reason}`], { n: wait }));
    setTimeout(() => send(clientId), wait * 1000);
    return;
  }
  outbox.delete(clientId);
  saveOutbox();
  if (!item) return;
  item.classList.remove("pending");
  item.classList.add("failed");
  const fallback = item.classList.contains("asked") ? S.question_rejected : S.rejected_invalid;
  const key = reason === "invalid" ? null : `rejected_${reason}`;
  setNote(item, format(S[key] ?? fallback, { n: config.maxChars }));
}

// The server cannot tell yet whether it recorded the comment: only the same comment with the
// same id, sent again, settles it (acknowledged once, never twice). It stays in the outbox.
export function unconfirmed(message) {
  const clientId = message.client_msg_id;
  const item = pendingElement(clientId);
  if (item) setNote(item, S.not_confirmed);
  setTimeout(() => send(clientId), (message.retry_after ?? 1) * 1000);
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
  rememberName(name);
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
