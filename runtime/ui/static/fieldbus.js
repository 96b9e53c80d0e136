// Settings → Fieldbus: the [modbus] and [profibus] sections edited through
// /api/v1/fieldbus/{modbus,profibus}/config (the device checks everything; its problems appear
// by the field or by the register-map row), what runs now from /api/v1/fieldbus/status.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "settings-fieldbus") return;
  const { api, el, showErrors, clearErrors, toast, every } = window.Eso;
  const options = document.getElementById("fb-options").dataset;
  const KINDS = options.kinds.split(",");
  const TYPES = options.types.split(",");
  const MODULE_KINDS = options.moduleKinds.split(",");
  const ORDERS = ["big", "little"];
  const modbusForm = document.getElementById("modbus-form");
  const profibusForm = document.getElementById("profibus-form");
  const mapBody = document.querySelector("#register-map tbody");
  const plant = { machines: [], sensors: [] };
  let modbus = null;       // the [modbus] section as last loaded (keeps fields the form lacks)
  let profibus = null;
  let mapEdited = false;   // the default map stays the default until a row is edited

  // -- small helpers -----------------------------------------------------------------------

  const orNull = (v) => (v === "" || v === undefined ? null : v);
  // A number when the text is one, else the text itself: the API then says what is wrong.
  const num = (v) => (v === "" ? null : Number.isFinite(Number(v)) ? Number(v) : v);
  const register = (address) => {
    const n = Number(address);
    return Number.isInteger(n) && n >= 0 ? "4" + String(n + 1).padStart(n < 9999 ? 4 : 5, "0") : "";
  };
  function select(name, values, current, labels) {
    const list = [...values];
    if (current && !list.includes(current)) list.push(current); // keep what the config says
    return el("select", { "data-field": name },
      ...list.map((v) => el("option", { value: v, selected: String(v) === String(current ?? "") }, (labels && labels[v]) || v || "–")));
  }

  // -- Modbus: form ----------------------------------------------------------------------

  function fillModbus(m) {
    const f = modbusForm.elements;
    f.enabled.checked = m.enabled;
    f.unit_id.value = m.unit_id;
    f.writes_enabled.checked = m.writes_enabled;
    f.gaps.value = m.gaps;
    f.max_age_s.value = m.max_age_s;
    f.word_order.value = m.word_order;
    f.byte_order.value = m.byte_order;
    f["tcp.enabled"].checked = m.tcp.enabled;
    f["tcp.host"].value = m.tcp.host;
    f["tcp.port"].value = m.tcp.port ?? "";
    f["rtu.enabled"].checked = m.rtu.enabled;
    f["rtu.device"].value = m.rtu.device ?? "";
    f["rtu.baud"].value = m.rtu.baud;
    f["rtu.parity"].value = m.rtu.parity;
    f["rtu.stop_bits"].value = String(m.rtu.stop_bits);
  }

  function modbusBody() {
    const f = modbusForm.elements;
    const unit = f.unit_id.value.trim();
    return {
      ...modbus,
      enabled: f.enabled.checked,
      unit_id: unit === "any" ? "any" : num(unit),
      writes_enabled: f.writes_enabled.checked,
      gaps: f.gaps.value,
      max_age_s: num(f.max_age_s.value),
      word_order: f.word_order.value,
      byte_order: f.byte_order.value,
      tcp: { ...modbus.tcp, enabled: f["tcp.enabled"].checked, host: f["tcp.host"].value.trim(), port: num(f["tcp.port"].value) },
      rtu: { ...modbus.rtu, enabled: f["rtu.enabled"].checked, device: orNull(f["rtu.device"].value.trim()),
        baud: num(f["rtu.baud"].value), parity: f["rtu.parity"].value, stop_bits: Number(f["rtu.stop_bits"].value) },
      registers: modbus.registers === null && !mapEdited ? null : mapRows().map(readRow),
    };
  }

  // -- Modbus: the register map table ----------------------------------------------------

  function sensorOf(id) { return plant.sensors.find((s) => s.id === id); }

  function mapRow(entry) {
    const tr = el("tr", { class: "fb-entry" });
    tr.entry = { ...entry };
    const machineIds = ["", ...plant.machines.map((m) => m.id)];
    const sensorIds = ["", ...plant.sensors.map((s) => s.id)];
    const sensor = sensorOf(entry.sensor);
    const metrics = ["", ...(sensor ? sensor.metrics.map((m) => m.metric) : [])];
    const axes = ["", ...(sensor ? sensor.axes : ["x", "y", "z"])];
    const value = (entry.kind || "value") === "value";
    tr.append(
      el("td", { class: "fb-register" }, register(entry.address)),
      el("td", {}, el("input", { "data-field": "address", value: entry.address ?? "", size: 6, inputmode: "numeric" })),
      el("td", {}, select("kind", KINDS, entry.kind || "value")),
      el("td", {}, select("machine", machineIds, entry.machine ?? "")),
      el("td", {}, value ? select("sensor", sensorIds, entry.sensor ?? "") : "–"),
      el("td", {}, value ? select("metric", metrics, entry.metric ?? "") : "–"),
      el("td", {}, value ? select("axis", axes, entry.axis ?? "", { "": "overall" }) : "–"),
      el("td", {}, select("type", ["", ...TYPES], entry.type ?? "", { "": "default" })),
      el("td", {}, el("input", { "data-field": "scale", value: entry.scale ?? 1, size: 5 })),
      el("td", {}, select("word_order", ["", ...ORDERS], entry.word_order ?? "", { "": "map's" })),
      el("td", {}, select("byte_order", ["", ...ORDERS], entry.byte_order ?? "", { "": "map's" })),
      el("td", {}, el("input", { "data-field": "name", value: entry.name ?? "", size: 14 })),
      el("td", {}, el("button", { type: "button", class: "link danger", "data-action": "remove" }, "Remove")),
    );
    return tr;
  }

  // The row's entry from its inputs; a machine-kind row sends machine only (as the API wants).
  function readRow(tr) {
    const get = (name) => { const input = tr.querySelector(`[data-field="${name}"]`); return input ? input.value : ""; };
    const kind = get("kind");
    const entry = { ...tr.entry, address: num(get("address").trim()), kind, machine: orNull(get("machine")),
      type: orNull(get("type")), scale: num(get("scale").trim()) ?? 1, word_order: orNull(get("word_order")),
      byte_order: orNull(get("byte_order")), name: orNull(get("name").trim()) };
    if (kind === "value") Object.assign(entry, { sensor: orNull(get("sensor")), metric: orNull(get("metric")), axis: orNull(get("axis")) });
    else Object.assign(entry, { sensor: null, metric: null, axis: null });
    return entry;
  }

  function mapRows() { return [...mapBody.querySelectorAll("tr.fb-entry")]; }

  function showMap(entries, origin) {
    mapBody.replaceChildren(...entries.map(mapRow));
    document.getElementById("map-origin").textContent = origin;
  }

  // The documented default map, as rows: from the running map's JSON export (alarm bits and
  // default slots no sensor fills cannot be entries of a map of your own).
  function defaultEntries(rows) {
    return rows.filter((r) => r.kind !== "alarm_bit" && (r.kind !== "value" || r.sensor)).map((r) => (
      r.kind === "value"
        ? { address: r.address, kind: "value", machine: null, sensor: r.sensor, metric: r.metric, axis: r.axis, type: r.type, scale: 1 }
        : { address: r.address, kind: r.kind, machine: r.machine, type: r.type, scale: 1 }));
  }

  async function loadMap() {
    mapEdited = false;
    if (modbus.registers !== null) {
      showMap(modbus.registers, "Your own register map (" + modbus.registers.length + " entries).");
      return;
    }
    const rows = await api("GET", "/fieldbus/modbus/map?format=json");
    showMap(defaultEntries(rows), "The documented default map. Edit, add or remove a row and save to make it your own.");
  }

  mapBody.addEventListener("change", (ev) => {
    const tr = ev.target.closest("tr.fb-entry");
    if (!tr) return;
    mapEdited = true;
    const field = ev.target.dataset.field;
    tr.entry = readRow(tr);
    if (field === "sensor") {
      const sensor = sensorOf(ev.target.value);
      if (sensor) { tr.entry.machine = sensor.device_id; tr.entry.metric = sensor.metrics[0] && sensor.metrics[0].metric; tr.entry.axis = null; }
    }
    if (field === "kind" || field === "sensor") { tr.replaceWith(mapRow(tr.entry)); return; }
    if (field === "address") tr.querySelector(".fb-register").textContent = register(ev.target.value);
  });
  mapBody.addEventListener("click", (ev) => {
    if (ev.target.dataset.action !== "remove") return;
    mapEdited = true;
    const tr = ev.target.closest("tr");
    const next = tr.nextElementSibling;
    if (next && next.classList.contains("fb-problem")) next.remove();
    tr.remove();
  });
  document.getElementById("map-add").addEventListener("click", () => {
    mapEdited = true;
    const rows = mapRows().map(readRow);
    const end = rows.reduce((top, e) => {
      const size = ["float32", "int32", "uint32"].includes(e.type || (e.kind === "value" ? "float32" : "int16")) ? 2 : 1;
      return Number.isInteger(e.address) ? Math.max(top, e.address + size) : top;
    }, 0);
    const sensor = plant.sensors[0];
    const tr = mapRow({ address: end, kind: "value", sensor: sensor && sensor.id, machine: sensor && sensor.device_id,
      metric: sensor && sensor.metrics[0] && sensor.metrics[0].metric, scale: 1 });
    mapBody.append(tr);
    tr.querySelector('[data-field="address"]').focus();
  });
  document.getElementById("map-default").addEventListener("click", async () => {
    if (!confirm("Serve the documented default map again? Your own map is replaced when you confirm.")) return;
    await save("modbus", modbusForm, { ...modbusBody(), registers: null });
  });

  // Problems that name registers[N] go to row N (the first one named carries the message,
  // every one named is marked).
  function showMapProblems(problems) {
    mapBody.querySelectorAll("tr.fb-problem").forEach((r) => r.remove());
    mapRows().forEach((r) => r.classList.remove("fb-bad"));
    const rows = mapRows();
    for (const problem of problems) {
      const text = String(problem);
      const named = [...text.matchAll(/registers\[(\d+)\]/g)].map((m) => Number(m[1])).filter((i) => rows[i]);
      if (!named.length) continue;
      named.forEach((i) => rows[i].classList.add("fb-bad"));
      const row = rows[named[0]];
      const message = text.replace(/^modbus\.registers\[\d+\]\.?/, "").replace(/^modbus: /, "").replace(/^: /, "");
      let slot = row.nextElementSibling;
      if (!slot || !slot.classList.contains("fb-problem")) {
        slot = el("tr", { class: "fb-problem" }, el("td", { colspan: 13, class: "err" }));
        row.after(slot);
      }
      const cell = slot.firstChild;
      cell.textContent = (cell.textContent ? cell.textContent + " " : "") + message;
    }
  }

  // -- PROFIBUS ----------------------------------------------------------------------------

  // The running address, and where it came from when that is the board's switch (with what the
  // switch reads, also when that reading was refused).
  function stationAddress(p) {
    const shown = p.address === null ? "–" : String(p.address);
    if (p.address_from !== "switch") return shown;
    return shown + (p.address_switch ? " (switch reads " + p.address_switch.value + ")" : " (from the switch)");
  }

  function fillProfibus(p) {
    const f = profibusForm.elements;
    f.enabled.checked = p.enabled;
    f.port.value = p.port ?? "";
    // "switch": the station address is read from the board's DIP switch at each start.
    f.address_switch.checked = p.address === "switch";
    f.address.value = p.address === "switch" ? "" : p.address;
    f.address.disabled = f.address_switch.checked;
    f.baud.value = String(p.baud);
    f.ident_number.value = "0x" + p.ident_number.toString(16).toUpperCase().padStart(4, "0");
    f.writes_enabled.checked = p.writes_enabled;
    f.require_watchdog.checked = p.require_watchdog;
    // One row per machine: configured modules in slot order first, then machines not on the bus.
    const modules = p.modules ?? plant.machines.map((m) => ({ machine: m.id, kind: "health" }));
    const listed = modules.map((m) => m.machine);
    const rows = [...modules, ...plant.machines.filter((m) => !listed.includes(m.id)).map((m) => ({ machine: m.id, kind: "" }))];
    document.querySelector("#profibus-modules tbody").replaceChildren(...rows.map((m, i) => {
      const machine = plant.machines.find((x) => x.id === m.machine);
      return el("tr", { "data-machine": m.machine },
        el("td", { class: "fb-slot" }, m.kind ? String(i + 1) : "–"),
        el("td", {}, machine ? machine.name + " (" + m.machine + ")" : m.machine),
        el("td", {}, select("module", ["", ...MODULE_KINDS], m.kind, { "": "not on the bus" })));
    }));
  }

  // Ident numbers are written in hex (0x0ECE) or decimal; anything else goes to the API as
  // typed, so its message says what is wrong.
  function ident(text) {
    const t = text.trim();
    if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t, 16);
    return /^\d+$/.test(t) ? Number(t) : t;
  }

  function profibusBody() {
    const f = profibusForm.elements;
    const rows = [...document.querySelectorAll("#profibus-modules tbody tr")];
    const modules = rows.map((r) => ({ machine: r.dataset.machine, kind: r.querySelector("select").value })).filter((m) => m.kind);
    const asDefault = profibus.modules === null && modules.length === plant.machines.length &&
      modules.every((m, i) => m.kind === "health" && m.machine === plant.machines[i].id);
    return { ...profibus, enabled: f.enabled.checked, port: orNull(f.port.value.trim()), address: f.address_switch.checked ? "switch" : num(f.address.value),
      baud: Number(f.baud.value), ident_number: ident(f.ident_number.value), writes_enabled: f.writes_enabled.checked,
      require_watchdog: f.require_watchdog.checked, modules: asDefault ? null : modules };
  }

  // -- saving, status ----------------------------------------------------------------------

  function describe(answer) {
    const lines = ["applied: " + answer.applied + (answer.changed.length ? " (" + answer.changed.join(", ") + ")" : "")];
    for (const [name, done] of Object.entries(answer.fieldbus || {})) {
      lines.push(name + ": " + done.action + (done.running ? ", running" : ", not running") + (done.error ? " — " + done.error : ""));
    }
    if (answer.next_start && answer.next_start.length) lines.push("at the next start: " + answer.next_start.join(", "));
    return lines.join("\n");
  }

  async function save(section, form, body) {
    clearErrors(form);
    if (section === "modbus") showMapProblems([]);
    let answer;
    try {
      answer = await api("PUT", "/fieldbus/" + section + "/config", body);
    } catch (err) {
      const problems = Array.isArray(err.details) && err.details.length ? err.details.map(String) : [];
      const rows = mapRows();
      const byRow = (p) => section === "modbus" && [...p.matchAll(/registers\[(\d+)\]/g)].some((m) => rows[Number(m[1])]);
      showErrors(form, { message: err.message, details: problems.filter((p) => !byRow(p)) });
      showMapProblems(problems.filter(byRow));
      const slot = form.querySelector('.err[data-for="form"]');
      if (!slot.textContent.includes(err.message)) slot.textContent = err.message + (slot.textContent ? " " + slot.textContent : "");
      toast("Not saved: " + err.message);
      return;
    }
    const out = document.getElementById("fieldbus-answer");
    out.textContent = describe(answer);
    out.dataset.applied = answer.applied;
    document.getElementById("fieldbus-result").hidden = false;
    toast(section === "modbus" ? "Modbus settings saved" : "PROFIBUS settings saved");
    await load();
    await refreshStatus();
  }

  function statusLines(target, title, pairs) {
    target.replaceChildren(el("dt", { class: "fb-title" }, title), el("dd", {}, ""),
      ...pairs.flatMap(([k, v, key]) => [el("dt", {}, k), el("dd", { dataset: { status: key } }, v)]));
  }

  async function refreshStatus() {
    const s = await api("GET", "/fieldbus/status");
    const m = s.modbus, p = s.profibus;
    const from = (x) => x.settings_from === "command_line" ? "command line (" + x.overrides.join(" ") + ")" : "config";
    statusLines(document.getElementById("modbus-status"), "Modbus", [
      ["State", m.running ? "running" : m.error ? "not running: " + m.error : "off", "modbus-state"],
      ["TCP", m.tcp.listening ? m.tcp.host + ":" + m.tcp.bound_port : m.tcp.enabled ? "not listening" : "off", "modbus-tcp"],
      ["RTU", m.rtu.open ? m.rtu.device + " " + m.rtu.baud + " 8-" + m.rtu.parity + "-" + m.rtu.stop_bits : m.rtu.enabled ? "not open" : "off", "modbus-rtu"],
      ["Unit id", String(m.unit_id), "modbus-unit"],
      ["Writes", m.writes_enabled ? "allowed" : "refused", "modbus-writes"],
      ["Register map", m.register_map, "modbus-map"],
      ["Settings from", from(m), "modbus-from"],
    ]);
    statusLines(document.getElementById("profibus-status"), "PROFIBUS DP", [
      ["State", p.running ? "running" : p.error ? "not running: " + p.error : "off", "profibus-state"],
      ["Serial port", p.port || "–", "profibus-port"],
      ["Station address", stationAddress(p), "profibus-address"],
      ["Baud", String(p.baud), "profibus-baud"],
      ["Ident number", p.ident_hex, "profibus-ident"],
      ["DP state", p.dp_state ? p.dp_state + (p.master !== null ? " (master " + p.master + ")" : "") : "–", "profibus-dp"],
      ["Settings from", from(p), "profibus-from"],
    ]);
  }

  async function load() {
    [modbus, profibus] = await Promise.all([api("GET", "/fieldbus/modbus/config"), api("GET", "/fieldbus/profibus/config")]);
    fillModbus(modbus);
    await loadMap();
    fillProfibus(profibus);
  }

  modbusForm.addEventListener("submit", (ev) => { ev.preventDefault(); save("modbus", modbusForm, modbusBody()); });
  profibusForm.elements.address_switch.addEventListener("change", (ev) => {
    profibusForm.elements.address.disabled = ev.target.checked;
  });
  profibusForm.addEventListener("submit", (ev) => { ev.preventDefault(); save("profibus", profibusForm, profibusBody()); });

  (async () => {
    const [machines, sensors] = await Promise.all([api("GET", "/devices/"), api("GET", "/sensors/")]);
    plant.machines = machines;
    plant.sensors = sensors;
    await load();
    document.body.dataset.loaded = "1";
    every(3000, refreshStatus);
  })().catch((err) => toast("Could not load the settings: " + err.message));
});
