/* Linli 邻里: smart reports (智慧报表) and other registry pages.
 *
 * - A <form data-report-form data-results="#id"> (a GET form) refreshes its
 *   results as boxes are ticked: the same address is fetched with the header
 *   "X-Linli-Partial: report", the answer replaces the results element and the
 *   address bar follows, so the page stays shareable. Ticking a neighbourhood or
 *   an estate reloads the whole page instead (the lists of estates and
 *   buildings below it change). Without JavaScript the "Show" button submits.
 * - A <form data-confirm="question"> asks before it is submitted.
 */
(function () {
  "use strict";

  var RELOADING_FIELDS = { neighbourhoods: true, estates: true };
  var DELAY_MS = 350;

  function queryOf(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (value !== "") {
        params.append(key, value);
      }
    });
    return params.toString();
  }

  function setUp(form) {
    var results = document.querySelector(form.getAttribute("data-results"));
    if (!results) {
      return;
    }
    var timer = null;
    var controller = null;

    function refresh() {
      var query = queryOf(form);
      var url = form.action + (query ? "?" + query : "");
      if (controller) {
        controller.abort();
      }
      controller = typeof AbortController === "function" ? new AbortController() : null;
      form.setAttribute("aria-busy", "true");
      fetch(url, {
        credentials: "same-origin",
        headers: { "X-Linli-Partial": "report" },
        signal: controller ? controller.signal : undefined
      })
        .then(function (response) {
          return response.text();
        })
        .then(function (html) {
          results.innerHTML = html;
          form.removeAttribute("aria-busy");
          if (window.history && window.history.replaceState) {
            window.history.replaceState(null, "", url);
          }
        })
        .catch(function (error) {
          if (!error || error.name !== "AbortError") {
            form.removeAttribute("aria-busy");
            form.submit();
          }
        });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, DELAY_MS);
    }

    form.addEventListener("change", function (event) {
      var name = event.target && event.target.name;
      if (RELOADING_FIELDS[name]) {
        window.clearTimeout(timer);
        form.submit();
        return;
      }
      later();
    });
    form.addEventListener("input", function (event) {
      if (event.target && event.target.type === "number") {
        later();
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      window.clearTimeout(timer);
      refresh();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-report-form]");
    for (var i = 0; i < forms.length; i += 1) {
      setUp(forms[i]);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.matches && form.matches("form[data-confirm]")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    }
  });
})();
