// The moderation page: select words to black out, draw boxes over a picture (or add and nudge
// them by keyboard), watch a preview of exactly the copy that will be delivered, see which
// flags are covered, and confirm before a decision that cannot be undone.
// Everything here only fills in the same form fields the server reads; the server checks
// every box, span and flag again: it is the authority, this is a convenience.
//
// Every sentence is a whole message (t/tf, ../i18n.js): a count of one has its own sentence,
// so no language has to build a plural from English pieces.

import { t, tf } from "../i18n.js";

const MIN_BOX = 3; // pixels of the picture itself; a smaller drag is taken as a stray click
const NUDGE = 10; // pixels a keyboard press moves or resizes a box
const BLOCK = "█████"; // what the server puts in place of each blacked-out stretch

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

// "x,y,w,h" lines → [[x, y, w, h], …], skipping lines that are not four whole numbers.
function parseBoxes(text) {
  const boxes = [];
  for (const line of text.split(/[\n;]/)) {
    const values = line.replace(/\s/g, "").split(",");
    if (values.length === 4 && values.every((v) => /^-?\d+$/.test(v))) {
      boxes.push(values.map(Number));
    }
  }
  return boxes;
}

function writeBoxes(input, boxes) {
  input.value = boxes.map((box) => box.join(",")).join("\n");
}

function say(element, text) {
  if (element) element.textContent = text;
}

// Positions count characters the way the server does (Unicode code points), not UTF-16 units.
function characters(text) {
  return Array.from(text).length;
}

// "10-25, 40-52" → [[10, 25], [40, 52]]
function parseSpans(text) {
  const spans = [];
  for (const raw of text.split(",")) {
    const match = raw.trim().match(/^(\d+)-(\d+)$/);
    if (match && Number(match[2]) > Number(match[1])) spans.push([Number(match[1]), Number(match[2])]);
  }
  return spans;
}

