// livetrace scope page: draws what the server sends, never computes measurements itself.
// Binary frame format: docs/web.md. View settings go to the server as {"view": {...}}; every
// drawn time frame is acknowledged with {"ack": seq} (the server's flow control).
"use strict";
(function () {
  const MAGIC = 0x3146544c;
  const COLORS = ["#ffd000", "#00d0ff", "#ff40ff", "#40ff40", "#ff8040", "#a0a0ff", "#ffffff", "#ff4060"];
  const DIVS = 10, VDIVS = 8;
  const TDIVS = [];
  for (let e = -8; e <= 1; e++) for (const m of [1, 2, 5]) TDIVS.push(Number((m * Math.pow(10, e)).toPrecision(1)));
  const VOLTS = [];
  for (let e = -4; e <= 3; e++) for (const m of [1, 2, 5]) VOLTS.push(Number((m * Math.pow(10, e)).toPrecision(1)));
  const $ = (id) => document.getElementById(id);

  const state = {
    ws: null, client: null, status: null, stream: null,
    view: { time_per_div: 1e-3, width: 1000, running: true, mode: "auto", trigger_channel: 0,
            level: 0, slope: "rising", holdoff: 0, pre: 0.5, spectrum: false, spectrum_width: 800 },
    channels: [], frames: 0, lastFrame: null, paused: false, cursors: [], cursorNext: 0,
    spectrum: null, avgPower: null, spectra: 0, timePlot: null, freqPlot: null,
  };

  // ------------------------------------------------------------------ formatting
  // `digits` significant digits; `exact` keeps trailing zeros (a measurement's resolution)
  function fmt(v, unit, digits, exact) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    const a = Math.abs(v), d = digits || 4;
    const pre = [[1e9, "G"], [1e6, "M"], [1e3, "k"], [1, ""], [1e-3, "m"], [1e-6, "µ"], [1e-9, "n"], [1e-12, "p"]];
    for (const [s, p] of pre) {
      if (a >= s * 0.9999) {
        const m = (v / s).toPrecision(d);
        return (exact ? m : Number(m).toString()) + " " + p + unit;
      }
    }
    return v === 0 ? "0 " + unit : v.toExponential(d - 1) + " " + unit;
  }
  function fmtCount(n) { return n === null || n === undefined ? "–" : String(n); }

  // ------------------------------------------------------------------ connection
  function send(obj) { if (state.ws && state.ws.readyState === 1) state.ws.send(JSON.stringify(obj)); }
  // a tenth of a division of the trigger channel: noise smaller than that cannot trigger
  function hysteresis() {
    const c = state.channels[state.view.trigger_channel];
    return c ? 0.1 * c.vdiv : 0;
  }

  function sendView(changes) { Object.assign(state.view, changes); send({ view: changes }); syncControls(); }

  // show the view's settings in the controls (they may change from autoscale or a script)
  function syncControls() {
    const v = state.view;
    const set = (id, value) => { const el = $(id); if (el && document.activeElement !== el) el.value = String(value); };
    set("tdiv", v.time_per_div); set("mode", v.mode); set("trig-ch", v.trigger_channel);
    set("level", v.level); set("slope", v.slope); set("holdoff", v.holdoff); set("pre", Math.round(v.pre * 100));
    $("freq").checked = v.spectrum; $("freq-view").hidden = !v.spectrum;
  }

  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.binaryType = "arraybuffer";
    state.ws = ws;
    ws.onopen = () => send({ view: state.view });
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") onText(JSON.parse(ev.data));
      else onBinary(ev.data);
    };
    ws.onclose = () => { $("h-state").textContent = "disconnected"; $("h-state").className = "bad"; };
  }

  function onText(msg) {
    if (msg.hello) state.client = msg.hello.client;
    if (msg.status) onStatus(msg.status);
  }

  function onBinary(buf) {
    const dv = new DataView(buf);
    if (dv.getUint32(0, true) !== MAGIC) return;
    const kind = dv.getUint16(4, true);
    if (kind === 1) onTimeFrame(buf, dv);
    else if (kind === 2) onSpectrum(buf, dv);
  }

  // ------------------------------------------------------------------ time view
  function onTimeFrame(buf, dv) {
    const c = dv.getUint16(6, true), n = dv.getUint32(8, true), ng = dv.getUint32(12, true);
    const f = {
      channels: c, n: n, first: dv.getFloat64(16, true), bucket: dv.getFloat64(24, true),
      rate: dv.getFloat64(32, true), trigger: dv.getFloat64(40, true), seq: dv.getFloat64(48, true),
      end: dv.getFloat64(56, true), skipped: dv.getUint32(64, true), flags: dv.getUint32(68, true),
      gaps: [], mins: [], maxs: [],
    };
    const g = new Float64Array(buf, 72, ng * 2);
    for (let i = 0; i < ng; i++) f.gaps.push([g[2 * i], g[2 * i + 1]]);
    let off = 72 + ng * 16;
    for (let ch = 0; ch < c; ch++) {
      f.mins.push(new Float32Array(buf, off, n)); off += 4 * n;
      f.maxs.push(new Float32Array(buf, off, n)); off += 4 * n;
    }
    if (state.paused) return;  // a paused page draws nothing and acknowledges nothing
    state.lastFrame = f;
    state.frames++;
    drawTime(f);
    send({ ack: f.seq });
    $("h-trig").textContent = f.flags & 1 ? "triggered" : (f.flags & 4 ? "roll" : "auto (free)");
    setBad("h-skipped", f.skipped);
  }

  const ROLL = 0.1;  // s/div from which the display rolls (as the server decides)
  function rolling() { return state.view.time_per_div >= ROLL; }

  // the time axis: 0 at the trigger point; when rolling, 0 is the newest sample (right edge)
  function xRange() {
    const w = state.view.time_per_div * DIVS;
    return rolling() ? [-w, 0] : [-state.view.pre * w, (1 - state.view.pre) * w];
  }

  // x of absolute sample index `idx` in this frame's time axis (seconds)
  function xOf(f, idx) {
    const [x0, x1] = xRange();
    if (f.flags & 1) return (idx - f.trigger) / f.rate;
    return x1 + (idx - f.end) / f.rate;
  }

  function buildData(f) {
    const B = f.bucket, xs = [], ys = [];
    for (let ch = 0; ch < f.channels; ch++) ys.push([]);
    const gaps = f.gaps;
    const scale = state.channels.map((c) => c);
    const push = (x, vals) => { xs.push(x); for (let ch = 0; ch < f.channels; ch++) ys[ch].push(vals ? vals[ch] : null); };
    const tr = (ch, v) => {
      if (!isFinite(v) || !scale[ch] || !scale[ch].on) return null;
      return (v - scale[ch].offset) / scale[ch].vdiv;
    };
    for (let k = 0; k < f.n; k++) {
      const s = f.first + k * B;
      let inGap = false;
      for (const [gs, gl] of gaps) if (gs < s + B && gs + gl > s) { inGap = true; break; }
      if (inGap) push(xOf(f, s), null);
      const mins = [], maxs = [];
      for (let ch = 0; ch < f.channels; ch++) { mins.push(tr(ch, f.mins[ch][k])); maxs.push(tr(ch, f.maxs[ch][k])); }
      if (B === 1) push(xOf(f, s), mins);
      else { push(xOf(f, s), mins); push(xOf(f, s + B / 2), maxs); }
      if (inGap) push(xOf(f, s + B * 0.999), null);
    }
    return [xs].concat(ys);
  }

  function drawTime(f) {
    if (!state.timePlot) makeTimePlot(f.channels);
    state.timePlot.setData(buildData(f), true);
  }

  function timeSplits() {
    const [x0, x1] = xRange(), out = [];
    for (let i = 0; i <= DIVS; i++) out.push(x0 + (x1 - x0) * i / DIVS);
    return out;
  }

  function drawOverlay(u) {
    const ctx = u.ctx, bb = u.bbox;
    ctx.save();
    // trigger position and level markers
    const [x0, x1] = xRange();
    ctx.strokeStyle = "#888"; ctx.setLineDash([4, 4]); ctx.lineWidth = 1;
    const tx = u.valToPos(0, "x", true);
    if (!rolling() && tx >= bb.left && tx <= bb.left + bb.width) { ctx.beginPath(); ctx.moveTo(tx, bb.top); ctx.lineTo(tx, bb.top + bb.height); ctx.stroke(); }
    const tc = state.channels[state.view.trigger_channel];
    if (tc) {
      const ty = u.valToPos((state.view.level - tc.offset) / tc.vdiv, "y", true);
      ctx.strokeStyle = tc.color;
      ctx.beginPath(); ctx.moveTo(bb.left, ty); ctx.lineTo(bb.left + 12, ty); ctx.stroke();
    }
    // cursors
    ctx.setLineDash([]);
    state.cursors.forEach((cur, i) => {
      const px = u.valToPos(cur.t, "x", true), py = u.valToPos(cur.y, "y", true);
      ctx.strokeStyle = i === 0 ? "#ff6060" : "#60ff60";
      ctx.beginPath(); ctx.moveTo(px, bb.top); ctx.lineTo(px, bb.top + bb.height);
      ctx.moveTo(bb.left, py); ctx.lineTo(bb.left + bb.width, py); ctx.stroke();
    });
    ctx.restore();
  }

  function makeTimePlot(nch) {
    const el = $("time-plot");
    const width = Math.max(300, el.clientWidth || 900);
    const series = [{}];
    for (let ch = 0; ch < nch; ch++) series.push({ stroke: state.channels[ch].color, width: 1.5, points: { show: false }, spanGaps: false });
    const opts = {
      width: width, height: 420, pxAlign: 0,
      scales: { x: { time: false, auto: false, range: () => xRange() }, y: { auto: false, range: () => [-VDIVS / 2, VDIVS / 2] } },
      axes: [
        { stroke: "#aaa", grid: { stroke: "#333", width: 1 }, ticks: { stroke: "#333" }, splits: timeSplits,
          values: (u, splits) => splits.map((v) => fmt(v, "s")) },
        { stroke: "#aaa", grid: { stroke: "#333", width: 1 }, ticks: { stroke: "#333" },
          splits: () => { const s = []; for (let i = -VDIVS / 2; i <= VDIVS / 2; i++) s.push(i); return s; },
          values: (u, splits) => splits.map((v) => String(v)), size: 30 },
      ],
      series: series,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      hooks: { draw: [drawOverlay] },
    };
    state.timePlot = new uPlot(opts, [[]].concat(series.slice(1).map(() => [])), el);
    state.timePlot.over.addEventListener("click", (ev) => {
      const u = state.timePlot;
      const t = u.posToVal(ev.offsetX, "x"), y = u.posToVal(ev.offsetY, "y");
      state.cursors[state.cursorNext] = { t: t, y: y };
      state.cursorNext = (state.cursorNext + 1) % 2;
      u.redraw(false, false);
      showCursors();
    });
    sendView({ width: Math.round(state.timePlot.bbox.width / devicePixelRatio) });
  }

  function showCursors() {
    const c = state.cursors;
    if (c.length < 2 || !c[0] || !c[1]) { $("cursor-readout").textContent = c[0] ? "A: " + fmt(c[0].t, "s") : ""; return; }
    const dt = c[1].t - c[0].t;
    const ch = state.channels[state.view.trigger_channel] || state.channels[0];
    const dv = (c[1].y - c[0].y) * ch.vdiv;
    $("cursor-readout").textContent = "Δt " + fmt(dt, "s") + "   1/Δt " + fmt(1 / Math.abs(dt), "Hz") +
      "   ΔV (" + ch.name + ") " + fmt(dv, ch.unit || "V");
  }

  // ------------------------------------------------------------------ frequency view
  function onSpectrum(buf, dv) {
    const c = dv.getUint16(6, true), n = dv.getUint32(8, true);
    const f0 = dv.getFloat64(16, true), df = dv.getFloat64(24, true);
    const db = [];
    for (let ch = 0; ch < c; ch++) db.push(new Float32Array(buf, 32 + ch * n * 4, n));
    const N = Number($("avg").value);
    if (!state.avgPower || state.avgPower[0].length !== n || state.avgN !== N) {
      state.avgPower = db.map((d) => Float64Array.from(d, (v) => Math.pow(10, v / 10)));
      state.avgN = N;
    } else {
      const a = 1 / N;
      db.forEach((d, ch) => { const p = state.avgPower[ch]; for (let i = 0; i < n; i++) p[i] += a * (Math.pow(10, d[i] / 10) - p[i]); });
    }
    state.spectrum = { f0: f0, df: df, n: n, channels: c };
    state.spectra++;
    drawSpectrum();
  }

  function drawSpectrum() {
    const s = state.spectrum;
    if (!s || $("freq-view").hidden) return;
    const log = $("logf").checked;
    const xs = [], ys = state.avgPower.map(() => []);
    for (let i = 0; i < s.n; i++) {
      const fr = s.f0 + i * s.df;
      if (log && fr <= 0) continue;
      xs.push(fr);
      state.avgPower.forEach((p, ch) => ys[ch].push(state.channels[ch] && state.channels[ch].on ? 10 * Math.log10(p[i] + 1e-300) : null));
    }
    if (!state.freqPlot || state.freqPlotLog !== log) makeFreqPlot(s.channels, log);
    state.freqPlot.setData([xs].concat(ys));
    drawWaterfall(xs, ys[0] || []);
  }

  function peakOf(xs, ys) {
    let best = -1;
    for (let i = 0; i < ys.length; i++) if (ys[i] !== null && (best < 0 || ys[i] > ys[best])) best = i;
    return best < 0 ? null : [xs[best], ys[best]];
  }

  // the peak: the level from the drawn spectrum, the frequency from the server's interpolated
  // measurement (the drawn bins are grouped, the measurement is not)
  function drawPeak(u) {
    const ys = u.data[1], xs = u.data[0];
    if (!ys) return;
    const p = peakOf(xs, ys);
    if (!p) return;
    const m = state.status && state.status.measurements && state.status.measurements[0];
    const fpk = m && m.peak_frequency ? m.peak_frequency : p[0];
    const ctx = u.ctx, x = u.valToPos(fpk, "x", true), y = u.valToPos(p[1], "y", true);
    ctx.save(); ctx.fillStyle = "#ff6060"; ctx.beginPath();
    ctx.moveTo(x, y - 2); ctx.lineTo(x - 6, y - 12); ctx.lineTo(x + 6, y - 12); ctx.fill();
    ctx.font = (12 * devicePixelRatio) + "px sans-serif"; ctx.textAlign = "left"; ctx.textBaseline = "middle";
    ctx.fillText("peak " + fmt(fpk, "Hz", 6) + "  " + p[1].toFixed(1) + " dB", x + 10, y - 8);
    ctx.restore();
  }

  function makeFreqPlot(nch, log) {
    const el = $("freq-plot");
    if (state.freqPlot) state.freqPlot.destroy();
    const series = [{}];
    for (let ch = 0; ch < nch; ch++) series.push({ stroke: state.channels[ch].color, width: 1, points: { show: false } });
    state.freqPlot = new uPlot({
      width: Math.max(300, el.clientWidth || 900), height: 260,
      scales: { x: { time: false, distr: log ? 3 : 1 }, y: { auto: true } },
      axes: [{ stroke: "#aaa", grid: { stroke: "#333" }, space: 90, values: (u, s) => s.map((v) => fmt(v, "Hz", 3)) },
             { stroke: "#aaa", grid: { stroke: "#333" }, label: "dB", size: 50 }],
      series: series, legend: { show: false }, cursor: { points: { show: false } },
      hooks: { draw: [drawPeak] },
    }, [[]].concat(series.slice(1).map(() => [])), el);
    state.freqPlotLog = log;
  }

  const PALETTE = [[0, 0, 4], [60, 15, 110], [180, 55, 120], [250, 140, 40], [252, 255, 164]];
  function colormap(t) {
    t = Math.min(1, Math.max(0, t)) * (PALETTE.length - 1);
    const i = Math.min(PALETTE.length - 2, Math.floor(t)), a = t - i;
    return PALETTE[i].map((v, k) => Math.round(v + a * (PALETTE[i + 1][k] - v)));
  }

  function drawWaterfall(xs, ys) {
    const cv = $("waterfall"), u = state.freqPlot;
    if (!u || !xs.length) return;
    if (cv.width !== cv.clientWidth) cv.width = cv.clientWidth || 800;
    const ctx = cv.getContext("2d"), w = cv.width, h = cv.height;
    const R = 3;  // pixel rows per spectrum
    ctx.drawImage(cv, 0, 0, w, h - R, 0, R, w, h - R);  // scroll down: newest at the top
    const row = ctx.createImageData(w, R);
    const finite = ys.filter((v) => v !== null && isFinite(v));
    const hi = Math.max(...finite), lo = Math.max(Math.min(...finite), hi - 140);
    const width = u.bbox.width / devicePixelRatio;  // the waterfall spans the plot's frequency axis
    for (let px = 0; px < w; px++) {
      const fx = u.posToVal((px / w) * width, "x");
      let lo_i = 0, hi_i = xs.length - 1;
      while (lo_i < hi_i) { const m = (lo_i + hi_i) >> 1; if (xs[m] < fx) lo_i = m + 1; else hi_i = m; }
      const v = ys[lo_i];
      const [r, g, b] = colormap(v === null ? 0 : (v - lo) / (hi - lo));
      for (let k = 0; k < R; k++) row.data.set([r, g, b, 255], (k * w + px) * 4);
    }
    ctx.putImageData(row, 0, 0);
  }

  // ------------------------------------------------------------------ status and measurements
  function setBad(id, value, text) {
    const el = $(id);
    el.textContent = text !== undefined ? text : fmtCount(value);
    el.className = value ? "bad" : "";
  }

  function onStatus(s) {
    state.status = s;
    if (s.stream && (!state.stream || state.stream.n_channels !== s.stream.n_channels)) setupStream(s.stream);
    const h = s.health || {};
    $("h-rate").textContent = fmt(h.input_rate, "S/s");
    const cap = h.buffer_capacity;
    const fill = cap ? (100 * h.buffer_fill / cap).toFixed(1) + " %" : "–";
    setBad("h-fill", cap && h.buffer_fill > 0.8 * cap, fill);
    setBad("h-dropped", h.dropped);
    setBad("h-gaps", h.gaps);
    setBad("h-errors", h.source_errors);
    const st = $("h-state"); st.textContent = h.state || "–";
    st.className = h.state === "failed" ? "bad" : "";
    if (s.client) {
      setBad("h-skipped", s.client.skipped);
      state.view.running = s.client.running;
      $("run").textContent = s.client.running ? "Stop" : "Run";
      $("run").classList.toggle("active", !s.client.running);
    }
    showMeasurements(s.measurements || []);
  }

  function showMeasurements(ms) {
    const keys = [["mean", "V"], ["rms", "V"], ["min", "V"], ["max", "V"], ["peak_to_peak", "V"], ["frequency", "Hz"]];
    const spec = [["snr", "dB"], ["thd", "dB"], ["sinad", "dB"], ["enob", "bit"], ["sfdr", "dB"]];
    const show = state.view.spectrum ? keys.concat(spec) : keys;
    const head = "<tr><th></th>" + show.map(([k]) => "<th>" + k.replace("peak_to_peak", "p-p").toUpperCase() + "</th>").join("") + "</tr>";
    const t = document.querySelector("#measurements thead");
    if (t.innerHTML !== head) t.innerHTML = head;
    const rows = ms.map((m, ch) => {
      const c = state.channels[ch] || { name: "ch" + ch, color: "#fff", unit: "" };
      return "<tr><td><span class='swatch' style='background:" + c.color + "'></span>" + c.name + "</td>" +
        show.map(([k, u]) => {
          const v = m[k];
          const unit = u === "V" ? (c.unit || "V") : u;
          const txt = (u === "dB" || u === "bit") ? (v === null || v === undefined ? "–" : v.toFixed(2) + " " + u) : fmt(v, unit, k === "frequency" ? 7 : 4, true);
          return "<td data-key='" + k + "' data-ch='" + ch + "'>" + txt + "</td>";
        }).join("") + "</tr>";
    });
    document.querySelector("#measurements tbody").innerHTML = rows.join("");
  }

  function setupStream(info) {
    state.stream = info;
    $("source").textContent = (info.description || "") + "  " + fmt(info.sample_rate, "S/s") + ", " + info.n_channels + " ch";
    state.channels = [];
    const box = $("channels");
    box.querySelectorAll(".chan").forEach((e) => e.remove());
    const tsel = $("trig-ch"); tsel.innerHTML = "";
    for (let ch = 0; ch < info.n_channels; ch++) {
      const c = { name: info.channel_names[ch], unit: info.units[ch] || "", color: COLORS[ch % COLORS.length], on: true, vdiv: 0.5, offset: 0 };
      state.channels.push(c);
      const div = document.createElement("div");
      div.className = "chan";
      div.innerHTML = "<label><span><input type='checkbox' checked data-k='on'> <span class='swatch' style='background:" + c.color + "'></span>" + c.name + "</span></label>" +
        "<label>V/div <select data-k='vdiv'>" + VOLTS.map((v) => "<option value='" + v + "'" + (v === 0.5 ? " selected" : "") + ">" + fmt(v, c.unit || "V") + "</option>").join("") + "</select></label>" +
        "<label>offset <input type='number' step='any' value='0' data-k='offset'></label>";
      div.addEventListener("change", (ev) => {
        const k = ev.target.dataset.k;
        if (k === "on") c.on = ev.target.checked;
        else c[k] = Number(ev.target.value);
        if (k === "vdiv" && ch === state.view.trigger_channel) sendView({ hysteresis: hysteresis() });
        redrawLast();
      });
      box.appendChild(div);
      tsel.insertAdjacentHTML("beforeend", "<option value='" + ch + "'>" + c.name + "</option>");
    }
    // time bases longer than the scope's history cannot be filled
    for (const opt of $("tdiv").options) opt.disabled = Number(opt.value) * DIVS * info.sample_rate > (info.longest_window || info.history);
    sendView({ hysteresis: hysteresis() });
    if (state.timePlot) { state.timePlot.destroy(); state.timePlot = null; }
  }

  function redrawLast() {
    if (state.lastFrame) drawTime(state.lastFrame);
    else if (state.timePlot) state.timePlot.redraw();
    if (state.spectrum) drawSpectrum();
  }

  function autoscale() {
    const ms = (state.status && state.status.measurements) || [];
    ms.forEach((m, ch) => {
      const c = state.channels[ch];
      if (!c || m.peak_to_peak === null || m.peak_to_peak === undefined) return;
      const want = Math.max(m.peak_to_peak, 1e-12) / 6;
      c.vdiv = VOLTS.find((v) => v >= want) || VOLTS[VOLTS.length - 1];
      c.offset = m.mean;
    });
    document.querySelectorAll("#channels .chan").forEach((div, ch) => {
      const c = state.channels[ch];
      div.querySelector("[data-k=vdiv]").value = String(c.vdiv);
      div.querySelector("[data-k=offset]").value = String(Number(c.offset.toPrecision(6)));
    });
    const m = ms[state.view.trigger_channel];
    const changes = {};
    if (m && m.frequency) {
      const want = 3 / m.frequency / DIVS;
      changes.time_per_div = TDIVS.find((v) => v >= want) || TDIVS[TDIVS.length - 1];
      $("tdiv").value = String(changes.time_per_div);
    }
    if (m && m.mean !== null && m.mean !== undefined) { changes.level = m.mean; $("level").value = String(Number(m.mean.toPrecision(6))); }
    changes.hysteresis = hysteresis();
    sendView(changes);
    redrawLast();
  }

  // ------------------------------------------------------------------ saving
  function download(url, name) {
    const a = document.createElement("a"); a.href = url; a.download = name;
    document.body.appendChild(a); a.click(); a.remove();
  }

  function snapshotCanvas() {
    const parts = [state.timePlot && state.timePlot.ctx.canvas];
    if (!$("freq-view").hidden) parts.push(state.freqPlot && state.freqPlot.ctx.canvas, $("waterfall"));
    const cs = parts.filter(Boolean);
    const out = document.createElement("canvas");
    out.width = Math.max(...cs.map((c) => c.width));
    out.height = cs.reduce((h, c) => h + c.height, 0);
    const ctx = out.getContext("2d");
    ctx.fillStyle = "#111"; ctx.fillRect(0, 0, out.width, out.height);
    let y = 0;
    for (const c of cs) { ctx.drawImage(c, 0, y); y += c.height; }
    return out;
  }

  // ------------------------------------------------------------------ controls
  function controls() {
    const tsel = $("tdiv");
    tsel.innerHTML = TDIVS.map((v) => "<option value='" + v + "'" + (v === 1e-3 ? " selected" : "") + ">" + fmt(v, "s") + "</option>").join("");
    tsel.onchange = () => { sendView({ time_per_div: Number(tsel.value) }); redrawLast(); };
    $("mode").onchange = () => sendView({ mode: $("mode").value, running: true });
    $("trig-ch").onchange = () => {
      state.view.trigger_channel = Number($("trig-ch").value);
      sendView({ trigger_channel: state.view.trigger_channel, hysteresis: hysteresis() });
    };
    $("level").onchange = () => sendView({ level: Number($("level").value) });
    $("slope").onchange = () => sendView({ slope: $("slope").value });
    $("holdoff").onchange = () => sendView({ holdoff: Math.max(0, Number($("holdoff").value)) });
    $("pre").onchange = () => { sendView({ pre: Math.min(100, Math.max(0, Number($("pre").value))) / 100 }); redrawLast(); };
    $("run").onclick = () => sendView({ running: !state.view.running });
    $("single").onclick = () => { $("mode").value = "single"; sendView({ mode: "single", running: true }); };
    $("autoscale").onclick = autoscale;
    $("freq").onchange = () => {
      const on = $("freq").checked;
      $("freq-view").hidden = !on;
      sendView({ spectrum: on });
      if (on && state.spectrum) drawSpectrum();
    };
    $("logf").onchange = drawSpectrum;
    $("save-png").onclick = () => download(snapshotCanvas().toDataURL("image/png"), "livetrace-scope.png");
    $("save-npy").onclick = () => download("/api/frame?format=npy&client=" + state.client, "frame.npy");
    $("save-csv").onclick = () => download("/api/frame?format=csv&client=" + state.client, "frame.csv");
  }

  // hooks for scripts and tests: read-only state plus what a user could click
  window.livetraceScope = {
    get frames() { return state.frames; },
    get spectra() { return state.spectra; },
    get lastFrame() { const f = state.lastFrame; return f && { first: f.first, bucket: f.bucket, n: f.n, trigger: f.trigger, end: f.end, flags: f.flags, gaps: f.gaps, skipped: f.skipped, seq: f.seq }; },
    get status() { return state.status; },
    get client() { return state.client; },
    get view() { return Object.assign({}, state.view); },
    setView: (changes) => sendView(changes),
    setChannel: (ch, changes) => { Object.assign(state.channels[ch], changes); redrawLast(); },
    pause: (on) => { state.paused = on; },
    plotRect: () => { const u = state.timePlot; if (!u) return null; const r = u.over.getBoundingClientRect(); return { left: r.left, top: r.top, width: r.width, height: r.height }; },
    pngDataURL: () => snapshotCanvas().toDataURL("image/png"),
  };

  controls();
  connect();
})();
