// tracedesk staff app: the little behaviour htmx does not give. Loaded as a
// file (the Content Security Policy forbids inline script); stores nothing
// in the browser.
(function () {
  "use strict";

  // <time data-countdown="2026-12-01T10:00:00Z"> shows the time left.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.dataset.countdown) - now) / 1000));
      var text = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (el.textContent !== text) el.textContent = text;
    });
  }
  // htmx notes the current path in sessionStorage for its history
  // feature, which tracedesk turns off (hx-history="false", historyEnabled
  // false): the browser keeps nothing of the app between pages.
  function forget() {
    try { sessionStorage.removeItem("htmx-current-path-for-history"); } catch (e) { /* storage off */ }
  }
  forget();
  document.addEventListener("htmx:afterSettle", forget);

  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
})();