function mergeSpans(spans) {
  const merged = [];
  for (const [start, end] of [...spans].sort((a, b) => a[0] - b[0] || a[1] - b[1])) {
    const last = merged[merged.length - 1];
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

const form = document.getElementById("decision-form");
const refreshers = [];
function refresh() {
  for (const update of refreshers) update();
}

// --- flags ---------------------------------------------------------------------------------

function flagChoice(fieldset) {
  const black = fieldset.querySelector("[data-flag-black-out]");
  const safe = fieldset.querySelector("[data-flag-safe]");
  const reason = fieldset.querySelector("[data-flag-reason]");
  if (black && black.checked) return "black_out";
  if ((safe && safe.checked) || (reason && reason.value.trim())) return "safe";
  return "";
}

function boxInside(inner, outer) {
  return (
    inner[0] >= outer[0] &&
    inner[1] >= outer[1] &&
    inner[0] + inner[2] <= outer[0] + outer[2] &&
    inner[1] + inner[3] <= outer[1] + outer[3]
  );
}

// The spans the moderator chose (selected words and text flags chosen for blacking out).
function textSpans() {
  const input = document.getElementById("extra_spans");
  const spans = input ? parseSpans(input.value) : [];
  for (const fieldset of document.querySelectorAll("[data-flag][data-start]")) {
    if (flagChoice(fieldset) === "black_out") {
      spans.push([Number(fieldset.dataset.start), Number(fieldset.dataset.end)]);
    }
  }
  return mergeSpans(spans);
}

// The boxes that will be filled on a picture (drawn or typed, and picture flags chosen for
// blacking out).
function pictureBoxes(inputId) {
  const input = document.getElementById(inputId);
  const boxes = input ? parseBoxes(input.value) : [];
  for (const fieldset of document.querySelectorAll(`[data-flag][data-part-input="${inputId}"]`)) {
    if (flagChoice(fieldset) === "black_out") boxes.push(...parseBoxes(fieldset.dataset.boxes || ""));
  }
  return boxes;
}

function flagCovered(fieldset) {
  if (fieldset.dataset.firstChoice) return true; // resolved by the first approval
  const choice = flagChoice(fieldset);
  if (choice === "safe") {
    const reason = fieldset.querySelector("[data-flag-reason]");
    return Boolean(reason && reason.value.trim());
  }
  if (choice === "black_out") return true;
  if (fieldset.dataset.start !== undefined) {
    const start = Number(fieldset.dataset.start);
    const end = Number(fieldset.dataset.end);
    return textSpans().some(([s, e]) => s <= start && e >= end);
  }
  const wanted = parseBoxes(fieldset.dataset.boxes || "");
  if (!wanted.length) return false; // fail closed, as the server does
  const have = pictureBoxes(fieldset.dataset.partInput);
  return wanted.every((box) => have.some((cover) => boxInside(box, cover)));
}

function uncoveredFlags() {
  return [...document.querySelectorAll("[data-flag]")].filter((fieldset) => !flagCovered(fieldset));
}

refreshers.push(() => {
  const all = [...document.querySelectorAll("[data-flag]")];
  for (const fieldset of all) {
    const state = fieldset.querySelector("[data-flag-state]");
    const covered = flagCovered(fieldset);
    fieldset.classList.toggle("covered", covered);
    if (state) state.textContent = covered ? t("Covered") : t("Not covered yet");
  }
  const summary = document.getElementById("flag-summary");
  if (summary && all.length) {
    const open = uncoveredFlags();
    const values = {
      covered: all.length - open.length,
      total: all.length,
      names: open.map((f) => f.dataset.matched).join(", "),
    };
    if (open.length) {
      summary.textContent = all.length === 1
        ? tf("{covered} of 1 flag covered. Not covered yet: {names}.", values)
        : tf("{covered} of {total} flags covered. Not covered yet: {names}.", values);
    } else {
      summary.textContent = all.length === 1 ? t("All 1 flag covered.") : tf("All {total} flags covered.", values);
    }
    summary.classList.toggle("all-covered", open.length === 0);
  }
});

for (const fieldset of document.querySelectorAll("[data-flag]")) {
  fieldset.addEventListener("change", refresh);
  fieldset.addEventListener("input", refresh);
}

// A reason typed for a flag means "safe to pass": tick that choice, so what the moderator
// sees chosen is what the server will be told (without JavaScript the server reads it so too).
for (const reason of document.querySelectorAll("[data-flag-reason]")) {
  reason.addEventListener("input", () => {
    const safe = reason.closest("[data-flag]")?.querySelector("[data-flag-safe]");
    if (safe && reason.value.trim()) safe.checked = true;
  });
}

// --- pictures: draw, add and nudge boxes -----------------------------------------------------

function place(element, [x, y, w, h], naturalWidth, naturalHeight) {
  // CSSOM, not a style attribute: allowed by the page's Content-Security-Policy.
  element.style.left = `${(x / naturalWidth) * 100}%`;
  element.style.top = `${(y / naturalHeight) * 100}%`;
  element.style.width = `${(w / naturalWidth) * 100}%`;
  element.style.height = `${(h / naturalHeight) * 100}%`;
}

function setupPicture(holder) {
  const image = holder.querySelector("img");
  const input = document.getElementById(holder.dataset.boxesInput);
  const status = document.getElementById(holder.dataset.status);
  const naturalWidth = Number(holder.dataset.width);
  const naturalHeight = Number(holder.dataset.height);
  if (!image || !input || !naturalWidth || !naturalHeight) return;

  const overlay = document.createElement("div");
  overlay.className = "redact-overlay";
  // The drawing surface is for the pointer; the keyboard has the box buttons beside it.
  overlay.setAttribute("aria-hidden", "true");
  holder.append(overlay);

  const drawAll = () => {
    overlay.replaceChildren();
    for (const box of parseBoxes(input.value)) {
      const element = document.createElement("div");
      element.className = "redact-box";
      place(element, box, naturalWidth, naturalHeight);
      overlay.append(element);
    }
  };
  const changed = (message) => {
    drawAll();
    refresh();
    if (message) say(status, message);
  };

  // From a pointer position to the picture's own pixels, kept inside the picture.
  const toPicture = (event) => {
    const rect = overlay.getBoundingClientRect();
    return {
      x: clamp(((event.clientX - rect.left) / rect.width) * naturalWidth, 0, naturalWidth),
      y: clamp(((event.clientY - rect.top) / rect.height) * naturalHeight, 0, naturalHeight),
    };
  };

  let start = null;
  let drawing = null;

  const rectangle = (from, to) => {
    const x = Math.floor(Math.min(from.x, to.x));
    const y = Math.floor(Math.min(from.y, to.y));
    const right = Math.ceil(Math.max(from.x, to.x));
    const bottom = Math.ceil(Math.max(from.y, to.y));
    return [x, y, Math.min(right, naturalWidth) - x, Math.min(bottom, naturalHeight) - y];
  };

  overlay.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    overlay.setPointerCapture(event.pointerId);
    start = toPicture(event);
    drawing = document.createElement("div");
    drawing.className = "redact-box drawing";
    place(drawing, [start.x, start.y, 0, 0], naturalWidth, naturalHeight);
    overlay.append(drawing);
  });

  overlay.addEventListener("pointermove", (event) => {
    if (!start || !drawing) return;
    place(drawing, rectangle(start, toPicture(event)), naturalWidth, naturalHeight);
  });

  const finish = (event) => {
    if (!start) return;
    const [x, y, w, h] = rectangle(start, toPicture(event));
    start = null;
    drawing = null;
    if (w >= MIN_BOX && h >= MIN_BOX) {
      writeBoxes(input, [...parseBoxes(input.value), [x, y, w, h]]);
      const count = parseBoxes(input.value).length;
      changed(
        count === 1
          ? tf("Box added: {width} by {height} pixels. 1 box on this picture.", { width: w, height: h })
          : tf("Box added: {width} by {height} pixels. {count} boxes on this picture.", { width: w, height: h, count }),
      );
    } else {
      drawAll();
    }
  };
  overlay.addEventListener("pointerup", finish);
  overlay.addEventListener("pointercancel", () => {
    start = null;
    drawing = null;
    drawAll();
  });

  // Typed boxes show on the picture too.
  input.addEventListener("input", () => changed());

  // The keyboard way: add a box in the middle, then move or resize the newest one.
  const change = (dx, dy, dw, dh) => {
    const boxes = parseBoxes(input.value);
    if (!boxes.length) {
      say(status, t("Add a box first."));
      return;
    }
    let [x, y, w, h] = boxes[boxes.length - 1];
    w = clamp(w + dw, MIN_BOX, naturalWidth);
    h = clamp(h + dh, MIN_BOX, naturalHeight);
    x = clamp(x + dx, 0, naturalWidth - w);
    y = clamp(y + dy, 0, naturalHeight - h);
    boxes[boxes.length - 1] = [x, y, w, h];
    writeBoxes(input, boxes);
    changed(tf("Newest box: {x} from the left, {y} from the top, {width} by {height} pixels.", { x, y, width: w, height: h }));
  };
  for (const button of document.querySelectorAll(`[data-box-tool="${input.id}"]`)) {
    button.addEventListener("click", () => {
      const action = button.dataset.action;
      if (action === "add") {
        const w = Math.max(MIN_BOX, Math.round(naturalWidth / 4));
        const h = Math.max(MIN_BOX, Math.round(naturalHeight / 8));
        const box = [Math.round((naturalWidth - w) / 2), Math.round((naturalHeight - h) / 2), w, h];
        writeBoxes(input, [...parseBoxes(input.value), box]);
        changed(
          tf("Box added in the middle: {width} by {height} pixels. Move or resize it with the buttons or the arrow keys.", {
            width: w,
            height: h,
          }),
        );
      } else if (action === "remove") {
        const boxes = parseBoxes(input.value);
        boxes.pop();
        writeBoxes(input, boxes);
        changed(
          boxes.length === 1
            ? t("Newest box removed. 1 box on this picture.")
            : tf("Newest box removed. {count} boxes on this picture.", { count: boxes.length }),
        );
      } else {
        change(
          Number(button.dataset.dx || 0),
          Number(button.dataset.dy || 0),
          Number(button.dataset.dw || 0),
          Number(button.dataset.dh || 0),
        );
      }
    });
  }
  const tools = document.querySelector(`[data-box-tools="${input.id}"]`);
  if (tools) {
    // Arrow keys move the newest box; with Shift they resize it.
    tools.addEventListener("keydown", (event) => {
      const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
      const move = moves[event.key];
      if (!move) return;
      event.preventDefault();
      if (event.shiftKey) change(0, 0, move[0] * NUDGE, move[1] * NUDGE);
      else change(move[0] * NUDGE, move[1] * NUDGE, 0, 0);
    });
  }

  // Boxes the server found over flagged words: added to the field with one press.
  const add = document.querySelector(`[data-add-boxes="${input.id}"]`);
  if (add) {
    add.addEventListener("click", () => {
      const have = new Set(parseBoxes(input.value).map((box) => box.join(",")));
      const fresh = parseBoxes(add.dataset.boxes || "").filter((box) => !have.has(box.join(",")));
      writeBoxes(input, [...parseBoxes(input.value), ...fresh]);
      const count = parseBoxes(input.value).length;
      changed(
        fresh.length === 1
          ? tf("1 box added over the flagged words. {count} on this picture.", { count })
          : tf("{added} boxes added over the flagged words. {count} on this picture.", { added: fresh.length, count }),
      );
    });
  }
  const clear = document.querySelector(`[data-clear-boxes="${input.id}"]`);
  if (clear) {
    clear.addEventListener("click", () => {
      input.value = "";
      changed(t("All boxes removed from this picture."));
    });
  }
  if (image.complete) drawAll();
  else image.addEventListener("load", drawAll);
}

