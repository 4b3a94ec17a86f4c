// The meeting's quarter-of-time clock (R4, issue 9) as the viewer page and the moderators'
// console show it: the phase; in the presentation, its time left counting down (past the budget,
// "+m:ss" in red); in Q&A, a break or after the meeting, the presentation's time used of its
// budget. The server owns the time, so every screen agrees within a second.
//
// The count runs from the latest reading (the hello's `clock`, then each `meeting.phase_changed`
// event's) with this machine's clock corrected by its offset from the server's (docs/protocol.md,
// "The clock (R4)"). The offset is bounded, as NTP does it: a reading's `as_of` or an event's
// `at` is the server's time when it was taken, at or before the moment it is handled here, so
// `as_of - Date.now()` then is a lower bound; a reading fetched over HTTP was taken after the
// request left, so `as_of - Date.now()` at sending is an upper bound. The offset is the middle of
// the tightest bounds (the lower one alone while no fetch gave an upper one): a page busy when a
// frame arrives only loosens a bound, it never makes the count wrong by the delay. A hello
// measures afresh (a new connection may follow a sleep of this machine, or reach another server).
const TICK_MS = 250;

export function clockText(seconds) {
  const whole = Math.max(0, seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function fill(text, values) {
  return String(text ?? "").replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function setText(node, text) {
  // Only a change is written: a timer that rewrites its text every tick disturbs screen readers.
  if (node.textContent !== text) node.textContent = text;
}

export class MeetingClock {
  // `root` holds [data-clock-phase], [data-clock-time] and [data-clock-note]; `words` are the
  // page's strings (phase_*, clock_left, studio_overrun, producer_used, producer_overrun).
  // `quietBeforeStart`: the element stays hidden while nothing is measured yet (`not_started`).
  constructor(root, words, { quietBeforeStart = false } = {}) {
    this.root = root;
    this.words = words;
    this.quietBeforeStart = quietBeforeStart;
    this.reading = null;
    // Bounds of the offset (server ms - this machine's ms) measured since the last hello.
    this.low = null;
    this.high = null;
    this.changed = 0; // this machine's time when the reading last changed
    this.phaseNode = root.querySelector("[data-clock-phase]");
    this.timeNode = root.querySelector("[data-clock-time]");
    this.noteNode = root.querySelector("[data-clock-note]");
    this.timer = null;
  }

  // A hello's reading: the clock now, and a fresh measure of the offset.
  hello(reading) {
    this.low = null;
    this.high = null;
    if (!reading) return;
    this.measure(reading.as_of);
    this.set(reading);
  }

  // A live event (only those after the hello's `as_of`: the hello already counts the older
  // ones). Its `at`, a server time in the past, bounds the offset; a phase change brings its
  // whole reading; the meeting's end stops the count.
  event(event) {
    if (typeof event.at === "number") this.measure(event.at);
    if (event.kind === "meeting.phase_changed" && event.clock) {
      this.set(event.clock);
    } else if (event.kind === "meeting.ended" && this.reading && event.at >= this.reading.as_of) {
      this.set({ ...this.at(event.at), phase: "ended", as_of: event.at });
    }
  }

  set(reading) {
    this.reading = { ...reading };
    this.changed = Date.now();
    this.render();
  }

  // A reading from `GET /api/meetings/{id}/clock`: it bounds the offset from both sides, and
  // is the clock unless a newer reading came meanwhile. The viewer page asks once after it
  // loads; consoles also ask now and then, since the meeting's end reaches them as no event.
  async sync(url) {
    try {
      const headers = { Accept: "application/json" };
      const sent = Date.now();
      const response = await fetch(url, { headers, cache: "no-store" });
      if (!response.ok) return;
      const reading = await response.json();
      this.measure(reading.as_of, sent);
      this.root.dataset.synced = "true";
      // The socket's reading stands if it came while the request was out: the answer may have
      // been read before the change that reading brought.
      if (this.reading && (this.changed >= sent || reading.as_of < this.reading.as_of)) return;
      this.set(reading);
    } catch {
      // offline: the socket's next hello brings the clock again
    }
  }

  // `serverMs` was read at or before now; and at or after `sentMs` (this machine's time) if given.
  measure(serverMs, sentMs = null) {
    const low = serverMs - Date.now();
    this.low = this.low === null ? low : Math.max(this.low, low);
    if (sentMs !== null) {
      const high = serverMs - sentMs;
      this.high = this.high === null ? high : Math.min(this.high, high);
    }
    if (this.high !== null && this.high < this.low) this.high = null; // a clock moved: drop it
  }

  get offset() {
    if (this.low === null) return 0;
    return this.high === null ? this.low : (this.low + this.high) / 2;
  }

  serverNow() {
    return Date.now() + this.offset;
  }

  // The reading counted on to server time `now` (the protocol's rule: in `presentation` its time
  // grows, in `qa` the Q&A's, in any other phase nothing moves).
  at(now) {
    const r = this.reading;
    const passed = Math.max(0, (now - r.as_of) / 1000);
    const presentation = r.presentation_s + (r.phase === "presentation" ? passed : 0);
    const qa = r.qa_s + (r.phase === "qa" ? passed : 0);
    return {
      ...r,
      presentation_s: presentation,
      qa_s: qa,
      remaining_s: Math.max(0, r.budget_s - presentation),
      overrun_s: Math.max(0, presentation - r.budget_s),
    };
  }

  render() {
    if (!this.reading) return;
    const now = this.at(this.serverNow());
    const W = this.words;
    const over = now.overrun_s > 0;
    const root = this.root;
    root.hidden = this.quietBeforeStart && now.phase === "not_started";
    root.dataset.phase = now.phase;
    root.dataset.over = String(over);
    root.dataset.remaining = now.remaining_s.toFixed(3);
    root.dataset.overrun = now.overrun_s.toFixed(3);
    setText(this.phaseNode, W[`phase_${now.phase}`] ?? now.phase);
    let time = "";
    let note = "";
    if (now.phase === "presentation") {
      time = over
        ? `+${clockText(Math.floor(now.overrun_s))}`
        : fill(W.clock_left, { time: clockText(Math.ceil(now.remaining_s)) });
      note = over ? W.studio_overrun ?? "" : "";
    } else if (now.phase !== "not_started") {
      time = fill(over ? W.producer_overrun : W.producer_used, {
        used: clockText(Math.floor(now.presentation_s)),
        budget: clockText(Math.round(now.budget_s)),
        over: clockText(Math.floor(now.overrun_s)),
      });
    }
    setText(this.timeNode, time);
    setText(this.noteNode, note);
    this.timeNode.hidden = !time;
    this.noteNode.hidden = !note;
  }

  start() {
    if (this.timer === null) this.timer = setInterval(() => this.render(), TICK_MS);
    return this;
  }
}
