// Chart.js time charts shared by the views: a linear x axis of unix seconds labelled in the
// deployment's zone, ticks on its whole hours, a note when a chart has nothing to draw.
import { formatClock, formatTime, secondsIntoZoneDay, zoneLabel } from "./common.js";

export function timeAxis() {
  return { type: "linear", title: { display: true, text: `time (${zoneLabel()})` }, ticks: { callback: (value) => formatClock(value), maxTicksLimit: 9 } };
}

// Every time chart spans the range asked for, with ticks on whole hours.
export function setTimeRange(chart, from, to) {
  const x = chart.options.scales.x;
  x.min = from - (secondsIntoZoneDay(from) % 3_600);
  x.max = to;
  x.ticks.stepSize = 3_600 * Math.max(1, Math.ceil((to - from) / 3_600 / 8));
}

// A note under a chart that has nothing to draw in the range.
export function markEmpty(chart) {
  const empty = chart.data.datasets.every((d) => d.data.length === 0);
  const box = chart.canvas.closest(".panel");
  let note = box.querySelector(".chart-empty");
  if (!note) {
    note = document.createElement("p");
    note.className = "muted chart-empty";
    note.textContent = "Nothing recorded in this range yet.";
    box.append(note);
  }
  note.hidden = !empty;
}

export function lineChart(canvas, datasets, yTitle, options = {}) {
  return new window.Chart(canvas, {
    type: options.type || "line",
    data: { labels: options.labels || [], datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      parsing: options.type === "bar" ? undefined : false,
      interaction: { mode: "nearest", intersect: false },
      scales: { x: options.type === "bar" ? { title: { display: true, text: `interval start (${zoneLabel()})` }, ticks: { maxTicksLimit: 12 } } : timeAxis(), y: { title: { display: true, text: yTitle }, beginAtZero: options.beginAtZero ?? false } },
      plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { title: (items) => (items.length && options.type !== "bar" ? formatTime(items[0].parsed.x) : undefined) } } },
    },
  });
}

export function dataset(label, color, extra = {}) {
  return { label, data: [], borderColor: color, backgroundColor: color, pointRadius: 2, borderWidth: 2, ...extra };
}
