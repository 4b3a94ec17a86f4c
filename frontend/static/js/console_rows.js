// The console's lanes (issue 14): incoming questions (oldest first, so nothing waits forever),
// the approved queue (in the order it goes on air), on air, the comments (held first, then
// newest first) and the questions done with. Each lane is a virtual list: only the rows in view
// and a margin are in the page, so 20,000 items scroll smoothly. The selected item opens whole
// in the side panel. Text stays text (never HTML).

import {
  $, ACTION_KEYS, S, actionsFor, clip, config, element, filters, format, isAfter, label, state,
  suggestions,
} from "./console_state.js";

export const LANES = ["incoming", "approved", "on_air", "comments", "done"];
const ROW = 28; // px: the CSS's --row
const MARGIN = 15; // rows drawn beyond the view on each side
const main = document.querySelector("main.console");
export const queue = $("queue");
export const filterText = $("filter-text");
export const filterSelects = {
  status: $("filter-status"),
  channel: $("filter-channel"),
  topic: $("filter-topic"),
  district: $("filter-district"),
};
const detail = $("detail");
const detailEmpty = $("detail-empty");

// Which lane an item is in, and each lane's order

export function laneOf(item) {
  if (item.kind === "comment") return "comments";
  if (item.status === "new") return "incoming";
  if (item.status === "approved" || item.status === "queued") return "approved";
  return item.status === "on_air" ? "on_air" : "done";
}

function byId(a, b) {
  if (a.id === b.id) return 0;
  return isAfter(a.id, b.id) ? 1 : -1;
}

// The rundown (moderation/rundown.py): placed ones in the producer's order, then queued before
// approved, each oldest first.
function rundownOrder(a, b) {
  const placed = state.placedAt;
  const [x, y] = [placed.get(a.id) ?? Infinity, placed.get(b.id) ?? Infinity];
  if (x !== y) return x < y ? -1 : 1;
  return (a.status !== "queued") - (b.status !== "queued") || a.at - b.at || byId(a, b);
}

const ORDERS = {
  incoming: (a, b) => a.at - b.at || byId(a, b),
  approved: rundownOrder,
  on_air: (a, b) => (b.changed_at ?? 0) - (a.changed_at ?? 0) || byId(a, b),
  comments: (a, b) => (a.status !== "held") - (b.status !== "held") || b.at - a.at || byId(a, b),
  done: (a, b) => b.at - a.at || byId(a, b),
};

// A lane: its ids in order, the ones the filters let through, and the rows drawn

class Lane {
  constructor(name) {
    this.name = name;
    this.root = $(`lane-${name}`);
    this.scroll = this.root.querySelector("[data-scroll]");
    this.list = this.root.querySelector("[data-list]");
    this.empty = this.root.querySelector("[data-empty]");
    this.ids = [];
    this.view = [];
    this.dirty = true;
    this.rows = new Map(); // id -> its drawn <li>
    this.picked = null; // the id selected last in this lane
    this.scroll.addEventListener("scroll", () => schedule(), { passive: true });
  }

  remove(id) {
    const at = this.ids.indexOf(id);
    if (at >= 0) this.ids.splice(at, 1);
    this.dirty = true;
  }

  // Sorting an almost sorted array is close to linear (the engines' TimSort): cheap per frame.
  rebuild() {
    if (!this.dirty) return;
    const order = ORDERS[this.name];
    const items = state.items;
    this.ids.sort((x, y) => order(items.get(x), items.get(y)));
    this.view = isFiltered() ? this.ids.filter((id) => matches(items.get(id))) : this.ids;
    this.dirty = false;
  }

  draw() {
    const total = this.view.length;
    this.list.style.height = `${total * ROW}px`;
    const top = this.scroll.scrollTop;
    const height = this.scroll.clientHeight || ROW * 30;
    const first = Math.max(0, Math.floor(top / ROW) - MARGIN);
    const last = Math.min(total, Math.ceil((top + height) / ROW) + MARGIN);
    const shown = [];
    for (let index = first; index < last; index += 1) shown.push([index, this.view[index]]);
    const selectedAt = state.selected ? this.view.indexOf(state.selected) : -1;
    if (selectedAt >= 0 && (selectedAt < first || selectedAt >= last)) {
      shown.push([selectedAt, state.selected]); // aria-activedescendant names a row that exists
    }
    const keep = new Map();
    for (const [index, id] of shown) keep.set(id, this.row(id, index, total));
    for (const [id, row] of this.rows) if (!keep.has(id)) row.remove();
    this.rows = keep;
    const inOrder = [...keep.values()];
    const children = this.list.children;
    if (children.length !== inOrder.length || inOrder.some((row, i) => children[i] !== row)) {
      this.list.replaceChildren(...inOrder);
    }
    this.empty.hidden = total > 0;
    this.list.setAttribute("aria-busy", String(!state.complete));
  }

