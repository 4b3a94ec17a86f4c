// Halyq viewer page: the live chat and the public questions over the WebSocket protocol of
// docs/protocol.md. This module owns the socket, the meeting's status and the page's start; the
// chat (meeting_chat.js) and the questions (meeting_questions.js) render. Text stays text.

import { $, S, config, isAfter, outbox, send, state } from "./meeting_state.js";
import {
  acknowledged, append, commentElement, hideComment, list, nameInput, rejected, releaseComment,
  renderHeld, sendButton, showPending, textInput, unconfirmed,
} from "./meeting_chat.js";
import {
  applyQuestion, askButton, counted, questionName, questionText, renderQuestions, sendVote,
  voteRefused,
} from "./meeting_questions.js";
import { noticeEvent, refreshMineSoon, showQuestionPending, startMine } from "./meeting_mine.js";
import { MeetingClock } from "./meeting_clock.js";
import { startCountdown } from "./meeting_start.js";

const closedNote = $("closed-note");
const connection = $("connection");
// R4: the presentation's time, a line under the title (hidden until a phase is set).
const clock = new MeetingClock($("clock"), S, { quietBeforeStart: true });
let clockAsked = false;

// One look at the clock API per page load, a moment after the first hello, measures the clock's
// offset from both sides (meeting_clock.js); jittered, and never per reconnect, so that a
// reconnect storm of viewers makes no storm of requests.
function syncClockOnce() {
  if (clockAsked) return;
  clockAsked = true;
  const url = `/api/meetings/${encodeURIComponent(config.meeting.id)}/clock`;
  setTimeout(() => clock.sync(url), 300 + Math.random() * 1700);
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
  questionText.disabled = !open;
  askButton.disabled = !open;
  renderQuestions();
  closedNote.hidden = open;
  closedNote.textContent = open ? "" : S[`closed_${status}`];
}

// Issue 16: our own broadcast's state, as the record says; the player (player.js) follows it.
function setBroadcast(value) {
  if (value) document.querySelector("main").dataset.broadcast = value;
}

function setConnection(value, text) {
  connection.dataset.state = value; // connecting, open, lost or gone
  connection.textContent = text;
  connection.classList.toggle("bad", value === "lost" || value === "gone");
}

// A `status` frame: while the record is not usable, comments wait in the outbox; once it is
// back, everything waiting is sent again at once (same ids: each is recorded once).
const degraded = $("degraded");
function setHealth(message) {
  const bad = message.state === "degraded";
  degraded.hidden = !bad;
  degraded.textContent = bad ? S.degraded_viewer : "";
  if (!bad && state.ready) for (const clientId of outbox.keys()) send(clientId);
}

// Protocol

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  // FLT-6: the record's epoch goes with `after`; a record that lost history answers reload.
  const epoch = state.epoch ? `&epoch=${encodeURIComponent(state.epoch)}` : "";
  const after = state.last ? `?after=${encodeURIComponent(state.last)}${epoch}` : "";
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
      state.epoch = message.epoch ?? "";
      state.held = { ...message.held };
      renderHeld();
      // The hello's questions are the whole list as of `as_of`; later events move it on.
      state.questions = new Map((message.questions ?? []).map((q) => [q.id, { ...q }]));
      setStatus(message.meeting.status);
      setBroadcast(message.meeting.broadcast);
      clock.hello(message.clock);
      syncClockOnce();
      setConnection("open", "");
      degraded.hidden = true; // a server that is degraded says so right after its hello
      for (const clientId of outbox.keys()) send(clientId);
      for (const question of state.pendingVotes) sendVote(question);
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
      refreshMineSoon(); // "My questions" lists it, with its fate, from the server
      break;
    case "rejected":
      rejected(message);
      break;
    case "retry":
      unconfirmed(message);
      break;
    case "voted":
      counted(message);
      break;
    case "status":
      setHealth(message);
      break;
    case "error":
      voteRefused(message);
      break;
    default:
      break;
  }
}

function apply(event) {
  // A phase change, or the meeting's end, moves the clock on; every live event's `at` bounds
  // the clock's offset. The hello's clock already counts everything up to its `as_of`.
  if (!state.asOf || isAfter(event.id, state.asOf)) {
    clock.event(event);
    noticeEvent(event); // one of the viewer's own questions or comments changed?
  }
  if (event.kind === "comment.posted") {
    const mine = state.mine.get(event.id);
    if (mine) {
      mine.classList.remove("pending");
      return;
    }
    const item = commentElement(event.name, event.text, event.at, event.channel);
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
  } else if (event.kind === "broadcast.changed") {
    // The hello's meeting already says the state as of `as_of`.
    if (!state.asOf || isAfter(event.id, state.asOf)) setBroadcast(event.state);
  } else if (event.kind === "comment.hidden") {
    hideComment(event);
  } else if (event.kind === "comment.released") {
    releaseComment(event);
  } else if (event.kind.startsWith("question.")) {
    // The hello's list already holds everything up to `as_of`.
    if (!state.asOf || isAfter(event.id, state.asOf)) applyQuestion(event);
  }
}

// One name for the chat and the questions.
nameInput.addEventListener("input", () => {
  questionName.value = nameInput.value;
});
questionName.addEventListener("input", () => {
  nameInput.value = questionName.value;
});

// Tabs (phones): the chat or the questions; wide screens show both.
const tabs = [...document.querySelectorAll('[role="tab"]')];
function showTab(tab) {
  document.querySelector("main").dataset.tab = tab.dataset.tab;
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute("aria-selected", String(selected));
    other.tabIndex = selected ? 0 : -1;
  }
}
for (const tab of tabs) {
  tab.addEventListener("click", () => showTab(tab));
  tab.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const next = tabs[(tabs.indexOf(tab) + 1) % tabs.length];
    showTab(next);
    next.focus();
  });
}

// Start

try {
  nameInput.value = localStorage.getItem("halyq:name") ?? "";
  questionName.value = nameInput.value;
} catch {
  // storage disabled: the name is asked again
}
setStatus(state.status);
renderHeld();
for (const [clientId, entry] of outbox) {
  if (entry.kind === "question") showQuestionPending(clientId, entry);
  else showPending(clientId, entry);
}
setConnection("connecting", S.connecting);
clock.start();
startCountdown();
startMine();
connect();
