/* The call console's keyboard: arrows walk the patients found, 1-9 pick a slot
   (or a practice on the console's home), Enter confirms (the focused button or
   link), Escape goes back to the search. No inline script (CSP): this file only. */
(function () {
  "use strict";

  function search() {
    return document.getElementById("console-q");
  }

  function focusNew(root) {
    var target = root.querySelector("[data-autofocus]");
    if (target) {
      target.focus();
    }
  }

  function typing(element) {
    if (!element) {
      return false;
    }
    var tag = element.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") {
      return true;
    }
    return tag === "INPUT" && !["radio", "checkbox", "submit", "button"].includes(element.type);
  }

  function backToSearch() {
    var panel = document.getElementById("console-panel");
    var box = search();
    if (panel) {
      panel.innerHTML = "";
    }
    if (box) {
      box.focus();
      box.select();
    }
  }

  function walkResults(step) {
    var results = Array.from(document.querySelectorAll("[data-result]"));
    if (!results.length) {
      return false;
    }
    var index = results.indexOf(document.activeElement);
    var next = index === -1 ? (step > 0 ? 0 : results.length - 1) : index + step;
    if (next < 0 || next >= results.length) {
      if (step < 0 && search()) {
        search().focus();
      }
      return true;
    }
    results[next].focus();
    return true;
  }

  function pick(key) {
    var slot = document.querySelector('[data-slot-key="' + key + '"]');
    if (slot) {
      slot.checked = true;
      var confirm = document.getElementById("console-confirm");
      if (confirm) {
        confirm.focus();
      }
      return true;
    }
    var practice = document.querySelector('[data-practice-key="' + key + '"]');
    if (practice) {
      practice.click();
      return true;
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) {
      return;
    }
    if (event.key === "Escape") {
      event.preventDefault();
      backToSearch();
      return;
    }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (walkResults(event.key === "ArrowDown" ? 1 : -1)) {
        event.preventDefault();
      }
      return;
    }
    // Enter on a radio button (a slot, the SMS consent) submits its form, as
    // it does in a text field.
    var active = document.activeElement;
    if (event.key === "Enter" && active && active.type === "radio" && active.form) {
      event.preventDefault();
      active.form.requestSubmit();
      return;
    }
    if (/^[1-9]$/.test(event.key) && !typing(document.activeElement)) {
      if (pick(event.key)) {
        event.preventDefault();
      }
    }
  });

  // A request answered by the login page (the session ended and was not even
  // known any more): the whole page goes there, asking to come back here.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var root = document.getElementById("console");
    var login = root && root.dataset.login;
    var answered = event.detail.xhr && event.detail.xhr.responseURL;
    if (login && answered && new URL(answered).pathname === login) {
      event.detail.shouldSwap = false;
      window.location.assign(
        login + "?next=" + encodeURIComponent(window.location.pathname + window.location.search)
      );
    }
  });

  // The ring poll sends the marker its last full answer gave (X-Console-Ring):
  // while it has not moved, the server answers 204 without the whole pipeline.
  // A fast answer carries no marker (the one held stays); a full answer always
  // does, empty when there is no fast path (then none is sent).
  document.addEventListener("htmx:configRequest", function (event) {
    var poll = event.detail.elt;
    if (poll.hasAttribute("data-ringing") && poll.dataset.ring) {
      event.detail.headers["X-Console-Ring"] = poll.dataset.ring;
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var poll = event.detail.elt;
    var xhr = event.detail.xhr;
    if (!poll.hasAttribute("data-ringing") || !xhr) {
      return;
    }
    var marker = xhr.getResponseHeader("X-Console-Ring");
    if (marker !== null) {
      poll.dataset.ring = marker;
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    focusNew(event.detail.elt);
  });

  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.getElementById("console-panel");
    if (panel && panel.querySelector("[data-autofocus]")) {
      focusNew(panel);
    } else if (!search()) {
      focusNew(document);
    }
  });
})();
