// Settings → Device: name and time zone (GET/PUT /config/), the device's clock against the
// browser's, system figures (/device/info, /device/health) and the HTTPS certificate
// (/device/certificate). The clock is only shown here: the board's OS sets it (NTP).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (document.body.dataset.page !== "settings-device") return;
  const { api, when, showErrors, clearErrors, toast, formValues, every } = window.Eso;
  const CLOCK_WARN_S = 5; // beyond this trends and alert times visibly disagree with the plant
  const form = document.getElementById("device-form");

  async function loadConfig() {
    const config = await api("GET", "/config/");
    form.elements.name.value = config.device.name;
    form.elements.timezone.value = config.device.timezone;
  }

  function showName(name) {
    document.querySelector(".brand small").textContent = name;
    document.title = document.title.replace(/ · .*$/, " · " + name);
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const v = formValues(form);
    const name = v.name.trim();
    if (!name) {
      form.querySelector('.err[data-for="name"]').textContent = "give the device a name";
      return;
    }
    try {
      // The whole config goes back as read (secrets masked: the device keeps them).
      const config = await api("GET", "/config/");
      config.device.name = name;
      config.device.timezone = v.timezone.trim();
      const answer = await api("PUT", "/config/", config);
      showName(answer.config.device.name);
      toast("Device settings saved");
    } catch (err) { showErrors(form, err); }
  });

  function seconds(s) {
    const sign = s < 0 ? "−" : "+";
    const a = Math.abs(s);
    return sign + (a >= 100 ? a.toFixed(0) : a.toFixed(1)) + " s";
  }

  function duration(s) {
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60), r = Math.floor(s % 60);
    return (d ? d + " d " : "") + (d || h ? h + " h " : "") + m + " min " + r + " s";
  }

  function bytes(n) {
    if (n === null || n === undefined) return "–";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }

  const field = (name, text) => { document.querySelector(`#system [data-field="${name}"]`).textContent = text; };

  // The browser's time at the middle of the request is compared with the device's answer;
  // half the round trip bounds the error of that comparison.
  async function checkClock() {
    const sent = Date.now();
    const info = await api("GET", "/device/info");
    const got = Date.now();
    const offset = (Date.parse(info.time) - (sent + got) / 2) / 1000;
    const slack = (got - sent) / 2000;
    document.getElementById("clock-device").textContent = info.time;
    document.getElementById("clock-browser").textContent = new Date((sent + got) / 2).toISOString();
    const out = document.getElementById("clock-offset");
    out.dataset.offsetS = offset.toFixed(3);
    out.textContent = seconds(offset) + (offset > 0 ? " (device ahead)" : " (device behind)") + " ± " + slack.toFixed(2) + " s";
    const warning = document.getElementById("clock-warning");
    warning.hidden = Math.abs(offset) - slack <= CLOCK_WARN_S;
    warning.textContent = `The device's clock is ${seconds(offset)} off this browser's. Trends, exports and alert ` +
      "times carry the device's time, so they are off by as much. Check the board's time sync " +
      "(timedatectl status) and this computer's clock.";
    for (const k of ["model", "serial", "firmware_version", "board", "hostname"]) field(k, info[k]);
    field("started_at", when(info.started_at));
    field("uptime", duration(info.uptime_s));
  }

  async function loadHealth() {
    const system = (await api("GET", "/device/health")).system || {};
    field("store", bytes(system.store_bytes));
    field("disk", system.disk_total_bytes
      ? `${bytes(system.disk_free_bytes)} free of ${bytes(system.disk_total_bytes)} (${(100 * (1 - system.disk_free_bytes / system.disk_total_bytes)).toFixed(0)} % used)`
      : "–");
  }

  async function loadCertificate() {
    const slot = (name) => document.querySelector(`#certificate [data-cert="${name}"]`);
    try {
      const c = await api("GET", "/device/certificate?format=json");
      slot("subject").textContent = c.subject;
      slot("issuer").textContent = c.self_signed ? "self-signed" : c.issuer;
      slot("names").textContent = [...c.dns_names, ...c.ip_addresses].join(", ");
      const expired = Date.parse(c.not_after) < Date.now();
      slot("validity").textContent = `${when(c.not_before)} to ${when(c.not_after)}` + (expired ? " — EXPIRED" : "");
      slot("sha256_fingerprint").textContent = c.sha256_fingerprint;
    } catch (err) {
      document.getElementById("cert-error").textContent = err.message;
      document.getElementById("cert-download").hidden = true;
    }
  }

  loadConfig().catch((err) => showErrors(form, err));
  loadCertificate();
  every(5000, () => Promise.all([checkClock(), loadHealth()]));
});
