// The child's centre device: the parent full screen, and one button: "I want to stop".
import { CallClient, attach, connectionText, openCameraAndMicrophone, readConfig, show } from "./call.js";

const root = document.getElementById("call");
const startButton = document.getElementById("start");
const stopButton = document.getElementById("stop");
const parentWaiting = document.getElementById("parent-waiting");
const connection = document.getElementById("connection-state");

const parentVideo = document.getElementById("video-parent");

// While the parent is waiting or paused nothing arrives from them: no frozen last picture.
function parentVisible(visible) {
  parentWaiting.hidden = visible;
  parentVideo.hidden = !visible;
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
  parentVisible(false);
  const client = new CallClient(readConfig(root), stream);
  client.addEventListener("connection", (e) => { connection.textContent = connectionText(e.detail); });
  client.addEventListener("remote", (e) => {
    const video = document.getElementById(`video-${e.detail.role}`);
    if (video) attach(video, e.detail.stream);
  });
  client.addEventListener("message", (e) => {
    const m = e.detail;
    if (m.type === "state") parentVisible(m.admitted && !m.paused && m.participants.includes("parent"));
    else if (m.type === "ended") show(root, "ended");
  });
  client.addEventListener("closed", (e) => { if (e.detail.code === 4410) show(root, "ended"); });
  stopButton.addEventListener("click", () => {
    if (client.send({ type: "stop-request" })) document.getElementById("stop-sent").hidden = false;
  });
  client.start();
}

if (root.dataset.state !== "ended") startButton.addEventListener("click", start);
