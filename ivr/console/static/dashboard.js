// The dashboard's charts, drawn with the vendored uPlot from the numbers the page's tables show
// (the JSON block #dashboard-data); the tables stay the accessible, exact version of each chart.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof uPlot === "undefined") {
    return;
  }
  var charts = JSON.parse(source.textContent);
  // Distinguishable colours, dark enough on white (Okabe and Ito's palette).
  var COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"];
  var HEIGHT = 260;

  function width(element) {
    return Math.max(320, Math.min(element.clientWidth || 640, 1100));
  }

  function short(label) {
    return label.length > 22 ? label.slice(0, 21) + "\u2026" : label;
  }

  function lineChart(chart, element) {
    // One point a UTC day: the x scale is in seconds, as uPlot's time axis expects.
    var xs = chart.labels.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
    var series = [{label: "Day"}];
    chart.series.forEach(function (name, i) {
      series.push({label: name, stroke: COLOURS[i % COLOURS.length], width: 2,
                   points: {show: xs.length <= 31}});
    });
    return new uPlot({
      width: width(element), height: HEIGHT, series: series,
      scales: {x: {time: true}, y: {range: function (u, min, max) { return [0, Math.max(1, max)]; }}},
      axes: [{}, {label: "Count"}],
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); }
    }, [xs].concat(chart.values), element);
  }

  function barChart(chart, element) {
    // Bars at 0, 1, 2...; the axis names them. Two series at most, side by side, so a bar chart
    // stays readable: the table beside it has every column.
    var xs = chart.labels.map(function (_, i) { return i; });
    var shown = chart.series.slice(0, 2);
    var series = [{}];
    shown.forEach(function (name, i) {
      series.push({
        label: name, stroke: COLOURS[i], fill: COLOURS[i], width: 0,
        paths: uPlot.paths.bars({size: [shown.length > 1 ? 0.4 : 0.6, 80],
                                 align: shown.length > 1 ? (i === 0 ? -1 : 1) : 0}),
        points: {show: false}
      });
    });
    return new uPlot({
      width: width(element), height: HEIGHT + 60, series: series,
      scales: {x: {time: false, range: [-0.6, xs.length - 0.4]},
               y: {range: function (u, min, max) { return [0, Math.max(1, max)]; }}},
      axes: [{
        splits: xs, rotate: xs.length > 3 ? -30 : 0, size: xs.length > 3 ? 110 : 40,
        values: function (u, splits) { return splits.map(function (i) { return short(chart.labels[i] || ""); }); }
      }, {label: "Count"}],
      legend: {live: false}
    }, [xs].concat(chart.values.slice(0, 2)), element);
  }

  charts.forEach(function (chart) {
    var element = document.getElementById("chart-" + chart.id);
    if (!element || !chart.labels.length) {
      return;
    }
    (chart.kind === "line" ? lineChart : barChart)(chart, element);
  });
}());
