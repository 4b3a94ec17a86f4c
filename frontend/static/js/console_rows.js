// The console's queue: one row per item (text only, never HTML), the filters and counts above
// it, and the selection that the keyboard moves through the visible rows.

import {
  $, ACTION_KEYS, S, STATUSES, actionsFor, clip, config, element, filters, format, isAfter, label,
  state, suggestions,
} from "./console_state.js";

export const queue = $("queue");
const empty = $("empty");
export const filterText = $("filter-text");
export const filterSelects = {
  kind: $("filter-kind"),
  status: $("filter-status"),
  channel: $("filter-channel"),
  topic: $("filter-topic"),
  district: $("filter-district"),
};

// Rendering one row

function rowContent(item) {
  const meta = element("p", "meta");
  meta.append(
    element("span", `badge kind-${item.kind}`, label("kind", item.kind)),
    element("span", `badge state state-${item.status}`, label("item", item.status)),
    element("span", "channel", label("channel", item.channel)),
  );
  const time = element("time");
  const moment = new Date(item.at);
  time.dateTime = moment.toISOString();
  time.textContent = moment.toLocaleTimeString(config.lang, {
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const name = element("bdi", "name", item.name || S.guest);
  meta.append(time, name);
  if (item.channel === "staff") meta.append(element("span", "staff-badge", S.staff_badge));
  // Issue 11: a YouTube Super Chat, and a comment that reads as a question to the akim.
  if (item.amount) {
    meta.append(element("span", "superchat-badge",
      format(S.superchat_badge, { amount: item.amount, currency: item.currency })));
  }
  if (item.kind === "comment" && item.asks && !item.promoted) {
    meta.append(element("span", "asks-badge", S.asks_badge));
  }
  if (item.kind === "question") {
    meta.append(element("span", "votes", format(S.votes, { n: item.votes })));
    if (item.askers > 1) meta.append(element("span", "askers", format(S.askers, { n: item.askers })));
  }
  if (item.by) meta.append(element("span", "by", `· ${item.by}`));

  const text = element("p", "text");
  text.append(element("bdi", "", item.text));
  const parts = [meta, text];

  if (item.held) {
    const note = element("p", "note held-note", format(S.held_by, { reason: label("reason", item.held) }));
    note.dataset.held = item.held;
    parts.push(note);
  }
  // The moderator's reason while it holds: a released comment keeps it in the record only.
  if (item.reason && (item.status === "hidden" || item.status === "rejected")) {
    const note = element("p", "note reason-note", format(S.moderator_reason, { reason: label("reason", item.reason) }));
    note.dataset.reason = item.reason;
    parts.push(note);
  }
  if (item.kind === "question") parts.push(...questionNotes(item));
  if (item.promoted) {
    const note = element("p", "note promoted-note", S.promoted_note);
    note.dataset.promoted = "true";
    parts.push(note);
  }
  if (state.me.moderate) parts.push(actionButtons(item));
  return parts;
}

function tagLine(kind, value, suggested) {
  const line = element("span", `tag tag-${kind}`);
  line.dataset[kind] = value || suggested || "";
  if (value) {
    line.textContent = kind === "topic" ? label("topic", value) : value;
  } else if (suggested) {
    line.classList.add("suggested");
    const shown = kind === "topic" ? label("topic", suggested) : suggested;
    line.textContent = `${shown} (${S.suggested})`;
  } else {
    line.textContent = kind === "topic" ? S.topic_none : S.district_none;
    line.classList.add("muted");
  }
  return line;
}

function questionNotes(item) {
  const notes = [];
  const tags = element("p", "tags");
  tags.append(
    tagLine("topic", item.topic, item.suggested_topic),
    tagLine("district", item.district, item.suggested_district),
  );
  notes.push(tags);
  if (item.source) notes.push(element("p", "note", S.from_comment));
  if (item.merged_into) {
    const into = state.items.get(item.merged_into);
    const line = element("p", "note merged-note", `${S.merged_into} `);
    line.dataset.mergedInto = item.merged_into;
    line.append(element("bdi", "", into ? clip(into.text) : item.merged_into));
    notes.push(line);
  }
  if (item.status === "new") {
    for (const [index, id] of suggestions(item).entries()) {
      const earlier = state.items.get(id);
      const line = element("div", "similar");
      line.dataset.similar = id;
      line.append(element("span", "muted", `${S.similar_to} `), element("bdi", "", clip(earlier.text)));
      if (state.me.moderate) {
        const button = element("button", "merge-into", S.merge_into_it);
        button.type = "button";
        button.dataset.mergeInto = id;
        if (index === 0) button.append(" ", element("kbd", "", "M"));
        line.append(" ", button);
      }
      notes.push(line);
    }
  }
  return notes;
}

function actionButtons(item) {
  const box = element("div", "actions");
  for (const action of actionsFor(item)) {
    const button = element("button", `act act-${action}`, label("action", action));
    button.type = "button";
    button.dataset.action = action;
    button.append(" ", element("kbd", "", ACTION_KEYS[action]));
    box.append(button);
  }
  return box;
}

// `last`: the row goes at the end (the hello's items come newest first).
export function renderRow(item, last = false) {
  let row = state.rows.get(item.id);
  const hadFocus = row?.contains(document.activeElement);
  if (!row) {
    row = element("li", "item");
    row.id = `item-${item.id}`;
    row.setAttribute("role", "option");
    row.tabIndex = -1;
    row.dataset.id = item.id;
    state.rows.set(item.id, row);
    if (last) queue.append(row);
    else place(row, item.id);
  }
  row.dataset.kind = item.kind;
  row.dataset.status = item.status;
  row.dataset.version = String(item.version);
  row.className = `item item-${item.kind} is-${item.status}`;
  row.setAttribute("aria-selected", String(state.selected === item.id));
  row.replaceChildren(...rowContent(item));
  row.hidden = !matches(item);
  if (hadFocus && !row.contains(document.activeElement)) row.focus({ preventScroll: true });
}

// Newest first, by stream id.
function place(row, id) {
  for (const other of queue.children) {
    if (isAfter(id, other.dataset.id)) {
      queue.insertBefore(row, other);
      return;
    }
  }
  queue.append(row);
}

// Filters and counts

function matches(item) {
  if (filters.kind && item.kind !== filters.kind) return false;
  if (filters.status && item.status !== filters.status) return false;
  if (filters.channel && item.channel !== filters.channel) return false;
  if (filters.topic && (item.topic || item.suggested_topic) !== filters.topic) return false;
  if (filters.district && (item.district || item.suggested_district) !== filters.district) {
    return false;
  }
  if (filters.text) {
    const haystack = `${item.name}\n${item.text}`.toLocaleLowerCase();
    if (!haystack.includes(filters.text)) return false;
  }
  return true;
}

export function applyFilters() {
  filters.text = filterText.value.trim().toLocaleLowerCase();
  for (const [key, select] of Object.entries(filterSelects)) filters[key] = select.value;
  for (const [id, row] of state.rows) row.hidden = !matches(state.items.get(id));
  for (const button of document.querySelectorAll("[data-count-status]")) {
    button.setAttribute("aria-pressed", String(button.dataset.countStatus === filters.status));
  }
  keepSelectionVisible(false);
  updateEmpty();
}

export function updateCounts() {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  for (const item of state.items.values()) counts[item.status] = (counts[item.status] ?? 0) + 1;
  for (const cell of document.querySelectorAll("[data-count]")) {
    cell.textContent = String(counts[cell.dataset.count] ?? 0);
  }
}

// What is on air, pinned above the queue (the producer's take, or a moderator's "on air"):
// the question put there last, from the items every console already receives.
export function renderOnAir() {
  const pin = $("on-air");
  const onAir = [...state.items.values()].filter((i) => i.status === "on_air");
  const item = onAir.sort((a, b) => (b.changed_at ?? 0) - (a.changed_at ?? 0))[0];
  pin.hidden = !item;
  pin.dataset.item = item?.id ?? "";
  if (!item) return;
  pin.querySelector("[data-on-air-text]").textContent = item.text;
  pin.querySelector("[data-on-air-name]").textContent = item.name || S.guest;
  pin.querySelector("[data-on-air-district]").textContent = item.district || "";
}

export function updateEmpty() {
  empty.hidden = visibleRows().length > 0;
}

export function addOptions(select, values, text) {
  const known = new Set([...select.options].map((o) => o.value));
  for (const value of values) {
    if (!value || known.has(value)) continue;
    const option = element("option", "", text(value));
    option.value = value;
    select.append(option);
    known.add(value);
  }
}

export function refreshFilterOptions() {
  const channels = new Set([...state.items.values()].map((i) => i.channel));
  addOptions(filterSelects.channel, channels, (c) => label("channel", c));
  const districts = [...state.items.values()].flatMap((i) => [i.district, i.suggested_district]);
  addOptions(filterSelects.district, districts, (d) => d);
}

// Selection

function visibleRows() {
  return [...queue.children].filter((row) => !row.hidden);
}

export function select(id, { focus = true } = {}) {
  const before = state.selected && state.rows.get(state.selected);
  if (before) {
    before.setAttribute("aria-selected", "false");
    before.tabIndex = -1;
  }
  state.selected = id;
  const row = id && state.rows.get(id);
  if (!row) {
    queue.removeAttribute("aria-activedescendant");
    return;
  }
  row.setAttribute("aria-selected", "true");
  row.tabIndex = 0;
  queue.setAttribute("aria-activedescendant", row.id);
  if (focus) {
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }
}

export function move(step) {
  const rows = visibleRows();
  if (!rows.length) return;
  const at = rows.findIndex((row) => row.dataset.id === state.selected);
  const next = Math.min(rows.length - 1, Math.max(0, at + step));
  select(rows[next].dataset.id);
}

// When the selected row leaves the view (a filter, or its new status), the next one is selected.
export function keepSelectionVisible(focus) {
  const row = state.selected && state.rows.get(state.selected);
  if (!row || !row.hidden) return;
  let next = row.nextElementSibling;
  while (next && next.hidden) next = next.nextElementSibling;
  if (!next) {
    next = row.previousElementSibling;
    while (next && next.hidden) next = next.previousElementSibling;
  }
  select(next ? next.dataset.id : null, { focus });
}

export function focusQueue() {
  const row = state.selected && state.rows.get(state.selected);
  if (row && !row.hidden) select(state.selected);
  else move(1);
}

export function current() {
  return state.selected ? state.items.get(state.selected) : undefined;
}
