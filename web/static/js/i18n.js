// The page's language for messages made by scripts.
//
// Pages in a language other than English carry the translations of every script message in
// <script type="application/json" id="letterbox-messages"> (data, never run, so the CSP holds).
// Every message a person reads goes through the t function, so that `scripts/i18n.py update`
// finds it.

const element = document.getElementById("letterbox-messages");
const table = element ? JSON.parse(element.textContent) : {};

export function t(text) {
  return Object.prototype.hasOwnProperty.call(table, text) ? table[text] : text;
}

// "{name} joined" with values filled in after translating the whole sentence.
export function tf(text, values) {
  return t(text).replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}
