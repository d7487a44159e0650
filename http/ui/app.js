// dialerd dashboard. Hand-written, no framework and no build step: the
// node embeds this file as it is. It polls the REST API with the token
// the user gave (kept in sessionStorage, sent as a Bearer header, never
// as a cookie: closing the tab forgets it), and redraws what changed.
// Element ids and data-testid attributes are what internal/uitest
// drives; keep them stable.
(function () {
  "use strict";

  const POLL_MS = 1500; // the wallboard's refresh
  const LISTS_EVERY = 5; // lists are an index scan: every 5th poll
  const REQUEST_TIMEOUT_MS = 8000;
  const TOKEN_KEY = "dialerd.token";
  const UPLOADS_KEY = "dialerd.uploads"; // {campaign slug: [{uuid, list, file}]}
  const MAX_BARS = 240; // longer windows are drawn in buckets of minutes

  const $ = (id) => document.getElementById(id);
  const enc = encodeURIComponent;
  const fmt = new Intl.NumberFormat("en-US");

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    route: { view: "login", slug: "" },
    gen: 0, // bumped on every route change: late answers for an old view are dropped
    timer: 0,
    polling: false,
    again: false,
    polls: 0,
    slow: 1, // the list view polls every slow × POLL_MS: each campaign is a status request
    lastOK: 0, // Date.now() of the last poll that reached the node
    failure: "", // why the last poll failed, "" when it did not
    minutes: 60,
    campaign: null, // the viewed campaign's document
    lists: [],
    uploads: {}, // uuid -> last upload document
    sending: {}, // list uuid -> text shown while a file is being sent
  };

  // ---- API ---------------------------------------------------------------

  class APIError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }
  // NetworkError: the node could not be reached at all.
  class NetworkError extends Error {}

  // messageOf turns an error body into one sentence: {"detail"} or a
  // field -> messages map.
  function messageOf(data, status) {
    if (data && typeof data.detail === "string") return data.detail;
    if (data && typeof data === "object") {
      const parts = Object.keys(data).map((k) => k + ": " + [].concat(data[k]).join(" "));
      if (parts.length) return parts.join("; ");
    }
    return "HTTP " + status;
  }

  async function api(method, path, body, token) {
    const headers = { Authorization: "Bearer " + (token || state.token), Accept: "application/json" };
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), REQUEST_TIMEOUT_MS);
    let res;
    try {
      // credentials "omit": an access_token cookie would win over the
      // header on the node, and the token typed here must be the one used.
      res = await fetch("/api/v/" + path, { method, headers, body: payload, signal: ctl.signal, cache: "no-store", credentials: "omit" });
    } catch (e) {
      throw new NetworkError(ctl.signal.aborted ? "no answer within " + REQUEST_TIMEOUT_MS / 1000 + " s" : "connection failed");
    } finally {
      clearTimeout(timer);
    }
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (!res.ok) throw new APIError(res.status, messageOf(data, res.status));
    return data;
  }

  // ---- small DOM helpers -------------------------------------------------

  function el(tag, attrs, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") n.className = v;
      else if (k === "text") n.textContent = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids) if (k !== null && k !== undefined) n.append(k);
    return n;
  }
  const SVG = "http://www.w3.org/2000/svg";
  function svgEl(tag, attrs, text) {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function setText(id, v) {
    const n = $(id);
    const s = String(v);
    if (n.textContent !== s) n.textContent = s;
  }
  const num = (v) => (typeof v === "number" ? fmt.format(v) : "–");
  const pct = (v, digits) => (typeof v === "number" ? (v * 100).toFixed(digits === undefined ? 1 : digits) + " %" : "–");
  const hhmm = (iso) => new Date(iso).toISOString().slice(11, 16);
  // axisTime labels a chart's minute: with the date once the window spans days.
  const axisTime = (iso, long) => (long ? new Date(iso).toISOString().slice(5, 16).replace("T", " ") : hhmm(iso));
  function bytes(n) {
    if (n < 1024) return n + " B";
    if (n < 1 << 20) return (n / 1024).toFixed(1) + " KiB";
    if (n < 1 << 30) return (n / (1 << 20)).toFixed(1) + " MiB";
    return (n / (1 << 30)).toFixed(2) + " GiB";
  }

  // ---- routing and views -------------------------------------------------

  function parseRoute() {
    if (!state.token) return { view: "login", slug: "" };
    const m = location.hash.match(/^#\/c\/([^/]+)\/?$/);
    if (m) return { view: "campaign", slug: decodeURIComponent(m[1]) };
    return { view: "campaigns", slug: "" };
  }

  function show(route) {
    const changed = route.view !== state.route.view || route.slug !== state.route.slug;
    state.route = route;
    if (changed) {
      state.gen++;
      state.campaign = null;
      state.lists = [];
      state.polls = 0;
    }
    $("view-login").hidden = route.view !== "login";
    $("view-campaigns").hidden = route.view !== "campaigns";
    $("view-campaign").hidden = route.view !== "campaign";
    $("logout").hidden = route.view === "login";
    $("node-clock").hidden = route.view !== "campaign";
    if (route.view === "login") {
      document.title = "dialerd · sign in";
      $("banner").hidden = true;
      $("updated").hidden = true;
      $("token-input").focus();
      return;
    }
    $("updated").hidden = false;
    if (changed && route.view === "campaign") {
      clearCampaignView();
      document.title = route.slug + " · dialerd";
    } else if (changed) {
      document.title = "dialerd · live campaigns";
    }
    pollNow();
  }

  function signOut(message) {
    state.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(state.timer);
    state.lastOK = 0;
    state.failure = "";
    state.uploads = {};
    $("campaign-rows").replaceChildren();
    const err = $("login-error");
    err.textContent = message || "";
    err.hidden = !message;
    show({ view: "login", slug: "" });
  }

  // ---- polling -----------------------------------------------------------

  function pollNow() {
    if (state.polling) {
      state.again = true;
      return;
    }
    clearTimeout(state.timer);
    poll();
  }

  async function poll() {
    if (!state.token || state.route.view === "login") return;
    state.polling = true;
    const gen = state.gen;
    try {
      if (state.route.view === "campaign") await pollCampaign(gen, state.route.slug);
      else await pollCampaigns(gen);
      state.lastOK = Date.now();
      state.failure = "";
    } catch (e) {
      if (e instanceof APIError && e.status === 401) {
        signOut("The node no longer accepts this token (" + e.message + "). Sign in again.");
        state.polling = false;
        return;
      }
      if (e instanceof NetworkError) state.failure = "Cannot reach the node at " + location.host + ": " + e.message + ".";
      else if (e instanceof APIError && e.status >= 500) state.failure = "The node answered " + e.status + ": " + e.message;
      else if (e instanceof APIError && e.status === 404 && state.route.view === "campaign") {
        state.failure = "";
        state.lastOK = Date.now();
        showMissing(e.message);
      } else state.failure = e.message || String(e);
    } finally {
      state.polling = false;
    }
    tickClock();
    if (!state.token) return;
    const delay = state.again ? 0 : state.route.view === "campaigns" ? state.slow * POLL_MS : POLL_MS;
    state.again = false;
    clearTimeout(state.timer);
    state.timer = setTimeout(poll, delay);
  }

  // tickClock redraws "updated Xs ago" and the banner, every half second.
  function tickClock() {
    const up = $("updated");
    const banner = $("banner");
    if (!state.token) return;
    const age = state.lastOK ? Math.floor((Date.now() - state.lastOK) / 1000) : -1;
    const text = age < 0 ? "connecting…" : "updated " + age + "s ago";
    setText("updated", text);
    up.dataset.age = String(age);
    const stale = !!state.failure || age > 10;
    up.classList.toggle("fresh", !stale && age >= 0);
    up.classList.toggle("stale", stale);
    $("main").classList.toggle("stale", !!state.failure);
    if (state.failure) {
      const since = age < 0 ? "Nothing shown yet." : "The figures below are from " + age + " s ago.";
      const every = (state.route.view === "campaigns" ? state.slow : 1) * POLL_MS / 1000;
      const msg = state.failure + " Retrying every " + every + " s. " + since;
      if (banner.textContent !== msg) banner.textContent = msg;
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
  }

  // ---- the campaign list -------------------------------------------------

  async function pollCampaigns(gen) {
    const docs = await api("GET", "campaign/");
    docs.sort((a, b) => a.name.localeCompare(b.name));
    const shown = docs.slice(0, 200);
    state.slow = Math.max(1, Math.ceil(shown.length / 50));
    const statuses = await Promise.all(
      shown.map((c) =>
        api("GET", "campaign/" + enc(c.slug) + "/status/").catch((e) => {
          if (e instanceof APIError && e.status === 404) return null; // deleted meanwhile
          throw e;
        })
      )
    );
    if (gen !== state.gen) return;
    renderCampaigns(shown, statuses, docs.length);
  }

  function renderCampaigns(docs, statuses, total) {
    const tbody = $("campaign-rows");
    $("campaigns-empty").hidden = docs.length > 0;
    $("campaign-table").hidden = docs.length === 0;
    const counts = {};
    statuses.forEach((s) => s && (counts[s.status] = (counts[s.status] || 0) + 1));
    const summary = Object.keys(counts).sort().map((k) => counts[k] + " " + k).join(" · ");
    setText("campaigns-summary", (total > docs.length ? "first " + docs.length + " of " + total + " · " : "") + summary);
    const rows = new Map([...tbody.children].map((tr) => [tr.dataset.slug, tr]));
    let prev = null;
    docs.forEach((c, i) => {
      let tr = rows.get(c.slug);
      if (!tr) tr = newCampaignRow(c.slug);
      rows.delete(c.slug);
      fillCampaignRow(tr, c, statuses[i]);
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== tr) tbody.insertBefore(tr, want);
      prev = tr;
    });
    rows.forEach((tr) => tr.remove());
  }

  function newCampaignRow(slug) {
    const tr = el("tr", { "data-testid": "campaign-row", "data-slug": slug });
    const link = el("a", { class: "name", href: "#/c/" + enc(slug), "data-testid": "campaign-link" });
    tr.append(
      el("td", {}, link, el("span", { class: "slug" })),
      el("td", {}, el("span", { class: "badge", "data-testid": "row-status" })),
      el("td", { class: "num", "data-testid": "row-ringing" }),
      el("td", { class: "num", "data-testid": "row-connected" }),
      el("td", { class: "num", "data-testid": "row-queued" }),
      el("td", { class: "num", "data-testid": "row-seats" }),
      el("td", { class: "num", "data-testid": "row-unresolved" }),
      el("td", { class: "num", "data-testid": "row-attempts" }),
      el("td", { "data-testid": "row-reasons" })
    );
    return tr;
  }

  function fillCampaignRow(tr, c, s) {
    const td = tr.children;
    const link = td[0].firstChild;
    if (link.textContent !== c.name) link.textContent = c.name;
    const meta = [c.slug, c.workspace ? "workspace " + c.workspace : null, c.paused ? "paused" : null].filter(Boolean).join(" · ");
    if (td[0].lastChild.textContent !== meta) td[0].lastChild.textContent = meta;
    const badge = td[1].firstChild;
    const status = s ? s.status : "Unknown";
    if (badge.textContent !== status) {
      badge.textContent = status;
      badge.className = "badge " + status;
    }
    const cells = s
      ? [s.calls.ringing, s.calls.connected, s.calls.queued, s.seats.available, s.prospects.unresolved, s.attempts_30d]
      : [null, null, null, null, null, null];
    cells.forEach((v, i) => {
      const t = num(v);
      if (td[2 + i].textContent !== t) td[2 + i].textContent = t;
    });
    renderReasons(td[8], s && s.status !== "Running" ? s.reasons : []);
  }

  // renderReasons fills a cell or list with the status's reasons, only
  // when they changed (a wallboard redraws constantly; text that does not
  // move stays selectable).
  function renderReasons(container, reasons) {
    const key = JSON.stringify(reasons || []);
    if (container.dataset.key === key) return;
    container.dataset.key = key;
    if (!reasons || reasons.length === 0) {
      container.replaceChildren();
      return;
    }
    const ul = el("ul", { class: "reason-list" });
    for (const r of reasons) ul.append(el("li", { "data-code": r.code, text: r.message }));
    container.replaceChildren(ul);
  }

  // ---- one campaign ------------------------------------------------------

  function clearCampaignView() {
    setText("c-name", state.route.slug);
    const badge = $("c-status");
    badge.textContent = "…";
    badge.className = "badge big";
    setText("c-meta", "");
    setText("action-msg", "");
    $("pause-button").hidden = true;
    $("resume-button").hidden = true;
    $("reasons").hidden = true;
    for (const id of ["chart-attempts", "chart-abandon", "seats-bar"]) $(id).replaceChildren();
    $("lists-rows").replaceChildren();
    $("uploads").replaceChildren();
    setText("node-clock", "");
  }

  function showMissing(message) {
    setText("c-name", state.route.slug);
    const badge = $("c-status");
    badge.textContent = "Not found";
    badge.className = "badge big";
    setText("c-meta", message + " It may have been deleted, or this token does not cover its workspace.");
    $("pause-button").hidden = true;
    $("resume-button").hidden = true;
  }

  async function pollCampaign(gen, slug) {
    const base = "campaign/" + enc(slug) + "/";
    const wantLists = state.polls % LISTS_EVERY === 0;
    state.polls++;
    const [doc, status, series, lists] = await Promise.all([
      api("GET", base),
      api("GET", base + "status/"),
      api("GET", base + "stats/?minutes=" + state.minutes),
      wantLists ? api("GET", "list/?campaign=" + enc(slug)) : Promise.resolve(null),
    ]);
    if (gen !== state.gen) return;
    state.campaign = doc;
    if (lists) state.lists = lists.sort((a, b) => a.name.localeCompare(b.name));
    renderCampaign(doc, status);
    renderCharts(series, doc);
    if (lists) renderLists(slug);
    await pollUploads(gen, slug);
  }

  function renderCampaign(c, s) {
    setText("c-name", c.name);
    const badge = $("c-status");
    if (badge.textContent !== s.status) {
      badge.textContent = s.status;
      badge.className = "badge big " + s.status;
    }
    const meta = [
      c.slug,
      c.workspace ? "workspace " + c.workspace : "no workspace",
      c.agent_id ? "agent " + c.agent_id : "no agent",
      c.active ? null : "inactive",
      c.paused ? "paused" : null,
      "ratio " + c.call_ratio + ", every " + c.dialer_interval + " s",
      "window " + c.earliest_prospect_time.slice(0, 5) + "–" + c.latest_prospect_time.slice(0, 5),
    ].filter(Boolean).join(" · ");
    setText("c-meta", meta);
    const pause = $("pause-button");
    const resume = $("resume-button");
    if (!pause.disabled && !resume.disabled) {
      pause.hidden = c.paused;
      resume.hidden = !c.paused;
    }
    $("view-campaign").dataset.paused = String(c.paused);

    const reasons = s.status === "Running" ? [] : s.reasons;
    $("reasons").hidden = reasons.length === 0;
    renderReasons($("reasons-list"), reasons);

    setText("calls-ringing", num(s.calls.ringing));
    setText("calls-connected", num(s.calls.connected));
    setText("calls-queued", num(s.calls.queued));
    const seatStates = ["available", "busy", "wrap_up", "paused", "offline"];
    seatStates.forEach((k) => setText("seats-" + k, num(s.seats[k])));
    drawSeats(s.seats, seatStates);

    const p = s.prospects;
    setText("prospects-total", num(p.total));
    setText("prospects-unresolved", num(p.unresolved));
    setText("prospects-dialable", num(p.dialable_now) + (p.dialable_now_capped ? "+" : ""));
    const resolved = p.total - p.unresolved;
    const share = p.total > 0 ? resolved / p.total : 0;
    const meter = $("prospects-meter");
    meter.style.width = (share * 100).toFixed(1) + "%";
    meter.classList.toggle("done", p.total > 0 && p.unresolved === 0);
    setText("prospects-done", p.total > 0 ? num(resolved) + " of " + num(p.total) + " resolved (" + pct(share, 0) + ")" : "No prospects yet.");

    setText("pace-ratio", typeof s.effective_call_ratio === "number" ? s.effective_call_ratio.toFixed(2) : "–");
    setText("pace-attempts", num(s.attempts_30d));
    setText("pace-abandon", pct(s.abandon_rate_30d, 2));
  }

  function drawSeats(seats, order) {
    const svg = $("seats-bar");
    const total = order.reduce((a, k) => a + (seats[k] || 0), 0);
    svg.replaceChildren();
    let x = 0;
    const label = [];
    for (const k of order) {
      const n = seats[k] || 0;
      if (n > 0) label.push(n + " " + k.replace("_", "-"));
      if (!total || !n) continue;
      const w = (n / total) * 100;
      svg.append(svgEl("rect", { x: x.toFixed(3), y: 0, width: w.toFixed(3), height: 10, class: "s-" + k }));
      x += w;
    }
    svg.setAttribute("aria-label", total ? "Seats: " + label.join(", ") : "No seats");
  }

  // ---- charts ------------------------------------------------------------

  const W = 800, H = 180, ML = 46, MR = 12, MT = 12, MB = 26;

  // bucket groups points into at most MAX_BARS buckets of k minutes.
  function bucket(points) {
    const k = Math.max(1, Math.ceil(points.length / MAX_BARS));
    const out = [];
    for (let i = 0; i < points.length; i += k) {
      const slice = points.slice(i, i + k);
      const b = { minute: slice[0].minute, last: slice[slice.length - 1].minute, attempts: 0, answered: 0, abandoned: 0 };
      for (const p of slice) {
        b.attempts += p.attempts;
        b.answered += p.answered;
        b.abandoned += p.abandoned;
      }
      out.push(b);
    }
    return { k, buckets: out };
  }

  function niceMax(v) {
    if (v <= 4) return 4;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [2, 4, 6, 8, 10]) if (m * p >= v) return m * p; // its half, a grid line, stays whole
    return 10 * p;
  }

  function axes(svg, yMax, yFmt, buckets, k) {
    const long = buckets.length * k >= 24 * 60;
    const ph = H - MT - MB;
    for (const f of [0, 0.5, 1]) {
      const y = MT + ph - f * ph;
      svg.append(svgEl("line", { x1: ML, x2: W - MR, y1: y, y2: y, class: "grid-line" }));
      svg.append(svgEl("text", { x: ML - 6, y: y + 4, "text-anchor": "end", class: "axis-label" }, yFmt(f * yMax)));
    }
    const n = buckets.length;
    const pw = (W - ML - MR) / n;
    for (const i of new Set([0, Math.floor(n / 2), n - 1])) {
      const anchor = i === 0 ? "start" : i === n - 1 ? "end" : "middle";
      const x = i === n - 1 ? W - MR : ML + i * pw + (i === 0 ? 0 : pw / 2);
      const label = i === n - 1 ? axisTime(buckets[i].last, long) + " UTC" : axisTime(buckets[i].minute, long);
      svg.append(svgEl("text", { x, y: H - 6, "text-anchor": anchor, class: "axis-label" }, label));
    }
    return { ph, pw, per: k === 1 ? "minute" : k + " minutes" };
  }

  function renderCharts(series, doc) {
    const pts = series.points || [];
    setText("node-clock", "node clock " + new Date(series.now).toISOString().slice(0, 19).replace("T", " ") + " UTC");
    if (pts.length === 0) return;
    const { k, buckets } = bucket(pts);
    drawAttempts(pts, buckets, k);
    drawAbandon(pts, buckets, k, doc.max_abandon_rate / 100);
  }

  function drawAttempts(pts, buckets, k) {
    const svg = $("chart-attempts");
    const total = pts.reduce((a, p) => a + p.attempts, 0);
    const answered = pts.reduce((a, p) => a + p.answered, 0);
    const peak = Math.max(...buckets.map((b) => b.attempts));
    const yMax = niceMax(peak);
    const nodes = [];
    const frag = svgEl("g");
    const a = axes(frag, yMax, (v) => fmt.format(Math.round(v)), buckets, k);
    buckets.forEach((b, i) => {
      if (!b.attempts) return;
      const h = (b.attempts / yMax) * a.ph;
      const r = svgEl("rect", {
        x: (ML + i * a.pw + a.pw * 0.1).toFixed(2),
        y: (MT + a.ph - h).toFixed(2),
        width: Math.max(1, a.pw * 0.8).toFixed(2),
        height: h.toFixed(2),
        class: i === buckets.length - 1 ? "bar now" : "bar",
      });
      r.append(svgEl("title", {}, hhmm(b.minute) + " UTC: " + b.attempts + " attempts, " + b.answered + " answered, " + b.abandoned + " abandoned"));
      nodes.push(r);
    });
    frag.append(...nodes);
    if (total === 0) frag.append(svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, "No call attempted in this window"));
    svg.replaceChildren(frag);
    const last = pts[pts.length - 1];
    svg.dataset.total = String(total);
    svg.dataset.points = String(pts.length);
    svg.dataset.bars = String(nodes.length);
    svg.dataset.last = last.minute;
    const span = pts.length + " minutes to " + hhmm(last.minute) + " UTC";
    svg.setAttribute("aria-label", "Attempts per " + a.per + " over the last " + span + ": " + total + " in all, at most " + peak + " per " + a.per + ", " + last.attempts + " in the last minute.");
    setText("attempts-title", "Attempts per " + a.per);
    setText("attempts-sum", "· " + fmt.format(total) + " attempts, " + fmt.format(answered) + " answered, last " + pts.length + " min");
  }

  function drawAbandon(pts, buckets, k, limit) {
    const svg = $("chart-abandon");
    const trail = Math.max(1, Math.round(15 / k)); // ~15 minutes of buckets
    let peak = 0;
    const rolling = buckets.map((b, i) => {
      let ans = 0, ab = 0;
      for (const q of buckets.slice(Math.max(0, i - trail + 1), i + 1)) {
        ans += q.answered;
        ab += q.abandoned;
      }
      const r = ans > 0 ? ab / ans : null;
      if (r !== null) peak = Math.max(peak, r);
      return r;
    });
    const own = buckets.map((b) => (b.answered > 0 ? b.abandoned / b.answered : null));
    own.forEach((r) => r !== null && (peak = Math.max(peak, r)));
    const lim = limit > 0 ? limit : 0;
    const yMax = Math.min(1, Math.max(0.05, lim * 1.6, peak * 1.1));
    const g = svgEl("g");
    const a = axes(g, yMax, (v) => (v * 100).toFixed(yMax < 0.1 ? 1 : 0) + "%", buckets, k);
    const xy = (i, r) => [(ML + i * a.pw + a.pw / 2).toFixed(2), (MT + a.ph - (Math.min(r, yMax) / yMax) * a.ph).toFixed(2)];
    let d = "", area = "", run = [];
    const flush = () => {
      if (run.length > 1) {
        d += "M" + run.map((p) => p.join(",")).join("L");
        area += "M" + run[0][0] + "," + (MT + a.ph) + "L" + run.map((p) => p.join(",")).join("L") + "L" + run[run.length - 1][0] + "," + (MT + a.ph) + "Z";
      }
      run = [];
    };
    rolling.forEach((r, i) => (r === null ? flush() : run.push(xy(i, r))));
    flush();
    if (area) g.append(svgEl("path", { d: area, class: "rate-area" }));
    if (d) g.append(svgEl("path", { d, class: "rate-line" }));
    own.forEach((r, i) => {
      if (r === null) return;
      const [x, y] = xy(i, r);
      const c = svgEl("circle", { cx: x, cy: y, r: 2.6, class: "rate-dot" });
      c.append(svgEl("title", {}, hhmm(buckets[i].minute) + " UTC: " + buckets[i].abandoned + " of " + buckets[i].answered + " answered abandoned"));
      g.append(c);
    });
    if (lim > 0 && lim <= yMax) {
      const y = MT + a.ph - (lim / yMax) * a.ph;
      g.append(svgEl("line", { x1: ML, x2: W - MR, y1: y, y2: y, class: "limit" }));
      g.append(svgEl("text", { x: W - MR - 4, y: y - 5, "text-anchor": "end", class: "limit-label" }, "max " + (lim * 100).toFixed(1) + "%"));
    }
    const answered = pts.reduce((s, p) => s + p.answered, 0);
    const abandoned = pts.reduce((s, p) => s + p.abandoned, 0);
    if (answered === 0) g.append(svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, "No call answered in this window"));
    svg.replaceChildren(g);
    svg.dataset.answered = String(answered);
    svg.dataset.abandoned = String(abandoned);
    svg.dataset.points = String(pts.length);
    const rate = answered > 0 ? abandoned / answered : 0;
    svg.setAttribute("aria-label", "Abandon rate over the last " + pts.length + " minutes: " + abandoned + " of " + answered + " answered calls abandoned (" + pct(rate, 1) + ")" + (lim > 0 ? "; the campaign's maximum is " + pct(lim, 1) : "") + ".");
    setText("abandon-sum", "· " + pct(rate, 1) + " of " + fmt.format(answered) + " answered in the window");
  }

  // ---- lists and uploads -------------------------------------------------

  function trackedUploads(slug) {
    try {
      const all = JSON.parse(sessionStorage.getItem(UPLOADS_KEY) || "{}");
      return Array.isArray(all[slug]) ? all[slug] : [];
    } catch (e) {
      return [];
    }
  }
  function setTrackedUploads(slug, list) {
    let all = {};
    try {
      all = JSON.parse(sessionStorage.getItem(UPLOADS_KEY) || "{}");
    } catch (e) {
      all = {};
    }
    all[slug] = list;
    sessionStorage.setItem(UPLOADS_KEY, JSON.stringify(all));
  }
  function track(slug, up) {
    const list = trackedUploads(slug).filter((u) => u.uuid !== up.uuid);
    list.unshift(up);
    setTrackedUploads(slug, list.slice(0, 20));
  }

  function renderLists(slug) {
    const tbody = $("lists-rows");
    $("lists-empty").hidden = state.lists.length > 0;
    $("lists-table").hidden = state.lists.length === 0;
    const rows = new Map([...tbody.children].map((tr) => [tr.dataset.uuid, tr]));
    let prev = null;
    for (const l of state.lists) {
      const tr = rows.get(l.uuid) || listRow(slug, l); // a row keeps its chosen file
      rows.delete(l.uuid);
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== tr) tbody.insertBefore(tr, want); // moved only when out of place: moving drops focus
      prev = tr;
    }
    rows.forEach((tr) => tr.remove());
  }

  function listRow(slug, l) {
    const file = el("input", { type: "file", accept: ".csv,text/csv", "aria-label": "CSV file for list " + l.name, "data-testid": "upload-file" });
    const dedupe = el("input", { type: "checkbox", checked: true, id: "dedupe-" + l.uuid });
    const send = el("button", { type: "submit", class: "ghost", "data-testid": "upload-submit" }, "Upload");
    const status = el("span", { class: "muted small", role: "status", "data-testid": "upload-sending" });
    const form = el("form", { class: "upload-form" }, file, el("label", { for: "dedupe-" + l.uuid, class: "small" }, dedupe, " dedupe"), send, status);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (!file.files || file.files.length === 0) {
        status.textContent = "Choose a CSV file first.";
        return;
      }
      sendFile(slug, l, file.files[0], dedupe.checked, send, status, () => (file.value = ""));
    });
    return el("tr", { "data-testid": "list-row", "data-uuid": l.uuid },
      el("td", {}, el("strong", { text: l.name }), el("span", { class: "slug", text: l.slug })),
      el("td", {}, el("code", { text: l.uuid })),
      el("td", { text: new Date(l.created_at).toISOString().slice(0, 16).replace("T", " ") + " UTC" }),
      el("td", {}, form));
  }

  // sendFile posts a CSV with XMLHttpRequest, which (unlike fetch) reports
  // how much of the body went out; then the upload is followed.
  function sendFile(slug, list, file, dedupe, button, status, done) {
    const fd = new FormData();
    fd.append("dedupe", dedupe ? "true" : "false");
    fd.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v/upload/" + enc(list.uuid) + "/");
    xhr.setRequestHeader("Authorization", "Bearer " + state.token);
    xhr.setRequestHeader("Accept", "application/json");
    button.disabled = true;
    status.textContent = "Sending " + file.name + "…";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) status.textContent = "Sending " + file.name + ": " + bytes(e.loaded) + " of " + bytes(e.total) + " (" + pct(e.loaded / e.total, 0) + ")";
    };
    xhr.onerror = () => {
      button.disabled = false;
      status.textContent = "The upload failed: the node could not be reached.";
    };
    xhr.onload = () => {
      button.disabled = false;
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (e) {
        data = null;
      }
      if (xhr.status === 401) {
        signOut("The node no longer accepts this token. Sign in again.");
        return;
      }
      if (xhr.status !== 201 || !data || !data.uuid) {
        status.textContent = "Refused (" + xhr.status + "): " + messageOf(data, xhr.status);
        return;
      }
      status.textContent = "Sent: its progress is below.";
      done();
      track(slug, { uuid: data.uuid, list: list.name, file: file.name });
      pollNow();
    };
    xhr.send(fd);
  }

  async function pollUploads(gen, slug) {
    const tracked = trackedUploads(slug);
    await Promise.all(
      tracked.map(async (t) => {
        const last = state.uploads[t.uuid];
        if (last && last.status === "completed") return; // final
        try {
          state.uploads[t.uuid] = await api("GET", "upload/" + enc(t.uuid) + "/");
        } catch (e) {
          if (e instanceof APIError && e.status === 404) state.uploads[t.uuid] = { uuid: t.uuid, status: "gone", reason: e.message };
          else throw e;
        }
      })
    );
    if (gen !== state.gen) return;
    renderUploads(slug, tracked);
  }

  function renderUploads(slug, tracked) {
    const box = $("uploads");
    const key = JSON.stringify(tracked.map((t) => state.uploads[t.uuid] || t));
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.replaceChildren(...tracked.map((t) => uploadCard(slug, t, state.uploads[t.uuid])));
  }

  function uploadCard(slug, t, u) {
    const status = u ? u.status : "…";
    const card = el("article", { class: "upload", "data-testid": "upload", "data-uuid": t.uuid, "data-status": status });
    const forget = el("button", { type: "button", class: "ghost", onclick: () => {
      setTrackedUploads(slug, trackedUploads(slug).filter((x) => x.uuid !== t.uuid));
      delete state.uploads[t.uuid];
      renderUploads(slug, trackedUploads(slug));
    } }, "Forget");
    const head = el("div", { class: "row" },
      el("strong", { text: t.file || (u && u.filename) || t.uuid }),
      el("span", { class: "muted small", text: "list " + (t.list || (u && u.list) || "?") + " · " + t.uuid }),
      el("span", { class: "badge " + (status === "completed" ? "Completed" : status === "processing" ? "Stopped" : "Inactive"), text: status }),
      el("span", { class: "spacer" }),
      forget);
    card.append(head);
    if (!u || status === "gone") {
      if (u && u.reason) card.append(el("p", { class: "muted", text: u.reason }));
      return card;
    }
    // Bytes read first; once the file is read whole, batches ingested.
    let share = u.bytes > 0 ? u.bytes_done / u.bytes : 0;
    let what = bytes(u.bytes_done || 0) + " of " + bytes(u.bytes || 0) + " read";
    if (typeof u.batches_total === "number" && u.batches_total > 0) {
      share = u.batches_done / u.batches_total;
      what = u.batches_done + " of " + u.batches_total + " batches ingested" + (u.batches_failed ? ", " + u.batches_failed + " failed" : "");
    }
    if (status === "completed") share = 1;
    const fill = el("div", { class: "meter-fill" + (status === "completed" ? " done" : status === "failed" ? " failed" : "") });
    fill.style.width = (share * 100).toFixed(1) + "%";
    card.append(
      el("div", { class: "meter", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(Math.round(share * 100)), "aria-label": "Upload progress" }, fill),
      el("p", { class: "muted small", text: what }),
      el("div", { class: "counts" },
        el("span", {}, "rows ", el("b", { "data-testid": "upload-rows", text: num(u.rows_seen) })),
        el("span", {}, "accepted ", el("b", { "data-testid": "upload-accepted", text: num(u.accepted) })),
        el("span", {}, "duplicates ", el("b", { text: num(u.duplicates) })),
        el("span", {}, "invalid ", el("b", { text: num(u.invalid) })),
        el("span", {}, "do-not-call ", el("b", { text: num(u.do_not_call) }))));
    if (u.reason) card.append(el("p", { class: "error", text: u.reason }));
    if (Array.isArray(u.errors) && u.errors.length) {
      const ul = el("ul");
      for (const e of u.errors.slice(0, 3)) ul.append(el("li", { text: "row " + e.row + (e.column ? ", " + e.column : "") + ": " + e.reason }));
      if (u.errors.length > 3) ul.append(el("li", { text: "… " + (u.errors.length - 3) + " more in GET /api/v/upload/" + t.uuid + "/" }));
      card.append(ul);
    }
    if (status === "failed") {
      card.append(el("button", { type: "button", onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          await api("POST", "upload/" + enc(t.uuid) + "/retry/");
          delete state.uploads[t.uuid];
          pollNow();
        } catch (e) {
          ev.target.disabled = false;
          card.append(el("p", { class: "error", text: "Retry refused: " + e.message }));
        }
      } }, "Retry"));
    }
    return card;
  }

  // ---- actions -----------------------------------------------------------

  async function setPaused(paused) {
    const slug = state.route.slug;
    const pause = $("pause-button");
    const resume = $("resume-button");
    pause.disabled = resume.disabled = true;
    setText("action-msg", paused ? "Pausing…" : "Resuming…");
    try {
      const doc = await api("PATCH", "campaign/" + enc(slug) + "/", { paused });
      if (slug !== state.route.slug) return;
      state.campaign = doc;
      pause.hidden = doc.paused;
      resume.hidden = !doc.paused;
      setText("action-msg", doc.paused
        ? "Paused: no new call is placed; calls in progress finish."
        : "Resumed: the dialer places calls again from its next tick.");
      (doc.paused ? resume : pause).focus();
    } catch (e) {
      if (e instanceof APIError && e.status === 401) return signOut("The node no longer accepts this token (" + e.message + ").");
      setText("action-msg", "Could not " + (paused ? "pause" : "resume") + ": " + e.message);
    } finally {
      pause.disabled = resume.disabled = false;
    }
    pollNow();
  }

  async function signIn(ev) {
    ev.preventDefault();
    const input = $("token-input");
    const err = $("login-error");
    const button = $("login-submit");
    const token = input.value.trim();
    if (!token) {
      err.textContent = "Enter an API token.";
      err.hidden = false;
      input.focus();
      return;
    }
    button.disabled = true;
    err.hidden = true;
    try {
      await api("GET", "campaign/", undefined, token);
    } catch (e) {
      button.disabled = false;
      if (e instanceof APIError && e.status === 401) err.textContent = "This token was refused by the node: " + e.message;
      else if (e instanceof NetworkError) err.textContent = "Cannot reach the node at " + location.host + " (" + e.message + ").";
      else err.textContent = "Sign-in failed: " + e.message;
      err.hidden = false;
      input.select();
      return;
    }
    button.disabled = false;
    input.value = "";
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    show(parseRoute());
  }

  async function follow(ev) {
    ev.preventDefault();
    const input = $("follow-input");
    const uuid = input.value.trim().toLowerCase();
    const slug = state.route.slug;
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid)) {
      setText("action-msg", "An upload UUID looks like 0b9c…-…: 36 characters.");
      return;
    }
    try {
      const u = await api("GET", "upload/" + enc(uuid) + "/");
      if (u.campaign && u.campaign !== slug) {
        setText("action-msg", "Upload " + uuid + " belongs to campaign " + u.campaign + ".");
        return;
      }
      const list = state.lists.find((l) => l.uuid === u.list);
      track(slug, { uuid, list: list ? list.name : u.list, file: u.filename });
      state.uploads[uuid] = u;
      input.value = "";
      pollNow();
    } catch (e) {
      setText("action-msg", "Cannot follow that upload: " + e.message);
    }
  }

  // ---- start -------------------------------------------------------------

  function start() {
    $("login-form").addEventListener("submit", signIn);
    $("logout").addEventListener("click", () => signOut(""));
    $("pause-button").addEventListener("click", () => setPaused(true));
    $("resume-button").addEventListener("click", () => setPaused(false));
    $("follow-form").addEventListener("submit", follow);
    $("window-select").addEventListener("change", (e) => {
      state.minutes = parseInt(e.target.value, 10) || 60;
      pollNow();
    });
    window.addEventListener("hashchange", () => show(parseRoute()));
    // A tab in the background keeps its data fresh when it comes back.
    document.addEventListener("visibilitychange", () => !document.hidden && state.token && pollNow());
    setInterval(tickClock, 500);
    show(parseRoute());
  }

  start();
})();
