// The moderator console's state: the page's config, the items as last received, and the small
// helpers every part of it shares. What a row offers is what the server says each item allows
// (`actions`, `merge_target`): the lifecycle lives in the server alone.

export const config = JSON.parse(document.getElementById("config").textContent);
export const S = config.strings ?? {};
export const $ = (id) => document.getElementById(id);

const notice = $("notice");

// One key per action; Shift+M merges into the suggested duplicate at once.
export const ACTION_KEYS = {
  approve: "a", reject: "r", merge: "m", tag: "t", queue: "q", on_air: "o", answer: "n",
  defer: "d", hide: "h", release: "u", promote: "p",
};
const ACTION_ORDER = Object.keys(ACTION_KEYS);
export const STATUSES = [
  "new", "approved", "queued", "on_air", "answered", "deferred", "rejected", "merged",
  "shown", "held", "hidden",
];

export const state = {
  me: config.me,
  items: new Map(), // id -> the item as last received
  lane: "incoming", // the lane the keyboard moves through (issue 14)
  placed: [], // the rundown's order as the producer left it (hello `placed`, `rundown.moved`)
  selected: null, // id of the selected item
  complete: false, // every `page` of the current snapshot has come
  last: null, // the newest stream id applied
  socket: null,
  hello: false, // the current socket has sent its hello
  attempts: 0,
  failures: 0, // sockets in a row that closed before their hello
  forbiddenRetry: false, // after a 4403, one reconnect is tried
  stopped: false,
  pending: new Map(), // cmd -> {action, item}
  chooser: null, // the open chooser, which takes every key
  channels: new Set(),
};
export const filters = { text: "", kind: "", status: "", channel: "", topic: "", district: "" };

// Small helpers

export function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// A message with a count comes as its forms by CLDR plural category ({one, few, many, other}):
// the count `n` picks the form the language's rule asks for ("1 голос", "2 голоса", "5 голосов").
const PLURALS = new Intl.PluralRules(config.lang);

function plural(forms, n) {
  return forms[PLURALS.select(n)] ?? forms.other ?? forms.many;
}

export function format(text, values) {
  const chosen = text !== null && typeof text === "object" ? plural(text, values.n) : text;
  return String(chosen ?? "").replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

export function label(prefix, code) {
  return S[`${prefix}_${code}`] ?? code;
}

function idKey(id) {
  const [ms, seq = "0"] = String(id).split("-");
  return [Number(ms), Number(seq)];
}

export function isAfter(a, b) {
  const [x, y] = [idKey(a), idKey(b)];
  return x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
}

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function clip(text, max = 140) {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : text;
}

let noticeTimer = null;
export function say(text) {
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    notice.hidden = true;
  }, 8000);
}

export function hideNotice() {
  clearTimeout(noticeTimer);
  notice.hidden = true;
}

// What the server says a row allows

export function actionsFor(item) {
  const actions = item.actions ?? [];
  return ACTION_ORDER.filter((a) => actions.includes(a));
}

export function isMergeTarget(id, except) {
  const target = state.items.get(id);
  return Boolean(target) && id !== except && target.merge_target === true;
}

export function suggestions(item) {
  return (item.similar ?? []).filter((id) => isMergeTarget(id, item.id));
}