// --- the letter: select words to black out ---------------------------------------------------

function setupText(holder) {
  const input = document.getElementById(holder.dataset.spansInput);
  const status = document.getElementById(holder.dataset.status);
  const button = document.querySelector(`[data-black-out="${holder.id}"]`);
  const chosenList = document.getElementById("chosen-words");
  const field = document.getElementById("extra-spans-field");
  if (!input || !button) return;
  const letter = holder.dataset.text !== undefined ? holder.dataset.text : holder.textContent;
  // No character positions to type: the list of chosen words replaces the field (unless the
  // server has something to say about it).
  if (field && !field.classList.contains("invalid")) field.hidden = true;
  let chosen = null;

  // Where a selection boundary falls in the letter: the holder's text is exactly the letter,
  // so the characters before the boundary are the offset.
  const offset = (node, at) => {
    const before = document.createRange();
    before.setStart(holder, 0);
    before.setEnd(node, at);
    return characters(before.toString());
  };

  document.addEventListener("selectionchange", () => {
    const selection = document.getSelection();
    // Pressing the button may collapse the selection: keep the last one made in the letter.
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return;
    const range = selection.getRangeAt(0);
    if (!holder.contains(range.startContainer) || !holder.contains(range.endContainer)) {
      chosen = null;
      return;
    }
    const start = offset(range.startContainer, range.startOffset);
    const end = offset(range.endContainer, range.endOffset);
    chosen = end > start ? { start, end, text: range.toString() } : null;
  });

  const words = (start, end) => Array.from(letter).slice(start, end).join("");

  const showChosen = () => {
    if (!chosenList) return;
    chosenList.replaceChildren();
    for (const [start, end] of parseSpans(input.value)) {
      const item = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = `“${words(start, end)}”`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "link-button";
      remove.textContent = tf("Keep “{words}”", { words: words(start, end) });
      remove.addEventListener("click", () => {
        input.value = parseSpans(input.value)
          .filter(([s, e]) => s !== start || e !== end)
          .map(([s, e]) => `${s}-${e}`)
          .join(", ");
        say(status, tf("“{words}” will be delivered as written.", { words: words(start, end) }));
        showChosen();
        refresh();
      });
      item.append(text, " ", remove);
      chosenList.append(item);
    }
    chosenList.hidden = chosenList.children.length === 0;
  };

  button.addEventListener("click", () => {
    if (!chosen) {
      say(status, t("First select some words in the letter above, then press this button."));
      return;
    }
    const span = `${chosen.start}-${chosen.end}`;
    const spans = input.value
      .split(",")
      .map((value) => value.trim())
      .filter(Boolean);
    if (!spans.includes(span)) spans.push(span);
    input.value = spans.join(", ");
    say(status, tf("“{words}” will be blacked out.", { words: chosen.text }));
    chosen = null;
    const selection = document.getSelection();
    if (selection) selection.removeAllRanges();
    showChosen();
    refresh();
  });
  input.addEventListener("input", () => {
    showChosen();
    refresh();
  });
  showChosen();

  // The live preview of the delivered letter: exactly what the server will make.
  const preview = document.getElementById("preview-text");
  if (preview) {
    refreshers.push(() => {
      const chars = Array.from(letter);
      let at = 0;
      preview.replaceChildren();
      for (const [start, end] of textSpans()) {
        preview.append(chars.slice(at, start).join(""));
        const bar = document.createElement("span");
        bar.className = "blacked-out";
        bar.textContent = BLOCK;
        bar.setAttribute("aria-label", t("blacked out"));
        bar.setAttribute("role", "img");
        preview.append(bar);
        at = end;
      }
      preview.append(chars.slice(at).join(""));
    });
  }
}

