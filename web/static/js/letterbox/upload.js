// Streams a letter and its files to the server with XMLHttpRequest, so the sender sees a
// progress bar. The CSRF token travels in the X-CSRF-Token header: the server does not read
// multipart bodies for it.

import { t, tf } from "../i18n.js";

// The words for a state come from the page (service/statuses.py renders them), never from here.

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

function addSentItem(list, body) {
  const empty = list.querySelector("#nothing-sent");
  if (empty) empty.remove();
  const row = document.createElement("li");
  row.className = "item-row";
  row.dataset.itemId = body.item_id;
  const label = document.createElement("span");
  label.textContent = body.kind === "reply" ? t("Reply sent just now") : t("Sent just now");
  const status = document.createElement("span");
  status.className = `status status-${body.status}`;
  status.textContent = list.dataset.statusText || body.status;
  row.append(label, " ", status);
  list.prepend(row);
}

// A problem the server names a field for is shown next to that field as well.
function clearFieldErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for]")) show(slot, "");
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

function showFieldError(form, field, message) {
  if (!field) return;
  const slot = form.querySelector(`[data-error-for~="${CSS.escape(field)}"]`);
  if (!slot) return;
  show(slot, message);
  const control = slot.parentElement.querySelector("input, select, textarea");
  if (control) control.setAttribute("aria-invalid", "true");
}

function checkBeforeSending(form, files) {
  const maxFiles = Number(form.dataset.maxFiles);
  const maxBytes = Number(form.dataset.maxFileBytes);
  if (files.length > maxFiles) {
    return tf("You added {count} files. You can send up to {most} in one letter. Please take some out.", {
      count: files.length,
      most: maxFiles,
    });
  }
  for (const file of files) {
    if (file.size === 0) return tf("{name} is empty (0 bytes). Please choose it again.", { name: file.name });
    if (file.size > maxBytes) {
      const mb = (size) => (size / 1048576).toFixed(1).replace(/\.0$/, "");
      return tf("{name} is {size} MB. The most you can send is {most} MB per file. Please send a smaller file.", {
        name: file.name,
        size: mb(file.size),
        most: mb(maxBytes),
      });
    }
  }
  return "";
}

function signedOut(code, body) {
  return code === 401 || (code === 403 && /csrf|origin/.test(body.error || ""));
}

function upload(form) {
  const progress = form.querySelector("progress");
  const status = form.querySelector("[role=status]");
  const error = form.querySelector("[role=alert]");
  const button = form.querySelector("button[type=submit]");
  const fileInput = form.querySelector("input[type=file]");
  const files = fileInput ? Array.from(fileInput.files) : [];
  const problem = checkBeforeSending(form, files);
  clearFieldErrors(form);
  show(error, problem);
  if (problem) return;

  const data = new FormData(form);
  const request = new XMLHttpRequest();
  request.open("POST", form.getAttribute("action"));
  request.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
  request.setRequestHeader("Accept", "application/json");
  request.setRequestHeader("Idempotency-Key", crypto.randomUUID());
  progress.hidden = false;
  progress.value = 0;
  button.disabled = true;
  show(status, form.dataset.sendingText || t("Sending…"));
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
  });
  request.upload.addEventListener("load", () => {
    progress.value = 100;
    show(status, form.dataset.checkingText || t("Uploaded. Checking your letter…"));
  });
  request.addEventListener("load", () => {
    button.disabled = false;
    let body = {};
    try {
      body = JSON.parse(request.responseText);
    } catch {
      body = { message: t("Something went wrong. Please try again.") };
    }
    if (request.status === 201 || request.status === 200) {
      progress.value = 100;
      if (body.plan_note) {
        // More than the contact plan allows: it waits for the centre, and the parent is told so
        // here rather than on a page they might not open.
        show(status, body.plan_note);
        form.reset();
        return;
      }
      if (form.dataset.done) {
        // The page lists what was saved: show it afresh.
        window.location.assign(form.dataset.done);
        return;
      }
      show(status, form.dataset.sentText || t("Sent."));
      form.reset();
      const list = document.getElementById(form.dataset.list || "sent-items");
      if (list) addSentItem(list, body);
    } else if (signedOut(request.status, body) && form.dataset.draft) {
      // The session ended: the words stay, the page asks for the password (draft.js).
      show(status, "");
      form.dispatchEvent(new CustomEvent("letterbox:signed-out"));
    } else {
      show(status, "");
      show(error, body.message || t("Something went wrong. Please try again."));
      showFieldError(form, body.field, body.message);
    }
  });
  request.addEventListener("error", () => {
    button.disabled = false;
    show(status, "");
    show(error, t("The connection was lost before the letter was sent. Please try again."));
  });
  request.send(data);
}

for (const form of document.querySelectorAll("form[data-upload]")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    upload(form);
  });
}
