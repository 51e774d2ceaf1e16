// Suivi's own script: the party picker (type-ahead that fills a hidden id).
(function () {
  "use strict";
  function choose(picker, item) {
    picker.querySelector("[data-picker-value]").value = item.dataset.id;
    var text = picker.querySelector("[data-picker-text]");
    text.value = item.dataset.label;
    picker.querySelector("[role=listbox]").innerHTML = "";
    text.setAttribute("aria-expanded", "false");
    picker.dispatchEvent(new CustomEvent("suivi:picked", { bubbles: true, detail: { id: item.dataset.id, label: item.dataset.label } }));
  }
  document.addEventListener("click", function (e) {
    var item = e.target.closest("[data-picker] [role=option]");
    if (item) { choose(item.closest("[data-picker]"), item); }
  });
  document.addEventListener("keydown", function (e) {
    var picker = e.target.closest && e.target.closest("[data-picker]");
    if (!picker) { return; }
    var options = Array.prototype.slice.call(picker.querySelectorAll("[role=option]"));
    if (!options.length) { return; }
    var index = options.indexOf(document.activeElement);
    if (e.key === "ArrowDown") { e.preventDefault(); options[Math.min(index + 1, options.length - 1)].focus(); }
    else if (e.key === "ArrowUp") { e.preventDefault(); if (index > 0) { options[index - 1].focus(); } else { picker.querySelector("[data-picker-text]").focus(); } }
    else if (e.key === "Enter" && index >= 0) { e.preventDefault(); choose(picker, options[index]); }
    else if (e.key === "Escape") { picker.querySelector("[role=listbox]").innerHTML = ""; }
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var picker = e.target.closest && e.target.closest("[data-picker]");
    if (picker) { picker.querySelector("[data-picker-text]").setAttribute("aria-expanded", e.target.children.length ? "true" : "false"); }
  });
})();

// Tabs of the action form (S4): arrow keys move between tabs, as screen readers expect.
(function () {
  "use strict";
  function select(tablist, tab) {
    tablist.querySelectorAll("[role=tab]").forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    });
    // A form that says which tab was open (data-open-tab) reopens on it after its save.
    var form = tablist.closest("form");
    var open = form && form.querySelector("[data-open-tab]");
    if (open && tab.dataset.tab) { open.value = tab.dataset.tab; }
  }
  document.querySelectorAll("[data-tabs]").forEach(function (tablist) {
    var tabs = Array.prototype.slice.call(tablist.querySelectorAll("[role=tab]"));
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function () { select(tablist, tab); });
      tab.addEventListener("keydown", function (e) {
        var next = e.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : e.key === "ArrowLeft" ? tabs[(i - 1 + tabs.length) % tabs.length] : null;
        if (next) { e.preventDefault(); select(tablist, next); next.focus(); }
      });
    });
    // A link to a panel (e.g. back to #panel-attachments after an upload) opens its tab.
    var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    if (target && target.getAttribute("role") === "tabpanel" && tablist.querySelector("[aria-controls='" + target.id + "']")) {
      select(tablist, document.getElementById(target.getAttribute("aria-labelledby")));
    }
    // Open the first tab that holds an error, so that nothing the server said is hidden.
    var panelWithError = document.querySelector("[role=tabpanel] .errorlist");
    if (panelWithError) {
      var panel = panelWithError.closest("[role=tabpanel]");
      select(tablist, document.getElementById(panel.getAttribute("aria-labelledby")));
    }
  });
})();

// Context menu of the Folders screen (S10): right-click, or the row's ⋯ button, or Shift+F10.
(function () {
  "use strict";
  var menu = document.getElementById("folder-menu");
  if (!menu) { return; }
  var row = null;
  function open(target, x, y) {
    row = target;
    menu.querySelector("[data-item=new]").href = row.dataset.new;
    menu.querySelector("[data-item=edit]").href = row.dataset.edit;
    menu.querySelector("[data-item=delete]").href = row.dataset.delete;
    menu.style.left = x + "px";
    menu.style.top = y + "px";
    menu.hidden = false;
    menu.querySelector("[role=menuitem]").focus();
  }
  function close() { menu.hidden = true; if (row) { row.focus(); } }
  document.querySelectorAll("[data-folder]").forEach(function (tr) {
    tr.addEventListener("contextmenu", function (e) { e.preventDefault(); open(tr, e.pageX, e.pageY); });
    tr.addEventListener("keydown", function (e) {
      if (e.key === "ContextMenu" || (e.shiftKey && e.key === "F10")) {
        e.preventDefault();
        var r = tr.getBoundingClientRect();
        open(tr, r.left + window.scrollX + 20, r.bottom + window.scrollY);
      }
    });
    tr.querySelector("[data-menu-button]").addEventListener("click", function (e) {
      var r = e.target.getBoundingClientRect();
      open(tr, r.left + window.scrollX - 100, r.bottom + window.scrollY);
    });
  });
  menu.addEventListener("keydown", function (e) {
    var items = Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]"));
    var i = items.indexOf(document.activeElement);
    if (e.key === "ArrowDown") { e.preventDefault(); items[(i + 1) % items.length].focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); items[(i - 1 + items.length) % items.length].focus(); }
    if (e.key === "Escape") { close(); }
  });
  document.addEventListener("click", function (e) { if (!menu.hidden && !menu.contains(e.target) && !e.target.closest("[data-menu-button]")) { menu.hidden = true; } });
})();