  row(id, index, total) {
    const item = state.items.get(id);
    let row = this.rows.get(id);
    if (!row) {
      row = element("li", "row");
      row.id = `item-${id}`;
      row.setAttribute("role", "option");
      row.dataset.id = id;
    }
    if (row.shown !== item) {
      fillRow(row, item);
      row.shown = item;
    }
    row.style.top = `${index * ROW}px`;
    row.setAttribute("aria-posinset", String(index + 1));
    row.setAttribute("aria-setsize", String(total));
    row.setAttribute("aria-selected", String(id === state.selected));
    return row;
  }

  // Keep row `index` in view, as the keyboard moves the selection.
  reveal(index) {
    const scroll = this.scroll;
    const [top, bottom] = [index * ROW, (index + 1) * ROW];
    if (top < scroll.scrollTop) scroll.scrollTop = top;
    else if (bottom > scroll.scrollTop + scroll.clientHeight) {
      scroll.scrollTop = bottom - scroll.clientHeight;
    }
  }
}

export const lanes = Object.fromEntries(LANES.map((name) => [name, new Lane(name)]));
const where = new Map(); // id -> the lane it is in

// One compact row: status, time, channel, name, a line of text, a few small counts.
function fillRow(row, item) {
  row.dataset.kind = item.kind;
  row.dataset.status = item.status;
  row.dataset.version = String(item.version);
  row.className = `row item-${item.kind} is-${item.status}`;
  const parts = [
    element("span", `badge state state-${item.status}`, label("item", item.status)),
    element("time", "", SHORT_TIME.format(new Date(item.at))),
  ];
  // The web is where most come from: a row names the other channels only (the panel, all).
  if (item.channel !== "web") parts.push(element("span", "channel", label("channel", item.channel)));
  parts.push(element("bdi", "name", item.name || S.guest), element("bdi", "text", item.text));
  if (item.kind === "question" && item.votes) parts.push(element("span", "count", `▲${item.votes}`));
  if (item.askers > 1) parts.push(element("span", "count", `×${item.askers}`));
  if (item.kind === "question" && item.status === "new" && suggestions(item).length) {
    parts.push(element("span", "count similar-mark", "≈"));
  }
  row.title = item.text;
  row.replaceChildren(...parts);
}

const TIME = new Intl.DateTimeFormat(config.lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const SHORT_TIME = new Intl.DateTimeFormat(config.lang, { hour: "2-digit", minute: "2-digit", hour12: false });

function timeOf(at) {
  return TIME.format(new Date(at));
}

// Taking items in: from the hello, its pages and the events

export function reset() {
  where.clear();
  for (const lane of Object.values(lanes)) {
    lane.ids = [];
    lane.dirty = true;
  }
  placeOrder(state.placed);
}

export function take(items) {
  for (const item of items) {
    state.items.set(item.id, item);
    const before = where.get(item.id);
    const after = laneOf(item);
    if (before !== after) {
      if (before) lanes[before].remove(item.id);
      lanes[after].ids.push(item.id);
      where.set(item.id, after);
    }
    lanes[after].dirty = true;
  }
}

export function placeOrder(order) {
  state.placed = order;
  state.placedAt = new Map(order.map((id, index) => [id, index]));
  lanes.approved.dirty = true;
}

// Drawing: at most once a frame, whatever came in meanwhile

let scheduled = false;
export function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    flush();
  });
}

// Draw now: the lanes, the counts, the selection (kept in its lane) and the details.
export function flush() {
  for (const lane of Object.values(lanes)) lane.rebuild();
  renderOnAir();
  keepSelection();
  for (const lane of Object.values(lanes)) lane.draw();
  updateCounts();
  renderDetails();
  if (!window.__consoleDrawn && state.hello) {
    window.__consoleDrawn = true;
    // Issue 14: when the first screen was drawn, from the navigation's start (tests read it).
    const mark = performance.mark("console-first-screen");
    main.dataset.firstScreen = String(Math.round(mark.startTime));
  }
}

function updateCounts() {
  for (const name of LANES) {
    const lane = lanes[name];
    const all = lane.ids.length;
    for (const cell of document.querySelectorAll(`[data-lane-count="${name}"]`)) {
      cell.textContent = String(all);
    }
    const total = lane.root.querySelector("[data-lane-total]");
    total.textContent = lane.view.length === all ? String(all) : `${lane.view.length} / ${all}`;
  }
}

// Filters

function isFiltered() {
  return Boolean(filters.text || filters.status || filters.channel || filters.topic || filters.district);
}

