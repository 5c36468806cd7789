// prodsim report.html: draws every chart of the page with uPlot from the JSON block
// #prodsim-data (nothing else is read, nothing is fetched). Charts of one group share the
// cursor and the x range: drag to zoom, double-click to reset, shift+drag or the buttons
// to pan. Hovering shows every series' value in the legend, and the faults, pages,
// actions and releases under the cursor in a tooltip; clicking a legend entry hides its
// series. window.prodsimReport exposes the plots for the browser test.
(function () {
  "use strict";
  var PALETTE = ["#2f5bd3", "#e8710a", "#1a7f37", "#c62828", "#7b3fbf", "#8c6d1f", "#d63f9b", "#5f6b7d", "#0f9fb0", "#9e9d24"];
  var DASHES = [[7, 4], [2, 3], [11, 3, 2, 3]];
  var MARK_COLORS = { page: "#c62828", ack: "#e8710a", action: "#1a7f37", release: "#7b3fbf", load: "#5f6b7d" };
  var report = { plots: {}, groups: {}, ready: false };
  window.prodsimReport = report;

  function fmtTime(s) {
    if (s == null || !isFinite(s)) return "—";
    var neg = s < 0 ? "-" : "";
    s = Math.abs(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var ss = sec < 10 ? "0" + sec.toFixed(0) : sec.toFixed(0);
    if (h >= 48 && m === 0 && sec < 1) return neg + Math.floor(h / 24) + "d" + (h % 24 ? (h % 24) + "h" : "");
    if (h > 0) return neg + h + "h" + (m || sec >= 1 ? (m < 10 ? "0" : "") + m + "m" : "") + (sec >= 1 ? ss + "s" : "");
    if (m > 0) return neg + m + "m" + ss + "s";
    return neg + (sec < 10 && sec % 1 ? sec.toFixed(1) : sec.toFixed(0)) + "s";
  }

  // Tick steps of a time axis: whole seconds, minutes, hours, days.
  var TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

  function fmtNum(v) {
    if (v == null || !isFinite(v)) return "—";
    var a = Math.abs(v);
    if (a >= 1000) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    if (a >= 0.1 || a === 0) return v.toFixed(3);
    return v.toPrecision(3);
  }

  // Axis ticks: no label for uPlot's unlabelled minor ticks, no trailing zeros.
  function fmtTick(v) {
    if (v == null || !isFinite(v)) return "";
    return String(parseFloat(v.toPrecision(6)));
  }

  function clip(text, n) {
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  function seriesOpts(chart, s, i) {
    var color = PALETTE[(s.color != null ? s.color : i) % PALETTE.length];
    // Outside the run's timeline, lines of variants often lie on each other: each one is
    // drawn thinner than the one before, so every one shows.
    var width = chart.group === "timeline" ? 1.6 : s.color != null ? (s.style === "dashed" ? 1 : 2.2) : Math.max(1.2, 3.6 - 0.8 * i);
    var o = { label: s.name, stroke: color, width: width, spanGaps: false };
    if (s.style === "dashed") o.dash = DASHES[Math.floor(i / 2) % DASHES.length];
    if (s.style === "step") o.paths = uPlot.paths.stepped({ align: 1 });
    if (s.style === "points") {
      o.paths = function () { return null; };
      o.points = { show: true, size: 9, width: 1, fill: color, stroke: color };
    }
    if (s.labels) {
      o.value = function (u, v, si, idx) { return idx == null || s.labels[idx] == null ? "—" : clip(s.labels[idx], 70); };
    } else {
      o.value = function (u, v) { return fmtNum(v); };
    }
    return o;
  }

  function drawShades(u, chart) {
    var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
    ctx.save();
    chart.shades.forEach(function (sh) {
      var x0 = u.valToPos(sh.start, "x", true), x1 = u.valToPos(sh.end, "x", true);
      if (sh.kind === "incident") {
        // Incidents: a band along the top, so the fault's shading stays readable.
        ctx.fillStyle = "rgba(232,113,10,0.55)";
        ctx.fillRect(Math.min(x0, x1), top, Math.max(2, Math.abs(x1 - x0)), 6 * devicePixelRatio);
        return;
      }
      ctx.fillStyle = sh.kind === "warmup" ? "rgba(95,107,125,0.13)" : "rgba(198,40,40,0.12)";
      ctx.fillRect(Math.min(x0, x1), top, Math.abs(x1 - x0), height);
    });
    ctx.restore();
  }

  function drawMarks(u, chart) {
    var ctx = u.ctx, top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
    ctx.save();
    ctx.lineWidth = 1.2 * devicePixelRatio;
    chart.marks.forEach(function (m) {
      var x = Math.round(u.valToPos(m.at, "x", true));
      ctx.strokeStyle = MARK_COLORS[m.kind] || "#333";
      ctx.setLineDash(m.kind === "ack" ? [3, 3] : []);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.stroke();
    });
    ctx.restore();
  }

  var tooltip = document.createElement("div");
  tooltip.className = "tooltip";
  document.body.appendChild(tooltip);

  // Faults, pages, actions and releases within a few pixels of the cursor.
  function showTooltip(u, chart) {
    var left = u.cursor.left;
    if (left == null || left < 0) { tooltip.style.display = "none"; return; }
    var x = u.posToVal(left, "x"), lines = [];
    chart.marks.forEach(function (m) {
      if (Math.abs(u.valToPos(m.at, "x") - left) <= 4) lines.push(fmtTime(m.at) + "  " + m.label);
    });
    chart.shades.forEach(function (sh) {
      if (x >= sh.start && x <= sh.end) lines.push(sh.label + " (" + fmtTime(sh.start) + "–" + fmtTime(sh.end) + ")");
    });
    var idx = u.cursor.idx;
    chart.series.forEach(function (s) {
      if (s.labels && idx != null && s.labels[idx] != null) lines.push(s.labels[idx]);
    });
    if (!lines.length) { tooltip.style.display = "none"; return; }
    var box = u.over.getBoundingClientRect();
    tooltip.textContent = lines.join("\n");
    tooltip.style.display = "block";
    tooltip.style.left = window.scrollX + box.left + left + 14 + "px";
    tooltip.style.top = window.scrollY + box.top + (u.cursor.top || 0) + 10 + "px";
  }

  // Nodes of the diagram hit by a fault are highlighted while the cursor is in its window.
  function markNodes(x) {
    document.querySelectorAll("svg.diagram .node.faulted").forEach(function (n) {
      var on = (n.getAttribute("data-faults") || "").split(" ").some(function (w) {
        var p = w.split(":");
        return x != null && x >= +p[0] && x <= +p[1];
      });
      n.classList.toggle("fault-now", on);
    });
  }

  var syncing = false;
  function syncRange(u, group) {
    if (syncing) return;
    syncing = true;
    var min = u.scales.x.min, max = u.scales.x.max;
    (report.groups[group] || []).forEach(function (o) {
      if (o !== u) o.setScale("x", { min: min, max: max });
    });
    syncing = false;
  }

  function fullRange(group) {
    var lo = Infinity, hi = -Infinity;
    (report.groups[group] || []).forEach(function (u) {
      var xs = u.data[0];
      if (xs.length) { lo = Math.min(lo, xs[0]); hi = Math.max(hi, xs[xs.length - 1]); }
    });
    return [lo, hi];
  }

  function pan(group, dir) {
    var plots = report.groups[group] || [];
    if (!plots.length) return;
    var u = plots[0], min = u.scales.x.min, max = u.scales.x.max, step = (max - min) / 2 * dir;
    u.setScale("x", { min: min + step, max: max + step });
  }

  function enableShiftPan(u, group) {
    var start = null;
    u.over.addEventListener("mousedown", function (e) {
      if (!e.shiftKey) return;
      e.stopPropagation();
      e.preventDefault();
      start = { px: e.clientX, min: u.scales.x.min, max: u.scales.x.max };
    }, true);
    window.addEventListener("mousemove", function (e) {
      if (!start) return;
      var perPx = (start.max - start.min) / u.bbox.width * devicePixelRatio, d = (start.px - e.clientX) * perPx;
      u.setScale("x", { min: start.min + d, max: start.max + d });
    });
    window.addEventListener("mouseup", function () { start = null; });
    u.over.addEventListener("mouseleave", function () { tooltip.style.display = "none"; });
    u.over.addEventListener("dblclick", function () {
      var r = fullRange(group);
      if (isFinite(r[0])) u.setScale("x", { min: r[0], max: r[1] });
    });
  }

  function options(chart, el) {
    var xDistr = chart.x_axis === "log" ? 3 : 1;
    var yScale = { distr: chart.log_y ? 3 : 1 };
    if (chart.y_range) yScale.range = chart.y_range;
    var fmtX = chart.x_axis === "time" ? fmtTime : fmtNum;
    var tickX = chart.x_axis === "time" ? function (v) { return v == null ? "" : fmtTime(v); } : fmtTick;
    var lanes = chart.key === "events";
    return {
      width: Math.max(320, el.clientWidth),
      height: lanes ? 70 + 26 * chart.series.length : 230,
      scales: { x: { time: false, distr: xDistr }, y: yScale },
      axes: [
        chart.x_axis === "time"
          ? { label: chart.x_label || null, incrs: TIME_INCRS, space: 70, values: function (u, vals) { return vals.map(tickX); } }
          : { label: chart.x_label || null, space: 60, values: function (u, vals) { return vals.map(tickX); } },
        { label: chart.y_label, size: 62, show: !lanes, values: function (u, vals) { return vals.map(fmtTick); } }
      ],
      series: [{ label: chart.x_axis === "time" ? "time" : (chart.x_label || "x"), value: function (u, v) { return fmtX(v); } }]
        .concat(chart.series.map(function (s, i) { return seriesOpts(chart, s, i); })),
      cursor: { sync: { key: chart.group, setSeries: false }, drag: { x: true, y: false, uni: 20 } },
      legend: { live: true },
      hooks: {
        drawClear: [function (u) { drawShades(u, chart); }],
        draw: [function (u) { drawMarks(u, chart); }],
        setScale: [function (u, key) { if (key === "x") syncRange(u, chart.group); }],
        setCursor: [function (u) {
          showTooltip(u, chart);
          if (chart.x_axis === "time") markNodes(u.cursor.left >= 0 ? u.posToVal(u.cursor.left, "x") : null);
        }]
      }
    };
  }

  // On a log axis, values more than five decades below the largest are drawn at that
  // floor (a rejection answered in microseconds would stretch the axis over decades
  // nobody reads); zero has no place on it and is left out.
  function data(chart) {
    var cols = [chart.x], top = 0;
    chart.series.forEach(function (s) {
      s.values.forEach(function (v) { if (v != null && v > top) top = v; });
    });
    var floor = top / 1e5;
    chart.series.forEach(function (s) {
      cols.push(chart.log_y ? s.values.map(function (v) { return v != null && v > 0 ? Math.max(v, floor) : null; }) : s.values);
    });
    return cols;
  }

  function draw() {
    var node = document.getElementById("prodsim-data");
    var parsed = JSON.parse(node.textContent);
    parsed.charts.forEach(function (chart) {
      var el = document.getElementById("chart-" + chart.key);
      if (!el || !chart.x.length) return;
      var u = new uPlot(options(chart, el), data(chart), el);
      u.prodsimChart = chart;
      report.plots[chart.key] = u;
      (report.groups[chart.group] = report.groups[chart.group] || []).push(u);
      enableShiftPan(u, chart.group);
    });
    document.querySelectorAll("button[data-pan]").forEach(function (b) {
      b.addEventListener("click", function () { pan("timeline", +b.getAttribute("data-pan")); });
    });
    document.querySelectorAll("button[data-reset]").forEach(function (b) {
      b.addEventListener("click", function () {
        var r = fullRange("timeline");
        var plots = report.groups.timeline || [];
        if (plots.length && isFinite(r[0])) plots[0].setScale("x", { min: r[0], max: r[1] });
      });
    });
    window.addEventListener("resize", function () {
      Object.keys(report.plots).forEach(function (k) {
        var u = report.plots[k], el = document.getElementById("chart-" + k);
        u.setSize({ width: Math.max(320, el.clientWidth), height: u.height });
      });
    });
    report.drawnMs = performance.now();
    report.ready = true;
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
