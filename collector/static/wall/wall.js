// Wall display: a snapshot on (re)connect, then absolute per-site updates over Server-Sent Events.
// Reconnects itself with backoff (1, 2, 4 ... 30 s, jittered) and stops for good if its link is revoked.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("wall-config").textContent);
  const en = config.lang === "en";
  const locale = en ? "en-GB" : "fr-FR";
  const t = (fr, english) => (en ? english : fr);
  const base = window.location.pathname.replace(/\/+$/, "");
  const query = en ? "?lang=en" : "";
  const sitesEl = document.getElementById("sites");
  const banner = document.getElementById("banner");
  const pager = document.getElementById("pager");
  const empty = document.getElementById("empty");
  const notComparable = document.getElementById("not-comparable");
  const cards = new Map();
  let order = [];
  let page = 0;

  const ROTATE_MS = (config.rotate_s || 15) * 1000;
  const PER_PAGE = 6, SILENCE_MS = 45000, STALE_MS = 60000, MAX_BACKOFF_S = 30;
  const WEEKDAYS_FR = ["lundis", "mardis", "mercredis", "jeudis", "vendredis", "samedis", "dimanches"];
  const WEEKDAYS_EN = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"];

  // For tests and the latency benchmark: when each site's figures reached the screen.
  const renders = (window.__wallRenders = []);
  const status = (window.__wallStatus = { connected: false, snapshots: 0, invalid: false });

  function pct(x) {
    if (x === null || x === undefined) return "—";
    return Math.round(x * 100) + (en ? "%" : "\u202f%");
  }
  function signedPct(x) {
    if (x === null || x === undefined) return "—";
    const v = Math.round(x * 100);
    return (v > 0 ? "+" : v < 0 ? "−" : "") + Math.abs(v) + (en ? "%" : "\u202f%");
  }
  function pts(delta) {
    const v = Math.round(delta * 100);
    return (v > 0 ? "+" : v < 0 ? "−" : "±") + Math.abs(v) + "\u202fpt" + (Math.abs(v) > 1 ? "s" : "");
  }
  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  function faceSvg(scale, rating) {
    // Mouth from frown (-1) to smile (+1); eyes narrow on bad ratings: meaning by shape, not colour.
    const curve = -1 + (2 * (rating - 1)) / (scale - 1);
    const colour = curve > 0.2 ? "var(--good)" : curve < -0.2 ? "var(--bad)" : "var(--mid)";
    const mouthY = 64, depth = 14 * curve;
    const eyeH = curve < -0.5 ? 3 : 6;
    return `<svg viewBox="0 0 100 100" aria-hidden="true" focusable="false">
      <circle cx="50" cy="50" r="46" fill="${colour}" stroke="#000" stroke-width="3"/>
      <ellipse cx="35" cy="38" rx="6" ry="${eyeH}" fill="#111"/>
      <ellipse cx="65" cy="38" rx="6" ry="${eyeH}" fill="#111"/>
      <path d="M28 ${mouthY - depth / 2} Q50 ${mouthY + depth * 1.5} 72 ${mouthY - depth / 2}"
            stroke="#111" stroke-width="6" fill="none" stroke-linecap="round"/></svg>`;
  }

  function trendHtml(s) {
    const tr = s.trend || {};
    if (tr.reference === null || tr.reference === undefined) {
      return `<div class="trend none">${t("Pas encore de comparaison", "No comparison yet")}
        <small>${t("il faut des réponses les mêmes jours des semaines passées", "needs answers on the same weekday of past weeks")}</small></div>`;
    }
    const day = (en ? WEEKDAYS_EN : WEEKDAYS_FR)[tr.weekday];
    const note = t(`par rapport à la moyenne des ${tr.weeks} derniers ${day} à la même heure (${pct(tr.reference)})`,
                   `against the average of the last ${tr.weeks} ${day} up to the same hour (${pct(tr.reference)})`);
    if (tr.delta === null || tr.delta === undefined) {
      return `<div class="trend none">—<small>${note}</small></div>`;
    }
    const cls = tr.delta > 0.005 ? "up" : tr.delta < -0.005 ? "down" : "flat";
    const arrow = cls === "up" ? "▲" : cls === "down" ? "▼" : "=";
    return `<div class="trend ${cls}" data-testid="trend-${s.site}"><span class="arrow" aria-hidden="true">${arrow}</span>
      ${pts(tr.delta)}<small>${note}</small></div>`;
  }

  function kiosksHtml(s) {
    const kiosks = s.kiosks || [];
    if (!kiosks.length) return "";
    const offline = kiosks.filter((k) => !k.online);
    const online = kiosks.length - offline.length;
    let html = online ? `<span class="k-on">● ${online} ${t(online > 1 ? "bornes en ligne" : "borne en ligne", online > 1 ? "kiosks online" : "kiosk online")}</span>` : "";
    if (offline.length) {
      const names = offline.map((k) => escapeHtml(k.name || k.id)).join(", ");
      const what = t(offline.length > 1 ? "bornes hors ligne : " : "borne hors ligne : ",
                     offline.length > 1 ? "kiosks offline: " : "kiosk offline: ");
      html += ` <span class="k-off">○ ${offline.length} ${what}${names}</span>`;
    }
    return html;
  }

  function lastAnswerText(s) {
    if (!s.last_answer) return t("Aucune réponse pour l'instant", "No answer yet");
    const when = new Date(s.last_answer);
    const day = (d) => d.toLocaleDateString("en-CA", { timeZone: s.tz });
    if (day(when) !== day(new Date())) return t("Aucune réponse aujourd'hui", "No answer today");
    return t("Dernière réponse à ", "Last answer at ") +
      when.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", timeZone: s.tz });
  }

  // A card is built once per site (and again if its name or scale changes); updates then only
  // touch the texts that changed, so 30 updates a second cost the TV next to nothing.
  function skeleton(card, s) {
    const labels = config.labels[s.scale];
    const ratings = Object.keys(s.counts).map(Number).sort((a, b) => b - a);
    const faces = ratings.map((r) => `<div class="face" data-rating="${r}">
        ${faceSvg(s.scale, r)}
        <div class="count" data-testid="count-${s.site}-${r}" data-slot="count-${r}"></div>
        <div class="share" data-slot="share-${r}"></div>
        <div class="label">${labels[r][en ? 1 : 0]}</div></div>`).join("");
    card.innerHTML = `<header class="site-head"><h2 id="name-${s.site}">${escapeHtml(s.name)}</h2>
        <p class="kiosks" data-testid="kiosks-${s.site}" data-slot="kiosks"></p></header>
      <div class="headline">
        <div class="rate"><span class="rate-value" data-testid="rate-${s.site}" data-slot="rate"></span>
          <span class="rate-label">${t("de satisfaction aujourd'hui", "satisfied today")}<span data-slot="mark"></span></span></div>
        <div class="side">
          <div data-slot="trend"></div>
          <div class="figures"><span>${t("Satisfaction nette", "Net satisfaction")} <strong data-slot="net"></strong></span>
            <span>${t("Réponses", "Answers")} <strong data-testid="total-${s.site}" data-slot="total"></strong></span></div>
        </div>
      </div>
      <div class="faces">${faces}</div>
      <p class="site-foot"><span data-testid="last-${s.site}" data-slot="last"></span>
        · ${t("appuis trop rapprochés, comptés à part : ", "presses too close together, counted apart: ")}<span data-slot="flagged"></span></p>`;
    card.slots = {};
    card.querySelectorAll("[data-slot]").forEach((el) => { card.slots[el.dataset.slot] = el; });
    card.shape = `${s.scale}|${s.name}`;
    card.scale = s.scale;
  }

  // The satisfied share of a 4-face site (no neutral face) does not compare with a 3- or 5-face
  // site's (docs/figures.md): side by side, they are marked; net satisfaction compares on every scale.
  function markComparability() {
    const mixed = new Set([...cards.values()].map((c) => c.scale % 2)).size > 1;
    cards.forEach((c) => put(c, "mark", mixed ? " *" : ""));
    notComparable.hidden = !mixed;
  }

  function put(card, slot, html) {
    const el = card.slots[slot];
    if (el && el.__html !== html) { el.innerHTML = html; el.__html = html; }
  }

  function render(s) {
    let card = cards.get(s.site);
    if (!card) {
      card = document.createElement("section");
      card.className = "site";
      card.dataset.site = s.site;
      card.setAttribute("aria-labelledby", `name-${s.site}`);
      cards.set(s.site, card);
    }
    if (card.shape !== `${s.scale}|${s.name}`) skeleton(card, s);
    for (const [r, n] of Object.entries(s.counts)) {
      put(card, `count-${r}`, String(n));
      put(card, `share-${r}`, pct(s.total ? n / s.total : null));
    }
    put(card, "kiosks", kiosksHtml(s));
    put(card, "rate", pct(s.satisfaction));
    put(card, "trend", trendHtml(s));
    put(card, "net", signedPct(s.net_satisfaction));
    put(card, "total", String(s.total));
    put(card, "last", escapeHtml(lastAnswerText(s)));
    put(card, "flagged", String(s.flagged));
    markComparability();
  }

  const calm = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function pulse(site, ratings) {
    // Only the face's icon moves (a small area to repaint, even on a TV without a GPU), through the
    // Web Animations API: no forced layout on the main thread.
    const card = cards.get(site);
    if (!card || card.hidden) return;
    for (const r of new Set(ratings)) {
      const face = card.querySelector(`.face[data-rating="${r}"]`);
      if (!face) continue;
      const icon = face.querySelector("svg");
      if (!calm) icon.animate([{ transform: "scale(1.35)" }, { transform: "scale(1)" }], { duration: 900, easing: "steps(4, end)" });
      face.classList.add("pulse");
      clearTimeout(face.pulseTimer);
      face.pulseTimer = setTimeout(() => face.classList.remove("pulse"), 1500);
    }
  }

  function layout() {
    const n = order.length;
    const perPage = n <= 1 ? 1 : n <= 2 ? 2 : n <= 4 ? 4 : PER_PAGE;
    const pages = Math.max(1, Math.ceil(n / perPage));
    if (page >= pages) page = 0;
    sitesEl.className = `sites layout-${perPage}`;
    order.forEach((id, i) => {
      const card = cards.get(id);
      if (card.parentNode !== sitesEl || sitesEl.children[i] !== card) sitesEl.insertBefore(card, sitesEl.children[i] || null);
      card.hidden = Math.floor(i / perPage) !== page;
    });
    pager.hidden = pages < 2;
    pager.textContent = pages < 2 ? "" : t(`Sites ${page * perPage + 1}–${Math.min(n, (page + 1) * perPage)} sur ${n}`,
                                            `Sites ${page * perPage + 1}–${Math.min(n, (page + 1) * perPage)} of ${n}`);
    pager.dataset.pages = String(pages);
    empty.hidden = n > 0 || status.invalid;
    sitesEl.hidden = n === 0 || status.invalid;
  }

  setInterval(() => {
    if (order.length > PER_PAGE) { page += 1; layout(); }
  }, ROTATE_MS);

  // The sites' own time zone (a TV's may be wrong), once the first snapshot says it.
  let zone;
  function tick() {
    const now = new Date();
    document.getElementById("today").textContent = now.toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "long", timeZone: zone });
    document.getElementById("clock").textContent = now.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", timeZone: zone });
  }
  tick();
  setInterval(tick, 1000);

  function fresh() {
    status.lastMessage = Date.now();
    document.getElementById("updated").textContent =
      t("à jour à ", "up to date at ") + new Date().toLocaleTimeString(locale, { timeZone: zone });
  }

  // -- connection -------------------------------------------------------------
  let source = null, attempt = 0, retryTimer = null, disconnectedAt = null;

  function disconnected() {
    status.connected = false;
    if (disconnectedAt === null) disconnectedAt = Date.now();
    banner.hidden = false;
  }

  function connected() {
    status.connected = true;
    attempt = 0;
    disconnectedAt = null;
    banner.hidden = true;
    sitesEl.classList.remove("stale");
  }

  function invalid() {
    status.invalid = true;
    if (source) source.close();
    source = null;
    clearTimeout(retryTimer);
    banner.hidden = true;
    sitesEl.hidden = true;
    empty.hidden = true;
    pager.hidden = true;
    document.getElementById("updated").textContent = "";
    document.getElementById("invalid").hidden = false;
  }

  // waitS: the server asked for at least that long (429 Too Many Requests, Retry-After).
  function scheduleReconnect(waitS) {
    if (status.invalid) return;
    if (source) { source.close(); source = null; }
    disconnected();
    clearTimeout(retryTimer);
    const ceiling = Math.max(Math.min(MAX_BACKOFF_S, Math.pow(2, attempt)), typeof waitS === "number" ? waitS : 0);
    const delay = ceiling * (0.75 + 0.5 * Math.random());
    attempt += 1;
    status.retryInS = delay;
    retryTimer = setTimeout(reconnect, delay * 1000);
  }

  function reconnect() {
    // Ask first whether the link still works: EventSource cannot read an HTTP status.
    status.checks = (status.checks || 0) + 1;
    fetch(base + "/check", { cache: "no-store" }).then((response) => {
      if (response.status === 410 || response.status === 404 || response.status === 401 || response.status === 403) invalid();
      else if (response.status === 429) {
        // Too many streams open for this link, account or address: wait as long as the server says.
        const retryAfter = parseInt(response.headers.get("Retry-After") || "", 10);
        status.tooMany = (status.tooMany || 0) + 1;
        scheduleReconnect(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 600) : MAX_BACKOFF_S);
      }
      else if (response.ok) connect();
      else scheduleReconnect();
    }).catch(() => scheduleReconnect());
  }

  function connect() {
    source = new EventSource(base + "/stream" + query);
    source.addEventListener("snapshot", (e) => {
      connected();
      status.snapshots += 1;
      const data = JSON.parse(e.data);
      if (data.sites.length) { zone = data.sites[0].tz; tick(); }
      const seen = new Set(data.sites.map((s) => s.site));
      for (const [id, card] of cards) if (!seen.has(id)) { card.remove(); cards.delete(id); }
      data.sites.forEach(render);
      order = data.sites.map((s) => s.site);
      layout();
      const at = Date.now();
      data.sites.forEach((s) => renders.push({ site: s.site, total: s.total, t: at, kind: "snapshot" }));
      fresh();
    });
    source.addEventListener("update", (e) => {
      const received = Date.now();
      const data = JSON.parse(e.data);
      const isNew = !cards.has(data.site.site);
      render(data.site);
      if (isNew) { order.push(data.site.site); layout(); }
      pulse(data.site.site, data.pressed);
      renders.push({ site: data.site.site, total: data.site.total, t: Date.now(), received,
                     computed: Date.parse(data.site.computed), kind: "update" });
      if (renders.length > 200000) renders.splice(0, 100000);
      fresh();
    });
    source.addEventListener("ping", fresh);
    source.addEventListener("revoked", invalid);
    source.onerror = () => scheduleReconnect();
  }

  // A connection can die without an error (a TV's Wi-Fi, a proxy): the server speaks every 15 s.
  setInterval(() => {
    if (status.connected && Date.now() - (status.lastMessage || 0) > SILENCE_MS) scheduleReconnect();
    if (disconnectedAt !== null && Date.now() - disconnectedAt > STALE_MS) sitesEl.classList.add("stale");
  }, 5000);

  // For tests: drop the connection as a network failure would.
  window.__wallDrop = () => scheduleReconnect();

  connect();
})();
