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
  const definitions = document.getElementById("definitions");
  const updated = document.getElementById("updated");
  const cards = new Map();
  let order = [];
  let page = 0;
  let pages = 1;

  const ROTATE_MS = (config.rotate_s || 15) * 1000;
  // At most 3 tiles a screen: more would make the secondary text too small to read from 3 m.
  const MAX_PER_PAGE = 3, NARROW_PX = 700, NAME_TURN_MS = 4000, SILENCE_MS = 45000, STALE_MS = 60000, MAX_BACKOFF_S = 30;
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
  // One Intl formatter per locale, options and zone: toLocale*String makes a new one at each call
  // (it was the largest part of an update's script in a profile, bench/wall_render.py).
  const formats = new Map();
  function format(date, lang, options) {
    const key = lang + JSON.stringify(options);
    let f = formats.get(key);
    if (!f) { f = new Intl.DateTimeFormat(lang, options); formats.set(key, f); }
    return f.format(date);
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
        <small>${t("il faut des réponses les mêmes jours des semaines passées", "it needs answers on the same weekday of past weeks")}</small></div>`;
    }
    const day = (en ? WEEKDAYS_EN : WEEKDAYS_FR)[tr.weekday];
    const note = t(`par rapport aux ${tr.weeks} derniers ${day} à la même heure (${pct(tr.reference)})`,
                   `against the last ${tr.weeks} ${day} up to the same hour (${pct(tr.reference)})`);
    if (tr.delta === null || tr.delta === undefined) {
      return `<div class="trend none">—<small>${note}</small></div>`;
    }
    const cls = tr.delta > 0.005 ? "up" : tr.delta < -0.005 ? "down" : "flat";
    const arrow = cls === "up" ? "▲" : cls === "down" ? "▼" : "=";
    return `<div class="trend ${cls}" data-testid="trend-${s.site}"><span class="arrow" aria-hidden="true">${arrow}</span>
      ${pts(tr.delta)}<small>${note}</small></div>`;
  }

  // Kiosks by their label, else by their place ("borne 2"): never a raw id on a public screen.
  function kioskName(k) {
    return k.label || t(`borne ${k.n}`, `kiosk ${k.n}`);
  }

  // Open fleet alerts in plain words (the server gives the kind, the kiosk's place and since when: never an id).
  function clockText(iso, s) {
    const when = new Date(iso);
    const day = (d) => format(d, "en-CA", { timeZone: s.tz });
    const hm = format(when, "en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: s.tz });
    const time = en ? hm : hm.replace(":", " h ");
    if (day(when) === day(new Date())) return time;
    const date = format(when, "en-GB", { day: "2-digit", month: "2-digit", timeZone: s.tz });
    return t(`le ${date} à ${time}`, `${date} at ${time}`);
  }

  function alertText(a, s) {
    const k = (s.kiosks || []).find((x) => x.n === a.n) || { n: a.n };
    const who = k.label ? t(`Borne « ${k.label} »`, `Kiosk “${k.label}”`) : t(`Borne ${k.n}`, `Kiosk ${k.n}`);
    const since = clockText(a.since, s);
    switch (a.kind) {
      case "kiosk_offline": return t(`${who} hors ligne depuis ${since}`, `${who} offline since ${since}`);
      case "clock_unsynced":
        return t(`${who} : horloge non synchronisée depuis ${since}`, `${who}: clock not synchronised since ${since}`);
      case "seq_gaps": return t(`${who} : des réponses manquent depuis ${since}`, `${who}: answers missing since ${since}`);
      case "outbox_drops":
        return t(`${who} : mémoire pleine, des réponses effacées depuis ${since}`,
          `${who}: outbox full, answers dropped since ${since}`);
      default: return "";
    }
  }

  // What the kiosks line names in turn: each open fleet alert in words, then offline kiosks without one.
  function turnItems(s) {
    const alerts = (s.alerts || []).map((a) => ({ n: a.n, kind: a.kind, text: alertText(a, s) })).filter((a) => a.text);
    const told = new Set(alerts.filter((a) => a.kind === "kiosk_offline").map((a) => a.n));
    const offline = (s.kiosks || []).filter((k) => !k.online && !told.has(k.n)).map(kioskName);
    return [...alerts.map((a) => a.text), ...offline];
  }

  function kiosksHtml(s) {
    const kiosks = s.kiosks || [];
    if (!kiosks.length) return "";
    const offline = kiosks.filter((k) => !k.online);
    const items = turnItems(s);
    // One item at a time (they take turns, see turnNames), all of them on hover.
    // An alert's sentence is longer than a name: its line may take three lines (wall.css).
    const names = items.length ? `
      <span class="k-name${(s.alerts || []).length ? " k-alerts" : ""}" data-slot="k-name"
        data-testid="alerts-${s.site}"></span>` : "";
    const title = items.length ? ` title="${escapeHtml(items.join(", "))}"` : "";
    if (!offline.length) {
      const n = kiosks.length;
      return `<span class="k-on"${title}>● ${n} ${
        t(n > 1 ? "bornes en ligne" : "borne en ligne", n > 1 ? "kiosks online" : "kiosk online")}</span>${names}`;
    }
    const n = offline.length;
    return `<span class="k-off"${title}>○ ${n} ${
      t(n > 1 ? "bornes hors ligne" : "borne hors ligne", n > 1 ? "kiosks offline" : "kiosk offline")}</span>${names}`;
  }

  function turnNames(card, s, step) {
    const items = turnItems(s);
    const el = card.querySelector("[data-slot=k-name]");
    if (!el || !items.length) return;
    card.nameTurn = ((card.nameTurn || 0) + step) % items.length;
    const which = items.length > 1 ? ` (${card.nameTurn + 1}/${items.length})` : "";
    el.textContent = items[card.nameTurn] + which;
  }

  function thanksText(s) {
    // A good day by the filtered answers, so a burst of presses cannot make one.
    const f = s.filtered || {};
    const th = config.thanks;
    if (!th || f.satisfaction === null || f.satisfaction === undefined || f.total < th.min_answers ||
        f.satisfaction < th.share) return "";
    const tenths = Math.round(f.satisfaction * 10);
    return t(`Merci ! ${tenths} sur 10 satisfaits`, `Thank you! ${tenths} in 10 satisfied`);
  }

  function lastAnswerText(s) {
    if (!s.last_answer) return t("Aucune réponse pour l'instant", "No answer yet");
    const when = new Date(s.last_answer);
    const day = (d) => format(d, "en-CA", { timeZone: s.tz });
    if (day(when) !== day(new Date())) return t("Aucune réponse aujourd'hui", "No answer today");
    return t("Dernière réponse à ", "Last answer at ") +
      format(when, locale, { hour: "2-digit", minute: "2-digit", timeZone: s.tz });
  }

  // A card is built once per site (and again if its name or scale changes); updates then only
  // touch the texts that changed, so 30 updates a second cost the TV next to nothing.
  function skeleton(card, s) {
    const labels = config.labels[s.scale];
    const ratings = Object.keys(s.counts).map(Number).sort((a, b) => b - a);
    const faces = ratings.map((r) => `<div class="face" data-rating="${r}"><span class="bar"></span>
        ${faceSvg(s.scale, r)}
        <span class="count" data-testid="count-${s.site}-${r}" data-slot="count-${r}"></span>
        <span class="share" data-slot="share-${r}"></span>
        <span class="label">${labels[r][en ? 1 : 0]}</span></div>`).join("");
    card.innerHTML = `<div class="tile">
      <header class="site-head"><h2 id="name-${s.site}">${escapeHtml(s.name)}</h2></header>
      <p class="kiosks" data-testid="kiosks-${s.site}" data-slot="kiosks"></p>
      <div class="headline">
        <p class="rate"><span class="rate-value" data-testid="rate-${s.site}" data-slot="rate"></span>
          <span class="rate-label">${t("de satisfaits aujourd'hui", "satisfied today")}<span data-slot="mark"></span></span></p>
        <p class="answers"><strong class="answers-value" data-testid="total-${s.site}" data-slot="total"></strong>
          <span class="rate-label">${t("réponses", "answers")}</span></p>
      </div>
      <p class="net">${t("Satisfaction nette", "Net satisfaction")} <strong data-slot="net"></strong></p>
      <div class="trend-slot" data-slot="trend"></div>
      <p class="thanks" data-testid="thanks-${s.site}" data-slot="thanks" hidden></p>
      <div class="faces">${faces}</div>
      <p class="last" data-testid="last-${s.site}" data-slot="last"></p>
      <p class="fine" data-testid="flagged-${s.site}">${t("Appuis trop rapprochés, comptés à part : ", "Presses too close together, counted apart: ")}<span data-slot="flagged"></span></p>
    </div>`;
    card.faceCount = ratings.length;
    card.extra = 0;
    card.slots = {};
    card.querySelectorAll("[data-slot]").forEach((el) => { card.slots[el.dataset.slot] = el; });
    card.faces = new Map([...card.querySelectorAll(".face")].map((el) => [el.dataset.rating, el]));
    card.bars = new Map([...card.faces].map(([r, el]) => [r, el.firstElementChild]));
    card.shape = `${s.scale}|${s.name}`;
    card.scale = s.scale;
  }

  // The satisfied share of a 4-face site (no neutral face) does not compare with a 3- or 5-face
  // site's (docs/figures.md): side by side, they are marked; net satisfaction compares on every scale.
  function markComparability() {
    const mixed = new Set([...cards.values()].map((c) => c.scale % 2)).size > 1;
    cards.forEach((c) => put(c, "mark", mixed ? " *" : ""));
    notComparable.hidden = !mixed;
    definitions.hidden = mixed;
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
      // The bar behind the row: a transform on its own element, so a new share repaints only the bar.
      const bar = card.bars.get(r), scale = `scaleX(${s.total ? (n / s.total).toFixed(3) : 0})`;
      if (bar && bar.__scale !== scale) { bar.style.transform = scale; bar.__scale = scale; }
    }
    const kiosks = kiosksHtml(s);
    if (card.slots.kiosks.__html !== kiosks) {
      put(card, "kiosks", kiosks);
      turnNames(card, s, 0);
    }
    card.figures = s;
    const thanks = thanksText(s);
    const thanksEl = card.slots.thanks;
    if (thanksEl.textContent !== thanks) {
      thanksEl.textContent = thanks;
      thanksEl.hidden = !thanks;
      thanksEl.classList.toggle("arrive", Boolean(thanks));
    }
    card.classList.toggle("good-day", Boolean(thanks));
    // Lines (in em) the tile shows beyond its usual ones, so its type makes room for them (wall.css).
    // Offline kiosks' names: two more lines; an open fleet alert's sentence: three.
    const named = turnItems(s).length ? ((s.alerts || []).length ? 3.75 : 2.5) : 0;
    const extra = named + (thanks ? 1.25 : 0);
    if (card.extra !== extra) { card.extra = extra; sizePage(); }
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
    // Web Animations API.
    const card = cards.get(site);
    if (!card || card.hidden) return;
    for (const r of new Set(ratings)) {
      const face = card.faces.get(String(r));
      if (!face) continue;
      const icon = face.querySelector("svg");
      if (!calm) icon.animate([{ transform: "scale(1.35)" }, { transform: "scale(1)" }], { duration: 900, easing: "steps(4, end)" });
      face.classList.add("pulse");
      clearTimeout(face.pulseTimer);
      face.pulseTimer = setTimeout(() => face.classList.remove("pulse"), 1500);
    }
  }

  // The tiles on screen share one type size, that of the fullest one (wall.css: --faces, --extra).
  function sizePage() {
    let faces = 3, extra = 0;
    for (const card of cards.values()) {
      if (card.hidden || !card.faceCount) continue;
      faces = Math.max(faces, card.faceCount);
      extra = Math.max(extra, card.extra);
    }
    if (sitesEl.__size !== `${faces}|${extra}`) {
      sitesEl.style.setProperty("--faces", String(faces));
      sitesEl.style.setProperty("--extra", String(extra));
      sitesEl.__size = `${faces}|${extra}`;
    }
  }

  function layout() {
    // Landscape: one row of up to 3 tiles; portrait: one column of up to 3; a phone: all, scrolling.
    // Pages are balanced (4 sites: 2 + 2, not 3 + 1).
    const n = order.length;
    const narrow = window.innerWidth < NARROW_PX;
    const portrait = window.innerHeight > window.innerWidth;
    pages = narrow ? 1 : Math.max(1, Math.ceil(n / MAX_PER_PAGE));
    const perPage = narrow ? Math.max(1, n) : Math.max(1, Math.ceil(n / pages));
    if (page >= pages) page = 0;
    sitesEl.classList.toggle("stack", narrow);
    sitesEl.classList.toggle("portrait", !narrow && portrait);
    document.body.classList.toggle("scroll", narrow);
    order.forEach((id, i) => {
      const card = cards.get(id);
      if (card.parentNode !== sitesEl || sitesEl.children[i] !== card) sitesEl.insertBefore(card, sitesEl.children[i] || null);
      card.hidden = Math.floor(i / perPage) !== page;
    });
    pager.hidden = pages < 2;
    const first = page * perPage + 1, last = Math.min(n, (page + 1) * perPage);
    pager.textContent = pages < 2 ? "" : t(`Sites ${first}–${last} sur ${n}`, `Sites ${first}–${last} of ${n}`);
    pager.dataset.pages = String(pages);
    sizePage();
    empty.hidden = n > 0 || status.invalid;
    sitesEl.hidden = n === 0 || status.invalid;
  }

  setInterval(() => {
    if (pages > 1) { page += 1; layout(); }
  }, ROTATE_MS);
  window.addEventListener("resize", layout);
  // Offline kiosks' names take turns in their one line.
  setInterval(() => {
    for (const card of cards.values()) if (!card.hidden && card.figures) turnNames(card, card.figures, 1);
  }, NAME_TURN_MS);

  // The sites' own time zone (a TV's may be wrong), once the first snapshot says it.
  let zone;
  function tick() {
    const now = new Date();
    document.getElementById("today").textContent = format(now, locale, { weekday: "long", day: "numeric", month: "long", timeZone: zone });
    document.getElementById("clock").textContent = format(now, locale, { hour: "2-digit", minute: "2-digit", timeZone: zone });
  }
  tick();
  setInterval(tick, 1000);

  function fresh() {
    status.lastMessage = Date.now();
    updated.textContent =
      t("à jour à ", "up to date at ") + format(new Date(), locale, { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZone: zone });
  }

  // -- connection -------------------------------------------------------------
  let source = null, attempt = 0, retryTimer = null, disconnectedAt = null;

  function disconnected() {
    status.connected = false;
    if (disconnectedAt === null) disconnectedAt = Date.now();
    banner.hidden = false;
    updated.hidden = true;
  }

  function connected() {
    status.connected = true;
    attempt = 0;
    disconnectedAt = null;
    banner.hidden = true;
    updated.hidden = false;
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
    updated.textContent = "";
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
