// Reminders in the browser (M2): the bell (#reminder-bell) is refreshed by HTMX every minute;
// when its unread count grows, the new reminders are read from its data-feed URL and shown as
// Web Notifications, if the user allowed them (asked on a click, never on page load).
(function () {
  "use strict";
  var KEY = "suivi.reminders.lastShown";

  function canNotify() {
    return "Notification" in window && Notification.permission === "granted";
  }

  function showButtons() {
    if (!("Notification" in window) || Notification.permission !== "default") return;
    document.querySelectorAll("[data-notify-permission]").forEach(function (button) {
      button.hidden = false;
      if (button.dataset.bound) return;
      button.dataset.bound = "1";
      button.addEventListener("click", function () {
        Notification.requestPermission().then(function () {
          document.querySelectorAll("[data-notify-permission]").forEach(function (b) { b.hidden = true; });
          check();
        });
      });
    });
  }

  function check() {
    var bell = document.getElementById("reminder-bell");
    if (!bell || !canNotify() || bell.dataset.unread === "0") return;
    var after = parseInt(window.localStorage.getItem(KEY) || "0", 10) || 0;
    fetch(bell.dataset.feed + "?after=" + after, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { reminders: [] }; })
      .then(function (data) {
        var last = after;
        data.reminders.forEach(function (r) {
          var title = (bell.dataset.title || "Reminder") + (r.late ? " (" + (bell.dataset.late || "late") + ")" : "");
          var notice = new Notification(title, { body: r.subject + " — " + r.start, tag: "suivi-reminder-" + r.id });
          notice.onclick = function () { window.focus(); window.location.href = r.url; };
          if (r.id > last) last = r.id;
        });
        window.localStorage.setItem(KEY, String(last));
      })
      .catch(function () { /* the next poll tries again */ });
  }

  document.addEventListener("DOMContentLoaded", function () { showButtons(); check(); });
  // htmx:load fires on the new bell each time the poll swaps it in (the old one is detached).
  document.addEventListener("htmx:load", function (event) {
    if (event.target && event.target.id === "reminder-bell") check();
  });
})();

// A new action's first reminder follows the chosen type's default reminder until the user types
// a reminder of their own (the types' defaults are in the select's data-reminder-types).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.action-form");
    if (!form || form.hasAttribute("data-action-saved")) return;
    var type = form.querySelector("select[data-reminder-types]");
    var amount = form.querySelector("[name=reminder_1_amount]");
    var unit = form.querySelector("[name=reminder_1_unit]");
    if (!type || !amount || !unit) return;
    var defaults = {};
    try { defaults = JSON.parse(type.dataset.reminderTypes || "{}"); } catch (e) { return; }
    var touched = false;
    amount.addEventListener("input", function () { touched = true; });
    unit.addEventListener("change", function () { touched = true; });
    type.addEventListener("change", function () {
      if (touched) return;
      var chosen = defaults[type.value];
      amount.value = chosen ? chosen[0] : "";
      unit.value = chosen ? chosen[1] : "minutes";
    });
  });
})();

// The Repeat group shows the controls of the chosen frequency only (all are there without JS).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var group = document.getElementById("repeat");
    if (!group) return;
    var freq = group.querySelector("[name=repeat_freq]");
    if (!freq) return;
    function part(selector) {
      var el = group.querySelector(selector);
      return el ? el.closest(".field") || el : null;
    }
    var interval = part("[name=repeat_interval]");
    var days = group.querySelector(".weekdays");
    var ends = part("[name=repeat_end]");
    var count = part("[name=repeat_count]");
    var until = part("[name=repeat_until]");
    function update() {
      var value = freq.value;
      var repeats = value !== "" && value !== "custom";
      if (interval) interval.hidden = !repeats;
      if (days) days.hidden = value !== "weekly";
      if (ends) ends.hidden = !repeats;
      var end = group.querySelector("[name=repeat_end]:checked");
      if (count) count.hidden = !repeats || !end || end.value !== "count";
      if (until) until.hidden = !repeats || !end || end.value !== "until";
    }
    group.addEventListener("change", update);
    update();
  });
})();
