// The Usage page's charts. The page carries its data as JSON in an
// attribute (<div id="usage-data" data-json="…">); this
// draws one uPlot chart per metric with a series per split value. uPlot
// (assets/uPlot.iife.min.js, vendored) loads only on this page.
(function () {
  "use strict";
  var palette = ["#2f6fde", "#d9502e", "#1d9a5b", "#9b4dca", "#c48a00", "#0f8ea3", "#d6407f", "#6b7280"];
  var height = 220;
  var charts = [];
  // Tick steps of counts and milliseconds: whole numbers.
  var whole = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5,
    1e6, 2e6, 5e6, 1e7, 2e7, 5e7, 1e8, 2e8, 5e8, 1e9, 2e9, 5e9, 1e10, 1e11, 1e12];
  // Tick steps of the day axis: whole days, months (uPlot's 30-day
  // month) and years; the data has one point a day, never an hour.
  var day = 86400, month = 30 * day;
  var days = [day, 2 * day, 3 * day, 7 * day, 14 * day, month, 2 * month, 3 * month, 6 * month, 365 * day];

  // dayLabel is a tick's label: the UTC day (the data's days are UTC
  // days, whatever the browser's time zone), or its month when the ticks
  // are months apart.
  function dayLabel(ts, incr) {
    var o = incr >= month ? { month: "short", year: "numeric" } : { month: "short", day: "numeric" };
    o.timeZone = "UTC";
    return new Date(ts * 1000).toLocaleDateString("en-US", o);
  }

  function loadUPlot(done) {
    if (window.uPlot) { done(); return; }
    var s = document.querySelector("script[data-uplot]");
    if (!s) {
      s = document.createElement("script");
      s.src = "/console/assets/uPlot.iife.min.js";
      s.setAttribute("data-uplot", "");
      document.head.appendChild(s);
    }
    s.addEventListener("load", done);
  }

  function dark() {
    return !!(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  }

  function number(v, metric) {
    if (v == null) return "–";
    if (metric === "cost") return "$" + v.toLocaleString("en-US", { maximumFractionDigits: v < 1 ? 6 : 2 });
    if (metric === "error_rate") return v.toLocaleString("en-US", { maximumFractionDigits: 1 }) + "%";
    if (metric.indexOf("_p") > 0) return v.toLocaleString("en-US") + " ms";
    return v.toLocaleString("en-US");
  }

  function draw(root) {
    var el = document.getElementById("usage-data");
    if (!el || !root.contains(el)) return;
    var data = JSON.parse(el.getAttribute("data-json"));
    charts = charts.filter(function (c) { return document.contains(c.box); });
    loadUPlot(function () {
      var axis = dark() ? "#c9d1e0" : "#3a4252";
      var grid = dark() ? "#2f3646" : "#e4e7ec";
      document.querySelectorAll("#usage-charts .chart[data-metric]").forEach(function (box) {
        if (box.firstChild) return; // drawn already
        var metric = box.getAttribute("data-metric");
        var cols = [data.days];
        var series = [{ label: "Day", value: function (u, v) { return v == null ? "–" : new Date(v * 1000).toISOString().slice(0, 10); } }];
        data.series.forEach(function (s, i) {
          cols.push(s[metric]);
          series.push({
            label: s.name,
            stroke: palette[i % palette.length],
            width: 2,
            points: { show: data.days.length < 40 },
            value: function (u, v) { return number(v, metric); }
          });
        });
        var u = new window.uPlot({
          width: Math.max(box.clientWidth, 200),
          height: height,
          series: series,
          tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
          scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
          axes: [
            { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, incrs: days,
              // The labels drawn are also the box's data-x-ticks ([unix
              // seconds, label] pairs): the canvas has no text to read.
              values: function (u, splits, ax, space, incr) {
                var labels = splits.map(function (ts) { return dayLabel(ts, incr); });
                box.setAttribute("data-x-ticks", JSON.stringify(splits.map(function (ts, i) { return [ts, labels[i]]; })));
                return labels;
              } },
            { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, size: 64,
              incrs: metric === "requests" || metric === "tokens" || metric.indexOf("_p") > 0 ? whole : undefined,
              values: function (u, vals) { return vals.map(function (v) { return number(v, metric); }); } }
          ]
        }, cols, box);
        charts.push({ u: u, box: box });
      });
    });
  }

  var resizing = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      charts.forEach(function (c) {
        if (document.contains(c.box)) c.u.setSize({ width: Math.max(c.box.clientWidth, 200), height: height });
      });
    }, 100);
  });

  if (window.htmx) {
    window.htmx.onLoad(draw);
  } else {
    document.addEventListener("DOMContentLoaded", function () { draw(document.body); });
  }
})();
