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

  // State-changing requests carry the session's CSRF token in a header
  // (the page names it in <meta name="csrf-token">).
  document.addEventListener("htmx:configRequest", function (e) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) e.detail.headers["x-csrf-token"] = meta.content;
  });
  // A sent text clears the form; its thread has been swapped in.
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail.elt;
    if (e.detail.successful && form.tagName === "FORM" && form.matches("[data-reset]")) {
      form.reset();
      if (form.dataset.focus) {
        var first = document.querySelector(form.dataset.focus);
        if (first) first.focus();
      }
      var seg = document.getElementById("segments");
      if (seg && seg.dataset.empty) seg.textContent = seg.dataset.empty;
    }
  });

  // Skip logic: a question with data-show-if-name/value is shown only
  // while that field has that value; hidden, its inputs are disabled so
  // the form does not send them.
  function skips(root) {
    (root || document).querySelectorAll("[data-show-if-name]").forEach(function (q) {
      var form = q.closest("form");
      if (!form) return;
      var name = q.dataset.showIfName;
      var want = q.dataset.showIfValue;
      var on = Array.prototype.some.call(form.elements, function (el) {
        if (el.name !== name) return false;
        if (el.type === "radio" || el.type === "checkbox") return el.checked && el.value === want;
        return el.value === want;
      });
      q.hidden = !on;
      q.querySelectorAll("input,select,textarea").forEach(function (el) { el.disabled = !on; });
    });
  }
  document.addEventListener("change", function () { skips(); });
  document.addEventListener("DOMContentLoaded", function () { skips(); });
  document.addEventListener("htmx:afterSettle", function () { skips(); });

  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
})();
