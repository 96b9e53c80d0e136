// Plant dashboard: one tile per machine, updated as the device pushes /api/v1/devices/
// (health, ISO zone, alerts) and /api/v1/telemetry/ (latest values) over /api/v1/stream/.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { fmt, live } = window.Eso;
  const tiles = new Map([...document.querySelectorAll(".tile[data-machine]")].map((t) => [t.dataset.machine, t]));
  const STATUSES = ["ok", "warning", "alert", "critical", "unknown"];
  const TILE_METRICS = new Set(["vibration_rms", "temperature", "current_rms"]);

  function showHealth(machines) {
    for (const m of machines) {
      const tile = tiles.get(m.id);
      if (!tile) continue;
      const h = m.health || {};
      const status = STATUSES.includes(h.status) ? h.status : "unknown";
      for (const s of STATUSES) tile.classList.toggle("status-" + s, s === status);
      tile.dataset.status = status;
      tile.querySelector('[data-field="score"]').textContent = h.score ?? "–";
      tile.querySelector('[data-field="status"]').textContent = status + (h.mode && h.mode !== "running" ? " · " + h.mode : "");
      tile.querySelector('[data-field="active_alerts"]').textContent = h.active_alerts ?? "–";
      const zone = tile.querySelector('[data-field="iso_zone"]');
      zone.textContent = h.iso_zone ? "zone " + h.iso_zone : "";
      zone.className = "zone zone-" + (h.iso_zone || "none");
    }
  }

  function showReadings(readings) {
    // The largest value of each metric per machine (a machine may have several sensors).
    const best = new Map();
    for (const r of readings) {
      if (!TILE_METRICS.has(r.metric) || r.axis !== null) continue;
      const key = r.device_id + "|" + r.metric;
      const seen = best.get(key);
      if (!seen || r.value > seen.value) best.set(key, r);
    }
    for (const [key, r] of best) {
      const tile = tiles.get(r.device_id);
      const span = tile && tile.querySelector('[data-metric="' + r.metric + '"]');
      if (!span) continue;
      span.textContent = fmt(r.value);
      span.dataset.value = r.value;
      span.dataset.ts = r.timestamp;
      span.dataset.sensor = r.sensor_id;
    }
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  }
  live({}, { devices: showHealth, telemetry: showReadings });
});