// --- the preview of each picture ----------------------------------------------------------

function setupPicturePreview(holder) {
  const inputId = holder.dataset.previewPicture;
  const naturalWidth = Number(holder.dataset.width);
  const naturalHeight = Number(holder.dataset.height);
  const layer = document.createElement("div");
  layer.className = "preview-layer";
  layer.setAttribute("aria-hidden", "true");
  holder.append(layer);
  const count = holder.parentElement?.querySelector("[data-preview-count]");
  refreshers.push(() => {
    layer.replaceChildren();
    const boxes = pictureBoxes(inputId);
    for (const box of boxes) {
      const element = document.createElement("div");
      element.className = "preview-box";
      place(element, box, naturalWidth, naturalHeight);
      layer.append(element);
    }
    let words = t("Nothing covered.");
    if (boxes.length === 1) words = t("1 box filled in black.");
    else if (boxes.length) words = tf("{count} boxes filled in black.", { count: boxes.length });
    say(count, words);
  });
}

for (const holder of document.querySelectorAll("[data-redact-picture]")) setupPicture(holder);
for (const holder of document.querySelectorAll("[data-redact-text]")) setupText(holder);
for (const holder of document.querySelectorAll("[data-preview-picture]")) setupPicturePreview(holder);

// --- decisions that cannot be undone ask first ---------------------------------------------