function matches(item) {
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
  for (const lane of Object.values(lanes)) lane.dirty = true;
  flush();
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

// Only the items that came in: a board of 20,000 is not walked per frame.
export function refreshFilterOptions(items) {
  addOptions(filterSelects.channel, new Set(items.map((i) => i.channel)), (c) => label("channel", c));
  const districts = items.flatMap((i) => [i.district, i.suggested_district]);
  addOptions(filterSelects.district, new Set(districts), (d) => d);
}

// What is on air, pinned above the lanes (the producer's take, or a moderator's "on air").
export function renderOnAir() {
  const pin = $("on-air");
  const item = state.items.get(lanes.on_air.ids[0]);
  pin.hidden = !item;
  pin.dataset.item = item?.id ?? "";
  if (!item) return;
  pin.querySelector("[data-on-air-text]").textContent = item.text;
  pin.querySelector("[data-on-air-name]").textContent = item.name || S.guest;
  pin.querySelector("[data-on-air-district]").textContent = item.district || "";
}

// Selection: the keyboard moves through the current lane's rows

export function setLane(name, { focus = true } = {}) {
  if (!lanes[name]) return;
  state.lane = name;
  main.dataset.lane = name;
  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  }
  const lane = lanes[name];
  lane.rebuild();
  const keep = lane.view.includes(lane.picked) ? lane.picked : lane.view[0] ?? null;
  select(keep, { focus });
}

export function switchLane(step) {
  const at = LANES.indexOf(state.lane);
  setLane(LANES[(at + step + LANES.length) % LANES.length]);
}

export function select(id, { focus = true } = {}) {
  const lane = lanes[state.lane];
  state.selected = id;
  state.selectedAt = id ? lane.view.indexOf(id) : -1;
  if (id) lane.picked = id;
  if (state.selectedAt >= 0) lane.reveal(state.selectedAt);
  for (const other of Object.values(lanes)) other.draw();
  if (id && lane.rows.has(id)) lane.list.setAttribute("aria-activedescendant", `item-${id}`);
  else lane.list.removeAttribute("aria-activedescendant");
  renderDetails();
  if (focus) lane.list.focus({ preventScroll: true });
}

export function move(step) {
  const lane = lanes[state.lane];
  lane.rebuild();
  if (!lane.view.length) return;
  const at = lane.view.indexOf(state.selected);
  const from = at < 0 ? (step > 0 ? -1 : lane.view.length) : at;
  const next = Math.min(lane.view.length - 1, Math.max(0, from + step));
  select(lane.view[next]);
}

// When the selected item leaves its lane (approved, hidden...) or the filters, the one that
// took its place is selected: approving twenty in a row is twenty presses of `a`.
function keepSelection() {
  const lane = lanes[state.lane];
  if (!state.selected || lane.view.includes(state.selected)) {
    if (state.selected) state.selectedAt = lane.view.indexOf(state.selected);
    return;
  }
  const index = Math.min(state.selectedAt ?? 0, lane.view.length - 1);
  const next = index >= 0 ? lane.view[index] : null;
  const active = document.activeElement;
  const hadFocus = !state.chooser && (active === document.body || active === lane.list);
  select(next, { focus: hadFocus });
}

export function focusQueue() {
  const lane = lanes[state.lane];
  lane.rebuild();
  if (state.selected && lane.view.includes(state.selected)) select(state.selected);
  else select(lane.view[0] ?? null);
}

export function current() {
  return state.selected ? state.items.get(state.selected) : undefined;
}

// The side panel: the selected item whole

let detailShown = null;
function renderDetails() {
  const item = current();
  if (item === detailShown && detail.dataset.moderate === String(state.me.moderate)) return;
  detailShown = item;
  detailEmpty.hidden = Boolean(item);
  if (!item) {
    detail.replaceChildren();
    delete detail.dataset.id;
    return;
  }
  detail.dataset.id = item.id;
  detail.dataset.kind = item.kind;
  detail.dataset.status = item.status;
  detail.dataset.version = String(item.version);
  detail.dataset.moderate = String(state.me.moderate);
  detail.className = `detail item item-${item.kind} is-${item.status}`;
  detail.replaceChildren(...detailContent(item));
}

function detailContent(item) {
  const meta = element("p", "meta");
  meta.append(
    element("span", `badge kind-${item.kind}`, label("kind", item.kind)),
    element("span", `badge state state-${item.status}`, label("item", item.status)),
    element("span", "channel", label("channel", item.channel)),
  );
  const time = element("time", "", timeOf(item.at));
  time.dateTime = new Date(item.at).toISOString();
  meta.append(time, element("bdi", "name", item.name || S.guest));
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

// The bar's and the header's height, for the board to fill the window under them (desktop).
const head = document.querySelector(".console-head");
const bar = document.querySelector("body > .bar");
const measure = new ResizeObserver(() => {
  main.style.setProperty("--head-h", `${head.offsetHeight + (bar?.offsetHeight ?? 0)}px`);
  schedule();
});
measure.observe(head);
if (bar) measure.observe(bar);
