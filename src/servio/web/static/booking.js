// The booking page: a Turnstile widget drawn again after htmx swaps in a fresh form
// (its token is single-use, so a form that came back with errors needs a new one).
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function () {
    if (!window.turnstile) return;
    document.querySelectorAll(".cf-turnstile").forEach(function (box) {
      if (!box.querySelector("iframe")) window.turnstile.render(box);
    });
  });
})();
