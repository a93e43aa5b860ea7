// The parent's call page: permission explained first, then the waiting room, the call,
// pause and warning banners from the supervisor, and the ended screen.
import { CallClient, attach, connectionText, openCameraAndMicrophone, readConfig, show } from "./call.js";
import { t, tf } from "../i18n.js";

const root = document.getElementById("call");
const startButton = document.getElementById("start");
const connection = document.getElementById("connection-state");
const warning = document.getElementById("warning-banner");
const ending = document.getElementById("ending-banner");

let admitted = false;
let paused = false;

// Why the call ended, in plain words (the reason codes are the supervisor's: service/calls/registry.py).
function endedWords(reason) {
  if (reason === "window_ended") return t("The time for this call is over. Thank you for joining.");
  if (reason === "ended") return t("This call has ended.");
  return t("The supervisor has ended the call. Thank you for joining.");
}

function ended(reason) {
  ending.hidden = true;
  warning.hidden = true;
  document.getElementById("ended-reason").textContent = endedWords(reason);
  show(root, "ended");
}

function refresh() {
  if (root.dataset.state === "ended") return;
  if (!admitted) show(root, "waiting");
  else show(root, paused ? "paused" : "live");
}

async function start() {
  startButton.disabled = true;
  let stream;
  try {
    stream = await openCameraAndMicrophone();
  } catch (_) {
    document.getElementById("device-problem").hidden = false;
    startButton.disabled = false;
    return;
  }
  attach(document.getElementById("video-self"), stream);
  show(root, "waiting");
  const client = new CallClient(readConfig(root), stream);
  client.addEventListener("connection", (e) => {
    connection.textContent = connectionText(e.detail);
    if (e.detail === "connected") document.getElementById("reconnect-banner").hidden = true;
  });
  client.addEventListener("remote", (e) => {
    const video = document.getElementById(`video-${e.detail.role}`);
    if (video) attach(video, e.detail.stream);
  });
  client.addEventListener("message", (e) => {
    const m = e.detail;
    if (m.type === "state") {
      admitted = m.admitted; paused = m.paused; refresh();
      // An interpreter's picture shows only while one is in the call.
      document.getElementById("interpreter-figure").hidden = !m.participants.includes("interpreter");
    }
    else if (m.type === "waiting") { admitted = false; refresh(); }
    else if (m.type === "paused") {
      paused = true;
      // The supervisor's words (translated by the server) come first.
      if (m.text) document.getElementById("paused-reason").textContent = tf("{text} The child cannot see or hear you for now.", { text: m.text });
      refresh();
    }
    else if (m.type === "resumed") { paused = false; refresh(); }
    else if (m.type === "reconnect") { const b = document.getElementById("reconnect-banner"); b.textContent = m.text; b.hidden = false; }
    else if (m.type === "warning") { warning.textContent = m.text; warning.hidden = false; }
    else if (m.type === "ending-soon") {
      ending.textContent = m.minutes === 1
        ? t("The call will end in 1 minute. Time to say goodbye.")
        : tf("The call will end in {minutes} minutes. Time to say goodbye.", { minutes: m.minutes });
      ending.hidden = false;
    } else if (m.type === "ended") ended(m.reason);
  });
  client.addEventListener("closed", (e) => {
    if (e.detail.code === 4410) { if (root.dataset.state !== "ended") ended("ended"); }
    else if (e.detail.final) connection.textContent = e.detail.reason || t("Disconnected");
    else connection.textContent = t("The connection dropped. Reconnecting…");
  });
  client.start();
}

if (root.dataset.state !== "ended") startButton.addEventListener("click", start);
