/* Linli 邻里: the site's small behaviours. No inline scripts anywhere (CSP).
 *
 * - <html> gets the class "js", so CSS can hide fallbacks that scripts replace.
 * - A <select data-autosubmit> submits its form when its value changes (the
 *   language switch); without JavaScript its form keeps a visible button.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (!field || !field.matches || !field.matches("select[data-autosubmit]")) {
      return;
    }
    var form = field.form;
    if (!form) {
      return;
    }
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  });
})();
