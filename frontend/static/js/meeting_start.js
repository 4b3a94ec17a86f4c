// A scheduled meeting's start (issue 14): the server writes its date and time in Almaty time and
// the page's language; this counts down to it each second, and hides it once the meeting starts.

import { $, S, format } from "./meeting_state.js";

const pad = (n) => String(n).padStart(2, "0");

function span(ms) {
  const total = Math.floor(ms / 1000);
  const days = Math.floor(total / 86400);
  const clock = `${Math.floor((total % 86400) / 3600)}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days ? `${format(S.days, { n: days })} ${clock}` : clock;
}

export function startCountdown() {
  const box = $("starts");
  if (!box) return;
  const target = Number(box.dataset.ms);
  const out = $("countdown");
  const tick = () => {
    if (document.querySelector("main").dataset.status !== "scheduled") {
      box.hidden = true; // started (or ended): the clock line takes over
      return;
    }
    const left = target - Date.now();
    out.textContent = left > 0 ? format(S.starts_in, { time: span(left) }) : S.starting_now;
    setTimeout(tick, 1000 - (Date.now() % 1000) + 5);
  };
  tick();
}
