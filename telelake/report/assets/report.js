/* telelake report, page: reads the embedded JSON (each report's rows, aggregated by SQL, and
   each chart's Vega spec), filters the rows by the chosen chat, date range and person, and hands
   them to Vega (CSP-safe interpreter, SVG renderer); draws the KPIs, the person card and the tables.
   No network, no code from strings: text from the lake goes through textContent or Vega text marks. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("telelake-data").textContent);
  var TABLE_ROWS = DATA.table_rows || 100;
  var DAY = 86400000;
  var state = {from: DATA.first_day, to: DATA.last_day, chat: "all", person: null};
  var chatNames = {};
  (DATA.chats || []).forEach(function (chat) { chatNames[String(chat[0])] = chat[1] || ("chat " + chat[0]); });
  var names = DATA.names || {};
  var views = [];
  var tip = document.getElementById("tip");

  function nameOf(id) { return id === null || id === undefined ? null : (names[String(id)] || ("user " + id)); }

  /* Columns arrive one list per column, repeated values as {d: distinct, i: indexes}. */
  function decode(rep) {
    var columns = rep.data.map(function (col) {
      if (Array.isArray(col)) return col;
      return col.i.map(function (i) { return col.d[i]; });
    });
    var out = [];
    for (var r = 0; r < rep.length; r++) {
      var o = {};
      for (var c = 0; c < rep.columns.length; c++) o[rep.columns[c]] = columns[c][r];
      rep.columns.forEach(function (column) {
        if (/user_id$/.test(column)) o[column.replace(/id$/, "name")] = nameOf(o[column]);
      });
      if ("chat_id" in o) o.chat_name = chatNames[String(o.chat_id)] || ("chat " + o.chat_id);
      out.push(o);
    }
    return out;
  }
  Object.keys(DATA.reports).forEach(function (name) { DATA.reports[name].objects = decode(DATA.reports[name]); });

  function isoDay(ms) { return new Date(ms).toISOString().slice(0, 10); }
  function shift(day, days) { return isoDay(Date.parse(day + "T00:00:00Z") + days * DAY); }

  /* Whether a row falls in [from, to]: by its day, or by the week (Monday) it sums. */
  function inRange(o, from, to) {
    if (typeof o.context_date === "string") return o.context_date >= from && o.context_date <= to;
    var week = typeof o.week === "string" ? o.week : (typeof o.cohort_week === "string" ? o.cohort_week : null);
    if (week) return week <= to && shift(week, 6) >= from;
    return true;
  }

  function pick(name, personColumns, range) {
    var rep = DATA.reports[name];
    if (!rep) return [];
    var from = range ? range[0] : state.from, to = range ? range[1] : state.to;
    var person = state.person;
    return rep.objects.filter(function (o) {
      if (!inRange(o, from, to)) return false;
      if (state.chat !== "all" && "chat_id" in o && String(o.chat_id) !== state.chat) return false;
      if (person !== null && personColumns && personColumns.length) {
        return personColumns.some(function (column) { return String(o[column]) === person; });
      }
      return true;
    });
  }

  function total(objects, field) {
    return objects.reduce(function (sum, o) { return sum + (o[field] || 0); }, 0);
  }

  function fmt(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") return value.toLocaleString("en-US", {maximumFractionDigits: 1});
    return String(value);
  }

  /* Vega tooltips in the page's own box, as text. */
  function tooltip(handler, event, item, value) {
    if (!tip) return;
    if (value === null || value === undefined || value === "") { tip.style.display = "none"; return; }
    var text = typeof value === "object" ? Object.keys(value).map(function (k) {
      return k + ": " + fmt(value[k]);
    }).join("\n") : String(value);
    tip.textContent = text;
    tip.style.display = "block";
    var x = event.clientX + 14, y = event.clientY + 14, box = tip.getBoundingClientRect();
    if (x + box.width > window.innerWidth - 4) x = Math.max(4, event.clientX - box.width - 14);
    if (y + box.height > window.innerHeight - 4) y = Math.max(4, event.clientY - box.height - 14);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }

  function note(box, text) {
    var p = document.createElement("p");
    p.className = "empty-note";
    p.textContent = text;
    box.appendChild(p);
  }

  /* The days of a brush selection: its first field holds [start, end] in ms. */
  function brushed(view) {
    var value;
    try { value = view.signal("brush"); } catch (e) { return null; }
    if (!value) return null;
    var keys = Object.keys(value);
    if (!keys.length || !Array.isArray(value[keys[0]])) return null;
    var span = value[keys[0]];
    return [isoDay(Math.min(span[0], span[1])), isoDay(Math.max(span[0], span[1]))];
  }

  function draw(box, key) {
    var chart = DATA.charts[key];
    if (!chart) return null;
    var rows = pick(chart.report, chart.person);
    if (!rows.length) { note(box, "No data in this range."); return null; }
    var target = document.createElement("div");
    target.className = "vega";
    box.appendChild(target);
    var view = new vega.View(vega.parse(chart.vega, null, {ast: true}), {
      expr: vega.expressionInterpreter, renderer: "none", container: target, hover: true
    });
    view.tooltip(tooltip);
    view.data("rows", rows);
    views.push(view);
    if (chart.zoom) {
      target.addEventListener("pointerup", function () {
        var span = brushed(view);
        if (span && span[0] < span[1]) setTimeout(function () { setRange(span[0], span[1]); }, 0);
      });
      target.addEventListener("dblclick", reset);
    }
    box.setAttribute("data-rows", rows.length);
    /* Laid out first, drawn after: when the spec's own filters leave nothing (a
       pseudonymised page's terms, a chat without replies), Vega's bounds stay at their
       empty value (+-Number.MAX_VALUE) and would become the SVG's size; such a chart
       gets the note instead. */
    return view.runAsync().then(function () {
      if (target.parentNode !== box) return null;  // drawn again meanwhile (a newer choice)
      var b = view.scenegraph().root.bounds;
      if (!(Math.max(Math.abs(b.x1), Math.abs(b.y1), Math.abs(b.x2), Math.abs(b.y2)) < 1e6)) {
        box.removeChild(target);
        note(box, "No data in this range.");
        return null;
      }
      view.renderer("svg").initialize(target);
      return view.runAsync();
    });
  }

  function cell(row, value) {
    var td = document.createElement("td");
    if (value === null || value === undefined) { td.className = "null"; td.textContent = "NULL"; }
    else if (typeof value === "number") { td.className = "num"; td.textContent = String(value); }
    else if (Array.isArray(value)) { td.textContent = JSON.stringify(value); }
    else { td.textContent = value; }
    row.appendChild(td);
  }

  function personColumns(name) {
    var rep = DATA.reports[name];
    return rep.columns.filter(function (column) { return /user_id$/.test(column); });
  }

  function table(box, name) {
    var rep = DATA.reports[name];
    var objects = name === "messages_per_hour_weekday_week" ? rep.objects : pick(name, personColumns(name));
    var wrap = document.createElement("div"), grid = document.createElement("table");
    wrap.className = "scroll";
    var caption = document.createElement("caption");
    var limit = Number(box.getAttribute("data-limit")) || TABLE_ROWS;
    var shown = Math.min(objects.length, limit);
    caption.textContent = (shown < objects.length ? "first " + shown + " of " + objects.length : objects.length) + " rows"
      + (rep.cut ? " (the page holds " + rep.length + " of the query's " + rep.total_rows + " rows)" : "");
    grid.appendChild(caption);
    var head = document.createElement("tr");
    rep.columns.forEach(function (column) { var th = document.createElement("th"); th.textContent = column; head.appendChild(th); });
    var thead = document.createElement("thead");
    thead.appendChild(head);
    grid.appendChild(thead);
    var body = document.createElement("tbody");
    objects.slice(0, limit).forEach(function (o) {
      var tr = document.createElement("tr");
      rep.columns.forEach(function (column) { cell(tr, o[column]); });
      body.appendChild(tr);
    });
    grid.appendChild(body);
    wrap.appendChild(grid);
    box.appendChild(wrap);
  }

  /* Headline numbers of the range, and their change on the range just before it. */
  function headline(range) {
    var daily = pick("daily_active_users", null, range), days = {};
    daily.forEach(function (o) { if (o.messages) days[o.context_date] = 1; });
    var active = Object.keys(days).length;
    return {
      messages: total(daily, "messages"),
      days: active,
      posters_per_day: active ? Math.round(total(daily, "active_users") / active * 10) / 10 : 0,
      new_posters: total(daily, "new_posters"),
      joined: total(pick("members_joined_left", null, range), "joined"),
      departed: total(pick("members_joined_left", null, range), "departed"),
      replies: total(pick("replies_and_threads", null, range), "replies"),
      reactions: total(pick("reactions", null, range), "reactions")
    };
  }

  var KPI_LABELS = [["messages", "messages"], ["days", "days with messages"],
    ["posters_per_day", "posters per active day"], ["new_posters", "first-time posters"],
    ["joined", "joined"], ["departed", "left"], ["replies", "replies"], ["reactions", "reactions"]];

  function kpis() {
    var now = headline(null);
    var length = Math.round((Date.parse(state.to) - Date.parse(state.from)) / DAY) + 1;
    var before = [shift(state.from, -length), shift(state.from, -1)];
    var earlier = before[1] >= DATA.first_day ? headline(before) : null;
    var box = document.getElementById("kpis");
    box.textContent = "";
    KPI_LABELS.forEach(function (item) {
      var tile = document.createElement("div"), number = document.createElement("b"), label = document.createElement("span");
      var value = now[item[0]];
      tile.className = "kpi";
      tile.setAttribute("data-kpi", item[0]);
      tile.setAttribute("data-value", value);
      number.textContent = fmt(value);
      label.textContent = item[1];
      tile.appendChild(number);
      tile.appendChild(label);
      if (earlier && item[0] !== "days") {
        var was = earlier[item[0]], change = document.createElement("small");
        change.className = value >= was ? "up" : "down";
        change.textContent = (value >= was ? "+" : "") + fmt(value - was)
          + (was ? " (" + (value >= was ? "+" : "") + Math.round(100 * (value - was) / was) + "%)" : "")
          + " vs previous " + length + " days";
        tile.setAttribute("data-previous", was);
        tile.appendChild(change);
      }
      box.appendChild(tile);
    });
  }

  function personCard() {
    var card = document.getElementById("person-card");
    card.textContent = "";
    if (state.person === null) { card.hidden = true; return; }
    card.hidden = false;
    var rows = pick("people", ["user_id"], [DATA.first_day, DATA.last_day]);
    var times = pick("response_times", ["user_id"], [DATA.first_day, DATA.last_day]);
    var heading = document.createElement("h2");
    heading.textContent = nameOf(state.person);
    card.appendChild(heading);
    var facts = [["messages", total(rows, "messages")], ["replies sent", total(rows, "replies_sent")],
      ["replies received", total(rows, "replies_received")], ["reactions received", total(rows, "reactions_received")]];
    var firsts = rows.map(function (o) { return o.first_message_date; }).filter(Boolean).sort();
    var lasts = rows.map(function (o) { return o.last_message_date; }).filter(Boolean).sort();
    if (firsts.length) facts.push(["first message", firsts[0]], ["last message", lasts[lasts.length - 1]]);
    if (times.length) {
      var answered = total(times, "replies");
      var weighted = times.reduce(function (s, o) { return s + (o.median_seconds || 0) * o.replies; }, 0);
      facts.push(["median minutes to answer", Math.round(weighted / Math.max(answered, 1) / 6) / 10]);
    }
    var list = document.createElement("div");
    list.className = "kpis";
    facts.forEach(function (fact) {
      var tile = document.createElement("div"), b = document.createElement("b"), span = document.createElement("span");
      tile.className = "kpi";
      tile.setAttribute("data-fact", fact[0]);
      b.textContent = fmt(fact[1]);
      span.textContent = fact[0];
      tile.appendChild(b);
      tile.appendChild(span);
      list.appendChild(tile);
    });
    card.appendChild(list);
    var chats = rows.map(function (o) { return o.chat_name; });
    var where = document.createElement("p");
    where.className = "meta";
    where.textContent = "In " + (chats.length ? chats.join(", ") : "no chat with messages")
      + ". Every chart below shows this person; charts of the whole chat are hidden.";
    card.appendChild(where);
  }

  /* On a person's page, a card shows when one of its charts (or its table) is about a person. */
  function cardShown(card) {
    if (state.person === null) return true;
    var boxes = card.querySelectorAll(".chart[data-chart]");
    for (var i = 0; i < boxes.length; i++) {
      var chart = DATA.charts[boxes[i].getAttribute("data-chart")];
      if (chart && chart.person.length) return true;
    }
    var name = card.getAttribute("data-report");
    return !boxes.length && DATA.reports[name] && personColumns(name).length > 0;
  }

  function render() {
    views.forEach(function (view) { view.finalize(); });
    views = [];
    kpis();
    personCard();
    var pending = [];
    document.querySelectorAll(".card[data-report]").forEach(function (card) {
      var shown = cardShown(card);
      card.hidden = !shown;
      card.querySelectorAll(".chart[data-chart]").forEach(function (box) {
        var title = box.querySelector("h3");
        box.textContent = "";
        box.removeAttribute("data-rows");
        if (title) box.appendChild(title);
        var chart = DATA.charts[box.getAttribute("data-chart")];
        box.hidden = state.person !== null && chart && !chart.person.length;
        if (!shown || box.hidden) return;
        var done = draw(box, box.getAttribute("data-chart"));
        if (done) pending.push(done);
      });
      card.querySelectorAll(".table[data-report]").forEach(function (box) {
        box.textContent = "";
        if (shown) table(box, box.getAttribute("data-report"));
      });
    });
    var stamp = state.chat + " " + state.from + " " + state.to + " " + (state.person || "everyone");
    document.body.removeAttribute("data-rendered");
    Promise.all(pending).then(function () { document.body.setAttribute("data-rendered", stamp); },
      function (error) { document.body.setAttribute("data-rendered", stamp); throw error; });
  }

  function setRange(from, to) {
    if (!from || !to) return;
    state.from = from < to ? from : to;
    state.to = from < to ? to : from;
    if (state.from < DATA.first_day) state.from = DATA.first_day;
    if (state.to > DATA.last_day) state.to = DATA.last_day;
    document.getElementById("from").value = state.from;
    document.getElementById("to").value = state.to;
    render();
  }

  function reset() { setRange(DATA.first_day, DATA.last_day); }

  /* Person search: a datalist of "name (id)" built from the names the page knows. */
  var people = document.getElementById("people"), personBox = document.getElementById("person");
  var everyone = document.getElementById("everyone"), labels = {};
  Object.keys(names).sort(function (a, b) { return names[a] < names[b] ? -1 : 1; }).forEach(function (id) {
    var option = document.createElement("option"), label = names[id] + " (" + id + ")";
    option.value = label;
    labels[label] = id;
    people.appendChild(option);
  });
  function choosePerson(id) {
    state.person = id;
    everyone.hidden = id === null;
    if (id === null) personBox.value = "";
    render();
  }
  personBox.addEventListener("change", function () {
    var text = personBox.value.trim();
    var id = labels[text] || (names[text] ? text : null);
    if (id === null) {
      Object.keys(names).some(function (key) {
        if (names[key].toLowerCase() === text.toLowerCase()) { id = key; return true; }
        return false;
      });
    }
    if (id !== null) choosePerson(id); else if (!text) choosePerson(null);
  });
  everyone.addEventListener("click", function () { choosePerson(null); });
  document.getElementById("chat").addEventListener("change", function (event) {
    state.chat = event.target.value;
    render();
  });
  document.getElementById("from").addEventListener("change", function (event) { setRange(event.target.value, state.to); });
  document.getElementById("to").addEventListener("change", function (event) { setRange(state.from, event.target.value); });
  document.getElementById("reset").addEventListener("click", reset);
  document.addEventListener("pointerleave", function () { if (tip) tip.style.display = "none"; });
  window.TelelakePage = {
    rows: function (key) { var chart = DATA.charts[key]; return chart ? pick(chart.report, chart.person) : []; },
    person: function (id) { choosePerson(id === null ? null : String(id)); },
    state: function () { return {from: state.from, to: state.to, chat: state.chat, person: state.person}; }
  };
  if (DATA.first_day) render(); else document.body.setAttribute("data-rendered", "empty");
})();
