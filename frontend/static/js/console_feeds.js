// The YouTube chat feeds on the moderator console (issue 11): each feed's state from
// `GET /api/meetings/{id}/feeds`, read every few seconds, and a banner when a live meeting's feed
// has delivered nothing for HALYQ_YOUTUBE_STALL_SECONDS or yt-dlp exited. Staff who may moderate
// start a follower with the URL form (`POST .../feeds/youtube`). Text stays text.
// Issue 16: Facebook Live and Instagram Live readers are in the same list (`platform` set), in
// their own words; the second form starts one (`POST .../feeds/facebook` or `/instagram`).

import { $, S, config, format, say } from "./console_state.js";

const POLL_MS = 2000;
const section = $("feeds");
const list = $("feed-list");
const banner = $("feed-banner");
const form = $("feed-follow");
const graphForm = $("feed-graph");
const FIELDS = { facebook: "live_video_id", instagram: "ig_user_id" };
const CSRF = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const TIME = new Intl.DateTimeFormat(config.lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function line(className, text) {
  const span = document.createElement("span");
  span.className = className;
  span.textContent = text;
  return span;
}

function row(feed) {
  const li = document.createElement("li");
  li.className = "feed";
  li.dataset.state = feed.state;
  li.dataset.warning = feed.warning ?? "";
  const graph = feed.platform ? platform(feed) : "";
  const word = graph && feed.state === "restarting" ? S.feed_retrying : S[`feed_${feed.state}`];
  const state = line("feed-state", word ?? feed.state);
  const url = line("feed-url", feed.url ?? "");
  const items = line("feed-items", format(S.feed_items, { n: feed.items_last_minute ?? 0 }));
  const last = feed.last_item_at
    ? format(S.feed_last_item, { time: TIME.format(new Date(feed.last_item_at)) })
    : S.feed_no_item;
  li.append(state, url, items, line("feed-last", last));
  if (graph && feed.problem === "not_live") li.append(line("feed-last", S.feed_not_live));
  if (feed.error) li.append(line("feed-error", errorText(feed)));
  return li;
}

function platform(feed) {
  return S[`channel_${feed.platform}`] ?? feed.platform;
}

function errorText(feed) {
  return feed.platform
    ? format(S.feed_graph_error, { platform: platform(feed), error: feed.error })
    : format(S.feed_error, { error: feed.error });
}

function warningText(feed, seconds) {
  if (feed.platform) {
    return feed.warning === "stalled"
      ? format(S.feed_graph_stalled, { platform: platform(feed), seconds })
      : format(S.feed_graph_exited, { platform: platform(feed) });
  }
  return feed.warning === "stalled" ? format(S.feed_stalled, { seconds }) : S.feed_exited;
}

function show(body) {
  const feeds = body.feeds ?? [];
  list.replaceChildren(...feeds.map(row));
  section.hidden = feeds.length === 0 && form.hidden && graphForm.hidden;
  const warned = feeds.find((feed) => feed.warning);
  banner.hidden = !warned;
  if (!warned) return;
  banner.dataset.warning = warned.warning;
  banner.querySelector("[data-feed-warning]").textContent = warningText(warned, Math.round(body.stall_seconds));
  banner.querySelector("[data-feed-detail]").textContent = warned.error ? errorText(warned) : "";
}

async function poll() {
  try {
    const response = await fetch(section.dataset.feeds, { credentials: "same-origin", cache: "no-store" });
    if (response.ok) show(await response.json());
  } catch {
    // offline for a moment: the next poll tells
  }
  setTimeout(poll, POLL_MS);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const url = $("feed-url").value.trim();
  if (!url) return;
  try {
    const response = await fetch(`${section.dataset.feeds}/youtube`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
      body: JSON.stringify({ url }),
    });
    const answer = await response.json().catch(() => ({}));
    say(response.ok ? S.feed_started : format(S.feed_refused, { detail: answer.detail ?? response.status }));
    if (response.ok) $("feed-url").value = "";
  } catch {
    say(format(S.feed_refused, { detail: "offline" }));
  }
});

graphForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("feed-platform").value;
  const id = $("feed-graph-id").value.trim();
  if (!id || !FIELDS[name]) return;
  try {
    const response = await fetch(`${section.dataset.feeds}/${name}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF },
      body: JSON.stringify({ [FIELDS[name]]: id }),
    });
    const answer = await response.json().catch(() => ({}));
    const started = format(S.feed_graph_started, { platform: S[`channel_${name}`] ?? name });
    say(response.ok ? started : format(S.feed_refused, { detail: answer.detail ?? response.status }));
    if (response.ok) $("feed-graph-id").value = "";
  } catch {
    say(format(S.feed_refused, { detail: "offline" }));
  }
});

section.hidden = form.hidden && graphForm.hidden;
poll();
