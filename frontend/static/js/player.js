// The viewer page's player (issue 14): an HLS stream plays natively where the browser can
// (Safari, iOS), with hls.js (vendored in static/vendor/hls/, no build step) where
// MediaSource exists, and as a plain <video> otherwise; YouTube and Facebook stay embeds. The
// stream's state shows on the player, in the page's language: waiting, live, reconnecting or
// ended. A stream that is not there yet, or drops, is asked for again after a few seconds.

const config = JSON.parse(document.getElementById("config").textContent);
const S = config.strings;
const main = document.querySelector("main.meeting");
const badge = document.getElementById("stream-state");
const video = document.getElementById("video");
const HLS_TYPE = "application/vnd.apple.mpegurl";
const RETRY_MS = 3000;

const seen = { playing: false, trouble: false };

// What the badge says: the meeting's status decides for an embed (its frame shows its own
// state); a <video> says what it is doing.
function current() {
  const status = main.dataset.status;
  if (status === "ended") return "ended";
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
  return RETRY_MS + Math.random() * RETRY_MS; // jittered: a dropped stream is not hit by all at once
}

function trouble() {
  seen.trouble = seen.playing; // a stream that never played is still "waiting"
  update();
}

function playWithHls(url) {
  video.dataset.player = "hls.js";
  for (const source of video.querySelectorAll("source")) source.remove();
  const hls = new window.Hls({ liveDurationInfinity: true });
  hls.on(window.Hls.Events.MANIFEST_PARSED, () => autoplay());
  hls.on(window.Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
      hls.recoverMediaError();
      return;
    }
    trouble();
    hls.destroy();
    setTimeout(() => playWithHls(url), retryDelay());
  });
  hls.loadSource(url);
  hls.attachMedia(video);
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

function playNatively() {
  video.dataset.player = "native"; // Safari's HLS, or a file the browser plays itself
  setInterval(skipGap, 1000);
  video.addEventListener("error", () => {
    trouble();
    setTimeout(() => {
      video.load();
      autoplay();
    }, retryDelay());
  });
  video.addEventListener("loadedmetadata", () => autoplay());
  autoplay();
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
  const url = video.dataset.src;
  const hlsHere = video.dataset.type === HLS_TYPE;
  if (hlsHere && !video.canPlayType(HLS_TYPE) && window.Hls?.isSupported()) playWithHls(url);
  else playNatively();
}

// The meeting's status is the page's (meeting.js sets <main data-status>): follow it.
new MutationObserver(() => {
  update();
  if (video) autoplay();
}).observe(main, { attributes: true, attributeFilter: ["data-status"] });

if (video) watchVideo();
update();
