// Settings pages: API keys, users, webhooks (with test send and delivery log), email.
// Forms are checked by the server (the API's models); its problems appear by the fields.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const { api, el, when, showErrors, clearErrors, toast, formValues } = window.Eso;
  const page = document.body.dataset.page;
  const confirmThen = (text, fn) => () => { if (confirm(text)) fn(); };

  if (page === "settings-keys") {
    const form = document.getElementById("key-form");
    const tbody = document.querySelector("#keys tbody");
    async function load() {
      const keys = await api("GET", "/keys/");
      tbody.replaceChildren(...keys.map((k) => el("tr", { dataset: { key: k.id } },
        el("td", {}, el("code", {}, k.id)), el("td", {}, k.description), el("td", {}, k.role),
        el("td", {}, when(k.created_at)), el("td", {}, k.last_used_at ? when(k.last_used_at) : "never"),
        el("td", {}, k.active ? "active" : k.revoked ? "revoked" : "expired"),
        el("td", {}, k.active ? el("button", { type: "button", class: "link danger",
          onclick: confirmThen("Revoke key " + k.id + "? Clients using it stop working at once.", async () => {
            await api("DELETE", "/keys/" + k.id); toast("Key " + k.id + " revoked"); load();
          }) }, "Revoke") : ""))));
    }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const v = formValues(form);
      try {
        const made = await api("POST", "/keys/", { description: v.description, role: v.role });
        clearErrors(form); form.reset();
        document.getElementById("new-key-value").textContent = made.key;
        document.getElementById("new-key").hidden = false;
        load();
      } catch (err) { showErrors(form, err); }
    });
    document.getElementById("copy-key").addEventListener("click", async () => {
      const text = document.getElementById("new-key-value").textContent;
      try { await navigator.clipboard.writeText(text); toast("Copied"); }
      catch (e) {
        const range = document.createRange();
        range.selectNodeContents(document.getElementById("new-key-value"));
        getSelection().removeAllRanges(); getSelection().addRange(range);
        toast("Selected: press Ctrl+C to copy");
      }
    });
    load();
  }

  if (page === "settings-users") {
    const form = document.getElementById("user-form");
    const tbody = document.querySelector("#users tbody");
    async function load() {
      const users = await api("GET", "/users/");
      tbody.replaceChildren(...users.map((u) => el("tr", { dataset: { user: u.name } },
        el("td", {}, u.name),
        el("td", {}, el("select", { onchange: async (ev) => {
          try { await api("PUT", "/users/" + encodeURIComponent(u.name), { role: ev.target.value }); toast("Role changed"); }
          catch (err) { toast(err.message); }
          load();
        } }, ...["viewer", "operator", "admin"].map((r) => el("option", { value: r, selected: r === u.role }, r)))),
        el("td", {}, when(u.password_changed_at)),
        el("td", {}, u.locked_until ? "locked until " + when(u.locked_until) : u.must_change_password ? "must change password" : "active"),
        el("td", {}, el("button", { type: "button", class: "link danger",
          onclick: confirmThen("Delete user " + u.name + "?", async () => {
            try { await api("DELETE", "/users/" + encodeURIComponent(u.name)); } catch (err) { toast(err.message); }
            load();
          }) }, "Delete")))));
    }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api("POST", "/users/", formValues(form));
        clearErrors(form); form.reset(); toast("User added"); load();
      } catch (err) { showErrors(form, err); }
    });
    load();
  }

  if (page === "settings-webhooks") {
    const form = document.getElementById("webhook-form");
    const tbody = document.querySelector("#webhooks tbody");
    let editing = null;
    const authType = form.elements["auth.type"];
    const showAuth = () => form.querySelectorAll("[data-auth]").forEach((n) => { n.hidden = n.dataset.auth !== authType.value; });
    authType.addEventListener("change", showAuth);

    function fill(h) {
      form.reset();
      clearErrors(form);
      const set = (name, value) => {
        const input = form.elements[name];
        if (input) input.value = value ?? (input.tagName === "SELECT" ? input.options[0].value : "");
      };
      for (const f of ["id", "name", "url", "method", "secret", "template"]) set(f, h[f]);
      form.elements.enabled.checked = h.enabled !== false;
      const auth = h.auth || { type: "none" };
      for (const f of ["type", "token", "header", "key", "username", "password"]) set("auth." + f, auth[f] ?? (f === "header" ? "X-API-Key" : f === "type" ? "none" : ""));
      for (const box of form.querySelectorAll('input[name="severities"], input[name="events"]')) {
        box.checked = (h[box.name] || []).includes(box.value);
      }
      form.elements.id.readOnly = Boolean(editing);
      document.getElementById("webhook-form-title").textContent = editing ? "Edit webhook " + editing : "Add a webhook";
      showAuth();
      form.hidden = false;
      form.scrollIntoView({ behavior: "smooth" });
    }

    function body() {
      const v = formValues(form);
      const auth = { type: v["auth.type"] };
      const keep = { bearer: ["token"], api_key: ["header", "key"], basic: ["username", "password"] }[auth.type] || [];
      for (const f of keep) auth[f] = v["auth." + f];
      const out = { id: v.id, name: v.name, url: v.url, method: v.method, enabled: v.enabled, auth,
        severities: v.severities, events: v.events };
      if (v.secret) out.secret = v.secret;
      if (v.template.trim()) out.template = v.template;
      return out;
    }

    async function load() {
      const hooks = await api("GET", "/integrations/webhooks/");
      tbody.replaceChildren(...hooks.map((h) => el("tr", { dataset: { webhook: h.id } },
        el("td", {}, h.id), el("td", {}, h.name), el("td", {}, h.url), el("td", {}, h.severities.join(", ")),
        el("td", {}, h.events.join(", ")), el("td", {}, h.enabled ? "yes" : "no"),
        el("td", {},
          el("button", { type: "button", class: "link", onclick: async () => {
            const out = document.getElementById("test-output");
            document.getElementById("test-result").hidden = false;
            out.textContent = "sending…";
            try {
              const r = await api("POST", "/integrations/webhooks/" + encodeURIComponent(h.id) + "/test");
              out.textContent = (r.ok ? "OK" : "FAILED") + (r.status_code != null ? " · HTTP " + r.status_code : "") +
                (r.error ? " · " + r.error : "") + "\n\n" + (r.body ?? "");
              out.dataset.ok = r.ok ? "1" : "0";
            } catch (err) { out.textContent = "FAILED · " + err.message; out.dataset.ok = "0"; }
            loadDeliveries();
          } }, "Send test"), " ",
          el("button", { type: "button", class: "link", onclick: () => { editing = h.id; fill(h); } }, "Edit"), " ",
          el("button", { type: "button", class: "link danger", onclick: confirmThen("Delete webhook " + h.id + "?", async () => {
            await api("DELETE", "/integrations/webhooks/" + encodeURIComponent(h.id)); toast("Webhook deleted"); load();
          }) }, "Delete")))));
    }
    async function loadDeliveries() {
      const rows = await api("GET", "/integrations/deliveries/?limit=50");
      document.querySelector("#deliveries tbody").replaceChildren(...rows.map((d) => el("tr", {},
        el("td", {}, d.id), el("td", {}, d.channel), el("td", {}, d.alert_id ?? ""), el("td", {}, d.event ?? ""),
        el("td", {}, d.status), el("td", {}, d.attempts ?? ""),
        el("td", {}, [d.last_status_code, d.last_error].filter((x) => x != null && x !== "").join(" · ")),
        el("td", {}, when(d.created_at)))));
    }
    document.getElementById("webhook-add").addEventListener("click", () => {
      editing = null;
      fill({ enabled: true, severities: ["warning", "alert", "critical"], events: ["raised", "escalated", "resolved"] });
    });
    document.getElementById("webhook-cancel").addEventListener("click", () => { form.hidden = true; });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const b = body();
      try {
        if (editing) await api("PUT", "/integrations/webhooks/" + encodeURIComponent(editing), b);
        else await api("POST", "/integrations/webhooks/", b);
        form.hidden = true; toast("Webhook saved"); load();
      } catch (err) { showErrors(form, err); }
    });
    load(); loadDeliveries();
    setInterval(() => { if (!document.hidden) loadDeliveries(); }, 10000);
  }

  if (page === "settings-email") {
    const form = document.getElementById("email-form");
    async function load() {
      const e = await api("GET", "/integrations/email/");
      for (const f of ["host", "port", "security", "username", "password", "from_address", "subject_template", "body_template"]) {
        form.elements[f].value = e[f] ?? "";
      }
      form.elements.enabled.checked = e.enabled;
      form.elements.recipients.value = (e.recipients || []).map((r) => [r.address, ...r.severities].join(" ")).join("\n");
    }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const v = formValues(form);
      const recipients = v.recipients.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
        const [address, ...severities] = l.split(/[\s,]+/);
        return severities.length ? { address, severities } : { address };
      });
      const body = { enabled: v.enabled, host: v.host, port: Number(v.port), security: v.security,
        username: v.username || null, password: v.password || null, from_address: v.from_address,
        recipients, subject_template: v.subject_template, body_template: v.body_template };
      try { await api("PUT", "/integrations/email/", body); clearErrors(form); toast("Email settings saved"); load(); }
      catch (err) { showErrors(form, err); }
    });
    document.getElementById("email-test").addEventListener("click", async () => {
      const out = document.getElementById("email-output");
      document.getElementById("email-result").hidden = false;
      out.textContent = "sending…";
      try { out.textContent = JSON.stringify(await api("POST", "/integrations/email/test"), null, 2); }
      catch (err) { out.textContent = "FAILED · " + err.message; }
    });
    load();
  }
});
