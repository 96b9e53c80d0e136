// Export: the history API's file download (/telemetry/history/?format=...) built from a form.
// The rows are counted first (X-Total-Count), then the link is a plain GET the browser
// streams to disk, so the file never passes through this script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "export") return;
  const { when, showErrors, clearErrors } = window.Eso;
  const form = document.getElementById("export-form");
  const result = document.getElementById("export-result");
  const summary = document.getElementById("export-summary");
  const link = document.getElementById("export-download");
  const HOURS = { hour: 1, day: 24, week: 168 };
  const HISTORY = "/api/v1/telemetry/history/";

  class Problems extends Error {
    constructor(details) { super(details.join("; ")); this.details = details; }
  }

  const checked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
  const sensorsOf = (machine) => [...form.querySelectorAll(`input[name="sensor"][data-machine="${machine}"]`)];

  // The range as UTC instants: presets end now; custom times are in this browser's zone.
  function range() {
    const kind = form.elements.range.value;
    if (kind !== "custom") {
      const end = new Date();
      return { start: new Date(end.getTime() - HOURS[kind] * 3600e3), end };
    }
    const problems = [];
    const read = (name, field, what) => {
      const text = form.elements[name].value;
      const at = text ? new Date(text) : null;
      if (!at || Number.isNaN(at.getTime())) problems.push(`${field}: give the ${what} of the range`);
      return at;
    };
    const start = read("from", "start_time", "start");
    const end = read("to", "end_time", "end");
    if (!problems.length && end <= start) {
      problems.push(`end_time: the end (${end.toLocaleString()}) must be after the start (${start.toLocaleString()})`);
    }
    if (problems.length) throw new Problems(problems);
    return { start, end };
  }

  // Whole machines go as device_id (and name the file); otherwise the ticked sensors. The
  // API ANDs its filters, so the two are never mixed.
  function scope(params) {
    const sensors = checked("sensor");
    if (!sensors.length) return;
    const machines = [...new Set(sensors.map((id) => form.querySelector(`input[name="sensor"][value="${CSS.escape(id)}"]`).dataset.machine))];
    const whole = machines.every((m) => sensorsOf(m).every((box) => box.checked));
    if (whole) params.set("device_id", machines.join(","));
    else params.set("sensor_id", sensors.join(","));
  }

  function query() {
    const { start, end } = range();
    const params = new URLSearchParams({ start_time: start.toISOString(), end_time: end.toISOString() });
    scope(params);
    const metrics = checked("metric");
    if (metrics.length) params.set("metric", metrics.join(","));
    params.set("axis", form.elements.axis.value);
    params.set("resolution", form.elements.resolution.value);
    return { params, start, end };
  }

  async function countRows(params) {
    const res = await fetch(`${HISTORY}?${params}&limit=1&total=true`, {
      credentials: "same-origin", headers: { Accept: "application/json" },
    });
    if (res.status === 401) { location.href = "/login"; throw new Problems(["not logged in"]); }
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      const error = (body && body.error) || { message: "HTTP " + res.status };
      throw Object.assign(new Error(error.message), { details: error.details && Array.isArray(error.details) ? error.details : [] });
    }
    return Number(res.headers.get("X-Total-Count"));
  }

  function stale() { result.hidden = true; link.hidden = true; }

  for (const box of form.querySelectorAll('input[name="machine"]')) {
    box.addEventListener("change", () => { for (const s of sensorsOf(box.value)) s.checked = box.checked; });
  }
  for (const box of form.querySelectorAll('input[name="sensor"]')) {
    box.addEventListener("change", () => {
      const all = sensorsOf(box.dataset.machine);
      const machine = form.querySelector(`input[name="machine"][value="${CSS.escape(box.dataset.machine)}"]`);
      machine.checked = all.every((s) => s.checked);
      machine.indeterminate = !machine.checked && all.some((s) => s.checked);
    });
  }
  form.addEventListener("change", () => {
    document.getElementById("custom-range").hidden = form.elements.range.value !== "custom";
    stale();
  });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    stale();
    let total, asked;
    try {
      asked = query();
      total = await countRows(asked.params);
    } catch (err) { showErrors(form, err); return; }
    const { params, start, end } = asked;
    const span = `${when(start.toISOString())} – ${when(end.toISOString())} (UTC ${start.toISOString()} – ${end.toISOString()})`;
    result.hidden = false;
    result.dataset.total = String(total);
    if (total === 0) {
      summary.textContent = `No readings in ${span} for this selection: nothing to download. Pick a longer range or other sensors.`;
      return;
    }
    const format = form.elements.format.value;
    params.set("format", format);
    const rows = `${total.toLocaleString()} row${total === 1 ? "" : "s"}`;
    summary.textContent = `${rows} in ${span}.`;
    link.href = `${HISTORY}?${params}`;
    link.textContent = `Download ${rows} as ${format.toUpperCase()}`;
    link.hidden = false;
  });
});
