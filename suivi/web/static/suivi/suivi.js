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
