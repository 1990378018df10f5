/* Linli 邻里: issue reporting (报事). No inline scripts (CSP); every page works without it.
 *
 * - On the report form ([data-issue-form]) only the chosen category's questions
 *   ([data-attributes-for]) are shown; without JavaScript all show, each under its
 *   category's name.
 * - "Use my location" ([data-issue-locate]) fills the latitude and longitude from
 *   navigator.geolocation.
 * - The "similar open reports" box ([data-similar-results]) is fetched from the form's
 *   data-similar-url with the header "X-Linli-Partial: similar" when the category or the
 *   building changes.
 * - A form [data-issue-toggle] (upvote, follow) is posted with fetch (CSRF header, JSON
 *   answer) and its button follows without a reload; on any failure the form is
 *   submitted normally.
 */
(function () {
  "use strict";

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setUpAttributes(form) {
    var select = form.querySelector("[data-issue-category]");
    var groups = form.querySelectorAll("[data-attributes-for]");
    if (!select || !groups.length) {
      return;
    }
    function show() {
      groups.forEach(function (group) {
        group.hidden = group.getAttribute("data-attributes-for") !== select.value;
      });
    }
    select.addEventListener("change", show);
    show();
  }

  function setUpLocate(form) {
    var button = form.querySelector("[data-issue-locate]");
    var status = form.querySelector("[data-issue-locate-status]");
    var lat = form.querySelector("[name=latitude]");
    var lng = form.querySelector("[name=longitude]");
    if (!button || !lat || !lng) {
      return;
    }
    if (!("geolocation" in navigator)) {
      button.disabled = true;
      return;
    }
    button.addEventListener("click", function () {
      if (status) {
        status.textContent = "…";
      }
      navigator.geolocation.getCurrentPosition(
        function (position) {
          lat.value = position.coords.latitude.toFixed(6);
          lng.value = position.coords.longitude.toFixed(6);
          if (status) {
            status.textContent = "✓";
          }
        },
        function (error) {
          if (status) {
            status.textContent = error && error.message ? error.message : "×";
          }
        },
        { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 }
      );
    });
  }

  function setUpSimilar(form) {
    var url = form.getAttribute("data-similar-url");
    var results = form.querySelector("[data-similar-results]");
    var category = form.querySelector("[data-issue-category]");
    var building = form.querySelector("[data-issue-building]");
    if (!url || !results || !category) {
      return;
    }
    function refresh() {
      if (!category.value) {
        results.innerHTML = "";
        return;
      }
      var params = new URLSearchParams({ category: category.value });
      if (building && building.value) {
        params.set("building", building.value);
      }
      fetch(url + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { "X-Linli-Partial": "similar" }
      })
        .then(function (response) {
          return response.ok ? response.text() : "";
        })
        .then(function (html) {
          results.innerHTML = html;
        })
        .catch(function () {});
    }
    category.addEventListener("change", refresh);
    if (building) {
      building.addEventListener("change", refresh);
    }
    refresh();
  }

  document.querySelectorAll("[data-issue-form]").forEach(function (form) {
    setUpAttributes(form);
    setUpLocate(form);
    setUpSimilar(form);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches("form[data-issue-toggle]")) {
      return;
    }
    if (typeof fetch !== "function") {
      return;
    }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
    }
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(form), Accept: "application/json" },
      body: new FormData(form)
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (data) {
        var on = form.getAttribute("data-issue-toggle") === "upvote" ? data.upvoted : data.following;
        if (button) {
          button.disabled = false;
          button.setAttribute("aria-pressed", on ? "true" : "false");
          button.classList.toggle("button--primary", !!on);
          var label = button.querySelector("[data-toggle-label]");
          if (label) {
            label.textContent = button.getAttribute(on ? "data-label-on" : "data-label-off");
          }
        }
        if (typeof data.count === "number") {
          document.querySelectorAll("[data-upvote-count], [data-upvote-count-text]").forEach(
            function (el) {
              el.textContent = String(data.count);
            }
          );
        }
      })
      .catch(function () {
        form.submit();
      });
  });
})();
