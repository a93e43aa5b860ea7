// The child's centre device: the parent full screen, and one button: "I want to stop".
import { CallClient, attach, connectionText, openCameraAndMicrophone, readConfig, show } from "./call.js";
import { t } from "../i18n.js";

const root = document.getElementById("call");
const startButton = document.getElementById("start");
const stopButton = document.getElementById("stop");
const connection = document.getElementById("connection-state");
const parentVideo = document.getElementById("video-parent");
const views = {
  waiting: document.getElementById("child-waiting"),
  paused: document.getElementById("child-paused"),
};

// What the child sees: "waiting" (the parent is not in the call yet), "paused" (a short break,
// never a frozen last picture of the parent) or "parent".
function showView(view) {
  root.dataset.view = view;
  parentVideo.hidden = view !== "parent";
  for (const [name, element] of Object.entries(views)) element.hidden = name !== view;
}

function viewFor(state) {
  if (!state.admitted || !state.participants.includes("parent")) return "waiting";
  return state.paused ? "paused" : "parent";
}

const ENDED_WORDS = t("The call has finished. Thank you!");

function ended() {
  document.getElementById("ended-reason").textContent = ENDED_WORDS;
  show(root, "ended");
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
  show(root, "live");
  showView("waiting");
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
      showView(viewFor(m));
      // An interpreter's picture shows only while one is in the call.
      document.getElementById("video-interpreter").hidden = !m.participants.includes("interpreter");
    }
    else if (m.type === "paused") document.getElementById("child-paused-reason").textContent = m.text || "";
    else if (m.type === "reconnect") { const b = document.getElementById("reconnect-banner"); b.textContent = m.text; b.hidden = false; }
    else if (m.type === "ended") ended();
  });
  client.addEventListener("closed", (e) => { if (e.detail.code === 4410) ended(); });
  stopButton.addEventListener("click", () => {
    if (client.send({ type: "stop-request" })) document.getElementById("stop-sent").hidden = false;
  });
  client.start();
}

if (root.dataset.state !== "ended") startButton.addEventListener("click", start);
