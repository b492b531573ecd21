/* telelake report, page: reads the embedded JSON (one result per report, already
   aggregated per day and chat by SQL), filters it by the chosen chat and date range,
   and draws the KPIs, charts and tables. */
(function () {
  "use strict";
  var C = window.TelelakeCharts;
  var DATA = JSON.parse(document.getElementById("telelake-data").textContent);
  var TABLE_ROWS = DATA.table_rows || 100;
  var state = {from: DATA.first_day, to: DATA.last_day, chat: "all"};
  var chatNames = {};
  (DATA.chats || []).forEach(function (chat) { chatNames[String(chat[0])] = chat[1] || String(chat[0]); });

  Object.keys(DATA.reports).forEach(function (name) {
    var rep = DATA.reports[name];
    rep.objects = rep.rows.map(function (row) {
      var object = {};
      rep.columns.forEach(function (column, i) { object[column] = row[i]; });
      return object;
    });
  });

  function pick(name, ignoreChat) {
    var rep = DATA.reports[name];
    if (!rep) return [];
    return rep.objects.filter(function (o) {
      if (typeof o.context_date === "string" && (o.context_date < state.from || o.context_date > state.to)) return false;
      if (!ignoreChat && state.chat !== "all" && "chat_id" in o && String(o.chat_id) !== state.chat) return false;
      return true;
    });
  }

  function dayList() {
    var out = [];
    if (!state.from || !state.to) return out;
    var day = new Date(state.from + "T00:00:00Z"), end = new Date(state.to + "T00:00:00Z");
    while (day <= end && out.length < 3700) {
      out.push(day.toISOString().slice(0, 10));
      day.setUTCDate(day.getUTCDate() + 1);
    }
    return out;
  }

  function sumBy(objects, key, field) {
    var out = {};
    objects.forEach(function (o) {
      var k = typeof key === "function" ? key(o) : o[key];
      out[k] = (out[k] || 0) + (o[field] || 0);
    });
    return out;
  }

  function total(objects, field) {
    return objects.reduce(function (sum, o) { return sum + (o[field] || 0); }, 0);
  }

  function ranked(sums, labels, limit) {
    return Object.keys(sums).map(function (key) {
      return {key: key, label: labels ? labels[key] || key : key, value: sums[key]};
    }).sort(function (a, b) { return b.value - a.value || (a.label < b.label ? -1 : 1); }).slice(0, limit);
  }

  function zoom(from, to) { setRange(from, to); }
  function reset() { setRange(DATA.first_day, DATA.last_day); }

  function series(container, label, fields, names, objects, bars) {
    var days = dayList();
    C.timeSeries(container, days, fields.map(function (field, i) {
      return {name: names[i], values: sumBy(objects, "context_date", field)};
    }), {label: label, bars: bars, onZoom: zoom, onReset: reset});
  }

  function userBars(container, name, label) {
    var objects = pick(name), labels = {};
    objects.forEach(function (o) { labels[o.user_id] = o.user_first_name || ("user " + o.user_id); });
    var field = name === "top_posters" ? "messages" : "message_amount";
    C.hbars(container, ranked(sumBy(objects, "user_id", field), labels, 10), {label: label});
  }

  function heat(container, name, weekday, hour, field, zone, ignoreRange) {
    var grid = {};
    for (var d = 1; d <= 7; d++) { grid[d] = []; for (var h = 0; h < 24; h++) grid[d][h] = 0; }
    var rep = DATA.reports[name];
    var objects = ignoreRange ? (rep ? rep.objects : []) : pick(name);
    objects.forEach(function (o) {
      if (o[weekday] >= 1 && o[weekday] <= 7 && o[hour] >= 0 && o[hour] <= 23) grid[o[weekday]][o[hour]] += o[field] || 0;
    });
    C.heatmap(container, grid, {label: "Messages by weekday and hour (" + zone + ")", zone: zone});
  }

  var CHARTS = {
    messages_per_day: function (box) {
      series(box, "Messages per day", ["message_amount"], ["messages"], pick("messages_per_day"), true);
    },
    messages_per_user_per_day: function (box) { userBars(box, "messages_per_user_per_day", "Most messages"); },
    messages_per_hour_weekday_week: function (box) {
      heat(box, "messages_per_hour_weekday_week", "parsed_date_weekday", "parsed_date_hour", "message_amount", "UTC", true);
    },
    daily_active_users: function (box) {
      series(box, "Active posters per day", ["active_users", "new_posters", "returning_posters"],
        ["active posters", "new", "returning"], pick("daily_active_users"), false);
    },
    messages_by_content_type: function (box) {
      var objects = pick("messages_by_content_type");
      C.hbars(box, ranked(sumBy(objects, "content_type", "messages"), null, 12),
        {label: "Messages by content type", total: total(objects, "messages")});
    },
    top_posters: function (box) { userBars(box, "top_posters", "Top posters"); },
    activity_heatmap: function (box) {
      heat(box, "activity_heatmap", "weekday", "hour", "messages", DATA.timezone || "lake time", false);
    },
    members_joined_left: function (box) {
      series(box, "Members joining and leaving", ["joined", "departed"], ["joined", "left"],
        pick("members_joined_left"), false);
    },
    replies_and_threads: function (box) {
      series(box, "Replies and threads per day", ["messages", "replies", "threads", "forwards"],
        ["messages", "replies", "threads", "forwards"], pick("replies_and_threads"), false);
    },
    "replies_and_threads:wait": function (box) {
      var objects = pick("replies_and_threads").filter(function (o) { return o.median_reply_seconds !== null; });
      var chats = ranked(sumBy(objects, "chat_id", "answered"), chatNames, 5);
      var days = dayList();
      C.timeSeries(box, days, chats.map(function (chat) {
        var values = {};
        objects.forEach(function (o) {
          if (String(o.chat_id) === chat.key) values[o.context_date] = Math.round(o.median_reply_seconds / 6) / 10;
        });
        return {name: chat.label, values: values};
      }), {label: "Median minutes to a reply", bars: false, onZoom: zoom, onReset: reset});
    },
    reactions: function (box) {
      var objects = pick("reactions");
      C.hbars(box, ranked(sumBy(objects, "reaction", "reactions"), null, 12),
        {label: "Reactions", total: total(objects, "reactions")});
    }
  };

  function cell(row, value) {
    var td = document.createElement("td");
    if (value === null || value === undefined) { td.className = "null"; td.textContent = "NULL"; }
    else if (typeof value === "number") { td.className = "num"; td.textContent = String(value); }
    else if (Array.isArray(value)) { td.textContent = JSON.stringify(value); }
    else { td.textContent = value; }
    row.appendChild(td);
  }

  function table(box, name) {
    var rep = DATA.reports[name];
    var objects = name === "messages_per_hour_weekday_week" ? rep.objects : pick(name);
    var wrap = document.createElement("div"), grid = document.createElement("table");
    wrap.className = "scroll";
    var caption = document.createElement("caption");
    var limit = Number(box.getAttribute("data-limit")) || TABLE_ROWS;
    var shown = Math.min(objects.length, limit);
    caption.textContent = (shown < objects.length ? "first " + shown + " of " + objects.length : objects.length) + " rows"
      + (rep.cut ? " (the page holds " + rep.rows.length + " of the query's " + rep.total_rows + " rows)" : "");
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

  function kpis() {
    var daily = pick("daily_active_users"), members = pick("members_joined_left");
    var replies = pick("replies_and_threads"), days = {};
    daily.forEach(function (o) { if (o.messages) days[o.context_date] = 1; });
    var active = Object.keys(days).length, messages = total(daily, "messages");
    var posters = Object.keys(days).length ? total(daily, "active_users") / active : 0;
    var values = [
      ["messages", messages, "messages"],
      ["days", active, "days with messages"],
      ["posters_per_day", Math.round(posters * 10) / 10, "posters per active day"],
      ["new_posters", total(daily, "new_posters"), "first-time posters"],
      ["joined", total(members, "joined"), "joined"],
      ["departed", total(members, "departed"), "left"],
      ["replies", total(replies, "replies"), "replies"],
      ["reactions", total(pick("reactions"), "reactions"), "reactions"]
    ];
    var box = document.getElementById("kpis");
    box.textContent = "";
    values.forEach(function (item) {
      var tile = document.createElement("div"), number = document.createElement("b"), label = document.createElement("span");
      tile.className = "kpi";
      tile.setAttribute("data-kpi", item[0]);
      tile.setAttribute("data-value", item[1]);
      number.textContent = C.fmt(item[1]);
      label.textContent = item[2];
      tile.appendChild(number);
      tile.appendChild(label);
      box.appendChild(tile);
    });
  }

  function render() {
    kpis();
    document.querySelectorAll(".chart[data-chart]").forEach(function (box) {
      var draw = CHARTS[box.getAttribute("data-chart")];
      var title = box.querySelector("h3");
      box.textContent = "";
      if (title) box.appendChild(title);
      if (draw) draw(box);
    });
    document.querySelectorAll(".table[data-report]").forEach(function (box) {
      box.textContent = "";
      table(box, box.getAttribute("data-report"));
    });
    document.body.setAttribute("data-rendered", state.chat + " " + state.from + " " + state.to);
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

  document.getElementById("chat").addEventListener("change", function (event) {
    state.chat = event.target.value;
    render();
  });
  document.getElementById("from").addEventListener("change", function (event) { setRange(event.target.value, state.to); });
  document.getElementById("to").addEventListener("change", function (event) { setRange(state.from, event.target.value); });
  document.getElementById("reset").addEventListener("click", reset);
  var resizeTimer = null, lastWidth = window.innerWidth;
  window.addEventListener("resize", function () {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(render, 150);
  });
  if (DATA.first_day) render(); else document.body.setAttribute("data-rendered", "empty");
})();
