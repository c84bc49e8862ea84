// Chart.js time charts shared by the views: a linear x axis of unix seconds labelled in the
// deployment's zone, ticks on its whole hours, a note when a chart has nothing to draw.
import { formatClock, formatTime, secondsIntoZoneDay, zoneLabel } from "./common.js";

const HOUR_S = 3_600;
const TICK_HOURS = [1, 2, 3, 4, 6, 8, 12, 24]; // divisors of a day: every tick lands on the same clock hours each day
const MAX_TICKS = 9;

// Ticks of our own on the zone's clock (00:00, 04:00, …): Chart.js spaces a linear axis evenly
// between its ends, which puts them off the hours whenever the ends are.
function clockTicks(axis) {
  const hours = TICK_HOURS.find((h) => (axis.max - axis.min) / (h * HOUR_S) < MAX_TICKS) ?? 24;
  const step = hours * HOUR_S;
  const values = [];
  for (let t = axis.min + ((step - (secondsIntoZoneDay(axis.min) % step)) % step); t <= axis.max; t += step) values.push(t);
  axis.ticks = values.map((value) => ({ value }));
}

export function timeAxis() {
  return {
    type: "linear",
    title: { display: true, text: `time (${zoneLabel()})` },
    afterBuildTicks: clockTicks,
    ticks: { callback: (value) => formatClock(value) },
  };
}

// Every time chart spans the range asked for.
export function setTimeRange(chart, from, to) {
  const x = chart.options.scales.x;
  x.min = from;
  x.max = to;
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
