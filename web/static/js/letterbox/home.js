// A call's "Join" button goes live at the moment the call can be joined (15 minutes before
// its window), on a page the parent opened earlier: no reload needed.
for (const slot of document.querySelectorAll("[data-join-at]")) {
  const at = Date.parse(slot.dataset.joinAt);
  const note = slot.parentElement.querySelector("[data-join-note]");
  const reveal = () => {
    slot.hidden = false;
    if (note) note.hidden = true;
  };
  const wait = at - Date.now();
  // Timers far in the future are unreliable (and capped): only arm one within a day.
  if (wait <= 0) reveal();
  else if (wait < 24 * 60 * 60 * 1000) setTimeout(reveal, wait);
}