// What the approval question says will be delivered, one whole sentence for each way the
// counts can be one or more.
function deliveredAs(words, boxes) {
  const values = { words, boxes };
  if (words === 1 && boxes === 1) {
    return t("It will be delivered as the preview shows: 1 stretch of words blacked out and 1 box filled in black. This cannot be undone.");
  }
  if (words === 1) {
    return tf("It will be delivered as the preview shows: 1 stretch of words blacked out and {boxes} boxes filled in black. This cannot be undone.", values);
  }
  if (boxes === 1) {
    return tf("It will be delivered as the preview shows: {words} stretches of words blacked out and 1 box filled in black. This cannot be undone.", values);
  }
  return tf("It will be delivered as the preview shows: {words} stretches of words blacked out and {boxes} boxes filled in black. This cannot be undone.", values);
}

const dialog = document.getElementById("confirm-decision");
if (form && dialog) {
  let confirmedWith = null;
  const yes = dialog.querySelector("[data-confirm-yes]");
  const no = dialog.querySelector("[data-confirm-no]");
  const text = dialog.querySelector("[data-confirm-text]");
  const heading = dialog.querySelector("h2");
  form.addEventListener("submit", (event) => {
    const submitter = event.submitter;
    const decision = submitter ? submitter.value : "";
    if (confirmedWith === submitter) {
      confirmedWith = null;
      return;
    }
    const message = document.getElementById("message");
    let ask = null;
    if ((decision === "approve" || decision === "confirm") && uncoveredFlags().length === 0) {
      const words = textSpans().length;
      const boxes = [...document.querySelectorAll("[data-preview-picture]")].reduce(
        (sum, holder) => sum + pictureBoxes(holder.dataset.previewPicture).length,
        0,
      );
      ask = {
        title: decision === "confirm" ? t("Confirm the approval?") : t("Approve and deliver?"),
        body: deliveredAs(words, boxes),
        yes: decision === "confirm" ? t("Yes, confirm the approval") : t("Yes, approve and deliver"),
      };
    } else if (decision === "reject" && message && message.value.trim()) {
      ask = {
        title: t("Reject this item?"),
        body: t("It will never be delivered, and the sender is only told it was not delivered. This cannot be undone."),
        yes: t("Yes, reject it"),
      };
    }
    // Anything else goes to the server, which says what is missing.
    if (!ask) return;
    event.preventDefault();
    heading.textContent = ask.title;
    text.textContent = ask.body;
    yes.textContent = ask.yes;
    yes.onclick = () => {
      dialog.close();
      confirmedWith = submitter;
      form.requestSubmit(submitter);
    };
    dialog.showModal();
  });
  no.addEventListener("click", () => dialog.close());
}

refresh();
