// The phone desk (issue 10.1): an operator types a caller's question while the caller is on the
// line, by keyboard alone. Enter records the call (POST /api/desk/calls with the session's CSRF
// token) and clears the form for the next one; the language the caller spoke is kept, here and
// across reloads. Each call carries a client_msg_id made here: a double Enter or a retry after a
// lost answer records one question. A refusal is shown next to the field it concerns. Text
// typed by people is only ever set as text.

const config = JSON.parse(document.getElementById("config").textContent);
const S = config.strings;
const CSRF = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const PLURALS = new Intl.PluralRules(config.lang);
const LANG_KEY = "halyq_desk_language";
const RETRIES = [1000, 2000, 4000]; // ms before each new try of a call the server did not answer
const RECENT = 10; // calls shown
const $ = (id) => document.getElementById(id);

const form = $("call");
const fields = {
  name: $("call-name"),
  district: $("call-district"),
  callback: $("call-callback"),
  text: $("call-text"),
};
const state = {
  busy: false, // a call is on its way: a second Enter meanwhile does nothing
  // A call the server never answered may be recorded: sent again unchanged, it keeps its
  // client_msg_id (one question at most); changed, it is a new call.
  unsettled: null, // {client_msg_id, body} of that call
  calls: [], // this page's recent calls, newest first
};

