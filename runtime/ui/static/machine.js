// Machine page: live values per axis, trend from the stored history (raw or rollups),
// amplitude and envelope spectra with running-speed and bearing markers, the machine's alerts.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, el, fmt, when, every, live } = window.Eso;
  const { timeChart, spectrumChart, message } = window.EsoCharts;
  const M = JSON.parse(document.getElementById("machine-data").textContent);
  const q = (params) => "?" + new URLSearchParams(params).toString();

  // Live values and health, pushed by the device (GET /api/v1/stream/).
  const tbody = document.querySelector("#live tbody");
  const health = document.getElementById("health");
  function showHealth(machines) {
    const h = machines[0].health;
    health.textContent = h.status + " · " + h.score + (h.iso_zone ? " · zone " + h.iso_zone : "");
    health.className = "badge status-" + h.status;
  }
  function showLive(rows) {
    const table = new Map();
    for (const r of rows) {
      const key = r.sensor_id + "|" + r.metric;
      if (!table.has(key)) table.set(key, { r, axes: {} });
      table.get(key).axes[r.axis === null ? "overall" : r.axis] = r.value;
    }
    tbody.replaceChildren(...[...table.values()].map(({ r, axes }) =>
      el("tr", { dataset: { sensor: r.sensor_id, metric: r.metric } },
        el("td", {}, r.sensor_name), el("td", {}, r.metric),
        ...["overall", "x", "y", "z"].map((a) => el("td", { class: "num" }, a in axes ? fmt(axes[a]) : "")),
        el("td", {}, r.unit))));
  }

  // Trend.
  const metricSel = document.getElementById("trend-metric");
  const rangeSel = document.getElementById("trend-range");
  const custom = document.getElementById("custom-range");
  const info = document.getElementById("trend-info");
  const RANGES = { "1h": [3600e3, "raw"], "24h": [86400e3, "1m"], "7d": [7 * 86400e3, "1h"] };
  async function trend() {
    let start, end, resolution;
    if (rangeSel.value === "custom") {
      start = new Date(document.getElementById("trend-start").value);
      end = new Date(document.getElementById("trend-end").value);
      if (!(start < end)) { info.textContent = "choose a start before the end"; return; }
      const span = end - start;
      resolution = span <= 3 * 3600e3 ? "raw" : span <= 3 * 86400e3 ? "1m" : "1h";
    } else {
      const [span, res] = RANGES[rangeSel.value];
      end = new Date(); start = new Date(end - span); resolution = res;
    }
    const metric = metricSel.value;
    const canvas = document.getElementById("trend");
    let rows;
    try {
      rows = await api("GET", "/telemetry/history/" + q({ device_id: M.id, metric, resolution,
        start_time: start.toISOString(), end_time: end.toISOString(), limit: 100000 }));
    } catch (err) { message(canvas, err.message); return; }
    const bySensor = new Map();
    let unit = "";
    for (const r of rows) {
      if (!bySensor.has(r.sensor_id)) bySensor.set(r.sensor_id, { label: r.sensor_name, points: [] });
      bySensor.get(r.sensor_id).points.push([Date.parse(r.timestamp), r.value]);
      unit = r.unit;
    }
    timeChart(canvas, [...bySensor.values()], M.thresholds[metric] || [], unit);
    info.textContent = rows.length + " points (" + resolution + ")";
  }
  metricSel.addEventListener("change", trend);
  rangeSel.addEventListener("change", () => { custom.hidden = rangeSel.value !== "custom"; if (!custom.hidden) return; trend(); });
  document.getElementById("trend-apply").addEventListener("click", trend);
  trend();
  setInterval(() => { if (!document.hidden && rangeSel.value === "1h") trend(); }, 30000);

  // Spectra.
  const sensorSel = document.getElementById("spec-sensor");
  const axisSel = document.getElementById("spec-axis");
  const markerText = Object.entries(M.markers).map(([k, f]) => k + " " + f.toFixed(1) + " Hz").join(" · ");
  document.getElementById("markers").textContent = markerText ? "Markers: " + markerText : "No running speed configured: no markers.";
  async function spectra() {
    const sensor = sensorSel.value;
    if (!sensor) return;
    const axis = axisSel.value;
    const specInfo = document.getElementById("spec-info");
    for (const [kind, fmax, id] of [["spectrum", 1000, "spectrum"], ["envelope", 500, "envelope"]]) {
      const canvas = document.getElementById(id);
      try {
        const d = await api("GET", "/spectrum/" + encodeURIComponent(sensor) + "/" + q({ axis, kind, fmax, max_bins: 800, peaks: 3 }));
        const s = d.axes[0] && d.axes[0][kind];
        if (!s) { message(canvas, "no " + kind + " for this axis"); continue; }
        spectrumChart(canvas, s.amplitudes, s.bin_width_hz, M.markers, d.unit);
        if (kind === "spectrum") specInfo.textContent = "at " + when(s.timestamp) + (d.source === "stored" ? " (stored)" : "");
      } catch (err) { message(canvas, err.message); }
    }
  }
  sensorSel.addEventListener("change", spectra);
  axisSel.addEventListener("change", spectra);
  every(5000, spectra);

  // Alerts: the active ones (pushed when they change) and the last week's.
  async function showAlerts(active) {
    const week = new Date(Date.now() - 7 * 86400e3).toISOString();
    const past = await api("GET", "/alerts/history/" + q({ device_id: M.id, start_time: week, limit: 200 }));
    const all = new Map();
    for (const a of [...past, ...active]) all.set(a.id, a);
    const rows = [...all.values()].sort((a, b) => b.id - a.id).map((a) =>
      el("tr", { class: "sev-" + a.severity },
        el("td", {}, when(a.created_at)), el("td", {}, a.severity), el("td", {}, a.status),
        el("td", {}, a.alert_type), el("td", {}, a.message), el("td", {}, a.work_order_id ?? "")));
    document.querySelector("#machine-alerts tbody").replaceChildren(...rows);
  }

  live({ device_id: M.id, axis: "all" }, { telemetry: showLive, devices: showHealth, alerts: showAlerts });
});
