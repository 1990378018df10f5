/* The notifications badge in the header: refreshed every 60 seconds from its
 * data-badge-refresh URL (the same fragment htmx would fetch with hx-get). */
(function () {
  "use strict";
  function refresh() {
    var badge = document.getElementById("notif-badge");
    if (!badge || !window.fetch) {
      return;
    }
    fetch(badge.getAttribute("data-badge-refresh"), {
      credentials: "same-origin",
      headers: { "HX-Request": "true" }
    })
      .then(function (response) {
        // signed out meanwhile: the answer is the sign-in page, not a badge
        return response.ok && !response.redirected ? response.text() : null;
      })
      .then(function (html) {
        if (!html) {
          return;
        }
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.firstElementChild;
        var current = document.getElementById("notif-badge");
        if (fresh && current) {
          current.replaceWith(fresh);
        }
      })
      .catch(function () {});
  }
  window.setInterval(refresh, 60000);
})();
