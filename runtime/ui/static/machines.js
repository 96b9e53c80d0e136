// Settings → Machines and sensors: the machines of the device config (names, equipment id,
// location, type, running speed, bearing, ISO 20816 group and foundation, sensor names) and
// each machine's alert rules. Machines are saved as integrators do it: GET /config/, change
// the one machine, PUT /config/ (the device checks everything; a refused save changes
// nothing). Rules go through /alerts/rules/; the rule editor is built from each rule type's
// fields, which the page gets from the rule models (runtime/ui/rule_forms.py).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "settings-machines") return;
  const { api, el, fmt, clearErrors, toast, formValues } = window.Eso;
  const D = JSON.parse(document.getElementById("machines-data").textContent);
  const form = document.getElementById("machine-form");
  const ruleForm = document.getElementById("rule-form");
  const editor = document.getElementById("machine-editor");
  const TYPES = ["motor", "pump_motor", "fan_motor", "pump", "fan", "gearbox", "compressor"];
  const BAND_UNITS = { "1x": "mm/s", "2x": "mm/s", "3x": "mm/s" };
  let machines = [];    // the config's machines, as GET /config/ shows them
  let current = null;   // the machine being edited
  let readings = new Map(); // metric -> latest overall readings of the machine
  let editingRule = null;   // the rule being edited (null: a new one)
  let ruleType = "threshold";

  // -- helpers ---------------------------------------------------------------------------

  // A number typed in a form: null when empty; text that is not a number is sent as typed
  // so the device's answer says what is wrong with it.
  function num(text) {
    const t = String(text ?? "").trim();
    if (t === "") return null;
    const n = Number(t);
    return Number.isFinite(n) ? n : t;
  }
  const shown = (v) => (v === null || v === undefined ? "" : String(v));

  // Each problem "path: message" of a refused save goes next to the slot whose data-for is
  // the path below `prefix` (or the nearest enclosing path that has a slot), otherwise into
  // the form's general slot with its whole path.
  function placeProblems(target, err, prefix) {
    clearErrors(target);
    let problems = Array.isArray(err.details) && err.details.length ? err.details : [err.message];
    if (err.status === 409 && target === ruleForm) problems = ["id: " + err.message];
    for (const problem of problems.map(String)) {
      const at = problem.indexOf(": ");
      let slot = null;
      if (at > 0) {
        let rest = problem.slice(0, at);
        if (prefix.test(rest)) rest = rest.replace(prefix, "");
        while (rest && !slot) {
          slot = target.querySelector('.err[data-for="' + CSS.escape(rest) + '"]');
          const shorter = rest.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
          if (shorter === rest) break;
          rest = shorter;
        }
      }
      const text = slot ? problem.slice(at + 2) : problem;
      slot = slot || target.querySelector('.err[data-for="form"]');
      slot.textContent = (slot.textContent ? slot.textContent + " " : "") + text;
    }
  }

  function isoLine(group, foundation) {
    const b = D.iso[group + "-" + foundation];
    if (!b) return "";
    return "Zone boundaries (mm/s): A/B " + b[0] + " · B/C " + b[1] + " (built-in warning) · C/D " + b[2] + " (built-in alert)";
  }

  // -- the list --------------------------------------------------------------------------

  function bearingText(b) {
    if (!b) return "–";
    if (b.balls !== null && b.balls !== undefined) return (b.designation ? b.designation + ": " : "") + b.balls + " × " + b.ball_diameter_mm + " mm on " + b.pitch_diameter_mm + " mm";
    return b.designation;
  }

  async function loadMachines() {
    const config = await api("GET", "/config/");
    machines = config.machines;
    document.querySelector("#machines tbody").replaceChildren(...machines.map((m) =>
      el("tr", { dataset: { machine: m.id }, class: current && current.id === m.id ? "on" : null },
        el("td", {}, el("code", {}, m.id)), el("td", { dataset: { field: "name" } }, m.name),
        el("td", { dataset: { field: "equipment_id" } }, m.equipment_id), el("td", {}, m.location),
        el("td", {}, m.type), el("td", { class: "num" }, m.running_speed_rpm ? fmt(m.running_speed_rpm, 0) + " rpm" : "–"),
        el("td", {}, bearingText(m.bearing)), el("td", {}, "group " + m.iso_group + ", " + m.foundation),
        el("td", {}, m.sensors.length),
        el("td", {}, el("button", { type: "button", class: "link", onclick: () => { location.hash = m.id; } }, "Edit")))));
    const types = new Set([...TYPES, ...machines.map((m) => m.type)]);
    document.getElementById("machine-types").replaceChildren(...[...types].sort().map((t) => el("option", { value: t })));
    return config;
  }

  // -- the machine form ------------------------------------------------------------------

  function fill(m) {
    clearErrors(form);
    const set = (name, value) => { form.elements[name].value = shown(value); };
    for (const f of ["name", "equipment_id", "location", "type", "running_speed_rpm", "iso_group", "foundation"]) set(f, m[f]);
    const b = m.bearing || {};
    for (const f of ["designation", "balls", "ball_diameter_mm", "pitch_diameter_mm", "contact_angle_deg"]) set("bearing." + f, b[f]);
    document.getElementById("machine-form-title").textContent = "Machine " + m.id;
    document.getElementById("rules-machine").textContent = m.name + " (" + m.id + ")";
    document.getElementById("iso-zones").textContent = isoLine(m.iso_group, m.foundation);
    document.querySelector("#sensor-names tbody").replaceChildren(...m.sensors.map((s, i) =>
      el("tr", { dataset: { sensor: s.sensor } }, el("td", {}, el("code", {}, s.sensor)),
        el("td", {}, el("input", { name: "sensors[" + i + "].name", value: shown(s.name), "aria-label": "name of " + s.sensor }),
          el("p", { class: "err", dataset: { for: "sensors[" + i + "].name" } }),
          el("p", { class: "err", dataset: { for: "sensors[" + i + "]" } })))));
  }

  function bearingFrom(v) {
    const parts = ["designation", "balls", "ball_diameter_mm", "pitch_diameter_mm", "contact_angle_deg"];
    if (parts.every((f) => !String(v["bearing." + f]).trim())) return null;
    const out = { designation: String(v["bearing.designation"]).trim() || null };
    for (const f of parts.slice(1)) {
      const value = num(v["bearing." + f]);
      if (value !== null) out[f] = value;
    }
    return out;
  }

  // The machine as the form says, on top of what the config holds for it (so settings the
  // page does not show, like mountings and analysis options, are sent back unchanged).
  function machineFrom(old) {
    const v = formValues(form);
    const sensors = old.sensors.map((s, i) => {
      const input = form.elements["sensors[" + i + "].name"];
      return { ...s, name: input ? input.value.trim() || null : s.name };
    });
    return { ...old, name: v.name.trim(), equipment_id: v.equipment_id.trim(), location: v.location.trim(),
      type: v.type.trim(), running_speed_rpm: num(v.running_speed_rpm), bearing: bearingFrom(v),
      iso_group: num(v.iso_group), foundation: v.foundation, sensors };
  }

  const APPLIED = {
    live: "Saved and applied at once.",
    restarted: "Saved; the device's services were restarted to apply it (acquisition continued).",
    next_start: "Saved; it applies at the next start of esocore.",
    unchanged: "Nothing changed.",
  };

  function showResult(answer) {
    const out = document.getElementById("machine-result");
    let text = APPLIED[answer.applied] || "Saved (" + answer.applied + ").";
    if (answer.changed.length) text += " Changed: " + answer.changed.join(", ") + ".";
    if (answer.next_start.length) text += " At the next start: " + answer.next_start.join(", ") + ".";
    out.textContent = text;
    out.dataset.applied = answer.applied;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = document.getElementById("machine-result");
    out.textContent = "saving…";
    delete out.dataset.applied;
    try {
      const config = await api("GET", "/config/");
      const at = config.machines.findIndex((m) => m.id === current.id);
      if (at < 0) throw new Error("machine " + current.id + " is no longer in the config; reload the page");
      config.machines[at] = machineFrom(config.machines[at]);
      try {
        const answer = await api("PUT", "/config/", config);
        clearErrors(form);
        showResult(answer);
        toast("Machine " + current.id + ": " + (APPLIED[answer.applied] || answer.applied));
        await loadMachines();
        current = machines.find((m) => m.id === current.id);
        fill(current);
        await loadRules();
      } catch (err) {
        out.textContent = "Not saved: nothing was changed.";
        out.dataset.applied = "refused";
        placeProblems(form, err, new RegExp("^machines\\[" + at + "\\]\\.?"));
      }
    } catch (err) {
      out.textContent = "";
      placeProblems(form, err, /^$/);
    }
  });
  for (const name of ["iso_group", "foundation"]) {
    form.elements[name].addEventListener("change", () => {
      document.getElementById("iso-zones").textContent = isoLine(form.elements.iso_group.value, form.elements.foundation.value);
    });
  }
  document.getElementById("machine-close").addEventListener("click", () => { location.hash = ""; });

  // -- the machine's rules ---------------------------------------------------------------

  const LEVELS = {
    threshold: ["info", "warning", "alert", "critical"],
    rate_of_change: ["warning", "alert", "critical"],
    trend: ["warning", "alert", "critical"],
    spectral_band: ["warning", "alert", "critical"],
    baseline: ["warning_sigma", "alert_sigma", "critical_sigma"],
  };

  function unitOf(r) {
    if (r.type === "spectral_band") return BAND_UNITS[r.band] || "m/s²";
    const seen = readings.get(r.metric);
    const unit = seen && seen.length ? seen[0].unit : "";
    if (r.type === "rate_of_change") return unit + "/h";
    if (r.type === "trend") return unit + "/day";
    if (r.type === "baseline") return "σ";
    return unit;
  }

  function levelsText(r) {
    if (r.type === "iso_zone") {
      const b = D.iso[(r.group ?? current.iso_group) + "-" + (r.foundation ?? current.foundation)];
      if (!b) return "";
      let text = "zone C ≥ " + b[1] + " mm/s warning · zone D ≥ " + b[2] + " mm/s alert";
      if (r.critical_factor) text += " · ≥ " + fmt(b[2] * r.critical_factor) + " mm/s critical";
      return text;
    }
    if (r.type === "sensor_fault") {
      return r.faults.filter((f) => f !== "overflow").join(", ") + ": " + r.severity +
        (r.faults.includes("overflow") ? " · " + r.overflow_count + " overflows in " + r.overflow_window_s + " s: " + r.overflow_severity : "");
    }
    const names = LEVELS[r.type] || [];
    const unit = unitOf(r);
    const parts = names.filter((n) => r[n] !== null && r[n] !== undefined)
      .map((n) => n.replace("_sigma", "") + " " + r[n] + (unit ? " " + unit : ""));
    const dir = r.direction ? r.direction + ": " : "";
    return dir + parts.join(" · ");
  }

  function watchesText(r) {
    const what = r.type === "spectral_band" ? "band " + r.band : r.type === "sensor_fault" ? "sensor health" : r.metric;
    const sensor = r.sensor || "every sensor";
    return what + (r.axis ? " (" + r.axis + ")" : "") + " on " + sensor;
  }

  // Where a rule's levels come from: the built-in ones derive from the machine's settings.
  function sourceText(r) {
    if (!r.builtin) {
      const own = r.overrides_builtin ? "your override of the built-in rule" : "your rule";
      return r.machine === null ? own + " (every machine)" : own;
    }
    if (r.type === "iso_zone") {
      const g = r.group ?? current.iso_group;
      const f = r.foundation ?? current.foundation;
      return "built-in: ISO 20816-3, group " + g + ", " + f + " foundation (this machine's settings)";
    }
    if (r.type === "spectral_band") {
      return "built-in: bearing " + bearingText(current.bearing) + " at " + fmt(current.running_speed_rpm, 0) + " rpm (this machine's settings); device levels";
    }
    if (r.type === "sensor_fault") return "built-in: every sensor's own health";
    if (r.metric === "temperature") return "built-in: rolling-bearing temperature limits";
    return "built-in";
  }

  async function loadRules() {
    const [rules, rows] = await Promise.all([
      api("GET", "/alerts/rules/"),
      api("GET", "/telemetry/?" + new URLSearchParams({ device_id: current.id })),
    ]);
    readings = new Map();
    for (const row of rows) {
      if (!readings.has(row.metric)) readings.set(row.metric, []);
      readings.get(row.metric).push(row);
    }
    const mine = rules.filter((r) => r.machine === current.id || r.machine === null);
    document.querySelector("#rules tbody").replaceChildren(...mine.map((r) =>
      el("tr", { dataset: { rule: r.id, builtin: r.builtin ? "1" : "0" } },
        el("td", {}, el("code", {}, r.id)), el("td", {}, r.type.replace(/_/g, " ")),
        el("td", {}, watchesText(r)), el("td", { class: "levels" }, levelsText(r)),
        el("td", { class: "muted" }, sourceText(r)), el("td", {}, r.enabled ? "yes" : "no"),
        el("td", {}, r.builtin
          ? el("button", { type: "button", class: "link", title: "Save a rule of your own with this id, which replaces the built-in one",
            onclick: () => openRule(r.type, r) }, "Override")
          : [el("button", { type: "button", class: "link", onclick: () => openRule(r.type, r) }, "Edit"), " ",
            el("button", { type: "button", class: "link danger", onclick: () => deleteRule(r) }, "Delete")]))));
  }

  async function deleteRule(r) {
    const restores = r.overrides_builtin ? " The built-in rule applies again." : "";
    if (!confirm("Delete rule " + r.id + "?" + restores)) return;
    const out = document.getElementById("rules-error");
    out.textContent = "";
    try {
      await api("DELETE", "/alerts/rules/" + encodeURIComponent(r.id));
      toast("Rule " + r.id + " deleted");
      ruleForm.hidden = true;
      await loadRules();
    } catch (err) { out.textContent = err.message; }
  }

  // -- the rule editor, built from the rule type's fields --------------------------------

  const LABELS = {
    id: "Id", enabled: "Enabled", sensor: "Sensor", metric: "Metric", band: "Band", axis: "Axis",
    direction: "Direction", debounce_s: "Debounce (s)", clear_debounce_s: "Clear debounce (s)",
    window_s: "Window (s)", learn_hours: "Learn for (hours)", no_data_s: "No data after (s)",
    overflow_window_s: "Overflow window (s)", alert_type: "Alert type", message: "Message",
    recommended_action: "Recommended action",
  };
  const label = (name) => LABELS[name] || name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, " ");

  function control(f) {
    const name = f.name;
    if (f.kind === "bool") return el("input", { type: "checkbox", name });
    if (f.kind === "multi") {
      return el("span", { class: "checks" }, ...f.options.map((o) =>
        el("label", { class: "check" }, el("input", { type: "checkbox", name, value: o }), " " + o)));
    }
    if (name === "sensor") {
      return el("select", { name }, el("option", { value: "" }, "every sensor of the machine"),
        ...current.sensors.map((s) => el("option", { value: s.sensor }, s.sensor + (s.name ? " · " + s.name : ""))));
    }
    if (f.kind === "select") {
      const blank = f.default === null ? [el("option", { value: "" }, name === "axis" ? "overall" : "–")] : [];
      return el("select", { name }, ...blank, ...f.options.map((o) => el("option", { value: String(o) }, String(o))));
    }
    const attrs = { name, autocomplete: "off" };
    if (f.kind === "number") attrs.inputmode = f.integer ? "numeric" : "decimal";
    if (name === "metric") attrs.list = "rule-metrics";
    if (name === "message" || name === "recommended_action") attrs.size = 60;
    return el("input", attrs);
  }

  function fieldRow(f) {
    const hint = f.hint ? el("small", { class: "muted" }, " (" + f.hint + ")") : null;
    const now = f.name === "metric" ? el("small", { class: "muted", id: "rule-now" }) : null;
    let box;
    if (f.kind === "bool") box = el("label", { class: "check" }, control(f), " " + label(f.name));
    else if (f.kind === "multi") box = el("fieldset", {}, el("legend", {}, label(f.name)), control(f));
    else box = el("label", {}, label(f.name), hint, " ", control(f), now);
    return [box, el("p", { class: "err", dataset: { for: f.name } })];
  }

  function setValue(f, value) {
    const input = ruleForm.elements[f.name];
    if (f.kind === "bool") { input.checked = Boolean(value); return; }
    if (f.kind === "multi") {
      for (const box of ruleForm.querySelectorAll('input[name="' + f.name + '"]')) box.checked = (value || []).includes(box.value);
      return;
    }
    input.value = shown(value);
  }

  // The current value(s) of the chosen metric on this machine, to set levels against.
  function showNow() {
    const out = document.getElementById("rule-now");
    if (!out) return;
    const sensor = ruleForm.elements.sensor ? ruleForm.elements.sensor.value : "";
    const rows = (readings.get(ruleForm.elements.metric.value.trim()) || []).filter((r) => !sensor || r.sensor_id === sensor);
    out.textContent = rows.length ? " now: " + rows.map((r) => fmt(r.value) + " " + r.unit + " (" + r.sensor_id + ")").join(", ") : "";
  }

  function openRule(type, rule) {
    ruleType = type;
    editingRule = rule;
    const fields = D.rule_forms[type];
    const main = document.getElementById("rule-fields");
    const advanced = document.getElementById("rule-advanced-fields");
    main.replaceChildren(...fields.filter((f) => !f.advanced).map(fieldRow).flat(),
      el("datalist", { id: "rule-metrics" }, ...[...readings.keys()].sort().map((m) => el("option", { value: m }))));
    advanced.replaceChildren(...fields.filter((f) => f.advanced).map(fieldRow).flat());
    clearErrors(ruleForm);
    const values = rule || { id: current.id + "-" + type.replace(/_/g, "-") };
    for (const f of fields) setValue(f, values[f.name] !== undefined ? values[f.name] : f.default);
    ruleForm.elements.id.readOnly = Boolean(rule);
    const title = !rule ? "New " + type.replace(/_/g, " ") + " rule for " + current.id
      : rule.builtin ? "Override built-in rule " + rule.id : "Edit rule " + rule.id;
    document.getElementById("rule-form-title").textContent = title;
    if (ruleForm.elements.metric) {
      ruleForm.elements.metric.addEventListener("input", showNow);
      if (ruleForm.elements.sensor) ruleForm.elements.sensor.addEventListener("change", showNow);
      showNow();
    }
    ruleForm.hidden = false;
    ruleForm.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  // The rule as the form says; empty fields are left out, so the rule type's defaults apply.
  function ruleFrom() {
    const out = { type: ruleType, machine: editingRule ? editingRule.machine : current.id };
    for (const f of D.rule_forms[ruleType]) {
      if (f.kind === "bool") { out[f.name] = ruleForm.elements[f.name].checked; continue; }
      if (f.kind === "multi") {
        out[f.name] = [...ruleForm.querySelectorAll('input[name="' + f.name + '"]:checked')].map((b) => b.value);
        continue;
      }
      const text = ruleForm.elements[f.name].value.trim();
      if (text === "") continue;
      const numeric = f.kind === "number" || (f.kind === "select" && f.options.every((o) => typeof o === "number"));
      out[f.name] = numeric ? num(text) : text;
    }
    return out;
  }

  ruleForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = ruleFrom();
    try {
      if (editingRule) await api("PUT", "/alerts/rules/" + encodeURIComponent(editingRule.id), body);
      else await api("POST", "/alerts/rules/", body);
      clearErrors(ruleForm);
      ruleForm.hidden = true;
      toast("Rule " + body.id + " saved");
      await loadRules();
    } catch (err) { placeProblems(ruleForm, err, /^alerts\.rules\[\d+\]\.?/); }
  });
  document.getElementById("rule-add").addEventListener("click", () => openRule(document.getElementById("rule-type").value, null));
  document.getElementById("rule-cancel").addEventListener("click", () => { ruleForm.hidden = true; });

  // -- which machine: the address's #id ------------------------------------------------------

  async function route() {
    const id = decodeURIComponent(location.hash.slice(1));
    current = machines.find((m) => m.id === id) || null;
    for (const row of document.querySelectorAll("#machines tbody tr")) row.classList.toggle("on", row.dataset.machine === id);
    editor.hidden = !current;
    ruleForm.hidden = true;
    document.getElementById("machine-result").textContent = "";
    if (!current) return;
    fill(current);
    try { await loadRules(); } catch (err) { document.getElementById("rules-error").textContent = err.message; }
  }
  addEventListener("hashchange", route);

  loadMachines().then(route).catch((err) => {
    document.getElementById("machines-error").textContent = err.message;
  });
});
