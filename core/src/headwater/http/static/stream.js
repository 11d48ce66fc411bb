// The stream page: polls the API every two seconds and redraws state, publisher, tracks,
// consumers and a bitrate graph of the last five minutes. Plain JavaScript, no build step.
"use strict";

(function () {
  const root = document.getElementById("stream");
  const name = root.dataset.name;
  const api = "/streamer/api/v3/streams/" + name;
  const history = [];
  const KEEP = 150; // 5 minutes at one sample every 2 s
  const $ = function (id) { return document.getElementById(id); };

  function text(id, value) { $(id).textContent = value; }

  function duration(ms) {
    let s = Math.floor(ms / 1000);
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
  }

  function bitrate(kbps) {
    return kbps >= 1000 ? (kbps / 1000).toFixed(1) + " Mbit/s" : kbps + " kbit/s";
  }

  function cell(row, value) {
    const td = document.createElement("td");
    td.textContent = value === undefined || value === null ? "" : String(value);
    row.appendChild(td);
  }

  function fill(id, items, columns) {
    const body = $(id);
    body.replaceChildren();
    for (const item of items) {
      const row = document.createElement("tr");
      for (const column of columns) cell(row, column(item));
      body.appendChild(row);
    }
    if (!items.length) {
      const row = document.createElement("tr");
      cell(row, "none");
      body.appendChild(row);
    }
  }

  function graph() {
    const svg = $("graph");
    const w = 600, h = 120;
    const peak = Math.max(1, ...history.map(function (p) { return p[1]; }));
    const points = history.map(function (p, i) {
      const x = (w * (KEEP - history.length + i)) / (KEEP - 1);
      const y = h - 4 - ((h - 8) * p[1]) / peak;
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    $("line").setAttribute("points", points.join(" "));
    text("graph-peak", "peak " + bitrate(peak));
    svg.dataset.samples = String(history.length);
  }

  function render(info) {
    const st = info.stats;
    text("state", st.alive ? "live" : "offline");
    $("state").className = st.alive ? "live" : "idle";
    text("uptime", st.alive && st.lifetime !== undefined ? duration(st.lifetime) : "—");
    const pub = st.publisher || {};
    text("publisher", pub.proto ? pub.proto + " from " + pub.ip + ":" + pub.port : "—");
    text("since", st.opened_at ? new Date(st.opened_at).toLocaleString() : "—");
    text("bitrate", bitrate(st.input_bitrate || 0));
    text("received", st.frames_in + " frames, " + st.bytes_in + " bytes");
    text("drops", String(st.drops));
    const meta = st.media_info.metadata || {};
    fill("tracks", st.media_info.tracks, [
      function (t) { return t.content; },
      function (t) { return t.codec; },
      function (t) { return t.width ? t.width + "×" + t.height : ""; },
      function (t) {
        const fps = t.fps || (t.content === "video" && meta.framerate);
        return fps ? Math.round(fps * 100) / 100 + " fps" : "";
      },
      function (t) { return t.sample_rate ? t.sample_rate + " Hz" : ""; },
      function (t) { return t.channels ? t.channels + " ch" : ""; },
    ]);
    fill("consumers", st.consumers || [], [
      function (c) { return c.name; },
      function (c) { return c.pending + " queued"; },
      function (c) { return c.dropped + " dropped"; },
    ]);
    fill("pushes", pub.pushes || [], [
      function (p) { return p.url; },
      function (p) { return p.state; },
      function (p) { return p.attempts + " attempts, " + p.errors + " errors"; },
      function (p) { return p.last_error || ""; },
    ]);
    history.push([Date.now(), st.input_bitrate || 0]);
    while (history.length > KEEP) history.shift();
    graph();
  }

  async function poll() {
    try {
      const response = await fetch(api, { cache: "no-store" });
      if (response.status === 404) {
        text("state", "gone");
        $("state").className = "idle";
        return;
      }
      if (response.ok) render(await response.json());
    } catch (error) {
      text("state", "server unreachable");
    }
  }

  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        button.textContent = "copied";
        setTimeout(function () { button.textContent = "copy"; }, 1500);
      });
    });
  }

  const stop = $("stop");
  if (stop) {
    stop.addEventListener("click", async function () {
      if (!confirm("Disconnect the publisher of " + name + "?")) return;
      // With edit_auth set the browser asks for the credentials (401 + Basic challenge).
      const response = await fetch(api + "/stop", { method: "POST" });
      if (response.ok) {
        text("stop-result", "stopped");
      } else {
        let reason = response.statusText;
        try { reason = (await response.json()).detail; } catch (error) { /* not JSON */ }
        text("stop-result", response.status + ": " + reason);
      }
      poll();
    });
  }

  const video = $("video");
  if (video && video.dataset.src) {
    headwaterPlay(video, video.dataset.src, function (s) { text("player-state", s); });
  }
  poll();
  setInterval(poll, 2000);
})();
