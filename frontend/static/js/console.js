// Halyq moderator console: lanes of comments and questions (issue 14), run from the keyboard.
// This module owns the keyboard map and the page's wiring; the socket (console_socket.js), the
// rows (console_rows.js) and the choosers (console_choosers.js) do the rest. Text stays text.

import {
  $, ACTION_KEYS, S, actionsFor, config, hideNotice, label, say, state, suggestions,
} from "./console_state.js";
import {
  LANES, addOptions, applyFilters, current, filterSelects, filterText, focusQueue, laneOf, move,
  queue, select, setLane, switchLane,
} from "./console_rows.js";
import { command, connect, post } from "./console_socket.js";
import { mergeChooser, openHelp, reasonChooser, tagChooser } from "./console_choosers.js";

const KEY_ACTIONS = Object.fromEntries(Object.entries(ACTION_KEYS).map(([a, k]) => [k, a]));

// Actions


function act(action) {
  const item = current();
  if (!item) return;
  if (!state.me.moderate) {
    say(S.read_only);
    return;
  }
  if (!actionsFor(item).includes(action)) {
    say(`${label("action", action)}: ${S.not_allowed}`);
    return;
  }
  if (action === "reject" || action === "hide") reasonChooser.open(item, action);
  else if (action === "merge") mergeChooser.open(item);
  else if (action === "tag") tagChooser.open(item);
  else command(action, item);
}

function mergeFirst() {
  const item = current();
  if (!item || item.kind !== "question") return act("merge");
  const [first] = suggestions(item);
  if (!first || !state.me.moderate || !actionsFor(item).includes("merge")) return act("merge");
  command("merge", item, { into: first });
}

// The keyboard

function isField(target) {
  return target instanceof HTMLElement && target.matches("input, select, textarea, [contenteditable]");
}

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
    return;
  }
  if (state.chooser) {
    state.chooser.key(event);
    return;
  }
  const target = event.target;
  if (isField(target)) {
    // In the filters: Escape or Enter goes back to the queue.
    if (event.key === "Escape" || (event.key === "Enter" && target.closest("#filters"))) {
      event.preventDefault();
      focusQueue();
    }
    return;
  }
  const key = event.key;
  if (target instanceof HTMLButtonElement && (key === "Enter" || key === " ")) return;
  if (key === "j" || key === "ArrowDown") move(1);
  else if (key === "k" || key === "ArrowUp") move(-1);
  else if (key === "Home") move(-Infinity);
  else if (key === "End") move(Infinity);
  else if (/^[1-9]$/.test(key) && Number(key) <= LANES.length) setLane(LANES[Number(key) - 1]);
  else if (key === "[") switchLane(-1);
  else if (key === "]") switchLane(1);
  else if (key === "/") filterText.focus();
  else if (key === "?") openHelp();
  else if (key === "M") mergeFirst();
  else if (KEY_ACTIONS[key]) act(KEY_ACTIONS[key]);
  else if (key === "Escape") hideNotice();
  else return;
  event.preventDefault();
}

document.addEventListener("keydown", onKey);

// A row clicked: its lane becomes the current one and the row is selected.
queue.addEventListener("click", (event) => {
  const row = event.target.closest("li[data-id]");
  if (!row) return;
  const item = state.items.get(row.dataset.id);
  if (!item) return;
  if (laneOf(item) !== state.lane) setLane(laneOf(item), { focus: false });
  select(item.id);
});

queue.addEventListener("focusin", (event) => {
  const lane = event.target.closest("[data-lane]")?.dataset.lane;
  if (lane && lane !== state.lane && event.target.matches("[data-list]")) setLane(lane);
});

// The side panel's buttons act on the item it shows.
$("details").addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.action) act(button.dataset.action);
  else if (button.dataset.mergeInto) {
    const item = current();
    if (item) command("merge", item, { into: button.dataset.mergeInto });
  }
});

for (const tab of document.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => setLane(tab.dataset.tab));
}

$("filters").addEventListener("submit", (event) => event.preventDefault());
$("staff-post").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("staff-text").value.trim();
  if (text) post(text);
});
$("filters").addEventListener("input", applyFilters);
$("filters").addEventListener("change", applyFilters);

// Start

addOptions(filterSelects.topic, config.topics, (t) => label("topic", t));
addOptions(filterSelects.district, config.districts, (d) => d);
applyFilters();
connect();
