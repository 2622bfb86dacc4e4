// Wall display: a snapshot on (re)connect, then absolute per-site updates over SSE.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("wall-config").textContent);
  const en = config.lang === "en";
  const t = (fr, english) => (en ? english : fr);
  const sitesEl = document.getElementById("sites");
  const banner = document.getElementById("banner");
  const updated = document.getElementById("updated");
  const cards = new Map();

  function pct(x) { return x === null || x === undefined ? "—" : Math.round(x * 100) + " %"; }

  function faceSvg(scale, rating) {
    // Mouth from frown (-1) to smile (+1); eyes narrow on bad ratings: meaning by shape, not colour.
    const curve = -1 + (2 * (rating - 1)) / (scale - 1);
    const colour = curve > 0.2 ? "var(--good)" : curve < -0.2 ? "var(--bad)" : "var(--mid)";
    const mouthY = 64, depth = 14 * curve;
    const eyeH = curve < -0.5 ? 3 : 6;
    return `<svg viewBox="0 0 100 100" aria-hidden="true">
      <circle cx="50" cy="50" r="46" fill="${colour}" stroke="#000" stroke-width="3"/>
      <ellipse cx="35" cy="38" rx="6" ry="${eyeH}" fill="#111"/>
      <ellipse cx="65" cy="38" rx="6" ry="${eyeH}" fill="#111"/>
      <path d="M28 ${mouthY - depth / 2} Q50 ${mouthY + depth * 1.5} 72 ${mouthY - depth / 2}"
            stroke="#111" stroke-width="6" fill="none" stroke-linecap="round"/></svg>`;
  }

  function render(summary) {
    let card = cards.get(summary.site);
    if (!card) {
      card = document.createElement("section");
      card.className = "site";
      card.dataset.site = summary.site;
      sitesEl.appendChild(card);
      cards.set(summary.site, card);
    }
    const labels = config.labels[summary.scale];
    const ratings = Object.keys(summary.counts).map(Number).sort((a, b) => b - a);
    const faces = ratings.map((r) => {
      const n = summary.counts[r];
      const share = summary.total ? n / summary.total : null;
      const name = labels[r][en ? 1 : 0];
      return `<div class="face" data-rating="${r}">
        ${faceSvg(summary.scale, r)}
        <div class="count" data-testid="count-${summary.site}-${r}">${n}</div>
        <div class="label">${name}</div><div class="share">${pct(share)}</div></div>`;
    }).join("");
    card.innerHTML = `<h2>${escapeHtml(summary.name)}</h2>
      <div class="headline">
        <div class="rate" data-testid="rate-${summary.site}">${pct(summary.satisfaction)}
          <small>${t("de satisfaction aujourd'hui", "satisfied today")}</small></div>
        <div class="net">${t("Satisfaction nette", "Net satisfaction")} : ${pct(summary.net_satisfaction)}</div>
        <div class="total">${t("Réponses", "Answers")} :
          <strong data-testid="total-${summary.site}">${summary.total}</strong></div>
      </div>
      <div class="faces">${faces}</div>
      <div class="flagged">${t("Appuis trop rapprochés, comptés à part", "Presses too close together, counted apart")} : ${summary.flagged}</div>`;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  }

  function pulse(site, ratings) {
    const card = cards.get(site);
    if (!card) return;
    for (const r of new Set(ratings)) {
      const face = card.querySelector(`.face[data-rating="${r}"]`);
      if (face) { face.classList.remove("pulse"); void face.offsetWidth; face.classList.add("pulse"); }
    }
  }

  function stamp() {
    const now = new Date();
    updated.textContent = t("mis à jour à ", "updated at ") + now.toLocaleTimeString(en ? "en-GB" : "fr-FR");
    document.getElementById("today").textContent = now.toLocaleDateString(en ? "en-GB" : "fr-FR",
      { weekday: "long", day: "numeric", month: "long" });
  }

  function connect() {
    const url = "stream" + (config.sites ? "?sites=" + encodeURIComponent(config.sites) : "");
    const source = new EventSource(url.startsWith("/") ? url : window.location.pathname.replace(/\/?$/, "/") + url);
    source.addEventListener("snapshot", (e) => {
      banner.hidden = true;
      const data = JSON.parse(e.data);
      const seen = new Set(data.sites.map((s) => s.site));
      for (const [id, card] of cards) if (!seen.has(id)) { card.remove(); cards.delete(id); }
      data.sites.forEach(render);
      stamp();
    });
    source.addEventListener("update", (e) => {
      const data = JSON.parse(e.data);
      render(data.site);
      pulse(data.site.site, data.pressed);
      stamp();
    });
    // EventSource reconnects by itself (server sends retry: 2000); say so on screen.
    source.onerror = () => { banner.hidden = false; };
    source.onopen = () => { banner.hidden = true; };
  }

  connect();
})();
