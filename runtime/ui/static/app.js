// EsoCore Edge web UI: shared helpers. Every read and change goes through the REST API
// (/api/v1) with the session cookie; changes carry the session's CSRF token.
"use strict";
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  let csrf = meta ? meta.content : "";

  class ApiError extends Error {
    constructor(status, error) {
      super((error && error.message) || "HTTP " + status);
      this.status = status;
      this.code = error && error.code;
      this.details = (error && error.details) || [];
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch("/api/v1" + path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401 && document.body.dataset.page !== "login") {
      location.href = "/login";
      throw new ApiError(401, { message: "not logged in" });
    }
    const text = await res.text();
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch (e) { data = text; } }
    if (!res.ok) throw new ApiError(res.status, data && data.error);
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  function fmt(value, digits) {
    if (value === null || value === undefined || Number.isNaN(value)) return "–";
    if (typeof value !== "number") return String(value);
    const d = digits === undefined ? (Math.abs(value) >= 100 ? 1 : 2) : digits;
    return value.toFixed(d);
  }

  function when(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    return d.toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
  }

  // Field errors: the API lists problems as "path.to.field: message"; each goes next to the
  // form field whose data-for matches the path's end (or its longest known suffix).
  function clearErrors(form) {
    form.querySelectorAll(".err").forEach((p) => { p.textContent = ""; });
  }
  function showErrors(form, err) {
    clearErrors(form);
    const slots = [...form.querySelectorAll(".err[data-for]")];
    const names = slots.map((s) => s.dataset.for);
    const problems = Array.isArray(err.details) && err.details.length ? err.details : [err.message];
    for (const problem of problems) {
      const text = String(problem);
      const at = text.indexOf(": ");
      let slot = null;
      if (at > 0) {
        const path = text.slice(0, at).replace(/\[\d+\]/g, "").split(".");
        for (let i = 0; i < path.length && !slot; i++) {
          const tail = path.slice(i).join(".");
          if (names.includes(tail)) slot = slots[names.indexOf(tail)];
        }
        for (let i = path.length - 1; i >= 0 && !slot; i--) {
          if (names.includes(path[i])) slot = slots[names.indexOf(path[i])];
        }
      }
      slot = slot || slots[names.indexOf("form")];
      if (slot) slot.textContent = (slot.textContent ? slot.textContent + " " : "") + (slot.dataset.for === "form" ? text : text.slice(at + 2));
    }
  }

  function toast(text) {
    const t = document.getElementById("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
  }

  // Runs `task` now and every `ms`, never two at a time, paused while the tab is hidden.
  function every(ms, task) {
    let busy = false;
    const tick = async () => {
      if (busy || document.hidden) return;
      busy = true;
      try { await task(); } catch (e) { if (e.status !== 401) console.warn(e); } finally { busy = false; }
    };
    tick();
    return setInterval(tick, ms);
  }

  // Live updates pushed by the device (GET /api/v1/stream/, server-sent events): calls
  // handlers[topic](body) with the same JSON the matching GET returns. The browser reconnects
  // a dropped stream by itself; a refused one (logged out, too many streams) is retried
  // after checking the session (api() sends a logged-out user to the login page). While the
  // tab is hidden the stream is closed, as polling pauses.
  function live(params, handlers) {
    const url = "/api/v1/stream/?" + new URLSearchParams({ topics: Object.keys(handlers).join(","), ...params });
    let source = null;
    let retry = null;
    const open = () => {
      if (source || document.hidden) return;
      source = new EventSource(url);
      for (const [topic, handle] of Object.entries(handlers)) {
        source.addEventListener(topic, (ev) => handle(JSON.parse(ev.data)));
      }
      source.addEventListener("end", () => { close(); location.href = "/login"; });
      source.onerror = () => {
        if (source && source.readyState === EventSource.CLOSED) {
          close();
          retry = setTimeout(async () => { try { await api("GET", "/session/"); } catch (e) { /* api() redirects */ } open(); }, 5000);
        }
      };
    };
    const close = () => { if (source) source.close(); source = null; clearTimeout(retry); };
    document.addEventListener("visibilitychange", () => (document.hidden ? close() : open()));
    addEventListener("pagehide", close);
    open();
  }

  function formValues(form) {
    const out = {};
    for (const input of form.querySelectorAll("input, select, textarea")) {
      if (!input.name) continue;
      if (input.type === "checkbox") {
        if (input.value && input.value !== "on") {
          (out[input.name] = out[input.name] || []);
          if (input.checked) out[input.name].push(input.value);
        } else out[input.name] = input.checked;
      } else out[input.name] = input.value;
    }
    return out;
  }

  window.Eso = { api, el, fmt, when, showErrors, clearErrors, toast, every, live, formValues,
    setCsrf: (t) => { csrf = t; } };

  document.addEventListener("DOMContentLoaded", () => {
    const logout = document.getElementById("logout");
    if (logout) logout.addEventListener("click", async () => {
      try { await api("POST", "/session/logout"); } finally { location.href = "/login"; }
    });
    const login = document.getElementById("login-form");
    if (login) login.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const v = formValues(login);
      try {
        const me = await api("POST", "/session/login", { username: v.username, password: v.password });
        location.href = me.must_change_password ? "/password" : "/";
      } catch (err) { showErrors(login, { message: err.message, details: [] }); }
    });
    const pw = document.getElementById("password-form");
    if (pw) pw.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const v = formValues(pw);
      clearErrors(pw);
      if (v.new_password !== v.repeat) {
        pw.querySelector('[data-for="repeat"]').textContent = "the two new passwords differ";
        return;
      }
      try {
        await api("POST", "/session/password", { current_password: v.current_password, new_password: v.new_password });
        location.href = "/";
      } catch (err) { showErrors(pw, err); }
    });
  });
})();
