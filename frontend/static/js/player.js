// The viewer page's player (issue 14): an HLS stream plays natively where the browser can
// (Safari, iOS), with hls.js (vendored in static/vendor/hls/, no build step) where
// MediaSource exists, and as a plain <video> otherwise; YouTube and Facebook stay embeds. The
// stream's state shows on the player, in the page's language: waiting, live, reconnecting or
// ended. A stream that is not there yet, or drops, is asked for again after a few seconds.
//
// Our own broadcast (issue 16: the studio pushes to our ingest, we serve the HLS) is different:
// the record says its state (`broadcast.changed`, which meeting.js puts in <main
// data-broadcast>), and the badge follows it. Nothing is fetched while it waits; the playlist is
// loaded at once when it turns live; while the studio reconnects the buffer keeps playing; once
// it ended nothing is asked for again.

const config = JSON.parse(document.getElementById("config").textContent);
const S = config.strings;
const main = document.querySelector("main.meeting");
const badge = document.getElementById("stream-state");
const video = document.getElementById("video");
const HLS_TYPE = "application/vnd.apple.mpegurl";
const RETRY_MS = 3000;
const OWN_RETRY_MS = 1000;
// Low latency (our segments are ~1 s): start 3 segments behind the live edge; a live playlist
// has no duration.
const HLS_CONFIG = {
  lowLatencyMode: true,
  liveSyncDurationCount: 3,
  liveDurationInfinity: true,
};
const own = video?.dataset.own === "true";

const seen = { playing: false, trouble: false };
let retryTimer = 0;
let hls = null; // the hls.js player, while it runs

function broadcast() {
  return main.dataset.broadcast || "waiting";
}

// Our own broadcast is fetched only while the studio is on (or reconnecting, for a page
// opened then): nothing before, nothing once it is over.
function onAir() {
  return !own || broadcast() === "live" || broadcast() === "reconnecting";
}

// Our own broadcast is over: nothing is asked for again.
function over() {
  return own && (broadcast() === "ended" || main.dataset.status === "ended");
}

// What the badge says: the meeting's status decides for an embed (its frame shows its own
// state); a <video> says what it is doing.
function current() {
  const status = main.dataset.status;
  if (status === "ended") return "ended";
  if (own) return broadcast(); // the record says: waiting, live, reconnecting or ended
  if (!video) return status === "live" ? "live" : "waiting";
  if (seen.trouble) return "reconnecting";
  return seen.playing ? "live" : "waiting";
}

function update() {
  if (!badge) return; // no stream named yet: the placeholder says so
  const state = current();
  badge.dataset.state = state;
  badge.textContent = S[`stream_${state}`];
}

// Live broadcasts start by themselves; a browser that allows that only without sound gets it
// muted (the viewer turns the sound on), and one that allows nothing waits for the play button.
async function autoplay() {
  if (main.dataset.status !== "live" || !video.paused) return;
  try {
    await video.play();
  } catch (error) {
    if (error.name !== "NotAllowedError") return;
    video.muted = true;
    video.play().catch(() => {});
  }
}

function retryDelay() {
  // Our own broadcast just turned live: its first segment is a second away, ask again soon.
  const base = own && broadcast() === "live" && !seen.playing ? OWN_RETRY_MS : RETRY_MS;
  return base + Math.random() * base; // jittered: a dropped stream is not hit by all at once
}

function retry(again) {
  clearTimeout(retryTimer);
  if (!over()) retryTimer = setTimeout(again, retryDelay());
}

function trouble() {
  seen.trouble = seen.playing; // a stream that never played is still "waiting"
  update();
}

function playWithHls(url) {
  video.dataset.player = "hls.js";
  for (const source of video.querySelectorAll("source")) source.remove();
  hls?.destroy();
  const player = new window.Hls(HLS_CONFIG);
  hls = player;
  player.on(window.Hls.Events.MANIFEST_PARSED, () => autoplay());
  player.on(window.Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
      player.recoverMediaError();
      return;
    }
    trouble();
    player.destroy();
    if (hls === player) hls = null;
    retry(() => playWithHls(url));
  });
  player.loadSource(url);
  player.attachMedia(video);
}

// A live stream played natively may start before its first buffered media and sit there
// (Chromium's own HLS: currentTime 0, buffered from 2 s): step over such a gap, as hls.js does.
const MAX_GAP_S = 30;

function skipGap() {
  if (video.paused || video.seeking) return;
  const at = video.currentTime;
  const buffered = video.buffered;
  for (let i = 0; i < buffered.length; i++) {
    if (at >= buffered.start(i) && at < buffered.end(i)) return; // inside buffered media
    if (buffered.start(i) > at && buffered.start(i) - at < MAX_GAP_S) {
      video.currentTime = buffered.start(i);
      return;
    }
  }
}

function loadNatively() {
  if (own) video.src = video.dataset.src; // our own playlist is only fetched once it is live
  video.load();
  autoplay();
}

function playNatively() {
  video.dataset.player = "native"; // Safari's HLS, or a file the browser plays itself
  setInterval(skipGap, 1000);
  video.addEventListener("error", () => {
    if (own && !video.getAttribute("src")) return; // not loaded yet: nothing went wrong
    trouble();
    retry(loadNatively);
  });
  video.addEventListener("loadedmetadata", () => autoplay());
  if (!onAir()) return; // loaded when the broadcast turns live
  if (own) loadNatively();
  else autoplay();
}

function withHls() {
  const hlsHere = video.dataset.type === HLS_TYPE;
  return hlsHere && !video.canPlayType(HLS_TYPE) && window.Hls?.isSupported();
}

// Our own broadcast turned live: load the playlist now rather than at the next retry, unless
// the player is playing it already (a studio back within the grace period).
function loadNow() {
  clearTimeout(retryTimer);
  if (seen.playing && !seen.trouble && (hls || video.dataset.player === "native")) return;
  if (video.dataset.player === "hls.js" || (!video.dataset.player && withHls())) {
    playWithHls(video.dataset.src);
  } else {
    loadNatively();
  }
}

function watchVideo() {
  video.addEventListener("playing", () => {
    seen.playing = true;
    seen.trouble = false;
    update();
  });
  // A seek (ours over a gap, or the viewer's) waits for its media: that is no trouble.
  video.addEventListener("waiting", () => video.seeking || trouble());
  video.addEventListener("stalled", () => trouble());
  if (!withHls()) playNatively();
  else if (onAir()) playWithHls(video.dataset.src);
  else video.dataset.player = "hls.js"; // loaded when the broadcast turns live
}

// The meeting's status is the page's (meeting.js sets <main data-status>): follow it.
new MutationObserver(() => {
  update();
  if (video) autoplay();
}).observe(main, { attributes: true, attributeFilter: ["data-status"] });

// Our own broadcast's state is the record's (meeting.js sets <main data-broadcast>).
new MutationObserver(() => {
  update();
  if (!video || !own) return;
  if (broadcast() === "live" && main.dataset.status === "live") loadNow();
  else if (over()) clearTimeout(retryTimer);
}).observe(main, { attributes: true, attributeFilter: ["data-broadcast"] });

if (video) watchVideo();
update();
