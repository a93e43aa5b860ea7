// "Read this aloud" on a reply's page, for parents who find reading hard (the centre may turn
// it off). The child's words are spoken by a voice that runs on the parent's own device
// (`localService`), never by a network voice: a network voice would send the child's words
// to whoever runs it. Without such a voice the button says reading aloud is not available.
// Without this script (or without speech in the browser) the controls stay hidden and the
// page is the same as before.

import { t } from "../i18n.js";

const VOICES_TIMEOUT_MS = 3000;
const NOT_AVAILABLE = t("Reading aloud is not available on this device");

// The words' language: the text's own `lang` if it has one, else the page's (en-GB, later cy).
function languageOf(element) {
  const marked = element.closest("[lang]");
  return (marked ? marked.lang : document.documentElement.lang || "").toLowerCase();
}

function primary(lang) {
  return lang.replace("_", "-").split("-")[0];
}

// Only on-device voices, best first: the words' exact language, then the same language in
// another country, then the device's own default, then any other on-device voice.
function chooseVoice(voices, lang) {
  const local = voices.filter((voice) => voice.localService === true);
  const tag = (voice) => (voice.lang || "").replace("_", "-").toLowerCase();
  return (
    local.find((voice) => tag(voice) === lang) ||
    local.find((voice) => primary(tag(voice)) === primary(lang)) ||
    local.find((voice) => voice.default) ||
    local[0] ||
    null
  );
}

// The voices, once the browser has them: many load them after the page, and announce it with
// `voiceschanged`; some never do, so the wait ends after a while with what there is.
function voicesLoaded(speech) {
  const now = speech.getVoices();
  if (now.length) return Promise.resolve(now);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      speech.removeEventListener("voiceschanged", done);
      resolve(speech.getVoices());
    };
    const timer = setTimeout(done, VOICES_TIMEOUT_MS);
    speech.addEventListener("voiceschanged", done);
  });
}

function setUp(controls) {
  const text = document.getElementById(controls.dataset.readAloud);
  const start = controls.querySelector("[data-read-aloud-start]");
  const stop = controls.querySelector("[data-read-aloud-stop]");
  const startLabel = start.textContent;
  const speech = window.speechSynthesis;
  const lang = languageOf(text);
  let voice = null;

  const showSpeaking = (speaking) => {
    const hadFocus = document.activeElement === (speaking ? start : stop);
    stop.hidden = !speaking;
    start.hidden = speaking;
    if (hadFocus) (speaking ? stop : start).focus();
  };

  const offer = (voices) => {
    voice = chooseVoice(voices, lang);
    start.disabled = voice === null;
    start.textContent = voice ? startLabel : NOT_AVAILABLE;
    controls.hidden = false;
  };

  if (!speech || typeof window.SpeechSynthesisUtterance !== "function") {
    offer([]);
    return;
  }

  // The utterance being spoken: a cancelled one reports its end late, after a new one began.
  let current = null;
  const finished = (utterance) => {
    if (utterance !== current) return;
    current = null;
    showSpeaking(false);
  };

  start.addEventListener("click", () => {
    if (!voice) return;
    current = null;
    speech.cancel();
    // Only the reply's own words, nothing else of the page.
    const utterance = new SpeechSynthesisUtterance(text.textContent);
    // Always name the voice: left empty, the browser would pick its default, which may be a
    // network voice.
    utterance.voice = voice;
    utterance.lang = voice.lang || lang;
    utterance.addEventListener("end", () => finished(utterance));
    utterance.addEventListener("error", () => finished(utterance));
    current = utterance;
    showSpeaking(true);
    speech.speak(utterance);
  });
  stop.addEventListener("click", () => {
    current = null;
    speech.cancel();
    showSpeaking(false);
  });
  // Nothing keeps talking once the parent has left the page.
  window.addEventListener("pagehide", () => speech.cancel());

  voicesLoaded(speech).then((voices) => {
    offer(voices);
    // A voice installed or removed while the page is open changes what is offered.
    speech.addEventListener("voiceschanged", () => {
      if (current === null) offer(speech.getVoices());
    });
  });
}

for (const controls of document.querySelectorAll("[data-read-aloud]")) setUp(controls);
