// The ticker (issue 9.3): the approved questions of the rundown, one after another, in the
// producer's order, every few seconds; next() shows the next one at once, update() a given one.

import { fit, givenQuestion, live, run, shownName, word, wordsOf } from "./overlay.js";

const EVERY_MS = 8000;
const FONT = { max: 34, min: 26 };
const $ = (id) => document.getElementById(id);
const graphic = $("graphic");

let given = null;
let index = 0;
let shownKey = null;

function list() {
  return given ? [given] : live.rundown;
}

function show(questions) {
  const q = questions[index];
  const key = JSON.stringify([index, questions.length, q.question, q.text, q.name]);
  if (key === shownKey) return;
  shownKey = key;
  $("heading").textContent = word("studio_questions");
  $("count").textContent = `${index + 1}/${questions.length}`;
  fit($("text"), wordsOf(`${q.text} — ${shownName(q)}`), 0, FONT);
  graphic.dataset.question = q.question;
}

function draw(playing) {
  const questions = list();
  graphic.dataset.order = questions.map((q) => q.question).join(" ");
  if (index >= questions.length) index = 0;
  if (questions.length) show(questions);
  graphic.classList.toggle("in", questions.length > 0 && playing);
}

let playingNow = false;
const ticker = {
  draw(playing) {
    playingNow = playing;
    draw(playing);
  },
  next() {
    const count = list().length;
    index = count ? (index + 1) % count : 0;
  },
  given(fields) {
    given = fields ? givenQuestion(fields) : null;
    index = 0;
  },
};

setInterval(() => {
  ticker.next();
  draw(playingNow);
}, EVERY_MS);

run(ticker);