// Pipeline board (S6): drag a card to another stage. Each card's Move button opens the board's
// one move dialog (stage select, keyboard-friendly), which does the same without a mouse.
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board) { return; }
  var csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value;
  var dialog = document.querySelector("[data-move-dialog]");
  var opener = null;
  function moveUrl(card) { return board.dataset.moveUrl.replace("/0/", "/" + card.dataset.card + "/"); }
  board.addEventListener("click", function (e) {
    var button = e.target.closest("[data-move-open]");
    if (!button || !dialog) { return; }
    var card = button.closest("[data-card]");
    var form = dialog.querySelector("[data-move-form]");
    form.action = moveUrl(card);
    form.querySelector("select[name=stage]").value = card.closest("[data-stage]").dataset.stage;
    dialog.querySelector("[data-move-name]").textContent = card.querySelector("strong").textContent;
    opener = button;
    dialog.showModal();
    form.querySelector("select[name=stage]").focus();
  });
  if (dialog) {
    dialog.querySelector("[data-move-cancel]").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { if (opener) { opener.focus(); } });
  }
  board.addEventListener("dragstart", function (e) {
    var card = e.target.closest("[data-card]");
    if (card) { e.dataTransfer.setData("text/plain", card.dataset.card); e.dataTransfer.effectAllowed = "move"; }
  });
  board.querySelectorAll("[data-stage]").forEach(function (column) {
    column.addEventListener("dragover", function (e) { e.preventDefault(); column.classList.add("drop"); });
    column.addEventListener("dragleave", function () { column.classList.remove("drop"); });
    column.addEventListener("drop", function (e) {
      e.preventDefault();
      column.classList.remove("drop");
      var card = board.querySelector('[data-card="' + e.dataTransfer.getData("text/plain") + '"]');
      if (!card || card.closest("[data-stage]") === column) { return; }
      var body = new URLSearchParams({ stage: column.dataset.stage });
      fetch(moveUrl(card), { method: "POST", body: body, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, "HX-Request": "true" } }).then(function (response) {
        if (response.ok) { window.location.reload(); return; }
        // A refused move stays where it was and says why, on the card itself.
        return response.text().then(function (html) {
          var note = card.querySelector("[data-move-result]") || document.createElement("div");
          note.setAttribute("data-move-result", "");
          note.innerHTML = html;
          card.appendChild(note);
        });
      });
    });
  });
})();

// New action: "billable" follows the type's default until the user sets it.
(function () {
  "use strict";
  var type = document.querySelector("select[data-billable-types]");
  var billable = document.getElementById("id_billable");
  if (!type || !billable || document.querySelector("[data-action-saved]")) { return; }
  var touched = false;
  billable.addEventListener("change", function () { touched = true; });
  type.addEventListener("change", function () {
    if (!touched) { billable.checked = type.dataset.billableTypes.split(" ").indexOf(type.value) >= 0; }
  });
})();

// The Content-Security-Policy allows no inline script, handler or style attribute: colours of tags
// come as data-tag="#rrggbb" and are set here; selects marked data-autosubmit submit their form.
(function () {
  "use strict";
  var COLOUR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
  function paint(root) {
    if (!root.querySelectorAll) { return; }
    var tags = Array.prototype.slice.call(root.querySelectorAll("[data-tag]"));
    if (root.matches && root.matches("[data-tag]")) { tags.push(root); }
    tags.forEach(function (el) {
      if (COLOUR.test(el.dataset.tag)) { el.style.setProperty("--tag", el.dataset.tag); }
    });
  }
  paint(document);
  document.addEventListener("htmx:load", function (e) { paint(e.target); });
  document.addEventListener("change", function (e) {
    if (e.target.matches && e.target.matches("[data-autosubmit]") && e.target.form) { e.target.form.requestSubmit(); }
  });
})();

// Action list: the search box completes field names and values as one types (djangoql's widget,
// fed by the allow-listed schema); Enter searches. "Select all" ticks every row of the page.
(function () {
  "use strict";
  var box = document.querySelector("textarea[data-expression]");
  // The widget's script is deferred after this one: start it once every script has run.
  document.addEventListener("DOMContentLoaded", function () {
    if (!box || !window.DjangoQL) { return; }
    window.DjangoQL.init({
      introspections: box.dataset.expression,
      selector: box,
      autoResize: true,
      completionEnabled: true,
      onSubmit: function () { box.form.submit(); }
    });
  });
  var all = document.querySelector("[data-select-all]");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("[data-actions] input[name=ids]").forEach(function (box) { box.checked = all.checked; });
    });
  }
})();
