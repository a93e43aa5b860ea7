// The moderation page: draw boxes over a picture and pick words of the letter to black out.
// Both only fill in the same fields a moderator can type into by hand (the keyboard way), and
// the server checks every box and span again: it is the authority, this is a convenience.

const MIN_BOX = 3; // pixels of the picture itself; a smaller drag is taken as a stray click

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

// "x,y,w,h" lines → [[x, y, w, h], …], skipping lines that are not four whole numbers.
function parseBoxes(text) {
  const boxes = [];
  for (const line of text.split("\n")) {
    const values = line.replace(/\s/g, "").split(",");
    if (values.length === 4 && values.every((v) => /^-?\d+$/.test(v))) {
      boxes.push(values.map(Number));
    }
  }
  return boxes;
}

function say(element, text) {
  if (element) element.textContent = text;
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
  // The drawing surface is for the pointer; keyboard users type boxes in the field below.
  overlay.setAttribute("aria-hidden", "true");
  holder.append(overlay);

  const place = (element, x, y, w, h) => {
    // CSSOM, not a style attribute: allowed by the page's Content-Security-Policy.
    element.style.left = `${(x / naturalWidth) * 100}%`;
    element.style.top = `${(y / naturalHeight) * 100}%`;
    element.style.width = `${(w / naturalWidth) * 100}%`;
    element.style.height = `${(h / naturalHeight) * 100}%`;
  };

  const drawAll = () => {
    overlay.replaceChildren();
    for (const [x, y, w, h] of parseBoxes(input.value)) {
      const box = document.createElement("div");
      box.className = "redact-box";
      place(box, x, y, w, h);
      overlay.append(box);
    }
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
    place(drawing, start.x, start.y, 0, 0);
    overlay.append(drawing);
  });

  overlay.addEventListener("pointermove", (event) => {
    if (!start || !drawing) return;
    const [x, y, w, h] = rectangle(start, toPicture(event));
    place(drawing, x, y, w, h);
  });

  const finish = (event) => {
    if (!start) return;
    const [x, y, w, h] = rectangle(start, toPicture(event));
    start = null;
    drawing = null;
    if (w >= MIN_BOX && h >= MIN_BOX) {
      const existing = input.value.trim();
      input.value = `${existing ? `${existing}\n` : ""}${x},${y},${w},${h}`;
      const count = parseBoxes(input.value).length;
      say(status, `Box added: ${w} by ${h} pixels. ${count} box${count === 1 ? "" : "es"} on this picture.`);
    }
    drawAll();
  };
  overlay.addEventListener("pointerup", finish);
  overlay.addEventListener("pointercancel", () => {
    start = null;
    drawing = null;
    drawAll();
  });

  // Typed boxes show on the picture too, so the keyboard way gets the same preview.
  input.addEventListener("input", drawAll);
  // Boxes the server found over flagged words: added to the field, not drawn for good.
  const add = document.querySelector(`[data-add-boxes="${input.id}"]`);
  if (add) {
    add.addEventListener("click", () => {
      const have = new Set(parseBoxes(input.value).map((box) => box.join(",")));
      const fresh = parseBoxes(add.dataset.boxes || "").filter((box) => !have.has(box.join(",")));
      const lines = [input.value.trim(), ...fresh.map((box) => box.join(","))].filter(Boolean);
      input.value = lines.join("\n");
      drawAll();
      const count = parseBoxes(input.value).length;
      say(status, `${fresh.length} box${fresh.length === 1 ? "" : "es"} added over the flagged words. ${count} on this picture.`);
    });
  }
  const clear = document.querySelector(`[data-clear-boxes="${input.id}"]`);
  if (clear) {
    clear.addEventListener("click", () => {
      input.value = "";
      drawAll();
      say(status, "All boxes removed from this picture.");
    });
  }
  if (image.complete) drawAll();
  else image.addEventListener("load", drawAll);
}

// Positions count characters the way the server does (Unicode code points), not UTF-16 units.
function characters(text) {
  return Array.from(text).length;
}

function setupText(holder) {
  const input = document.getElementById(holder.dataset.spansInput);
  const status = document.getElementById(holder.dataset.status);
  const button = document.querySelector(`[data-black-out="${holder.id}"]`);
  if (!input || !button) return;
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

  button.addEventListener("click", () => {
    if (!chosen) {
      say(status, "First select some words in the letter above, then press this button.");
      return;
    }
    const span = `${chosen.start}-${chosen.end}`;
    const spans = input.value
      .split(",")
      .map((value) => value.trim())
      .filter(Boolean);
    if (!spans.includes(span)) spans.push(span);
    input.value = spans.join(", ");
    say(status, `“${chosen.text}” will be blacked out (characters ${span}).`);
    chosen = null;
    const selection = document.getSelection();
    if (selection) selection.removeAllRanges();
  });
}

for (const holder of document.querySelectorAll("[data-redact-picture]")) setupPicture(holder);
for (const holder of document.querySelectorAll("[data-redact-text]")) setupText(holder);

// A reason typed for a flag means "safe to pass": tick that choice, so what the moderator
// sees chosen is what the server will be told (without JavaScript the server reads it so too).
for (const reason of document.querySelectorAll("[data-flag-reason]")) {
  reason.addEventListener("input", () => {
    const safe = reason.closest("[data-flag]")?.querySelector("[data-flag-safe]");
    if (safe && reason.value.trim()) safe.checked = true;
  });
}
