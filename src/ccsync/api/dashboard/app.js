"use strict";
(() => {
  const COLORS = ["#d97757", "#5b8def", "#2f9e6e", "#b06ad9", "#d9a441", "#7a8599"];
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const state = { token: null, account: null, window: null, zone: "UTC", retry: 0, socket: null };

  // A token given once in the address (?token=) moves to this tab's storage, out of the URL.
  const params = new URLSearchParams(location.search);
  if (params.has("token")) {
    sessionStorage.setItem("ccsync.token", params.get("token"));
    params.delete("token");
    history.replaceState(null, "", location.pathname + (params.size ? "?" + params : ""));
  }
  state.token = sessionStorage.getItem("ccsync.token");

  // -- formatting ---------------------------------------------------------------------
  const compact = (n) => {
    if (n == null) return "–";
    const abs = Math.abs(n);
    if (abs >= 1e9) return (n / 1e9).toFixed(2) + "B";
    if (abs >= 1e6) return (n / 1e6).toFixed(2) + "M";
    if (abs >= 1e3) return (n / 1e3).toFixed(1) + "k";
    return String(Math.round(n));
  };
  const usd = (n) => (n == null ? "–" : "$" + n.toFixed(2));
  // A cost that leaves out models no price table knows is a lower bound: say so.
  const costText = (n, unpriced) => {
    const count = (unpriced || []).length;
    return count ? `≥ ${usd(n)} (${count} model${count === 1 ? "" : "s"} unpriced)` : usd(n);
  };
  const unpricedTitle = (unpriced) => ((unpriced || []).length ? `no price known for ${unpriced.join(", ")}: their tokens count, their cost is not included` : "");
  const duration = (seconds) => {
    if (seconds == null) return "–";
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(sec).padStart(2, "0")}s`;
  };
  const ago = (iso) => {
    if (!iso) return "never";
    const s = (Date.now() - Date.parse(iso)) / 1000;
    if (s < 60) return "just now";
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    if (s < 86400) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} d ago`;
  };
  const when = (iso) => (iso ? new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "short" }) : "–");
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v; else if (k === "style") node.style.cssText = v; else node.setAttribute(k, v);
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  };
  const svg = (tag, attrs = {}) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  };
  const label = (chart, attrs, text) => {
    const node = svg("text", attrs);
    node.textContent = text;
    chart.append(node);
    return node;
  };

  // -- the API ------------------------------------------------------------------------
  class Unauthorized extends Error {}
  async function api(path, options = {}) {
    const headers = { ...(options.headers || {}) };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    const response = await fetch(path, { ...options, headers });
    if (response.status === 401) throw new Unauthorized();
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }
  const withAccount = (path) => (state.account ? path + (path.includes("?") ? "&" : "?") + "account=" + encodeURIComponent(state.account) : path);

  // -- the window ---------------------------------------------------------------------
  // where an official reading came from: "limit hit in a transcript on laptop", "status line on laptop"
  const SOURCES = new Map([["transcript", "limit hit in a transcript"], ["statusline", "status line"], ["warmup", "warm-up run"], ["usage_cache", "Claude Code's usage cache"], ["usage_api", "usage endpoint"]]);
  const sourceText = (r) => `${SOURCES.get(r.source) || r.source}${r.deviceId ? " on " + r.deviceId : ""}`;
  function renderWindow(w) {
    state.window = w;
    const official = w.official && w.official.fiveHour;
    let percent = null, basis = "";
    if (official) { percent = official.usedPercentage; basis = `official, ${sourceText(official)}, ${ago(official.observedAt || official.reportedAt)}`; }
    else if (w.limit) { percent = w.limit.percentUsed; basis = w.limit.source === "setting" ? "of the plan limit" : "of the largest past block"; }
    $("window-percent").textContent = percent == null ? (w.active ? "running" : "no window") : `${percent.toFixed(1)}%`;
    $("window-percent-basis").textContent = basis;
    $("window-bar").style.width = `${Math.min(100, percent || 0)}%`;
    $("window-projected-bar").style.width = `${Math.min(100, (w.limit && w.limit.projectedPercent) || 0)}%`;
    $("window-tokens").textContent = compact(w.tokens);
    $("window-cost").textContent = costText(w.costUSD, w.unpricedModels);
    $("window-cost").title = unpricedTitle(w.unpricedModels);
    $("burn-rate").textContent = w.burnRate ? `${compact(w.burnRate.tokensPerMinute)}/min · ${usd(w.burnRate.costPerHour)}/h` : "–";
    $("projection").textContent = w.projection ? `${compact(w.projection.totalTokens)} · ${(w.unpricedModels || []).length ? "≥ " : ""}${usd(w.projection.totalCost)}` : "–";
    $("today").textContent = w.today ? `${compact(w.today.tokens)} · ${costText(w.today.costUSD, w.today.unpricedModels)}` : "–";
    $("today").title = w.today ? unpricedTitle(w.today.unpricedModels) : "";
    const row = $("official");
    row.replaceChildren();
    for (const [name, limit] of Object.entries(w.official || {})) {
      const label = name === "fiveHour" ? "official 5-hour" : name === "sevenDay" ? "official weekly" : name;
      row.append(el("div", { class: "stat", "data-official": name, title: sourceText(limit) },
        el("div", { class: "label" }, label),
        el("div", { class: "value" }, `${limit.usedPercentage.toFixed(0)}%` + (limit.resetsAt ? ` · resets ${when(limit.resetsAt)}` : ""))));
    }
    tick();
    renderLive();
  }

  // -- limits: every window, the binding one first ----------------------------------------
  const WINDOW_NAMES = (name) => name === "five_hour" ? "5-hour" : name === "seven_day" ? "7-day" : `7-day ${name.replace("seven_day_", "")}`;
  const PACE = { ahead: "▲ ahead", on_track: "on track", behind: "▼ behind" };
  const until = (iso) => (iso ? duration((Date.parse(iso) - Date.now()) / 1000) : "–");
  function renderLimits(view) {
    const items = [...(view.limits || [])].sort((a, b) => (b.binding ? 1 : 0) - (a.binding ? 1 : 0));
    const rows = $("limit-rows");
    rows.replaceChildren();
    let known = 0;
    for (const item of items) {
      const official = item.official;
      const used = official ? `${official.usedPercentage.toFixed(0)}%` : item.estimate.percent == null ? "?" : `~${item.estimate.percent.toFixed(0)}%`;
      if (used !== "?") known += 1;
      const from = official ? `official: ${sourceText(official)}, ${ago(official.observedAt)}` : `estimate: ${item.estimate.basis}`;
      const projection = item.projection || {};
      rows.append(el("tr", { "data-window": item.name, class: item.binding ? "binding" : "" },
        el("td", {}, WINDOW_NAMES(item.name) + (item.binding ? " ◆" : "")),
        el("td", { class: "num" }, used),
        el("td", { class: "muted" }, from),
        el("td", { "data-resets": item.resetsAt || "" }, until(item.resetsAt)),
        el("td", {}, item.pace ? PACE[item.pace.status] || item.pace.status : "–"),
        el("td", { class: "num" }, projection.percentAtReset == null ? "–" : `${projection.percentAtReset.toFixed(0)}%`)));
    }
    $("limits-empty").hidden = known > 0;
    const binding = items.find((i) => i.binding);
    $("limits-headline").textContent = binding && known ? `binding: ${WINDOW_NAMES(binding.name)}` : "";
  }

  function tick() {
    for (const cell of document.querySelectorAll("#limit-rows td[data-resets]")) cell.textContent = until(cell.dataset.resets || null);
    const w = state.window;
    if (!w) return;
    const seconds = w.end ? (Date.parse(w.end) - Date.now()) / 1000 : null;
    $("window-reset").textContent = w.active ? duration(seconds) : "–";
  }

  // -- the live chart: tokens in this window so far, from the window's own timeline -------
  function renderLive() {
    const chart = $("live-chart");
    chart.replaceChildren();
    const w = state.window;
    if (!w || !w.active) {
      label(chart, { x: 450, y: 80, "text-anchor": "middle" }, "no window running");
      return;
    }
    const t0 = Date.parse(w.start), t1 = Date.parse(w.end);
    const live = [{ t: t0, tokens: 0 }, ...(w.timeline || []).map(([at, tokens]) => ({ t: Date.parse(at), tokens }))];
    const top = Math.max(1, (w.limit && w.limit.tokens) || 0, ...live.map((p) => p.tokens)) * 1.05;
    const x = (t) => 40 + ((t - t0) / (t1 - t0)) * 850, y = (v) => 150 - (v / top) * 135;
    if (w.limit) {
      chart.append(svg("line", { x1: 40, x2: 890, y1: y(w.limit.tokens), y2: y(w.limit.tokens), stroke: "#d0493d", "stroke-dasharray": "4 4" }));
    }
    const points = live.map((p) => `${x(p.t).toFixed(1)},${y(p.tokens).toFixed(1)}`).join(" ");
    chart.append(svg("polyline", { points, fill: "none", stroke: COLORS[0], "stroke-width": 2, "data-points": live.length }));
    const now = svg("line", { x1: x(Date.now()), x2: x(Date.now()), y1: 10, y2: 150, stroke: "#7a8599", "stroke-width": 0.5 });
    chart.append(now);
    label(chart, { x: 40, y: 158 }, when(w.start));
    label(chart, { x: 890, y: 158, "text-anchor": "end" }, when(w.end));
    label(chart, { x: 2, y: 14 }, compact(top / 1.05));
  }

  // -- devices --------------------------------------------------------------------------
  function renderDevices(devices) {
    const rows = $("device-rows");
    rows.replaceChildren();
    const mine = devices.filter((d) => !state.account || d.account === state.account);
    for (const d of mine) {
      const block = d.currentBlock;
      const share = block && state.window && state.window.tokens ? block.tokens / state.window.tokens : 0;
      rows.append(el("tr", { "data-device": d.deviceId },
        el("td", { class: "name", title: [d.name, d.hostname].filter(Boolean).join(" on ") }, el("span", { class: d.online ? "dot on" : "dot", title: d.online ? "online" : "offline" }), d.name || d.deviceId),
        el("td", { class: "muted" }, ago(d.lastPush)),
        el("td", { class: "num" }, el("span", { class: "share", style: `width:${Math.round(share * 60)}px` }), block ? compact(block.tokens) : "–"),
        el("td", { class: "num" }, `${compact(d.today.tokens)} · ${usd(d.today.costUSD)}`)));
    }
    if (!mine.length) rows.append(el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No device has pushed yet.")));
  }

  // -- daily: stacked bars by model ---------------------------------------------------------
  function renderDaily(report) {
    const chart = $("daily-chart"), legend = $("daily-legend");
    chart.replaceChildren(); legend.replaceChildren();
    const days = report.daily || [];
    const totals = new Map();
    for (const day of days) for (const m of day.modelBreakdowns || []) totals.set(m.modelName, (totals.get(m.modelName) || 0) + tokensOf(m));
    const models = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name);
    const shown = models.slice(0, COLORS.length - 1);
    const color = (name) => COLORS[shown.includes(name) ? shown.indexOf(name) : COLORS.length - 1];
    const top = Math.max(1, ...days.map((d) => d.totalTokens));
    const width = 850 / Math.max(days.length, 30);
    days.forEach((day, i) => {
      let y = 200;
      const group = svg("g", { "data-date": day.date });
      const title = svg("title"); title.textContent = `${day.date}: ${compact(day.totalTokens)} tokens, ${usd(day.totalCost)}`;
      group.append(title);
      for (const m of day.modelBreakdowns || []) {
        const h = (tokensOf(m) / top) * 185;
        y -= h;
        group.append(svg("rect", { x: 40 + i * width + 1, y, width: Math.max(1, width - 2), height: h, fill: color(m.modelName) }));
      }
      chart.append(group);
      if (i % 5 === 0 || i === days.length - 1) label(chart, { x: 40 + i * width, y: 214 }, day.date.slice(5));
    });
    label(chart, { x: 2, y: 14 }, compact(top));
    if (!days.length) label(chart, { x: 450, y: 110, "text-anchor": "middle" }, "no usage in these days");
    for (const name of shown) legend.append(el("span", {}, el("i", { style: `background:${color(name)}` }), name));
    if (models.length > shown.length) legend.append(el("span", {}, el("i", { style: `background:${COLORS[COLORS.length - 1]}` }), "other"));
    const unpriced = report.totals ? report.totals.unpricedModels : [];
    legend.append(el("span", { id: "daily-total", title: unpricedTitle(unpriced) }, `30 days: ${compact(report.totals ? report.totals.totalTokens : 0)} tokens · ${costText(report.totals ? report.totals.totalCost : 0, unpriced)}`));
  }
  const tokensOf = (m) => (m.inputTokens || 0) + (m.outputTokens || 0) + (m.cacheCreationTokens || 0) + (m.cacheReadTokens || 0);

  // -- blocks -------------------------------------------------------------------------------
  function renderBlocks(report) {
    const chart = $("blocks-chart");
    chart.replaceChildren();
    const since = Date.now() - 7 * 86400e3;
    const blocks = (report.blocks || []).filter((b) => !b.isGap && Date.parse(b.startTime) >= since);
    const top = Math.max(1, ...blocks.map((b) => b.totalTokens));
    const width = 850 / Math.max(blocks.length, 20);
    blocks.forEach((b, i) => {
      const h = (b.totalTokens / top) * 130;
      const rect = svg("rect", { x: 40 + i * width + 1, y: 140 - h, width: Math.max(1, width - 2), height: h, fill: b.isActive ? COLORS[0] : COLORS[1], "data-block": b.id });
      const title = svg("title"); title.textContent = `${when(b.startTime)}: ${compact(b.totalTokens)} tokens, ${usd(b.costUSD)}${b.isActive ? " (running)" : ""}`;
      rect.append(title);
      chart.append(rect);
    });
    label(chart, { x: 2, y: 14 }, compact(top));
    if (!blocks.length) label(chart, { x: 450, y: 80, "text-anchor": "middle" }, "no blocks in these days");
  }

  // -- jobs -----------------------------------------------------------------------------------
  // A warm-up's latest check: did the prompt it sent start a window?
  const startedText = (w) => (w.verified ? `window started (${w.by})` : "window NOT verified");
  const startedTitle = (w) => (w.verified ? (w.resetsAt ? `resets ${when(w.resetsAt)}` : `first request ${when(w.firstRequest)}`) : w.reason || "");
  async function showWindowStarted(job, cell) {
    const { runs } = await api(`/api/cron/${job.id}/runs?limit=20`);
    const run = runs.find((r) => r.windowStarted);
    if (!run) return;
    const w = run.windowStarted;
    cell.append(el("div", { class: w.verified ? "muted" : "error", "data-window-started": String(w.verified), title: startedTitle(w) }, startedText(w)));
  }

  function renderJobs(jobs) {
    const rows = $("job-rows");
    rows.replaceChildren();
    $("jobs-empty").hidden = jobs.length > 0;
    for (const job of jobs) {
      const run = el("button", { type: "button" }, "run now");
      run.addEventListener("click", async () => {
        run.disabled = true; run.textContent = "running…";
        try { const answer = await api(`/api/cron/${job.id}/execute`, { method: "POST" }); run.textContent = answer.status; }
        catch (error) { run.textContent = error instanceof Unauthorized ? "needs admin" : "failed"; run.title = String(error.message || error); }
        setTimeout(refreshJobs, 1500);
      });
      const last = el("td", { class: "muted" }, job.lastRun ? ago(job.lastRun) : "never");
      if (job.kind === "warmup" && job.lastRun) showWindowStarted(job, last).catch(showError);
      rows.append(el("tr", { "data-job": job.id },
        el("td", {}, job.name), el("td", { class: "muted" }, job.kind),
        el("td", {}, el("code", {}, job.schedule), el("span", { class: "muted" }, ` ${job.timezone}`)),
        el("td", {}, job.enabled ? when(job.nextRun) : "disabled"), last,
        el("td", { class: job.status === "error" ? "error" : "", title: job.errorMessage || "" }, job.status), el("td", {}, run)));
    }
  }

  // -- loading and live updates -----------------------------------------------------------------
  const dayKey = (date) => date.toISOString().slice(0, 10).replaceAll("-", "");
  async function refreshWindow() { renderWindow(await api(withAccount("/api/window"))); }
  async function refreshLimits() { renderLimits(await api(withAccount("/api/limits"))); }
  async function refreshDevices() { renderDevices((await api(withAccount("/api/usage"))).devices); }
  async function refreshJobs() { renderJobs((await api("/api/cron")).jobs); }
  async function refreshReports() {
    const since = dayKey(new Date(Date.now() - 29 * 86400e3));
    const zone = encodeURIComponent(state.zone);
    const [daily, blocks] = await Promise.all([
      api(withAccount(`/api/reports/daily?since=${since}&timezone=${zone}`)),
      api(withAccount(`/api/reports/blocks?timezone=${zone}`)),
    ]);
    renderDaily(daily); renderBlocks(blocks);
  }

  const pending = new Map();
  function soon(work) {  // coalesce a burst of events into one refresh of each kind
    clearTimeout(pending.get(work));
    pending.set(work, setTimeout(() => work().catch(showError), 400));
  }
  const refreshUsage = async () => { await refreshDevices(); await refreshReports(); };

  async function start() {
    const [status, config, usage] = await Promise.all([api("/api/status"), api("/api/config"), api("/api/usage")]);
    $("version").textContent = `v${status.version}`;
    state.zone = config.timezone || "UTC";
    const accounts = [...new Set(usage.devices.map((d) => d.account))].sort();
    if (accounts.length > 1) {
      const picker = $("account");
      picker.replaceChildren(...accounts.map((a) => el("option", { value: a }, a)));
      state.account = state.account || accounts[0];
      picker.value = state.account;
      picker.onchange = () => { state.account = picker.value; reload(); };
      $("account-picker").hidden = false;
    }
    $("login").hidden = true;
    $("board").hidden = false;
    await reload();
    connect();
  }

  async function reload() {
    await refreshWindow();
    await Promise.all([refreshLimits(), refreshDevices(), refreshReports(), refreshJobs()]);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = state.token ? `?token=${encodeURIComponent(state.token)}` : "";
    const socket = new WebSocket(`${scheme}://${location.host}/ws${query}`);
    state.socket = socket;
    socket.onopen = () => { state.retry = 0; $("connection").textContent = "live"; $("connection").className = "live"; };
    socket.onclose = () => {
      $("connection").textContent = "reconnecting"; $("connection").className = "";
      const delay = Math.min(30, 2 ** state.retry++) * 1000 * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
    socket.onmessage = (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch { return; }
      if (event.type === "token_usage_update") {
        if (event.window && (!state.account || event.account === state.account)) renderWindow(event.window);
        soon(refreshUsage);
      } else if (event.type === "device_connected" || event.type === "device_disconnected") {
        soon(refreshDevices);
      } else if (event.type === "limits_update") {
        if (!state.account || event.limits.account === state.account) renderLimits(event.limits);
      } else if (event.type === "cron_job_executed") {
        soon(refreshJobs);
      }
    };
  }

  function showError(error) {
    if (error instanceof Unauthorized) {
      $("board").hidden = true; $("login").hidden = false;
      $("login-error").textContent = state.token ? "That token was not accepted." : "";
      return;
    }
    $("connection").textContent = `error: ${error.message || error}`;
  }

  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("token-input").value.trim();
    sessionStorage.setItem("ccsync.token", state.token);
    start().catch(showError);
  });
  setInterval(tick, 1000);
  start().catch(showError);
})();
