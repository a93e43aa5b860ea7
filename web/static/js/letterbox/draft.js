// The letter being written survives: it is saved on the server as the parent types (a
// background request, which does not count as activity for the idle time-out), the page warns
// before the time-out and offers to stay signed in, and if the session has ended when Send is
// pressed, the words stay on the page, the password is asked here, then the letter is saved
// and sent.

import { t, tf } from "../i18n.js";

const form = document.getElementById("letter-form");
const text = document.getElementById("letter-text");
const draftStatus = document.getElementById("draft-status");
const reauth = document.getElementById("reauth");
const SAVE_AFTER_MS = 1200;
// Warn two minutes before the time-out (or half-way, for a very short one).
const WARN_BEFORE_MS_MAX = 2 * 60 * 1000;

let signedOut = false;
let saveTimer = null;
let lastSaved = text ? text.value : "";
let lastActivity = Date.now();

function errorSlot() {
  return form.querySelector('[data-error-for~="text"]');
}

function showTextError(message) {
  const slot = errorSlot();
  slot.textContent = message;
  slot.hidden = !message;
  if (message) text.setAttribute("aria-invalid", "true");
  else text.removeAttribute("aria-invalid");
}

function replacesId() {
  const match = /[?&]replaces=([0-9a-f-]{36})/.exec(form.getAttribute("action"));
  return match ? match[1] : null;
}

function isSignedOut(response, body) {
  return response.status === 401 || (response.status === 403 && /csrf|origin/.test(body.error || ""));
}

function sessionEnded() {
  if (signedOut) return;
  signedOut = true;
  hideWarning();
  reauth.hidden = false;
  document.getElementById("reauth-password").focus();
}

async function saveDraft({ keepalive = false } = {}) {
  if (!text || signedOut || text.value === lastSaved) return;
  const words = text.value;
  let response;
  try {
    response = await fetch(form.dataset.draft, {
      method: "PUT",
      keepalive,
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRF-Token": form.dataset.csrf,
        // Not the person's activity: the idle time-out still protects a phone left signed in.
        "Letterbox-Background": "1",
      },
      body: JSON.stringify({ text: words, replaces_item_id: replacesId() }),
    });
  } catch {
    draftStatus.textContent = t("Not saved yet: no connection. Your letter is still here; keep this page open.");
    return;
  }
  let body = {};
  try { body = await response.json(); } catch { body = {}; }
  if (response.ok) {
    lastSaved = words;
    showTextError("");
    const at = new Date(body.draft.saved_at);
    const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    draftStatus.textContent = tf("Saved at {time}.", { time });
  } else if (isSignedOut(response, body)) {
    sessionEnded();
  } else {
    // Over the limit (or another problem): the words stay in the page, the message says why.
    showTextError(body.message || t("Your letter could not be saved just now."));
    draftStatus.textContent = "";
  }
}

// --- the idle warning ---------------------------------------------------------------------

const idleMs = Number(form.dataset.idleSeconds || 0) * 1000;
const WARN_BEFORE_MS = Math.min(WARN_BEFORE_MS_MAX, idleMs / 2);
const warning = document.getElementById("idle-warning");

function hideWarning() {
  if (warning) warning.hidden = true;
}

async function staySignedIn() {
  // An ordinary request: this one is the person's activity.
  const response = await fetch(form.dataset.draft, { headers: { Accept: "application/json" } });
  if (response.ok) {
    lastActivity = Date.now();
    hideWarning();
    text.focus();
  } else {
    sessionEnded();
  }
}

function checkIdle() {
  if (!idleMs || signedOut) return;
  const idle = Date.now() - lastActivity;
  if (idle >= idleMs) {
    saveDraft();
    sessionEnded();
  } else if (idle >= idleMs - WARN_BEFORE_MS && warning && warning.hidden) {
    saveDraft();
    warning.hidden = false;
    document.getElementById("stay-signed-in").focus();
  }
}

// --- signing in again on the page, then sending -----------------------------------------

function tokenFrom(html, selector, attribute) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  const element = doc.querySelector(selector);
  return element ? element.getAttribute(attribute) : null;
}

async function signInAndSend() {
  const problem = document.getElementById("reauth-error");
  const password = document.getElementById("reauth-password");
  problem.hidden = true;
  const page = await fetch("/sign-in", { headers: { Accept: "text/html" } });
  const csrf = tokenFrom(await page.text(), 'input[name="csrf_token"]', "value");
  const data = new URLSearchParams({
    csrf_token: csrf || "",
    email: form.dataset.email,
    password: password.value,
    next: window.location.pathname + window.location.search,
  });
  const signedIn = await fetch("/sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "text/html" },
    body: data,
  });
  const html = await signedIn.text();
  const fresh = tokenFrom(html, "#letter-form", "data-csrf");
  if (!signedIn.ok || !fresh) {
    problem.textContent = t("That password did not work. Please try again. Your letter is still here.");
    problem.hidden = false;
    password.focus();
    return;
  }
  form.dataset.csrf = fresh;
  password.value = "";
  signedOut = false;
  lastActivity = Date.now();
  reauth.hidden = true;
  lastSaved = null;
  await saveDraft();
  form.requestSubmit();
}

if (form && text && form.dataset.draft) {
  // Typing is not a request: the server's idle clock runs from the last page or "stay signed
  // in", and so does this one.
  text.addEventListener("input", () => {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveDraft, SAVE_AFTER_MS);
  });
  // The phone locks or the tab closes: save what is there now.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") saveDraft({ keepalive: true });
  });
  window.addEventListener("pagehide", () => saveDraft({ keepalive: true }));
  // The signal came back: save what was typed while it was gone.
  window.addEventListener("online", () => saveDraft());
  form.addEventListener("letterbox:signed-out", sessionEnded);
  document.getElementById("reauth-send").addEventListener("click", signInAndSend);
  document.getElementById("reauth-password").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); signInAndSend(); }
  });
  const stay = document.getElementById("stay-signed-in");
  if (stay) stay.addEventListener("click", staySignedIn);
  setInterval(checkIdle, 5000);
}
