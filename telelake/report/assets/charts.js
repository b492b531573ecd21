/* telelake report, charts: small SVG charts drawn from numbers, with hover values
   and drag-to-zoom on time series. No network, no code from strings, no HTML parsing: every text
   from the lake goes through textContent. Exposes window.TelelakeCharts. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  var tip = null;

  function fmt(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") return value.toLocaleString("en-US", {maximumFractionDigits: 1});
    return String(value);
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showTip(event, text) {
    if (!tip) tip = document.getElementById("tip");
    if (!tip) return;
    tip.textContent = text;
    tip.style.display = "block";
    var x = event.clientX + 14, y = event.clientY + 14;
    var box = tip.getBoundingClientRect();
    if (x + box.width > window.innerWidth - 4) x = Math.max(4, event.clientX - box.width - 14);
    if (y + box.height > window.innerHeight - 4) y = Math.max(4, event.clientY - box.height - 14);
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }

  function hideTip() { if (tip) tip.style.display = "none"; }

  /* Hover with a mouse, tap on a phone. */
  function hover(node, text) {
    var show = function (event) { showTip(event, text); };
    node.addEventListener("pointermove", show);
    node.addEventListener("pointerdown", show);
  }

  function frame(container, height, label) {
    var width = Math.max(280, Math.floor(container.clientWidth || 600));
    var root = svg("svg", {viewBox: "0 0 " + width + " " + height, width: width, height: height,
      role: "img", "aria-label": label});
    root.addEventListener("pointerleave", hideTip);
    return {root: root, width: width, height: height};
  }

  function empty(container, text) {
    var note = document.createElement("p");
    note.className = "empty-note";
    note.textContent = text;
    container.appendChild(note);
  }

  function legend(container, names) {
    if (names.length < 2) return;
    var box = document.createElement("div");
    box.className = "legend";
    names.forEach(function (name, index) {
      var item = document.createElement("span");
      var swatch = document.createElement("i");
      swatch.className = "s" + (index % 5);
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(name));
      box.appendChild(item);
    });
    container.appendChild(box);
  }

  function niceMax(value) {
    if (value <= 0) return 1;
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= value) return steps[i] * power;
    return 10 * power;
  }

  /* days: ["YYYY-MM-DD", ...]; series: [{name, values: {day: number}}];
     options: {label, bars, onZoom(fromDay, toDay), onReset()} */
  function timeSeries(container, days, series, options) {
    if (!days.length || !series.length) { empty(container, "No data in this range."); return; }
    var f = frame(container, 220, options.label);
    var left = 46, right = 10, top = 10, bottom = 24;
    var plotW = f.width - left - right, plotH = f.height - top - bottom;
    var slot = plotW / days.length;
    var high = 0;
    series.forEach(function (s) { days.forEach(function (d) { high = Math.max(high, s.values[d] || 0); }); });
    var yMax = niceMax(high);
    var y = function (v) { return top + plotH - plotH * v / yMax; };
    [0, yMax / 2, yMax].filter(function (tick) { return tick === Math.round(tick); }).forEach(function (tick) {
      f.root.appendChild(svg("line", {"class": tick ? "grid-line" : "axis", x1: left, x2: f.width - right,
        y1: y(tick), y2: y(tick)}));
      f.root.appendChild(svg("text", {x: left - 6, y: y(tick) + 4, "text-anchor": "end"}, fmt(tick)));
    });
    var bars = options.bars && series.length === 1;
    series.forEach(function (s, index) {
      if (bars) {
        days.forEach(function (day, i) {
          var value = s.values[day] || 0;
          f.root.appendChild(svg("rect", {"class": "bar s" + index, x: (left + i * slot + slot * 0.12).toFixed(2),
            y: y(value).toFixed(2), width: Math.max(slot * 0.76, 0.6).toFixed(2),
            height: (plotH * value / yMax).toFixed(2), "data-day": day, "data-value": value}));
        });
      } else {
        var points = days.map(function (day, i) {
          return (left + (i + 0.5) * slot).toFixed(2) + "," + y(s.values[day] || 0).toFixed(2);
        });
        f.root.appendChild(svg("polyline", {"class": "s" + (index % 5), points: points.join(" ")}));
        if (days.length <= 62) {
          days.forEach(function (day, i) {
            f.root.appendChild(svg("circle", {"class": "s" + (index % 5), r: 2.5, cx: (left + (i + 0.5) * slot).toFixed(2),
              cy: y(s.values[day] || 0).toFixed(2), "data-day": day, "data-value": s.values[day] || 0}));
          });
        }
      }
    });
    var labels = days.length > 2 ? [0, Math.floor((days.length - 1) / 2), days.length - 1] : days.map(function (_, i) { return i; });
    labels.forEach(function (i, k) {
      var anchor = k === 0 ? "start" : (k === labels.length - 1 && labels.length > 1 ? "end" : "middle");
      var x = k === 0 ? left : (anchor === "end" ? f.width - right : left + (i + 0.5) * slot);
      f.root.appendChild(svg("text", {x: x, y: f.height - 6, "text-anchor": anchor}, days[i]));
    });
    var guide = svg("line", {"class": "hover-line", y1: top, y2: top + plotH, x1: -10, x2: -10});
    var shade = svg("rect", {"class": "selection", x: 0, y: top, width: 0, height: plotH});
    var overlay = svg("rect", {"class": "overlay", x: left, y: top, width: plotW, height: plotH});
    f.root.appendChild(guide);
    f.root.appendChild(shade);
    f.root.appendChild(overlay);
    var toIndex = function (event) {
      var box = f.root.getBoundingClientRect();
      var x = (event.clientX - box.left) * f.width / box.width;
      return Math.min(days.length - 1, Math.max(0, Math.floor((x - left) / slot)));
    };
    var start = null;
    var tell = function (event) {
      var i = toIndex(event);
      var lines = [days[i]].concat(series.map(function (s) { return s.name + ": " + fmt(s.values[days[i]] || 0); }));
      showTip(event, lines.join("\n"));
      return i;
    };
    overlay.addEventListener("pointerdown", function (event) {
      start = tell(event);
      if (overlay.setPointerCapture) overlay.setPointerCapture(event.pointerId);
    });
    overlay.addEventListener("pointermove", function (event) {
      var i = tell(event);
      var x = left + (i + 0.5) * slot;
      guide.setAttribute("x1", x);
      guide.setAttribute("x2", x);
      if (start !== null) {
        var a = Math.min(start, i), b = Math.max(start, i);
        shade.setAttribute("x", left + a * slot);
        shade.setAttribute("width", (b - a + 1) * slot);
      }
    });
    overlay.addEventListener("pointerup", function (event) {
      if (start === null) return;
      var i = toIndex(event), a = Math.min(start, i), b = Math.max(start, i);
      start = null;
      shade.setAttribute("width", 0);
      if (b > a && options.onZoom) options.onZoom(days[a], days[b]);
    });
    overlay.addEventListener("dblclick", function () { if (options.onReset) options.onReset(); });
    container.appendChild(f.root);
    legend(container, series.map(function (s) { return s.name; }));
  }

  /* items: [{label, value}] sorted by the caller; total: for the share shown beside each bar. */
  function hbars(container, items, options) {
    if (!items.length) { empty(container, "No data in this range."); return; }
    var rowH = 24;
    var f = frame(container, rowH * items.length + 6, options.label);
    var labelW = Math.min(180, Math.floor(f.width * 0.36)), valueW = options.total ? 96 : 60;
    var plotW = f.width - labelW - valueW;
    var high = Math.max.apply(null, items.map(function (item) { return item.value; })) || 1;
    items.forEach(function (item, i) {
      var y = i * rowH + 3;
      var text = item.label.length > 24 ? item.label.slice(0, 23) + "…" : item.label;
      var share = options.total ? " (" + (100 * item.value / options.total).toFixed(1) + "%)" : "";
      var tipText = item.label + ": " + fmt(item.value) + share;
      f.root.appendChild(svg("text", {x: labelW - 8, y: y + 15, "text-anchor": "end"}, text));
      var bar = svg("rect", {"class": "bar s0", x: labelW, y: y + 2, height: rowH - 7,
        width: Math.max(plotW * item.value / high, 1).toFixed(2), "data-label": item.label,
        "data-value": item.value});
      hover(bar, tipText);
      f.root.appendChild(bar);
      f.root.appendChild(svg("text", {x: (labelW + plotW * item.value / high + 6).toFixed(2), y: y + 15,
        "class": "value"}, fmt(item.value) + share));
    });
    container.appendChild(f.root);
  }

  /* grid[weekday 1..7][hour 0..23] = messages */
  function heatmap(container, grid, options) {
    var high = 0;
    for (var d = 1; d <= 7; d++) for (var h = 0; h < 24; h++) high = Math.max(high, grid[d][h]);
    if (!high) { empty(container, "No data in this range."); return; }
    var width = Math.max(280, Math.floor(container.clientWidth || 600));
    var left = 34, top = 16;
    var cellW = (width - left - 2) / 24, cellH = Math.min(Math.max(cellW, 14), 26);
    var f = frame(container, top + 7 * cellH + 4, options.label);
    for (var hour = 0; hour < 24; hour += (cellW < 20 ? 6 : 3)) {
      f.root.appendChild(svg("text", {x: (left + (hour + 0.5) * cellW).toFixed(1), y: 11,
        "text-anchor": "middle"}, (hour < 10 ? "0" : "") + hour + "h"));
    }
    for (var day = 1; day <= 7; day++) {
      var y = top + (day - 1) * cellH;
      f.root.appendChild(svg("text", {x: left - 5, y: y + cellH / 2 + 4, "text-anchor": "end"}, WEEKDAYS[day - 1]));
      for (var hr = 0; hr < 24; hr++) {
        var value = grid[day][hr];
        var cell = svg("rect", {"class": value ? "cell s0" : "cell zero", x: (left + hr * cellW + 1).toFixed(2),
          y: (y + 1).toFixed(2), width: Math.max(cellW - 2, 1).toFixed(2), height: (cellH - 2).toFixed(2),
          "data-weekday": day, "data-hour": hr, "data-value": value});
        if (value) cell.setAttribute("fill-opacity", (0.12 + 0.88 * value / high).toFixed(3));
        hover(cell, WEEKDAYS[day - 1] + " " + (hr < 10 ? "0" : "") + hr + ":00–" + (hr < 10 ? "0" : "") + hr
          + ":59 " + options.zone + ": " + fmt(value) + " messages");
        f.root.appendChild(cell);
      }
    }
    container.appendChild(f.root);
  }

  window.TelelakeCharts = {timeSeries: timeSeries, hbars: hbars, heatmap: heatmap, fmt: fmt,
    WEEKDAYS: WEEKDAYS};
})();
