// The parent's own controls during a call: Mute, Camera off, Leave, and a question before
// "Sign out" ends the call. Kept apart from parent.js (the call itself): it only reads the
// camera stream shown in the "You" video and the page's state.
import { t } from "../i18n.js";

const root = document.getElementById("call");
const self = document.getElementById("video-self");
const controls = document.getElementById("call-controls");
const mute = document.getElementById("control-mute");
const camera = document.getElementById("control-camera");
const leave = document.getElementById("control-leave");

function inCall() {
  return ["waiting", "live", "paused"].includes(root.dataset.state);
}

function tracks(kind) {
  const stream = self.srcObject;
  return stream ? stream.getTracks().filter((t) => t.kind === kind) : [];
}

function toggle(button, kind, onWords, offWords) {
  const off = button.getAttribute("aria-pressed") !== "true";
  for (const track of tracks(kind)) track.enabled = !off;
  button.setAttribute("aria-pressed", String(off));
  button.textContent = off ? offWords : onWords;
}

mute.addEventListener("click", () => toggle(mute, "audio", t("Mute"), t("Unmute")));
camera.addEventListener("click", () => toggle(camera, "video", t("Camera off"), t("Camera on")));

leave.addEventListener("click", (event) => {
  if (inCall() && !window.confirm(t("Leave the call? You can join again while it is on."))) {
    event.preventDefault();
  }
});

// "Sign out" in the navigation would end the call: ask first.
for (const form of document.querySelectorAll('form[action="/sign-out"]')) {
  form.addEventListener("submit", (event) => {
    if (inCall() && !window.confirm(t("Signing out ends your call. Sign out now?"))) {
      event.preventDefault();
    }
  });
}

// The controls appear once the camera is on (the page's state leaves "intro").
new MutationObserver(() => { controls.hidden = !inCall(); })
  .observe(root, { attributes: true, attributeFilter: ["data-state"] });
