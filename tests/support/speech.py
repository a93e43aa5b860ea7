"""A stand-in for the browser's speech synthesis, installed before any page script runs.

Headless Chromium has a ``speechSynthesis`` with no voices at all, so a page that reads aloud
cannot be tested against it. The stand-in offers the voices a test names (on-device or
network), hands them out as Chromium does (none on the first ask, then a ``voiceschanged``
event), and records every utterance instead of speaking it: its text, its language and the
voice it was given. Nothing is ever spoken, so an utterance stays "speaking" until the test
ends it (``finish_speaking``) or the page cancels it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from playwright.async_api import BrowserContext, Page


@dataclass(frozen=True)
class Voice:
    name: str
    lang: str
    local: bool
    """``localService``: the voice runs on the device; false for a network voice."""
    default: bool = False


@dataclass(frozen=True)
class Spoken:
    text: str
    lang: str
    voice: str | None
    voice_is_local: bool | None


_STAND_IN = """
(voices => {
  const record = { spoken: [], cancelled: 0 };
  const offered = voices.map(v => Object.freeze({
    name: v.name, lang: v.lang, localService: v.local, default: v.default, voiceURI: v.name,
  }));
  const events = new EventTarget();
  let asked = false;
  let current = null;

  class Utterance extends EventTarget {
    constructor(text = "") {
      super();
      this.text = text; this.lang = ""; this.voice = null;
      this.rate = 1; this.pitch = 1; this.volume = 1;
    }
  }
  const end = (type) => {
    const utterance = current;
    current = null;
    if (utterance) utterance.dispatchEvent(new Event(type));
  };
  const synthesis = {
    get speaking() { return current !== null; },
    get pending() { return false; },
    get paused() { return false; },
    getVoices() {
      // As Chromium: the first ask starts loading them, and an event says they are there.
      if (!asked) {
        asked = true;
        setTimeout(() => events.dispatchEvent(new Event("voiceschanged")), 0);
        return [];
      }
      return offered.slice();
    },
    speak(utterance) {
      record.spoken.push({
        text: utterance.text,
        lang: utterance.lang,
        voice: utterance.voice ? utterance.voice.name : null,
        voice_is_local: utterance.voice ? utterance.voice.localService : null,
      });
      current = utterance;
      utterance.dispatchEvent(new Event("start"));
    },
    cancel() { record.cancelled += 1; end("error"); },
    pause() {}, resume() {},
    addEventListener: (...a) => events.addEventListener(...a),
    removeEventListener: (...a) => events.removeEventListener(...a),
    dispatchEvent: (e) => events.dispatchEvent(e),
  };
  Object.defineProperty(window, "speechSynthesis", { value: synthesis, configurable: true });
  Object.defineProperty(window, "SpeechSynthesisUtterance", { value: Utterance, configurable: true });
  Object.defineProperty(window, "__speechRecord", { value: record });
  Object.defineProperty(window, "__finishSpeaking", { value: () => end("end") });
})(VOICES);
"""


async def install_speech_stand_in(context: BrowserContext, voices: list[Voice]) -> None:
    """Every page of ``context`` gets the stand-in, with exactly these voices."""
    script = _STAND_IN.replace("VOICES", json.dumps([asdict(v) for v in voices]))
    await context.add_init_script(script=script)


async def spoken(page: Page) -> list[Spoken]:
    """What the page asked to be spoken, in order."""
    rows: list[dict[str, Any]] = await page.evaluate("() => window.__speechRecord.spoken")
    return [Spoken(**row) for row in rows]


async def cancelled(page: Page) -> int:
    """How many times the page stopped the speech."""
    return int(await page.evaluate("() => window.__speechRecord.cancelled"))


async def finish_speaking(page: Page) -> None:
    """The utterance being spoken comes to its end."""
    await page.evaluate("() => window.__finishSpeaking()")
