// The supervisor console: both videos, the call's state, and the controls.
import { CallClient, attach, connectionText, openCameraAndMicrophone, readConfig, show } from "./call.js";
import { t, tf } from "../i18n.js";

const root = document.getElementById("call");
const $ = (id) => document.getElementById(id);
const buttons = { admit: $("admit"), pause: $("pause"), resume: $("resume") };

const PAUSE_WORDS = {
  supervisor: t("paused"),
  supervisor_left: t("paused: you left the call"),
  supervisor_silent: t("paused: your connection stopped"),
  supervisor_connection_lost: t("paused: your video connection dropped"),
};

function renderHealth(legs) {
  for (const leg of legs) {
    const row = $(`health-${leg.role}`);
    if (!row) continue;
    for (const cell of row.querySelectorAll("[data-field]")) {
      const value = leg[cell.dataset.field];
      if (value === undefined || value === null) cell.textContent = "–";
      else if (cell.dataset.field === "loss") cell.textContent = `${Math.round(value * 100)}%`;
      else cell.textContent = String(value);
    }
    row.dataset.state = leg.state;
  }
}

function renderRefused(m) {
  $("refused-count").textContent = String(m.count);
  const list = $("refused-list");
  for (const item of m.latest) {
    const li = document.createElement("li");
    li.textContent = item.what;
    list.prepend(li);
  }
  while (list.children.length > 10) list.lastChild.remove();
}

function render(state) {
  const here = new Set(state.participants);
  $("state-parent").textContent = here.has("parent") ? (state.admitted ? t("in the call") : t("in the waiting room")) : t("not here");
  $("state-child").textContent = here.has("child") ? t("in the call") : t("not here");
  $("interpreter-figure").hidden = !here.has("interpreter");
  $("state-route").textContent = !state.admitted ? t("waiting room")
    : state.paused ? (PAUSE_WORDS[state.pause_reason] || t("paused")) : t("open");
  buttons.admit.disabled = state.admitted;
  buttons.pause.disabled = !state.admitted || state.paused;
  buttons.resume.disabled = !state.paused;
  root.dataset.admitted = String(state.admitted);
  root.dataset.paused = String(state.paused);
}

async function start() {
  $("start").disabled = true;
  let stream;
  try {
    stream = await openCameraAndMicrophone();
  } catch (_) {
    $("device-problem").hidden = false;
    $("start").disabled = false;
    return;
  }
  attach($("video-self"), stream);
  show(root, "live");
  const client = new CallClient(readConfig(root), stream);
  client.addEventListener("connection", (e) => {
    $("connection-state").textContent = connectionText(e.detail);
    if (e.detail === "connected") $("reconnect-banner").hidden = true;
  });
  client.addEventListener("remote", (e) => {
    const video = $(`video-${e.detail.role}`);
    if (video) attach(video, e.detail.stream);
  });
  client.addEventListener("message", (e) => {
    const m = e.detail;
    if (m.type === "state") render(m);
    else if (m.type === "health") renderHealth(m.legs);
    else if (m.type === "refused") renderRefused(m);
    else if (m.type === "alarm") { $("leg-alarm").textContent = m.text; $("leg-alarm").hidden = false; }
    else if (m.type === "reconnect") { $("reconnect-banner").textContent = m.text; $("reconnect-banner").hidden = false; }
    else if (m.type === "stop-requested") $("stop-alert").hidden = false;
    else if (m.type === "ending-soon") {
      $("ending-banner").textContent = m.minutes === 1
        ? t("The call ends itself in 1 minute.")
        : tf("The call ends itself in {minutes} minutes.", { minutes: m.minutes });
      $("ending-banner").hidden = false;
    }
    else if (m.type === "note-saved") { $("note-saved").hidden = false; $("note-text").value = ""; }
    else if (m.type === "ended") show(root, "ended");
  });
  client.addEventListener("closed", (e) => {
    if (e.detail.code === 4410) show(root, "ended");
    else if (e.detail.final) $("connection-state").textContent = e.detail.reason || t("Disconnected");
  });

  for (const [type, button] of Object.entries(buttons)) {
    button.addEventListener("click", () => client.send({ type }));
  }
  $("warn-preset").addEventListener("change", () => { $("warn-text").value = $("warn-preset").value; });
  $("warn-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("warn-text").value.trim();
    if (text && client.send({ type: "warn", text })) { $("warn-text").value = ""; $("warn-preset").value = ""; }
  });
  $("end-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!$("end-reason").value) { $("end-reason").focus(); return; }
    $("end-confirm").hidden = false;
    $("end-yes").focus();
  });
  $("end-no").addEventListener("click", () => { $("end-confirm").hidden = true; });
  $("end-yes").addEventListener("click", () => {
    $("end-confirm").hidden = true;
    client.send({ type: "end", reason: $("end-reason").value });
  });
  const noteForm = $("note-form");
  if (noteForm) {
    noteForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("note-text").value.trim();
      if (text) { $("note-saved").hidden = true; client.send({ type: "note", text }); }
    });
  }
  client.start();
}

if (root.dataset.state !== "ended") $("start").addEventListener("click", start);
