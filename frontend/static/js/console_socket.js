// The console's socket (/ws/console/{id}, server/web/console.py): its hello carries each lane's
// first page and count, `page` frames the rest of the same snapshot (issue 14), then every change
// as the items it touched; commands name the version the moderator saw, so a stale one is
// refused (conflict) instead of undoing someone else's work. Reconnects with jitter.

import { $, S, config, format, hideNotice, isAfter, newId, say, state } from "./console_state.js";
import {
  flush, placeOrder, refreshFilterOptions, reset, schedule, setLane, take,
} from "./console_rows.js";
import { MeetingClock } from "./meeting_clock.js";

const main = document.querySelector("main.console");
const connection = $("connection");
// R4: the phase and the presentation's time in the header, from the hello's clock and the
// clock's events (the same count as every other screen).
const clock = new MeetingClock($("clock"), S).start();
// The console asks the clock API after each hello, to bound the clock's offset from both sides,
// and once a minute while the clock moves: a meeting ended by the admin API mid-phase sends
// consoles no event (a few consoles ask, never the viewers).
const CLOCK_URL = `/api/meetings/${encodeURIComponent(config.meeting.id)}/clock`;
const CLOCK_SYNC_MS = 60_000;
setInterval(() => {
  if (["presentation", "qa"].includes(clock.reading?.phase)) clock.sync(CLOCK_URL);
}, CLOCK_SYNC_MS);

function setConnection(value, text) {
  connection.dataset.state = value; // connecting, open or closed
  connection.textContent = text;
  connection.classList.toggle("bad", value === "closed");
}

// Commands

export function command(action, item, extra = {}) {
  const socket = state.socket;
  if (!socket || !state.hello || socket.readyState !== WebSocket.OPEN) {
    say(S.reconnecting);
    return;
  }
  const cmd = newId();
  state.pending.set(cmd, { action, item: item.id });
  const frame = { type: "command", cmd, action, item: item.id, version: item.version, ...extra };
  socket.send(JSON.stringify(frame));
}

// A comment to the chat as staff (issue 8): viewers see it with the staff badge.
export function post(text, cmd = newId()) {
  const socket = state.socket;
  if (!socket || !state.hello || socket.readyState !== WebSocket.OPEN) {
    say(S.reconnecting);
    return;
  }
  state.pending.set(cmd, { action: "post", text });
  socket.send(JSON.stringify({ type: "post", cmd, text }));
}

function posted(pending) {
  const field = $("staff-text");
  if (pending?.action === "post" && field.value.trim() === pending.text) field.value = "";
}

// The socket