function format(text, values = {}) {
  const chosen = text !== null && typeof text === "object"
    ? text[PLURALS.select(values.n)] ?? text.other ?? text.many
    : text;
  return String(chosen ?? "").replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

function uuid() {
  // crypto.randomUUID needs a secure context; an operator's LAN address may not be one.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The language the caller spoke, remembered between calls and reloads

function language() {
  return form.querySelector('input[name="language"]:checked')?.value ?? "kk";
}

function setLanguage(value) {
  const radio = form.querySelector(`input[name="language"][value="${value}"]`);
  if (!radio) return;
  radio.checked = true;
  try {
    localStorage.setItem(LANG_KEY, value);
  } catch {
    // storage may be off: the choice then lasts as long as the page
  }
}

// The district: a type-ahead over the meeting's districts

function completed(typed) {
  const value = typed.trim();
  if (!value) return "";
  const wanted = value.toLocaleLowerCase();
  const exact = config.districts.find((d) => d.toLocaleLowerCase() === wanted);
  if (exact) return exact;
  const starting = config.districts.filter((d) => d.toLocaleLowerCase().startsWith(wanted));
  return starting.length === 1 ? starting[0] : value;
}

function namePlaceholder() {
  const district = fields.district.value.trim();
  fields.name.placeholder = district
    ? format(S.studio_resident_of, { district })
    : S.studio_resident;
}

// Refusals, next to their field

function showError(field, message) {
  const box = form.querySelector(`[data-error-for="${field}"]`);
  const input = fields[field] ?? form.querySelector(`input[name="${field}"]:checked`);
  if (!box) {
    showFormError(message);
    return;
  }
  box.textContent = message;
  box.hidden = false;
  input?.setAttribute("aria-invalid", "true");
  input?.focus();
}

function showFormError(message) {
  const box = $("form-error");
  box.textContent = message;
  box.hidden = !message;
}

function clearErrors() {
  for (const box of form.querySelectorAll("[data-error-for]")) {
    box.hidden = true;
    box.textContent = "";
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  showFormError("");
}

function clearError(field) {
  const box = form.querySelector(`[data-error-for="${field}"]`);
  if (box) box.hidden = true;
  fields[field]?.removeAttribute("aria-invalid");
}

function refusal(answer, status) {
  // The words for a refusal, in the page's language where the desk knows the case.
  const field = answer.field ?? "";
  if (status === 429) return { field: "callback", message: format(S.desk_rate_limited, { n: answer.retry_after ?? 1 }) };
  if (status === 409) return { field: "", message: S.desk_no_meeting };
  const words = {
    callback: S.desk_bad_callback,
    district: S.desk_bad_district,
    language: S.desk_bad_language,
    name: answer.error === "reserved_name" ? S.rejected_reserved_name : S.desk_bad_name,
    text: answer.error === "too_long" ? format(S.rejected_too_long, { n: fields.text.maxLength }) : S.desk_no_text,
  };
  return { field, message: words[field] ?? format(S.desk_failed, { detail: answer.detail ?? status }) };
}

// The recent calls

function who(call) {
  if (call.name) return call.name;
  return call.district ? format(S.studio_resident_of, { district: call.district }) : S.studio_resident;
}

function renderCalls() {
  const list = $("recent");
  list.replaceChildren(...state.calls.map(callRow));
  $("recent-empty").hidden = state.calls.length > 0;
}

function callRow(call) {
  const item = document.createElement("li");
  item.className = "phone-call";
  item.dataset.status = call.status;
  if (call.id) item.dataset.id = call.id;
  const meta = document.createElement("p");
  meta.className = "phone-call-meta";
  const time = document.createElement("time");
  time.dateTime = new Date(call.at).toISOString();
  time.textContent = new Date(call.at).toLocaleTimeString(config.lang, { hour: "2-digit", minute: "2-digit" });
  const name = Object.assign(document.createElement("bdi"), { className: "name", textContent: who(call) });
  const number = Object.assign(document.createElement("span"), {
    className: "phone-number",
    textContent: call.callback || S.desk_no_number,
  });
  const lang = Object.assign(document.createElement("span"), { className: "badge", textContent: call.language });
  meta.append(time, name, number, lang);
  const text = document.createElement("p");
  text.className = "phone-call-text";
  text.append(Object.assign(document.createElement("bdi"), { textContent: call.text }));
  const outcome = Object.assign(document.createElement("p"), {
    className: "phone-call-outcome",
    textContent: call.outcome,
  });
  item.append(meta, text, outcome);
  return item;
}

function remember(call) {
  const index = state.calls.findIndex((c) => c.client_msg_id === call.client_msg_id);
  if (index >= 0) state.calls.splice(index, 1);
  state.calls.unshift(call);
  state.calls.length = Math.min(state.calls.length, RECENT);
  renderCalls();
}

// Sending a call

function read() {
  fields.district.value = completed(fields.district.value);
  const body = {
    meeting_id: config.meeting_id,
    name: fields.name.value,
    district: fields.district.value,
    callback: fields.callback.value,
    text: fields.text.value,
    language: language(),
  };
  const same = state.unsettled && state.unsettled.body === JSON.stringify(body);
  return { ...body, client_msg_id: same ? state.unsettled.client_msg_id : uuid() };
}

function unsettled(call) {
  const { client_msg_id, ...body } = call;
  return { client_msg_id, body: JSON.stringify(body) };
}

async function post(call) {
  const response = await fetch(config.api, {
    method: "POST",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": CSRF },
    credentials: "same-origin",
    body: JSON.stringify(call),
  });
  const answer = await response.json().catch(() => ({}));
  return { status: response.status, answer };
}

function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function sendWithRetries(call) {
  // A call the server did not answer may have been recorded: the same client_msg_id again
  // records it at most once.
  for (let attempt = 0; ; attempt += 1) {
    let result;
    try {
      result = await post(call);
    } catch (error) {
      result = { status: 0, answer: { detail: String(error.message ?? error) } };
    }
    const again = result.status === 0 || result.status >= 500;
    if (!again || attempt >= RETRIES.length) return result;
    $("call-status").textContent = S.desk_retrying;
    showFormError(S.desk_retrying);
    await wait(result.answer.retry_after ? result.answer.retry_after * 1000 : RETRIES[attempt]);
  }
}

async function submit() {
  if (state.busy) return; // a second Enter while the first is on its way
  const call = read();
  const typed = [call.name, call.district, call.callback, call.text].some((v) => v.trim());
  if (!typed) return; // Enter on an empty form (a double Enter after a call): nothing to do
  clearErrors();
  if (!call.text.trim()) {
    showError("text", S.desk_no_text);
    return;
  }
  state.busy = true;
  form.setAttribute("aria-busy", "true");
  $("call-status").textContent = S.desk_sending;
  try {
    const { status, answer } = await sendWithRetries(call);
    settle(call, status, answer);
  } finally {
    state.busy = false;
    form.removeAttribute("aria-busy");
  }
}

function settle(call, status, answer) {
  state.unsettled = null;
  if (status === 201) {
    const outcome = answer.status === "repeated" ? S.desk_repeated : S.desk_recorded;
    remember({ ...call, id: answer.id, status: answer.status, callback: answer.callback ?? "",
               outcome, at: Date.now() });
    if (answer.meeting_id && answer.meeting_id !== config.meeting_id) showFormError(S.desk_elsewhere);
    $("call-status").textContent = outcome;
    clearForm();
    return;
  }
  if (status === 0 || status >= 500) {
    // Not answered even after the retries: the form and its client_msg_id stay for Enter.
    showFormError(format(S.desk_failed, { detail: answer.detail ?? status }));
    state.unsettled = unsettled(call);
    $("call-status").textContent = "";
    return;
  }
  // Refused: nothing was recorded, so the next try is a new call.
  const { field, message } = refusal(answer, status);
  $("call-status").textContent = message;
  if (field) showError(field, message);
  else showFormError(message);
}

function clearForm() {
  for (const input of Object.values(fields)) input.value = "";
  namePlaceholder();
  fields.name.focus();
}

// The keyboard

function onKey(event) {
  if (event.isComposing || event.ctrlKey || event.metaKey) return;
  if (event.altKey && (event.code === "KeyK" || event.code === "KeyR")) {
    event.preventDefault();
    setLanguage(event.code === "KeyK" ? "kk" : "ru");
    return;
  }
  if (event.altKey || event.key !== "Enter") return;
  const target = event.target;
  if (target === fields.text && !event.shiftKey) {
    event.preventDefault(); // Shift+Enter is a new line; Enter records the call
    form.requestSubmit();
  } else if (target instanceof HTMLInputElement && target.type === "radio") {
    event.preventDefault();
    form.requestSubmit();
  }
}

function start() {
  if (!form) return; // no meeting takes calls now: the page says so
  try {
    setLanguage(localStorage.getItem(LANG_KEY) ?? language());
  } catch {
    // storage may be off
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  form.addEventListener("change", (event) => {
    if (event.target instanceof HTMLInputElement && event.target.name === "language") {
      setLanguage(event.target.value);
      clearError("language");
    }
  });
  form.addEventListener("input", (event) => {
    const name = event.target?.name;
    if (name) clearError(name);
    if (name === "district") namePlaceholder();
  });
  fields.district.addEventListener("blur", () => {
    fields.district.value = completed(fields.district.value);
    namePlaceholder();
  });
  document.addEventListener("keydown", onKey);
  renderCalls();
  fields.name.focus();
}

start();
