// sdwalk studio: the page of `sdwalk serve`. Everything a user typed is shown with textContent
// (never innerHTML), images come through fetch() so that a token, when the server has one, goes in
// the Authorization header, and events are read from a fetch() stream (EventSource sends no headers).
"use strict";

const $ = (id) => document.getElementById(id);
const token = (() => {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem("sdwalk-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname);  // not left in the address bar or history
  }
  return sessionStorage.getItem("sdwalk-token") || "";
})();

function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers["Authorization"] = "Bearer " + token;
  return fetch(path, Object.assign({}, options, { headers }));
}

async function apiJson(path, options) {
  const res = await api(path, options);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || res.status + " " + res.statusText);
  return body;
}

function el(tag, props = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.appendChild(c);
  return e;
}

// ---- keyframe editor ----
function addKeyframe(prompt = "", seed = null, frames = 8, negative = "") {
  const row = el("div", { class: "keyframe" }, [
    el("input", { class: "kf-prompt", placeholder: "prompt", "aria-label": "prompt" }),
    el("input", { class: "kf-negative", placeholder: "negative prompt", "aria-label": "negative prompt" }),
    el("input", { class: "kf-seed", type: "number", min: "0", "aria-label": "seed" }),
    el("input", { class: "kf-frames", type: "number", min: "1", title: "frames to the next keyframe", "aria-label": "frames" }),
    el("button", { type: "button", class: "kf-remove", text: "×", title: "remove", onclick: () => {
      if ($("kf-list").children.length > 1) row.remove();
    } }),
  ]);
  row.querySelector(".kf-prompt").value = prompt;
  row.querySelector(".kf-negative").value = negative;
  row.querySelector(".kf-seed").value = seed ?? Math.floor(Math.random() * 1e6);
  row.querySelector(".kf-frames").value = frames;
  $("kf-list").appendChild(row);
}

function walkBody() {
  const rows = [...document.querySelectorAll("#kf-list .keyframe")];
  const prompts = rows.map((r) => r.querySelector(".kf-prompt").value);
  const negatives = rows.map((r) => r.querySelector(".kf-negative").value);
  const seeds = rows.map((r) => Number(r.querySelector(".kf-seed").value));
  const frames = rows.map((r) => Number(r.querySelector(".kf-frames").value));
  const mode = $("mode").value;
  const body = {
    mode,
    num_inference_steps: Number($("steps").value),
    guidance_scale: Number($("guidance").value),
    scheduler: $("scheduler").value,
    width: Number($("width").value),
    height: Number($("height").value),
    format: $("format").value,
    frame_duration_ms: Number($("frame-ms").value),
  };
  if (mode !== "drift") body.pacing = $("pacing").value;
  const usedPrompts = mode === "keyframes" || mode === "prompts" ? prompts : prompts.slice(0, 1);
  body.prompts = usedPrompts;
  body.negative_prompts = negatives.slice(0, usedPrompts.length).some((n) => n) ? negatives.slice(0, usedPrompts.length) : [];
  if (mode === "keyframes") {
    body.seeds = seeds;
    body.keyframe_frames = frames.slice(0, -1);
  } else {
    body.seeds = [seeds[0]];
    body.num_interpolation_steps = frames[0];
  }
  return body;
}

async function start() {
  $("submit-error").textContent = "";
  try {
    const { id } = await apiJson("/api/walks", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(walkBody()),
    });
    openRun(id);
    refreshRuns();
  } catch (e) {
    $("submit-error").textContent = e.message;
  }
}

// ---- the open run: frames, timeline, playback ----
let run = null;  // {id, frames: [objectURL], total, status, abort}

function showFrame(i) {
  if (!run || !run.frames[i]) return;
  $("timeline").value = i;
  $("frame-view").src = run.frames[i];
  $("frame-label").textContent = "frame " + (i + 1) + " / " + run.total;
}

function showStatus(s) {
  if (!run || s.id !== run.id) return;
  run.status = s;
  run.total = s.frames_total || run.total;
  $("timeline").max = Math.max(0, run.total - 1);
  $("progress").value = s.progress || 0;
  let text = s.state + " · " + s.frames_done + " / " + s.frames_total + " frames";
  if (s.state === "queued" && s.queue_position >= 0) text += " · position " + (s.queue_position + 1) + " in the queue";
  if (s.eta_s != null) text += " · about " + Math.ceil(s.eta_s) + " s left";
  if (s.error) text += " · " + s.error;
  $("status").textContent = text;
  for (const b of document.querySelectorAll(".download")) b.disabled = s.state !== "done";
  if (s.state === "done") loadSmoothness(s.id);
  else $("smoothness").hidden = true;
  $("cancel").disabled = !(s.state === "queued" || s.state === "running");
  $("resume").disabled = !s.resumable;
}

// The walk's smoothness report: the distance per transition (plot) and its summary.
async function loadSmoothness(id) {
  if (!run || run.id !== id || run.smoothness) return;
  run.smoothness = true;
  const [report, plot] = await Promise.all([api("/api/walks/" + id + "/report.json"), api("/api/walks/" + id + "/distances.png")]);
  if (!report.ok || !plot.ok || !run || run.id !== id) return;
  const r = await report.json();
  $("smoothness-plot").src = URL.createObjectURL(await plot.blob());
  $("smoothness-text").textContent = "smoothness (" + r.pacing + " pacing): max/median " + r.max_over_median.toFixed(2) +
    ", 1 - Gini " + r.one_minus_gini.toFixed(2) + "; largest jumps after frames " +
    r.largest_jumps.slice(0, 3).map((j) => j.transition).join(", ");
  $("smoothness").hidden = false;
}

