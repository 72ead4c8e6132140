// Servio pages: htmx settings, one idempotency key per form, no double submits, charts.
(function () {
  "use strict";
  function csrf() {
    var m = document.cookie.match(/(?:^|; )servio_csrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  document.addEventListener("htmx:configRequest", function (e) {
    var token = csrf();
    if (token) e.detail.headers["X-CSRF-Token"] = token;
    var form = e.detail.elt.closest ? e.detail.elt.closest("form[data-idempotency-key]") : null;
    if (form) e.detail.headers["Idempotency-Key"] = form.getAttribute("data-idempotency-key");
  });
  if (window.htmx) {
    // 422 answers carry the form again with its errors: swap them in like a success.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "409", swap: true },
      { code: "[45]..", swap: false, error: true }
    ];
    // A page that could not finish because its payment provider failed answers 502 or
    // 503 with the form and a word on it: show that, not nothing. Other answers of
    // those statuses (not HTML) stay errors.
    document.addEventListener("htmx:beforeSwap", function (e) {
      var xhr = e.detail.xhr;
      var type = xhr.getResponseHeader("Content-Type") || "";
      if ((xhr.status === 502 || xhr.status === 503) && type.indexOf("text/html") === 0) {
        e.detail.shouldSwap = true;
        e.detail.isError = false;
      }
    });
  }
  // A form marked data-once submits once: the button is disabled until the page answers.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.matches || !form.matches("form[data-once]")) return;
    if (form.dataset.sent === "1") { e.preventDefault(); return; }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
  }, true);
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail.elt;
    if (form && form.dataset && form.dataset.sent === "1") {
      form.dataset.sent = "";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
    }
  });
  function drawCharts(root) {
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) return;
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, JSON.parse(source.textContent));
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (e) { drawCharts(e.detail.elt); });
})();
