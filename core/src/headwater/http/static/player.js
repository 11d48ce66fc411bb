// headwater's in-page player: hls.js where Media Source Extensions exist, Safari's own HLS
// on Apple browsers. headwaterPlay(video, url) starts a muted live playback (browsers only
// autoplay muted video) and keeps retrying while the stream is offline.
"use strict";

function headwaterPlay(video, url, onState) {
  const say = onState || function () {};
  const apple = /Apple/.test(navigator.vendor || "");
  video.muted = true;
  video.playsInline = true;
  if (apple && video.canPlayType("application/vnd.apple.mpegurl")) {
    say("native HLS");
    video.src = url;
    video.play().catch(function () {});
    return null;
  }
  if (!(window.Hls && Hls.isSupported())) {
    say("this browser cannot play HLS");
    return null;
  }
  const hls = new Hls({ lowLatencyMode: false, liveSyncDurationCount: 2 });
  let retry = null;
  hls.on(Hls.Events.MANIFEST_PARSED, function () {
    say("playing");
    video.play().catch(function () {});
  });
  hls.on(Hls.Events.ERROR, function (_event, data) {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      say("recovering from a media error");
      hls.recoverMediaError();
      return;
    }
    say("stream offline; retrying");
    clearTimeout(retry);
    retry = setTimeout(function () {
      hls.loadSource(url);
    }, 3000);
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  return hls;
}