async function loadFrame(id, index) {
  if (!run || run.id !== id || run.frames[index]) return;
  const res = await api("/api/walks/" + id + "/frames/" + index + ".png");
  if (!res.ok || !run || run.id !== id) return;
  run.frames[index] = URL.createObjectURL(await res.blob());
  if (!playing) showFrame(index);
}

async function followEvents(id, signal) {
  while (run && run.id === id && !signal.aborted) {
    let res;
    try {
      res = await api("/api/walks/" + id + "/events", { signal });
    } catch (e) {
      return;
    }
    if (!res.ok) return;
    run.streaming = true;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ done: true }));
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message", data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) name = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (!data) continue;
        const d = JSON.parse(data);
        if (name === "frame") {
          run.total = d.frames_total;
          $("timeline").max = Math.max(0, run.total - 1);
          loadFrame(id, d.index);
        } else {
          showStatus(d);
          if (name === "state") refreshRuns();
          if (name === "status") for (let i = 0; i < d.frames_done; i++) loadFrame(id, i);
        }
      }
    }
    if (run && run.id === id) run.streaming = false;
    const s = run && run.status;
    if (!s || s.state !== "queued" && s.state !== "running") return;  // ended: done, failed or cancelled
  }
}

function openRun(id) {
  if (run) {
    run.abort.abort();
    for (const u of run.frames) if (u) URL.revokeObjectURL(u);
  }
  stop();
  run = { id, frames: [], total: 0, status: null, abort: new AbortController() };
  $("run-id").textContent = id;
  $("frame-view").removeAttribute("src");
  $("timeline").value = 0;
  followEvents(id, run.abort.signal);
}

let playing = null, direction = 1;
function stop() {
  if (playing) clearInterval(playing);
  playing = null;
  $("play").textContent = "Play";
}
function play() {
  if (playing) return stop();
  if (!run || !run.frames.length) return;
  $("play").textContent = "Pause";
  direction = 1;
  const ms = (run.status && run.status.frame_duration_ms) || 100;
  playing = setInterval(() => {
    const n = run.frames.filter(Boolean).length;
    const current = Number($("timeline").value);
    let i = current + direction;
    if (i >= n || i < 0) {
      if ($("pingpong").checked) {  // forward, then back; one round trip unless looping
        direction = -direction;
        if (direction === 1 && !$("loop").checked) return stop();
        i = Math.min(Math.max(current + direction, 0), n - 1);
      } else if ($("loop").checked) {
        i = 0;
      } else {
        return stop();
      }
    }
    showFrame(i);
  }, ms);
}

async function download(ext) {
  if (!run) return;
  const res = await api("/api/walks/" + run.id + "/animation." + ext);
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    $("status").textContent = "download failed: " + (body.error || res.status);
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  const a = el("a", { href: url, download: run.id + "." + ext });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// ---- queue / runs ----
async function refreshRuns() {
  let list;
  try {
    list = (await apiJson("/api/walks")).walks;
  } catch (e) {
    return;
  }
  const body = $("runs");
  body.replaceChildren();
  for (const w of list.slice().reverse()) {
    const actions = el("td", {}, [el("button", { type: "button", text: "open", onclick: () => openRun(w.id) })]);
    if (w.state === "queued" || w.state === "running")
      actions.appendChild(el("button", { type: "button", text: "cancel", onclick: () => act(w.id, "DELETE", "") }));
    if (w.resumable)
      actions.appendChild(el("button", { type: "button", text: "resume", onclick: () => act(w.id, "POST", "/resume") }));
    body.appendChild(el("tr", { "data-id": w.id }, [
      el("td", { text: w.id }),
      el("td", { text: w.state }),
      el("td", { text: w.frames_done + " / " + w.frames_total }),
      el("td", { class: "prompts", text: (w.prompts || []).join(" → "), title: (w.prompts || []).join(" → ") }),
      actions,
    ]));
    if (run && run.id === w.id && !run.streaming) showStatus(w);  // the event stream is fresher
  }
}

async function act(id, method, suffix) {
  try {
    const s = await apiJson("/api/walks/" + id + suffix, { method });
    if (suffix === "/resume" && (!run || run.id !== id)) openRun(id);
    else if (suffix === "/resume") followEvents(id, run.abort.signal);
    showStatus(s);
  } catch (e) {
    $("status").textContent = e.message;
  }
  refreshRuns();
}

async function init() {
  addKeyframe("a red circle on a white background", 1, 8);
  addKeyframe("a blue square on a black background", 2, 8);
  $("kf-add").addEventListener("click", () => addKeyframe());
  $("start").addEventListener("click", start);
  $("timeline").addEventListener("input", () => { stop(); showFrame(Number($("timeline").value)); });
  $("play").addEventListener("click", play);
  for (const b of document.querySelectorAll(".download")) b.addEventListener("click", () => download(b.dataset.ext));
  $("cancel").addEventListener("click", () => run && act(run.id, "DELETE", ""));
  $("resume").addEventListener("click", () => run && act(run.id, "POST", "/resume"));
  try {
    const m = (await apiJson("/api/models")).models[0];
    $("model-name").textContent = "model: " + m.name;
    for (const s of m.schedulers) $("scheduler").appendChild(el("option", { text: s, value: s }));
    $("scheduler").value = m.defaults.scheduler;
    $("steps").value = m.defaults.num_inference_steps;
    $("guidance").value = m.defaults.guidance_scale;
    $("width").value = m.defaults.width;
    $("height").value = m.defaults.height;
  } catch (e) {
    $("submit-error").textContent = "cannot reach the server: " + e.message;
  }
  refreshRuns();
  setInterval(refreshRuns, 2000);
}

init();
