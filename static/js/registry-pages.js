/* Linli 邻里: small behaviours of the verification and visitor pages (no inline
 * scripts: CSP). Buttons that need JavaScript carry the "hidden" attribute and are
 * shown here, so without JavaScript nothing useless is on the page.
 *
 * - <button data-print>: prints the page (the household code slip).
 * - <button data-copy="#id">: copies the value or text of the element #id
 *   (the household's visitor link) and says so in the button's data-copied text.
 */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  ready(function () {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        window.print();
      });
    });

    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var source = document.querySelector(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = source.value !== undefined ? source.value : source.textContent;
        navigator.clipboard.writeText(text.trim()).then(function () {
          var done = button.getAttribute("data-copied");
          if (done) {
            button.textContent = done;
          }
        });
      });
    });
  });
})();
