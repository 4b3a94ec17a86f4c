// The studio's overlays (issue 9.3): what every graphic shares.
//
// - Live data: the overlay socket (docs/protocol.md, "The overlay WebSocket"); it reconnects
//   by itself with backoff after a network drop or a server restart, and a fresh hello
//   resumes (an overlay shows state, not history).
// - CasparCG: the HTML producer calls the global play(), stop(), next() and update(data),
//   data being JSON or the XML templateData form.
// - OBS: window.obsstudio's visibility events play the graphic in and out.
// - A plain browser: the graphic plays by itself (unless the URL says autoplay=0).

const config = JSON.parse(document.getElementById("config").textContent);
const WAITING = new Set(["approved", "queued"]);
const FIRST_DELAY = 500;
const MAX_DELAY = 10000;

// What the server says: the question on air, the rundown in the producer's order, the clock
// (the GET /clock shape) and the offset of the server's clock from this machine's.
export const live = { onAir: null, rundown: [], clock: null, offset: 0 };

export function word(key, values = {}) {
  const text = config.strings[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

// The name as the sender chose it, or "resident of <district>" (issue 9.5).
export function shownName(question) {
  if (question.name) return question.name;
  if (question.district) return word("studio_resident_of", { district: question.district });
  return word("studio_resident");
}

// The server's time now: this machine's clock corrected by the offset measured at the hello.
export function serverNow() {
  return Date.now() + live.offset;
}

// The clock at server time `now`, counted from its reading (docs/protocol.md, "The clock").
export function clockAt(reading, now) {
  const moved = Math.max(0, (now - reading.as_of) / 1000);
  const presentation = reading.presentation_s + (reading.phase === "presentation" ? moved : 0);
  return {
    phase: reading.phase,
    presentation_s: presentation,
    remaining_s: Math.max(0, reading.budget_s - presentation),
    overrun_s: Math.max(0, presentation - reading.budget_s),
  };
}

function hello(frame) {
  live.offset = frame.now - Date.now();
  live.clock = frame.clock;
  live.onAir = frame.on_air;
  live.rundown = frame.rundown;
}

function ended(reading, at) {
  const now = clockAt(reading, at);
  return { ...reading, ...now, phase: "ended", as_of: at };
}

function reorder(order) {
  const rank = new Map(order.map((id, i) => [id, i]));
  const placed = live.rundown.filter((q) => rank.has(q.question));
  placed.sort((a, b) => rank.get(a.question) - rank.get(b.question));
  live.rundown = [...placed, ...live.rundown.filter((q) => !rank.has(q.question))];
}

function question(shown, kind) {
  if (shown.status === "on_air") live.onAir = shown;
  else if (live.onAir && live.onAir.question === shown.question) live.onAir = null;
  const at = live.rundown.findIndex((q) => q.question === shown.question);
  const rest = live.rundown.filter((q) => q.question !== shown.question);
  if (WAITING.has(shown.status)) {
    if (kind === "question.off_air") rest.unshift(shown);
    else if (at >= 0) rest.splice(at, 0, shown);
    else rest.push(shown);
  }
  live.rundown = rest;
}

function event(found) {
  if (found.clock) live.clock = found.clock;
  else if (found.kind === "meeting.ended" && live.clock) live.clock = ended(live.clock, found.at);
  if (found.order) reorder(found.order);
  for (const shown of found.questions ?? []) question(shown, found.kind);
}

function connect(changed) {
  let delay = FIRST_DELAY;
  const open = () => {
    const url = new URL(config.socket, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "hello") {
        hello(frame);
        delay = FIRST_DELAY;
        document.documentElement.dataset.connected = "true";
      } else if (frame.type === "events") {
        frame.events.forEach(event);
      } else {
        return;
      }
      changed();
    };
    socket.onclose = () => {
      document.documentElement.dataset.connected = "false";
      setTimeout(open, delay + Math.random() * (delay / 2));
      delay = Math.min(delay * 2, MAX_DELAY);
    };
  };
  open();
}

// CasparCG's templateData: JSON ({"f0": "...", "f1": "..."} or named fields), or the XML
// form <templateData><componentData id="f0"><data id="text" value="..."/></componentData>.
export function templateData(data) {
  if (data === undefined || data === null) return null;
  if (typeof data === "object") return data;
  const text = String(data).trim();
  if (!text) return null;
  if (!text.startsWith("<")) return JSON.parse(text);
  const found = {};
  const xml = new DOMParser().parseFromString(text, "application/xml");
  for (const component of xml.querySelectorAll("componentData")) {
    const value = component.querySelector("data");
    if (value) found[component.getAttribute("id")] = value.getAttribute("value") ?? "";
  }
  return found;
}

// A question given by update(): f0 the name, f1 the question, f2 the district (or the
// fields by name, or the vMix feed's).
export function givenQuestion(fields) {
  const pick = (...keys) => String(keys.map((k) => fields[k]).find((v) => v != null) ?? "");
  return {
    question: "given",
    status: "on_air",
    name: pick("name", "f0", "Name.Text"),
    text: pick("text", "f1", "Question.Text"),
    district: pick("district", "f2", "District.Text"),
    channel: pick("channel", "f3"),
    votes: 0,
  };
}

// Run a graphic: `draw(playing)` shows the state, `next()` steps it, `given(fields)` takes
// what update() gave (null: back to the live data).
export function run(graphic) {
  let playing = config.autoplay;
  const draw = () => graphic.draw(playing);
  window.play = () => {
    playing = true;
    draw();
  };
  window.stop = () => {
    playing = false;
    draw();
  };
  window.next = () => {
    graphic.next();
    draw();
  };
  window.update = (data) => {
    graphic.given(templateData(data));
    draw();
  };
  if (window.obsstudio) {
    window.addEventListener("obsSourceVisibleChanged", (e) => (e.detail.visible ? play() : stop()));
    window.addEventListener("obsSourceActiveChanged", (e) => e.detail.active && play());
  }
  connect(draw);
  draw();
}

// The longest start of `words` (from `first`) that fits `element` with an ellipsis; the
// font shrinks first, from `max` to `min` px. Returns the index after the last word shown.
export function fit(element, words, first, { max, min }) {
  const lead = first > 0 ? "… " : "";
  for (let size = max; size >= min; size -= 2) {
    element.style.fontSize = `${size}px`;
    element.textContent = lead + words.slice(first).join(" ");
    if (element.scrollHeight <= element.clientHeight) return words.length;
  }
  let low = first + 1;
  let high = words.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    element.textContent = `${lead}${words.slice(first, middle).join(" ")} …`;
    if (element.scrollHeight <= element.clientHeight) low = middle;
    else high = middle - 1;
  }
  element.textContent = `${lead}${words.slice(first, low).join(" ")} …`;
  return low;
}

// The words of a text, very long ones cut in pieces so that any piece fits a line.
export function wordsOf(text) {
  return text.split(/\s+/).filter(Boolean).flatMap((w) => w.match(/.{1,24}/gu));
}
