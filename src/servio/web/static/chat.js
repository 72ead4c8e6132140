// The web chat: clear the box after each turn and keep the newest message in view.
(function () {
  "use strict";
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail.elt;
    if (form.matches && form.matches("form.chat-form") && e.detail.successful) {
      form.reset();
      form.querySelector("input[name=text]").focus();
    }
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var list = document.getElementById("transcript");
    if (list && (e.detail.target === list)) list.scrollTop = list.scrollHeight;
  });
})();
