// The clock (issue 9.3, R4): the presentation's time left, counted from the server's reading
// with this machine's clock corrected by its measured offset, so that every screen agrees
// within a second; past the budget it shows the overrun. update() may set its label (f0).

import { clockAt, live, run, serverNow, word } from "./overlay.js";

const TICK_MS = 200;
const $ = (id) => document.getElementById(id);
const graphic = $("graphic");
let label = null;
let playing = false;

function clockText(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${String(m).padStart(2, "0")}:${s}`;
}

function tick() {
  if (!live.clock) return;
  const now = clockAt(live.clock, serverNow());
  const over = now.overrun_s > 0;
  graphic.dataset.remaining = now.remaining_s.toFixed(3);
  graphic.dataset.phase = now.phase;
  graphic.classList.toggle("over", over);
  $("phase").textContent = label ?? (over ? word("studio_overrun") : word(`phase_${now.phase}`));
  $("time").textContent = over ? `+${clockText(now.overrun_s)}` : clockText(Math.ceil(now.remaining_s));
}

function draw(isPlaying) {
  playing = isPlaying;
  tick();
  graphic.classList.toggle("in", Boolean(live.clock) && playing);
}

setInterval(tick, TICK_MS);

run({
  draw,
  next() {
    label = null;
  },
  given(fields) {
    label = fields ? String(fields.f0 ?? fields.label ?? "") || null : null;
  },
});
