// The interpreter's page: everyone's video and sound, their own camera, no controls.
import { CallClient, attach, connectionText, openCameraAndMicrophone, readConfig, show } from "./call.js";
import { t, tf } from "../i18n.js";

const root = document.getElementById("call");
const $ = (id) => document.getElementById(id);

function ended() {
  $("ending-banner").hidden = true;
  $("ended-reason").textContent = t("The call has ended. Thank you for interpreting.");
  show(root, "ended");
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
  client.addEventListener("connection", (e) => { $("connection-state").textContent = connectionText(e.detail); });
  client.addEventListener("remote", (e) => {
    const video = $(`video-${e.detail.role}`);
    if (video) attach(video, e.detail.stream);
  });
  client.addEventListener("message", (e) => {
    const m = e.detail;
    if (m.type === "ending-soon") {
      $("ending-banner").textContent = m.minutes === 1
        ? t("The call will end in 1 minute.")
        : tf("The call will end in {minutes} minutes.", { minutes: m.minutes });
      $("ending-banner").hidden = false;
    } else if (m.type === "ended") ended();
  });
  client.addEventListener("closed", (e) => {
    if (e.detail.code === 4410) { if (root.dataset.state !== "ended") ended(); }
    else if (e.detail.final) $("connection-state").textContent = e.detail.reason || t("Disconnected");
  });
  client.start();
}

if (root.dataset.state !== "ended") $("start").addEventListener("click", start);