export function connect() {
  if (state.stopped) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}${config.socket}`);
  state.socket = socket;
  state.hello = false;
  setConnection("connecting", S.connecting);
  socket.onopen = () => performance.mark("console-socket-open");
  socket.onmessage = (message) => {
    if (state.socket === socket) receive(JSON.parse(message.data));
  };
  socket.onclose = (event) => {
    if (state.socket === socket) closed(event);
  };
}

function closed(event) {
  const hadHello = state.hello;
  state.socket = null;
  state.hello = false;
  state.pending.clear();
  if (event.code === 4401) {
    state.stopped = true;
    setConnection("closed", S.refused_signed_out);
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    return;
  }
  if (event.code === 4404) {
    stop(S.not_found);
    return;
  }
  if (event.code === 4403 && !state.forbiddenRetry) {
    state.forbiddenRetry = true; // the role changed: try once with the new one
    connect();
    return;
  }
  if (event.code === 4403 || (state.forbiddenRetry && !hadHello)) {
    stop(S.console_forbidden);
    return;
  }
  state.failures = hadHello ? 0 : state.failures + 1;
  setConnection("closed", S.reconnecting);
  if (state.failures >= 2) checkAccess();
  // Full jitter, so that a restarted server is not hit by every console at once.
  const delay = Math.random() * Math.min(10000, 500 * 2 ** state.attempts);
  state.attempts += 1;
  setTimeout(connect, delay);
}

function stop(text) {
  state.stopped = true;
  setConnection("closed", text);
}

// A handshake refused twice: the session may be gone (a refused handshake has no close code).
async function checkAccess() {
  try {
    const response = await fetch(location.pathname, {
      method: "HEAD", redirect: "manual", credentials: "same-origin", cache: "no-store",
    });
    if (response.status === 401 || response.type === "opaqueredirect") {
      state.stopped = true;
      location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    } else if (response.status === 403) {
      stop(S.console_forbidden);
    } else if (response.status === 404) {
      stop(S.not_found);
    }
  } catch {
    // offline: keep trying to reconnect
  }
}

function receive(message) {
  switch (message.type) {
    case "hello":
      hello(message);
      break;
    case "page":
      page(message);
      break;
    case "events":
      events(message);
      break;
    case "result":
      posted(state.pending.get(message.cmd));
      state.pending.delete(message.cmd);
      hideNotice(); // a later action that succeeded clears an earlier refusal's toast
      break;
    case "refused":
      refused(message);
      break;
    case "status":
      health(message);
      break;
    case "discontinuity":
      lost(message);
      break;
    default:
      break; // "error": a frame of ours the server did not understand
  }
}

// The hello starts the snapshot: everything shown before is replaced. It carries each lane's
// first page, enough for the first screen; the rest comes in `page` frames before any event.
function hello(message) {
  performance.mark("console-hello");
  state.hello = true;
  state.attempts = 0;
  state.failures = 0;
  state.forbiddenRetry = false;
  state.me = message.me;
  state.last = message.as_of;
  clock.hello(message.clock);
  clock.sync(CLOCK_URL);
  main.dataset.moderate = String(Boolean(state.me.moderate));
  $("read-only").hidden = Boolean(state.me.moderate);
  $("staff-post").hidden = !state.me.moderate;
  state.items = new Map();
  state.placed = message.placed ?? [];
  state.complete = !message.more;
  reset();
  take(message.items);
  refreshFilterOptions(message.items);
  const first = !state.opened;
  state.opened = true;
  if (first) setLane(state.lane, { focus: document.activeElement === document.body });
  flush();
  setConnection("open", S.connected);
  health({ state: "ok" }); // a server that is degraded says so right after its hello
}

function page(message) {
  take(message.items);
  refreshFilterOptions(message.items);
  state.complete = !message.more;
  schedule();
}

// FLT-6: the record lost history. The alert names the acknowledged comments it no longer has
// and stays until dismissed; the same loss (its new epoch) is shown once, however often the
// console reconnects.
function lost(message) {
  state.losses ??= new Set();
  if (state.losses.has(message.epoch)) return;
  state.losses.add(message.epoch);
  const alert = document.createElement("div");
  alert.className = "degraded-banner discontinuity";
  alert.setAttribute("role", "alert");
  const title = document.createElement("strong");
  title.textContent = S.discontinuity_title;
  const missing = document.createElement("span");
  missing.className = "degraded-detail";
  missing.textContent = message.missing.length
    ? format(S.discontinuity_missing, { ids: message.missing.join(", ") })
    : S.discontinuity_none;
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.textContent = S.dismiss;
  dismiss.addEventListener("click", () => alert.remove());
  alert.append(title, missing, dismiss);
  $("degraded").after(alert);
}

// The banner: comments are not being accepted, and why (server/health.py's reasons).
function health(message) {
  const bad = message.state === "degraded";
  $("degraded").hidden = !bad;
  main.dataset.degraded = String(bad);
  $("degraded-reason").textContent = bad ? S[`degraded_${message.reason}`] ?? message.reason : "";
  const detail = bad && message.detail ? format(S.degraded_detail, { detail: message.detail }) : "";
  $("degraded-detail").textContent = detail;
}

function events(message) {
  const changed = new Map();
  for (const event of message.events) {
    if (state.last && !isAfter(event.id, state.last)) continue;
    clock.event(event); // a phase change, or the meeting's end; any other event is left alone
    rundown(event);
    for (const item of event.items ?? []) changed.set(item.id, item);
  }
  if (message.last && (!state.last || isAfter(message.last, state.last))) state.last = message.last;
  if (!changed.size) return;
  const items = [...changed.values()];
  take(items);
  refreshFilterOptions(items);
  schedule();
}

// The approved lane follows the rundown (moderation/rundown.py): a producer's move fixes the
// order; a question that leaves the air unanswered goes back to its top.
function rundown(event) {
  if (event.kind === "rundown.moved") placeOrder(event.order);
  else if (event.kind === "question.off_air") {
    const id = event.item ?? event.items?.[0]?.id;
    if (id) placeOrder([id, ...state.placed.filter((other) => other !== id)]);
  }
}

function refused(message) {
  const pending = state.pending.get(message.cmd);
  state.pending.delete(message.cmd);
  if (message.error === "unconfirmed" && pending?.action === "post") {
    // The record did not answer in time: the same cmd, sent again, settles it (never twice).
    setTimeout(() => post(pending.text, message.cmd), 1000);
    return;
  }
  if (message.error === "conflict") say(S.conflict);
  else say(S[`refused_${message.error}`] ?? message.detail ?? message.error);
}
