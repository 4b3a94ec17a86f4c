// The lower third (issue 9.3): the question on air, with the name as the sender chose it and
// the district; a long question is shrunk (44 px down to 30 px), then cut at a word with an
// ellipsis, and next() shows the rest. update() shows a given question instead of the live one.

import { fit, givenQuestion, live, run, shownName, word, wordsOf } from "./overlay.js";

const SWAP_MS = 360; // the CSS transition, out before the new question comes in
const FONT = { max: 44, min: 30 };
const $ = (id) => document.getElementById(id);
const graphic = $("graphic");

let given = null;
let shownKey = null;
let words = [];
let page = 0; // index of the first word shown
let pageEnd = 0;
let swapping = null;
let playingNow = false;

function current() {
  return given ?? live.onAir;
}

function keyOf(q) {
  return q ? JSON.stringify([q.question, q.name, q.district, q.channel, q.text]) : null;
}

function fill(q) {
  $("name").textContent = shownName(q);
  $("district").textContent = q.name && q.district ? q.district : "";
  $("channel").textContent = q.channel ? word(`channel_${q.channel}`) : "";
  words = wordsOf(q.text);
  page = 0;
  layout();
}

function layout() {
  // The rest of a long question keeps the size its first part was shown at.
  const max = page > 0 ? parseFloat($("text").style.fontSize) : FONT.max;
  pageEnd = fit($("text"), words, page, { max, min: FONT.min });
  graphic.dataset.page = String(page);
}

function draw(playing) {
  playingNow = playing;
  const q = current();
  const key = keyOf(q);
  if (key !== shownKey && !swapping) {
    const wasIn = graphic.classList.contains("in");
    shownKey = key;
    graphic.classList.remove("in");
    const show = () => {
      swapping = null;
      if (q) fill(q);
      draw(playingNow);
    };
    if (wasIn) swapping = setTimeout(show, SWAP_MS);
    else show();
    return;
  }
  if (!swapping) graphic.classList.toggle("in", Boolean(q) && playing);
}

function next() {
  if (!current() || swapping) return;
  page = pageEnd < words.length ? pageEnd : 0;
  layout();
}

run({
  draw,
  next,
  given(fields) {
    given = fields ? givenQuestion(fields) : null;
  },
});
