// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  document.documentElement.classList.add("js");
  ready(function () {
    // A refused form: the first field in error takes the focus (the summary above lists them all).
    var invalid = document.querySelector("main [aria-invalid=true]");
    if (invalid && typeof invalid.focus === "function") invalid.focus();
    // A tooltip (the reasons a delete is blocked) goes away with Escape, as well as on leaving.
    document.addEventListener("keydown", function (e) {
      if (e.key !== "Escape") return;
      var blocked = document.activeElement && document.activeElement.closest(".blocked");
      if (blocked) blocked.classList.add("tip-dismissed");
    });
    document.querySelectorAll(".blocked").forEach(function (b) {
      b.addEventListener("focusout", function () { b.classList.remove("tip-dismissed"); });
      b.addEventListener("mouseenter", function () { b.classList.remove("tip-dismissed"); });
    });
    // Page size: changing it shows the list at once (the "Show" button is for no script).
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    // "Select all N matching": ticks this page's boxes too, so what is chosen can be seen.
    document.querySelectorAll("input[data-select-matching]").forEach(function (all) {
      all.addEventListener("change", function () {
        if (!all.checked) return;
        all.form.querySelectorAll("input[type=checkbox][name=ids]").forEach(function (c) { c.checked = true; });
      });
    });
    // Tabs on the group form: show one panel at a time, keyboard with the arrow keys.
    document.querySelectorAll("form[data-tab]").forEach(function (form) {
      var tabs = Array.prototype.slice.call(form.querySelectorAll("[role=tab]"));
      function show(name, focus) {
        tabs.forEach(function (t) {
          var on = t.getAttribute("data-tab-target") === name;
          t.setAttribute("aria-selected", on ? "true" : "false");
          t.tabIndex = on ? 0 : -1;
          var panel = document.getElementById(t.getAttribute("aria-controls"));
          if (panel) panel.hidden = !on;
          if (on && focus) t.focus();
        });
      }
      tabs.forEach(function (t, i) {
        t.addEventListener("click", function () { show(t.getAttribute("data-tab-target"), false); });
        t.addEventListener("keydown", function (e) {
          if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
            var next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
            show(next.getAttribute("data-tab-target"), true);
          }
        });
      });
      show(form.getAttribute("data-tab") || "settings", false);
      // Show only the members picker of the chosen kind.
      var radios = form.querySelectorAll("input[name=kind][type=radio]");
      function kind() {
        var chosen = form.querySelector("input[name=kind]:checked");
        form.querySelectorAll(".picker[data-kind]").forEach(function (p) {
          p.hidden = chosen && p.getAttribute("data-kind") !== chosen.value;
        });
      }
      radios.forEach(function (r) { r.addEventListener("change", kind); });
      kind();
    });
    // Enter in a picker's search box searches instead of saving.
    document.querySelectorAll("input[data-enter]").forEach(function (input) {
      input.addEventListener("keydown", function (e) {
        if (e.key !== "Enter") return;
        e.preventDefault();
        var button = input.form.querySelector("button[value='" + input.getAttribute("data-enter") + "']");
        if (button) button.click();
      });
    });
    // "All" checkboxes.
    document.querySelectorAll("input[data-select-all]").forEach(function (all) {
      all.addEventListener("change", function () {
        var scope = all.closest("form") || document;
        scope.querySelectorAll("input[type=checkbox][name='" + all.getAttribute("data-select-all") + "']").forEach(function (c) {
          c.checked = all.checked;
        });
      });
    });
    // Logo previews before upload.
    document.querySelectorAll("input[type=file][data-preview]").forEach(function (input) {
      input.addEventListener("change", function () {
        var label = document.querySelector("label[for='" + input.id + "']");
        var img = label && label.querySelector("img");
        if (!img || !input.files || !input.files[0]) return;
        img.src = URL.createObjectURL(input.files[0]);
        img.alt = "Preview of the chosen logo";
        img.hidden = false;
      });
    });
    // Typed confirmations: the button wakes up once the word is typed (the server checks again).
    document.querySelectorAll("form[data-word]").forEach(function (form) {
      var word = form.getAttribute("data-word");
      var input = form.querySelector("input[name=confirm]");
      var button = form.querySelector("button[type=submit]");
      if (!input || !button) return;
      function check() { button.setAttribute("aria-disabled", input.value.trim() === word ? "false" : "true"); }
      input.addEventListener("input", check);
      check();
    });
    // Live progress of process requests: a region marked data-live is fetched again and swapped
    // in every 2 s; the server stops marking it once nothing in it is pending or running, and the
    // polling stops with it. (Without this script a <noscript> meta refresh reloads the page.)
    var live = document.querySelector("[data-live][id]");
    if (live && window.fetch && window.DOMParser) {
      var tick = function () {
        fetch(window.location.href, { credentials: "same-origin" })
          .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
          .then(function (text) {
            var fresh = new DOMParser().parseFromString(text, "text/html").getElementById(live.id);
            if (!fresh) return; // signed out, or another page: leave this one as it is
            fresh = document.adoptNode(fresh);
            // Keyboard users keep their place: focus moves to the same link or form button.
            var focused = document.activeElement;
            var again = null;
            if (focused && live.contains(focused)) {
              if (focused.form) again = "form[action='" + focused.form.getAttribute("action") + "'] button";
              else if (focused.getAttribute("href")) again = "a[href='" + focused.getAttribute("href") + "']";
            }
            live.replaceWith(fresh);
            live = fresh;
            var target = again && live.querySelector(again);
            if (target) target.focus();
            if (live.hasAttribute("data-live")) window.setTimeout(tick, 2000);
          })
          .catch(function () { window.setTimeout(tick, 5000); });
      };
      window.setTimeout(tick, 2000);
    }
  });
})();
