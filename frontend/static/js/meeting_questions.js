// The viewer page's public questions: the list, sorted by votes or by time, one vote per viewer
// and question (remembered per meeting), and the form to ask one.

import {
  $, S, isAfter, isOpen, meetingId, newId, outbox, readJSON, rememberName, saveOutbox, send,
  state,
} from "./meeting_state.js";
import { showQuestionPending } from "./meeting_mine.js";

const questionList = $("questions");
const questionForm = $("question-form");
export const questionName = $("q-name");
export const questionText = $("q-text");
const questionDistrict = $("q-district"); // absent when the territory has no district list
export const askButton = $("ask");
const questionsNote = $("questions-note");

// One vote per viewer and question: the ones this browser gave are remembered per meeting.
const VOTES_KEY = `halyq:votes:${meetingId}`;
const voted = new Set(readJSON(VOTES_KEY, []));

function saveVotes() {
  try {
    localStorage.setItem(VOTES_KEY, JSON.stringify([...voted]));
  } catch {
    // not remembered after a reload; the server still counts one vote per viewer
  }
}

function setQuestionsNote(text) {
  questionsNote.textContent = text;
  questionsNote.hidden = !text;
}

export function applyQuestion(event) {
  const id = event.question;
  if (event.kind === "question.approved") {
    const { at, channel, name, text, topic, district, votes, status } = event;
    state.questions.set(id, { id, at, channel, name, text, topic, district, votes, status });
  } else {
    const question = state.questions.get(id);
    if (!question) return; // not public (yet): nothing to show
    if (event.status) question.status = event.status;
    if (typeof event.votes === "number") question.votes = event.votes;
    if (event.kind === "question.tagged") {
      question.topic = event.topic;
      question.district = event.district;
    }
  }
  renderQuestions();
}

function sortedQuestions() {
  const questions = [...state.questions.values()];
  if (state.sort === "time") return questions.sort((a, b) => (isAfter(a.id, b.id) ? -1 : 1));
  return questions.sort((a, b) => b.votes - a.votes || (isAfter(a.id, b.id) ? 1 : -1));
}

const questionRows = new Map(); // question id -> its <li>

export function renderQuestions() {
  const rows = sortedQuestions().map(questionRow);
  for (const [id, row] of questionRows) {
    if (!state.questions.has(id)) {
      row.remove();
      questionRows.delete(id);
    }
  }
  const inOrder = rows.every((row, index) => questionList.children[index] === row);
  if (!inOrder || questionList.children.length !== rows.length) questionList.replaceChildren(...rows);
  $("no-questions").hidden = rows.length > 0;
  $("questions-count").textContent = String(rows.length);
  renderNowAnswering();
}

// "Now answering": the question on air, above the chat, from the same events as the list.
const nowAnswering = $("now-answering");

function renderNowAnswering() {
  const onAir = [...state.questions.values()].filter((q) => q.status === "on_air");
  const question = onAir.sort((a, b) => (isAfter(a.id, b.id) ? -1 : 1))[0];
  nowAnswering.hidden = !question;
  nowAnswering.dataset.question = question?.id ?? "";
  if (!question) return;
  nowAnswering.querySelector("[data-now-text]").textContent = question.text;
  nowAnswering.querySelector("[data-now-name]").textContent = question.name || S.guest;
  nowAnswering.querySelector("[data-now-district]").textContent = question.district ?? "";
}

function questionRow(question) {
  let row = questionRows.get(question.id);
  if (!row) {
    row = document.createElement("li");
    row.className = "question";
    row.dataset.question = question.id;
    const box = document.createElement("div");
    box.className = "vote-box";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "vote";
    button.dataset.vote = question.id;
    const arrow = document.createElement("span");
    arrow.setAttribute("aria-hidden", "true");
    arrow.textContent = "▲";
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = S.vote;
    button.append(arrow, hidden);
    button.title = S.vote;
    const count = document.createElement("span");
    count.className = "votes";
    count.dataset.votes = "";
    box.append(button, count);
    const body = document.createElement("div");
    body.className = "q-body";
    row.append(box, body);
    questionRows.set(question.id, row);
  }
  row.dataset.status = question.status;
  const button = row.querySelector("[data-vote]");
  const hasVoted = voted.has(question.id);
  button.setAttribute("aria-pressed", String(hasVoted));
  button.disabled = hasVoted || state.pendingVotes.includes(question.id) || state.status !== "live";
  row.querySelector("[data-votes]").textContent = String(question.votes ?? 0);
  row.querySelector(".q-body").replaceChildren(...questionBody(question));
  return row;
}

function questionBody(question) {
  const text = document.createElement("p");
  text.className = "q-text";
  const bdi = document.createElement("bdi");
  bdi.textContent = question.text;
  text.append(bdi);
  const meta = document.createElement("p");
  meta.className = "q-meta";
  const who = document.createElement("bdi");
  who.className = "name";
  who.textContent = question.name || S.guest;
  meta.append(who);
  if (question.district) {
    const district = document.createElement("bdi");
    district.textContent = question.district;
    meta.append(district);
  }
  if (question.topic) {
    const topic = document.createElement("span");
    topic.textContent = S[`topic_${question.topic}`] ?? question.topic;
    meta.append(topic);
  }
  if (question.status && question.status !== "approved") {
    const status = document.createElement("span");
    status.className = "q-status";
    status.textContent = S[`public_${question.status}`] ?? question.status;
    meta.append(status);
  }
  return [text, meta];
}

export function sendVote(question) {
  if (isOpen()) state.socket.send(JSON.stringify({ type: "vote", question }));
}

function vote(question) {
  if (voted.has(question) || state.pendingVotes.includes(question)) return;
  state.pendingVotes.push(question);
  setQuestionsNote("");
  renderQuestions();
  sendVote(question); // sent again after a reconnect if no answer came
}

export function counted(message) {
  state.pendingVotes = state.pendingVotes.filter((id) => id !== message.question);
  voted.add(message.question); // a repeated vote counts once, and is still this viewer's
  saveVotes();
  const question = state.questions.get(message.question);
  if (question) question.votes = Math.max(question.votes ?? 0, message.votes);
  renderQuestions();
}

// Votes are answered in the order sent: an error answers the oldest vote still waiting.
export function voteRefused(message) {
  const codes = ["not_votable", "meeting_closed", "rate_limited", "unavailable"];
  if (!codes.includes(message.error) || !state.pendingVotes.length) return;
  const question = state.pendingVotes.shift();
  if (message.error === "rate_limited" || message.error === "unavailable") {
    state.pendingVotes.push(question);
    setTimeout(() => sendVote(question), 1500);
    return;
  }
  setQuestionsNote(message.error === "meeting_closed" ? S.vote_closed : S.vote_failed);
  renderQuestions();
}

// Listeners

questionForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = questionText.value.trim();
  if (!text || state.status !== "live") return;
  const name = questionName.value.trim();
  rememberName(name);
  const clientId = newId();
  const entry = { kind: "question", name, text, district: questionDistrict?.value ?? "" };
  outbox.set(clientId, entry);
  saveOutbox();
  showQuestionPending(clientId, entry);
  questionText.value = "";
  send(clientId);
});

questionList.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-vote]");
  if (button && !button.disabled) vote(button.dataset.vote);
});

for (const button of document.querySelectorAll("[data-sort]")) {
  button.addEventListener("click", () => {
    state.sort = button.dataset.sort;
    for (const other of document.querySelectorAll("[data-sort]")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
    renderQuestions();
  });
}
