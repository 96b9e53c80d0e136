// Alerts: filterable list, detail with the readings around the time, acknowledgement with a
// work order id and a note (POST /api/v1/alerts/{id}/ack).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, el, fmt, when, live, showErrors, clearErrors, toast, formValues } = window.Eso;
  const filter = document.getElementById("alert-filter");
  const tbody = document.querySelector("#alerts tbody");
  const detail = document.getElementById("alert-detail");
  const ackForm = document.getElementById("ack-form");
  const canAck = ["operator", "admin"].includes(document.body.dataset.role);
  let current = null;

  const params = new URLSearchParams(location.search);
  for (const name of ["status", "severity", "device_id"]) {
    if (params.get(name)) filter.elements[name].value = params.get(name);
  }

  async function list() {
    const v = formValues(filter);
    const query = new URLSearchParams({ status: v.status, limit: 500 });
    if (v.severity) query.set("severity", v.severity);
    if (v.device_id) query.set("device_id", v.device_id);
    const alerts = await api("GET", "/alerts/?" + query);
    alerts.sort((a, b) => b.id - a.id);
    tbody.replaceChildren(...alerts.map((a) => el("tr", { class: "sev-" + a.severity, dataset: { alert: a.id } },
      el("td", {}, a.id), el("td", {}, when(a.created_at)), el("td", {}, a.device_name),
      el("td", {}, a.severity), el("td", {}, a.status), el("td", {}, a.alert_type),
      el("td", {}, a.message), el("td", {}, a.work_order_id ?? ""),
      el("td", {}, el("button", { type: "button", class: "link", onclick: () => open(a.id) },
        canAck && !a.acknowledged && a.status !== "resolved" ? "Acknowledge…" : "Details")))));
    document.getElementById("alerts-empty").hidden = alerts.length > 0;
  }
  filter.addEventListener("change", list);
  // Every raise, escalation, acknowledgement and resolution changes the active alerts, which
  // the device pushes (GET /api/v1/stream/): the list (whatever its filter) is read again then.
  live({}, { alerts: () => list().catch((e) => console.warn(e)) });

  async function open(id) {
    const a = await api("GET", "/alerts/" + id + "/");
    current = a;
    detail.hidden = false;
    document.getElementById("detail-id").textContent = "#" + a.id;
    const fields = ["device_name", "equipment_id", "sensor_name", "alert_type", "alert_code", "severity",
      "peak_severity", "status", "message", "recommended_action", "current_value", "threshold_value",
      "unit", "created_at", "last_seen_at", "resolved_at", "acknowledged_at", "acknowledged_by",
      "work_order_id", "note"];
    document.getElementById("detail-fields").replaceChildren(...fields.flatMap((f) => {
      const v = a[f];
      const shown = f.endsWith("_at") ? when(v) : typeof v === "number" ? fmt(v) : v ?? "–";
      return [el("dt", {}, f.replace(/_/g, " ")), el("dd", { dataset: { field: f } }, shown)];
    }));
    if (ackForm) { ackForm.hidden = a.acknowledged || a.status === "resolved"; clearErrors(ackForm); }
    const t = Date.parse(a.created_at);
    const rows = await api("GET", "/telemetry/history/?" + new URLSearchParams({
      sensor_id: a.sensor_id, metric: a.metric, start_time: new Date(t - 600e3).toISOString(),
      end_time: new Date(Math.min(Date.now(), t + 600e3)).toISOString(), limit: 5000 }));
    window.EsoCharts.timeChart(document.getElementById("detail-chart"),
      [{ label: a.sensor_name + " " + a.metric, points: rows.map((r) => [Date.parse(r.timestamp), r.value]) }],
      a.threshold_value != null ? [{ label: "threshold", value: a.threshold_value, kind: a.severity }] : [], a.unit);
    detail.scrollIntoView({ behavior: "smooth" });
  }
  document.getElementById("detail-close").addEventListener("click", () => { detail.hidden = true; current = null; });

  if (ackForm) ackForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!current) return;
    const v = formValues(ackForm);
    const body = {};
    if (v.work_order_id.trim()) body.work_order_id = v.work_order_id.trim();
    if (v.note.trim()) body.note = v.note.trim();
    try {
      await api("POST", "/alerts/" + current.id + "/ack", body);
      toast("Alert #" + current.id + " acknowledged");
      ackForm.reset();
      await open(current.id);
      await list();
    } catch (err) { showErrors(ackForm, err); }
  });
  const wanted = params.get("alert");
  if (wanted) open(wanted);
});
