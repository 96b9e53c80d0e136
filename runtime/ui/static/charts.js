// Small canvas charts of our own: time series with threshold lines, and spectra with
// frequency markers. No library: a few hundred lines are cheaper to serve on a small board.
"use strict";
(function () {
  const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#0a7ea4"];
  const LEVEL = { info: "#8c959f", warning: "#bf8700", alert: "#d1242f", critical: "#82071e" };

  function setup(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || canvas.width;
    const height = canvas.clientHeight || canvas.height;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = "11px system-ui, sans-serif";
    return { g, width, height };
  }

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) { hi = lo + 1; }
    const raw = (hi - lo) / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const ticks = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(v);
    return ticks;
  }

  function frame(g, box, xTicks, yTicks, xLabel, yLabel, sx, sy) {
    g.strokeStyle = "#d0d7de"; g.fillStyle = "#57606a"; g.lineWidth = 1;
    g.textAlign = "right"; g.textBaseline = "middle";
    for (const v of yTicks) {
      const y = sy(v);
      g.beginPath(); g.moveTo(box.l, y); g.lineTo(box.r, y); g.stroke();
      g.fillText(yLabel(v), box.l - 4, y);
    }
    g.textAlign = "center"; g.textBaseline = "top";
    for (const v of xTicks) {
      const x = sx(v);
      g.beginPath(); g.moveTo(x, box.t); g.lineTo(x, box.b); g.stroke();
      g.fillText(xLabel(v), x, box.b + 4);
    }
    g.strokeStyle = "#8c959f";
    g.strokeRect(box.l, box.t, box.r - box.l, box.b - box.t);
  }

  function message(canvas, text) {
    const { g, width, height } = setup(canvas);
    g.fillStyle = "#57606a"; g.textAlign = "center"; g.textBaseline = "middle";
    g.fillText(text, width / 2, height / 2);
    canvas.dataset.drawn = "0";
  }

  // series: [{label, points: [[t_ms, value], ...]}]; levels: [{label, value, kind}]
  function timeChart(canvas, series, levels, unit) {
    const pts = series.flatMap((s) => s.points);
    if (!pts.length) { message(canvas, "no data in this range"); return; }
    const { g, width, height } = setup(canvas);
    const box = { l: 52, r: width - 12, t: 10, b: height - 22 };
    let t0 = Math.min(...pts.map((p) => p[0])), t1 = Math.max(...pts.map((p) => p[0]));
    if (t1 <= t0) t1 = t0 + 1000;
    let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
    const shown = (levels || []).filter((l) => l.value <= Math.max(hi * 1.6, lo));
    for (const l of shown) hi = Math.max(hi, l.value);
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.05 || 1;
    lo -= pad; hi += pad;
    if (lo > 0 && lo < (hi - lo) * 0.5) lo = 0;
    const sx = (t) => box.l + ((t - t0) / (t1 - t0)) * (box.r - box.l);
    const sy = (v) => box.b - ((v - lo) / (hi - lo)) * (box.b - box.t);
    const span = t1 - t0;
    const xTicks = niceTicks(t0, t1, 6).filter((t) => t >= t0 && t <= t1);
    const xLabel = (t) => {
      const d = new Date(t);
      return span > 2 * 86400e3 ? d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + d.getHours() + "h"
        : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    };
    const yTicks = niceTicks(lo, hi, 5);
    const step = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;
    const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step))));
    frame(g, box, xTicks, yTicks, xLabel, (v) => v.toFixed(decimals), sx, sy);
    for (const l of shown) {
      g.strokeStyle = LEVEL[l.kind] || "#8c959f"; g.setLineDash([6, 4]);
      g.beginPath(); g.moveTo(box.l, sy(l.value)); g.lineTo(box.r, sy(l.value)); g.stroke();
      g.setLineDash([]); g.fillStyle = g.strokeStyle; g.textAlign = "right"; g.textBaseline = "bottom";
      g.fillText(l.label + " " + l.value, box.r - 4, sy(l.value) - 2);
    }
    series.forEach((s, i) => {
      g.strokeStyle = COLORS[i % COLORS.length]; g.lineWidth = 1.5;
      g.beginPath();
      s.points.forEach((p, j) => { const x = sx(p[0]), y = sy(p[1]); if (j) g.lineTo(x, y); else g.moveTo(x, y); });
      g.stroke();
      g.fillStyle = g.strokeStyle; g.textAlign = "left"; g.textBaseline = "top";
      g.fillText(s.label, box.l + 6 + i * 170, box.t + 4);
    });
    g.fillStyle = "#57606a"; g.textAlign = "left"; g.textBaseline = "top";
    if (unit) g.fillText(unit, 4, 0);
    canvas.dataset.drawn = String(pts.length);
  }

  // amplitudes[i] at i * binWidth Hz; markers: {label: hz}
  function spectrumChart(canvas, amplitudes, binWidth, markers, unit) {
    if (!amplitudes || !amplitudes.length) { message(canvas, "no spectrum yet"); return; }
    const { g, width, height } = setup(canvas);
    const box = { l: 52, r: width - 12, t: 16, b: height - 22 };
    const fmax = binWidth * (amplitudes.length - 1);
    const hi = Math.max(...amplitudes) * 1.1 || 1;
    const sx = (f) => box.l + (f / fmax) * (box.r - box.l);
    const sy = (v) => box.b - (v / hi) * (box.b - box.t);
    frame(g, box, niceTicks(0, fmax, 8), niceTicks(0, hi, 4), (f) => f + " Hz", (v) => +v.toPrecision(2) + "", sx, sy);
    let row = 0;
    for (const [label, f] of Object.entries(markers || {})) {
      if (!(f > 0 && f <= fmax)) continue;
      const x = sx(f);
      g.strokeStyle = label.endsWith("x") ? "#1a7f37" : "#d1242f"; g.setLineDash([3, 3]);
      g.beginPath(); g.moveTo(x, box.t); g.lineTo(x, box.b); g.stroke(); g.setLineDash([]);
      g.fillStyle = g.strokeStyle; g.textAlign = "center"; g.textBaseline = "top";
      g.fillText(label, x, box.t + 2 + (row++ % 3) * 11);
    }
    g.strokeStyle = "#1f6feb"; g.lineWidth = 1;
    g.beginPath();
    amplitudes.forEach((a, i) => { const x = sx(i * binWidth), y = sy(a); if (i) g.lineTo(x, y); else g.moveTo(x, y); });
    g.stroke();
    g.fillStyle = "#57606a"; g.textAlign = "left"; g.textBaseline = "top";
    if (unit) g.fillText(unit, 4, 0);
    canvas.dataset.drawn = String(amplitudes.length);
  }

  window.EsoCharts = { timeChart, spectrumChart, message };
})();
