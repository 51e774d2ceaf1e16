// The shared agenda (web/agenda/agenda.html), drawn by FullCalendar 6.1 (ADR 0002).
//
// Time zone: the server sends naive wall-clock times already in the viewer's display zone and
// FullCalendar runs with timeZone 'UTC', which shows them as they are; a Date's UTC fields are
// therefore the wall-clock time in that zone, and `naive()` sends them back the same way (the
// server reads them in the display zone). The browser's own zone never takes part.
//
// Day view with several users: one timeGridDay calendar per user, side by side under one shared
// toolbar (FullCalendar's resource views are premium-licensed and not used). Other views: one
// calendar, coloured per user or per type.
(function () {
  "use strict";
  var root = document.querySelector("[data-agenda]");
  if (!root || !window.FullCalendar) { return; }

  var columns = JSON.parse(document.getElementById("agenda-columns").textContent);
  var types = JSON.parse(document.getElementById("agenda-types").textContent);
  var text = document.querySelector("[data-agenda-text]").dataset;
  var announcer = document.querySelector("[data-agenda-announce]");
  var titleEl = document.querySelector("[data-agenda-title]");
  var csrf = (document.querySelector("[name=csrfmiddlewaretoken]") || {}).value || "";
  var PALETTE = ["#1d4ed8", "#b91c1c", "#047857", "#7c3aed", "#b45309", "#0e7490", "#be185d", "#4d7c0f", "#374151", "#9a3412"];
  var VIEWS = { day: "timeGridDay", week: "timeGridWeek", workweek: "timeGridWeek", month: "dayGridMonth", list: "listMonth" };
  var QUARTER = 15 * 60 * 1000;
  var DAY = 24 * 60 * 60 * 1000;

  var mode = VIEWS[root.dataset.mode] ? root.dataset.mode : "week";
  var colourBy = "user";
  try { colourBy = window.localStorage.getItem("suivi.agenda.colours") || "user"; } catch (e) { /* private mode */ }
  var loadedAt = Date.now();
  var serverNow = new Date(root.dataset.now + "Z").getTime();
  var currentDate = root.dataset.date || root.dataset.now.slice(0, 10);
  var calendars = [];
  var cache = {};
  // The event to focus once the calendars are drawn again after a move: the action that now
  // holds the occurrence (a new exception or series after the scope dialog) at its new start.
  var focusTarget = null;

  function naive(date) { return date.toISOString().slice(0, 19); }
  function minutes(date) { return date.toISOString().slice(0, 16); }
  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) { return values[name] === undefined ? "" : values[name]; });
  }
  function say(message) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = message; }, 30);
  }
  // A user's colour comes from their id: the same whoever else is shown beside them.
  function userColour(id) {
    if (typeof id !== "number" || !isFinite(id)) { return PALETTE[PALETTE.length - 1]; }
    return PALETTE[((id % PALETTE.length) + PALETTE.length) % PALETTE.length];
  }

  // Legend swatches (coloured by script: no inline style in the page): the users' colours, or the
  // types' when the events are coloured per type.
  document.querySelectorAll("[data-legend-user] .swatch").forEach(function (swatch) {
    swatch.style.backgroundColor = userColour(Number(swatch.parentNode.dataset.legendUser));
  });
  document.querySelectorAll("[data-legend-type] .swatch").forEach(function (swatch) {
    swatch.style.backgroundColor = swatch.parentNode.dataset.colour;
  });
  function showLegend() {
    var users = document.querySelector("[data-agenda-legend]");
    var byType = document.querySelector("[data-agenda-legend-types]");
    if (users) { users.hidden = colourBy === "type"; }
    if (byType) { byType.hidden = colourBy !== "type"; }
  }

  // --- reading the events: one request per visible range, shared by the day view's columns ----
  function load(start, end) {
    var key = naive(start) + "|" + naive(end);
    if (!cache[key]) {
      var params = new URLSearchParams({ start: naive(start), end: naive(end), users: columns.map(function (c) { return c.id; }).join(",") });
      cache[key] = fetch(root.dataset.eventsUrl + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) { throw new Error(body.error || response.statusText); }
            return body.events;
          });
        });
      cache[key].catch(function () { delete cache[key]; });
    }
    return cache[key];
  }

  function colour(event) {
    var props = event.extendedProps;
    if (props.busy || props.background) { return null; }
    if (colourBy === "type" && props.colour) { return props.colour; }
    var shown = (props.users || []).filter(function (id) { return columns.some(function (c) { return c.id === id; }); });
    return userColour(shown.length ? shown[0] : null);
  }

  function source(userId) {
    return function (info, success, failure) {
      load(info.start, info.end).then(function (events) {
        success(events.filter(function (e) { return userId === null || e.extendedProps.users.indexOf(userId) >= 0; })
          .map(function (e) {
            var copy = Object.assign({}, e);
            var c = colour({ extendedProps: e.extendedProps });
            if (c) { copy.backgroundColor = c; copy.borderColor = c; }
            return copy;
          }));
      }, function (error) { say(error.message); failure(error); });
    };
  }

  // Reload every calendar; resolves once the new events are read (and drawn, a tick later).
  function refetchAll() {
    cache = {};
    calendars.forEach(function (c) { c.calendar.refetchEvents(); });
    var loads = Object.keys(cache).map(function (k) { return cache[k]; });
    return Promise.all(loads).then(function () {
      return new Promise(function (resolve) { window.setTimeout(resolve, 0); });
    }, function () { return null; });
  }

  // Writes run one after the other, each on the state the previous one left: a second Alt+arrow
  // pressed before the first answered starts from the version and times the first wrote.
  var queue = Promise.resolve();
  function inTurn(task) {
    queue = queue.then(task, task);
    return queue;
  }
  function current(event) {
    for (var i = 0; i < calendars.length; i++) {
      var found = calendars[i].calendar.getEventById(event.id);
      if (found) { return found; }
    }
    return event;
  }

  // --- writes ------------------------------------------------------------------------------
  function post(url, data) {
    var body = new FormData();
    Object.keys(data).forEach(function (k) { if (data[k] !== null && data[k] !== undefined) { body.append(k, data[k]); } });
    return fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf, Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) { return { ok: response.ok, status: response.status, body: json }; });
      });
  }

  var scopeDialog = document.querySelector("[data-scope-dialog]");
  function askScope() {
    return new Promise(function (resolve) {
      scopeDialog.returnValue = "";
      scopeDialog.addEventListener("close", function done() {
        scopeDialog.removeEventListener("close", done);
        resolve(["this", "following", "all"].indexOf(scopeDialog.returnValue) >= 0 ? scopeDialog.returnValue : null);
      });
      scopeDialog.showModal();
    });
  }

  // Move or resize `event` to start/end; `revert` puts it back when refused.
  function move(event, start, end, userId, revert) {
    var props = event.extendedProps;
    var ask = props.recurring ? askScope() : Promise.resolve(null);
    return ask.then(function (scope) {
      if (props.recurring && !scope) { revert(); return; }
      return post(root.dataset.moveUrl, {
        action: props.action,
        version: props.version,
        start: naive(start),
        end: end ? naive(end) : null,
        user: userId,
        scope: scope,
        recurrence_id: props.recurrenceId,
        all_day: event.allDay ? "1" : "0"
      }).then(function (result) {
        if (!result.ok) {
          revert();
          say(format(text.failed, { reason: result.body.error || result.status }));
          // Changed by someone else: show their version, which the next move starts from.
          if (result.status === 409) { return refetchAll(); }
          return;
        }
        focusTarget = { action: result.body.action, start: naive(start) };
        say(format(text.moved, { title: event.title, when: minutes(start).replace("T", " ") }));
        return refetchAll();
      }, function () { revert(); say(text.network); });
    });
  }

  // --- keyboard: Alt+arrows move by 15 minutes / a day, Alt+Shift+Up/Down resize ------------
  function onKey(event, keyEvent) {
    if (!keyEvent.altKey || event.extendedProps.busy || !event.extendedProps.action) { return; }
    var delta = 0, grow = 0;
    if (keyEvent.shiftKey && keyEvent.key === "ArrowDown") { grow = QUARTER; }
    else if (keyEvent.shiftKey && keyEvent.key === "ArrowUp") { grow = -QUARTER; }
    else if (keyEvent.key === "ArrowDown") { delta = QUARTER; }
    else if (keyEvent.key === "ArrowUp") { delta = -QUARTER; }
    else if (keyEvent.key === "ArrowRight") { delta = DAY; }
    else if (keyEvent.key === "ArrowLeft") { delta = -DAY; }
    else { return; }
    keyEvent.preventDefault();
    if (event.editable === false) { say(format(text.failed, { reason: "" })); return; }
    inTurn(function () {
      var now = current(event);
      var start = now.start, end = now.end || new Date(now.start.getTime() + 30 * 60 * 1000);
      if (grow && end.getTime() + grow - start.getTime() < QUARTER) { return; }
      return move(now, new Date(start.getTime() + delta), new Date(end.getTime() + delta + grow), null, function () {});
    });
  }

  // --- creating from an empty slot ---------------------------------------------------------
  var createDialog = document.querySelector("[data-create-dialog]");
  var createForm = createDialog.querySelector("[data-create-form]");
  var typeSelect = createForm.elements.action_type;
  var chosenRange = false;

  function clearErrors() {
    createForm.querySelectorAll("[data-error]").forEach(function (p) { p.hidden = true; p.textContent = ""; });
  }
  function durationOf(typeId) {
    var t = types.filter(function (x) { return String(x.id) === String(typeId); })[0];
    return (t && t.duration ? t.duration : 30) * 60 * 1000;
  }
  function moreFieldsLink() {
    var params = new URLSearchParams({ start: createForm.elements.start.value, end: createForm.elements.end.value });
    createForm.querySelector("[data-more-fields]").href = root.dataset.formUrl + "?" + params.toString();
  }
  function openCreate(start, end, allDay, userId) {
    if (!types.length) { say(text.noType); return; }
    clearErrors();
    createForm.reset();
    if (allDay) { start = new Date(start.getTime() + 9 * 60 * 60 * 1000); end = null; }
    chosenRange = Boolean(end) && end - start > QUARTER * 2;
    if (!chosenRange) { end = new Date(start.getTime() + durationOf(typeSelect.value)); }
    createForm.elements.start.value = minutes(start);
    createForm.elements.end.value = minutes(end);
    createForm.elements.user.value = userId || "";
    moreFieldsLink();
    createDialog.showModal();
    createForm.elements.subject.focus();
  }
  typeSelect.addEventListener("change", function () {
    var start = createForm.elements.start.value;
    if (!chosenRange && start) {
      createForm.elements.end.value = minutes(new Date(new Date(start + ":00Z").getTime() + durationOf(typeSelect.value)));
    }
  });
  createForm.addEventListener("input", moreFieldsLink);
  createDialog.querySelector("[data-dialog-cancel]").addEventListener("click", function () { createDialog.close(); });
  createForm.addEventListener("submit", function (e) {
    e.preventDefault();
    clearErrors();
    var data = {};
    ["subject", "action_type", "party", "start", "end", "user"].forEach(function (name) {
      var field = createForm.elements[name];
      data[name] = field ? field.value : "";
    });
    post(root.dataset.createUrl, data).then(function (result) {
      if (result.ok) {
        createDialog.close();
        say(result.body.message);
        refetchAll();
        return;
      }
      var errors = result.body.errors || { __all__: result.body.error || String(result.status) };
      Object.keys(errors).forEach(function (name) {
        var p = createForm.querySelector('[data-error="' + name + '"]') || createForm.querySelector('[data-error="__all__"]');
        p.textContent = (p.textContent ? p.textContent + " " : "") + errors[name];
        p.hidden = false;
      });
    }, function () {
      var p = createForm.querySelector('[data-error="__all__"]');
      p.textContent = text.network;
      p.hidden = false;
    });
  });

  // --- the calendars -----------------------------------------------------------------------
  function options(userId) {
    var view = VIEWS[mode];
    return {
      timeZone: "UTC",
      locale: root.dataset.locale,
      initialView: view,
      initialDate: currentDate,
      now: function () { return new Date(serverNow + (Date.now() - loadedAt)); },
      headerToolbar: false,
      firstDay: 1,
      hiddenDays: mode === "workweek" ? [0, 6] : [],
      // The calendars grow to their full height inside the page's scrolling box (.agenda), so
      // the day view's columns scroll together; the date row stays on top (stickyHeaderDates).
      height: "auto",
      stickyHeaderDates: true,
      dayHeaders: !(mode === "day" && columns.length > 1),
      slotDuration: "00:30:00",
      snapDuration: "00:15:00",
      slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
      eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
      nowIndicator: true,
      editable: true,
      droppable: true,
      selectable: true,
      selectMirror: true,
      eventInteractive: true,
      dayMaxEvents: true,
      events: source(userId),
      eventClick: function (info) {
        info.jsEvent.preventDefault();
        if (info.event.extendedProps.url) { window.location.href = info.event.extendedProps.url; }
      },
      eventDrop: function (info) {
        inTurn(function () { return move(info.event, info.event.start, info.event.end, null, info.revert); });
      },
      eventResize: function (info) {
        inTurn(function () { return move(info.event, info.event.start, info.event.end, null, info.revert); });
      },
      // Dropped from another user's column (day view): the action goes to this column's user.
      eventReceive: function (info) {
        inTurn(function () {
          return move(info.event, info.event.start, info.event.end, userId, function () { info.revert(); refetchAll(); });
        });
      },
      select: function (info) {
        openCreate(info.start, info.allDay ? null : info.end, info.allDay, userId);
        info.view.calendar.unselect();
      },
      eventDidMount: function (info) {
        var props = info.event.extendedProps;
        if (props.background) {  // a company holiday or an absence: a label, nothing to act on
          info.el.dataset.agendaBackground = props.background;
          info.el.title = info.event.title;
          return;
        }
        info.el.dataset.eventKey = info.event.id;
        info.el.title = props.busy ? text.busy : info.event.title + (props.party ? " · " + props.party : "");
        if (props.busy) { info.el.setAttribute("aria-label", text.busy); }
        info.el.addEventListener("keydown", function (keyEvent) { onKey(info.event, keyEvent); });
        if (focusTarget && focusTarget.action === props.action && info.event.start && focusTarget.start === naive(info.event.start)) {
          focusTarget = null;
          info.el.focus();
        }
      },
      datesSet: function (info) {
        if (userId === firstColumn()) {
          titleEl.textContent = info.view.title;
          // The date being looked at (not the first day shown): another view opens on it, so
          // that switching views never drifts back in time.
          currentDate = naive(info.view.calendar.getDate()).slice(0, 10);
          remember();
        }
      }
    };
  }

  function firstColumn() { return calendars.length && calendars[0].userId; }

  function build() {
    calendars.forEach(function (c) { c.calendar.destroy(); });
    calendars = [];
    root.textContent = "";
    var perColumn = mode === "day" && columns.length > 1;
    root.classList.toggle("agenda-columns", perColumn);
    var targets = perColumn ? columns : [{ id: null, name: "" }];
    targets.forEach(function (column) {
      var box = document.createElement("section");
      box.className = "agenda-column";
      if (perColumn) {
        box.dataset.agendaColumn = column.id;
        var heading = document.createElement("h3");
        heading.textContent = column.name;
        heading.style.borderColor = userColour(column.id);
        box.appendChild(heading);
        box.setAttribute("aria-label", column.name);
      }
      var el = document.createElement("div");
      box.appendChild(el);
      root.appendChild(box);
      calendars.push({ userId: column.id, calendar: new FullCalendar.Calendar(el, options(column.id)) });
    });
    calendars.forEach(function (c) { c.calendar.render(); });
    window.setTimeout(scrollToMorning, 0);
    document.querySelectorAll("[data-agenda-mode]").forEach(function (button) {
      button.setAttribute("aria-pressed", button.dataset.agendaMode === mode ? "true" : "false");
    });
  }

  // Open the time grids at 07:00, as the working day starts, the hours before a scroll away.
  function scrollToMorning() {
    var lane = root.querySelector("td.fc-timegrid-slot-lane[data-time='07:00:00']");
    var header = root.querySelector(".fc-col-header, .agenda-column > h3");
    if (!lane) { root.scrollTop = 0; return; }
    var offset = lane.getBoundingClientRect().top - root.getBoundingClientRect().top + root.scrollTop;
    root.scrollTop = Math.max(0, offset - (header ? header.getBoundingClientRect().height : 0) - 4);
  }

  function remember() {
    var url = new URL(window.location.href);
    url.searchParams.set("mode", mode);
    url.searchParams.set("date", currentDate);
    window.history.replaceState(null, "", url.toString());
    var modeField = document.querySelector("[data-agenda-mode-field]");
    var dateField = document.querySelector("[data-agenda-date-field]");
    if (modeField) { modeField.value = mode; }
    if (dateField) { dateField.value = currentDate; }
  }

  document.querySelectorAll("[data-agenda-go]").forEach(function (button) {
    button.addEventListener("click", function () {
      calendars.forEach(function (c) { c.calendar[button.dataset.agendaGo](); });
    });
  });
  document.querySelectorAll("[data-agenda-mode]").forEach(function (button) {
    button.addEventListener("click", function () {
      mode = button.dataset.agendaMode;
      build();
      remember();
    });
  });
  var colourSelect = document.querySelector("[data-agenda-colours]");
  colourSelect.value = colourBy;
  showLegend();
  colourSelect.addEventListener("change", function () {
    colourBy = colourSelect.value;
    showLegend();
    try { window.localStorage.setItem("suivi.agenda.colours", colourBy); } catch (e) { /* private mode */ }
    calendars.forEach(function (c) { c.calendar.refetchEvents(); });
  });

  build();
})();
