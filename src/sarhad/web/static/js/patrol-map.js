// Sarhad patrol plan map (the /patrols and /patrols/{id} pages): Leaflet on #patrol-map.
// - the border line from data-border-url (thin, under everything);
// - the plan's sectors from data-plan-url (GET /api/v1/patrols/plans/{id}?format=geojson,
//   features "sector") coloured by the day's coverage, with the risk when planned and, from
//   data-risk-url (/api/v1/risk?format=geojson), the risk now in the popup;
// - the patrol stretches (features "patrol"): our teams dark, coordinated patrols thicker in
//   the accent colour, patrols with a deconfliction warning red and dashed. #patrol-shift
//   shows one shift or all.
// Strings come from the #i18n block (window.sarhad.t). When drawn, #patrol-map gets
// data-ready="true" and data-patrols (patrols shown); data-error on failure.
"use strict";

(() => {
  const el = document.getElementById("patrol-map");
  if (!el) return;
  const sarhad = window.sarhad;
  const L = window.L;
  const summary = document.getElementById("patrol-map-summary");
  if (!L || !sarhad) {
    const msg = "The map library did not load (run scripts/build-frontend.sh on the node).";
    console.error(`sarhad: ${msg}`);
    if (summary) summary.textContent = msg;
    el.dataset.error = "true";
    return;
  }
  const { t, fetchJSON, formatNumber } = sarhad;
  const rtl = Boolean(sarhad.rtl);

  /** Build an element with text children only (no HTML strings). */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null) continue;
      if (key === "className") node.className = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function facts(rows) {
    const dl = h("dl", { className: "facts" });
    for (const [label, value] of rows) {
      if (value === undefined || value === null || value === "") continue;
      dl.append(h("dt", null, label), h("dd", null, value));
    }
    return dl;
  }

  const km = (v) => formatNumber(Math.round(v));
  const level = (code) =>
    code ? h("span", { className: `badge level-${code}` }, t(`level_${code}`, code)) : null;

  /** Land colours of the two sides: the same as the situation map's (map.js). */
  const SIDE_FILL = { PK: "#e3eedb", IR: "#f1e8d8" };

  const COLOURS = { own: "#1b1f23", partner: "#57606a", coordinated: "#6f42c1", conflict: "#b3261e" };

  /** Light to dark teal by coverage relative to the best covered sector. */
  function coverageColour(share) {
    const a = [224, 243, 243];
    const b = [0, 88, 94];
    const mix = a.map((v, i) => Math.round(v + (b[i] - v) * Math.max(0, Math.min(1, share))));
    return `rgb(${mix.join(",")})`;
  }

  const map = L.map(el, { preferCanvas: true, zoomControl: false, attributionControl: false });
  L.control.zoom({ position: rtl ? "topright" : "topleft" }).addTo(map);
  L.control.scale({ imperial: false, position: rtl ? "bottomright" : "bottomleft" }).addTo(map);
  el.tabIndex = 0;
  map.setView([28.5, 62.0], 6);

  const layers = {
    countries: L.featureGroup().addTo(map),
    line: L.featureGroup().addTo(map),
    sectors: L.featureGroup().addTo(map),
    patrols: L.featureGroup().addTo(map),
  };
  let patrolFeatures = [];
  const riskNow = new Map();

  function sectorPopup(p) {
    const now = riskNow.get(p.sector_id);
    return h(
      "div",
      null,
      h("h3", null, `${t("sector", "Sector")} ${p.sector_id}`),
      facts([
        // The day's sum of the shifts' chances: a number of shifts, not a share.
        [t("coverage", "Shifts with a patrol, expected"), formatNumber(Math.round(p.daily_coverage * 100) / 100)],
        [t("risk_planned", "Risk when planned"), level(p.level)],
        [t("risk_now", "Risk now"), now ? level(now) : null],
      ]),
    );
  }

  function drawSectors(features) {
    const best = Math.max(1e-9, ...features.map((f) => f.properties.daily_coverage));
    L.geoJSON(
      { type: "FeatureCollection", features },
      {
        style: (f) => ({
          color: coverageColour(f.properties.daily_coverage / best),
          weight: 14,
          opacity: 0.9,
          lineCap: "butt",
        }),
        onEachFeature: (f, layer) => layer.bindPopup(() => sectorPopup(f.properties)),
      },
    ).addTo(layers.sectors);
  }

  function patrolPopup(p) {
    return h(
      "div",
      null,
      h("h3", null, `${t("patrol", "Patrol")} · ${p.shift}`),
      facts([
        [t("shift", "Shift"), p.shift],
        [t(`kind_${p.kind}`, p.kind), p.kind === "coordinated" ? t("coordinated", "Coordinated patrol") : null],
        [t("team", "Team"), p.team],
        [t("partner_team", "Partner team"), p.partner_team],
        [t("km", "km"), `${km(p.km_from)}–${km(p.km_to)}`],
      ]),
      p.conflict ? h("p", null, h("strong", { className: "flag" }, t("warning", "Deconfliction warning"))) : null,
    );
  }

  function drawPatrols(shift) {
    layers.patrols.clearLayers();
    const shown = patrolFeatures.filter((f) => !shift || f.properties.shift === shift);
    L.geoJSON(
      { type: "FeatureCollection", features: shown },
      {
        style: (f) => {
          const p = f.properties;
          if (p.conflict) return { color: COLOURS.conflict, weight: 5, dashArray: "8 6" };
          if (p.kind === "coordinated") return { color: COLOURS.coordinated, weight: 7 };
          return { color: COLOURS[p.kind] || COLOURS.own, weight: 4 };
        },
        onEachFeature: (f, layer) => layer.bindPopup(() => patrolPopup(f.properties)),
      },
    ).addTo(layers.patrols);
    el.dataset.patrols = String(shown.length);
    el.dataset.coordinated = String(shown.filter((f) => f.properties.kind === "coordinated").length);
    if (summary) summary.textContent = t("shown", "{n} patrols shown", { n: formatNumber(shown.length) });
  }

  async function loadBorder() {
    if (!el.dataset.borderUrl) return;
    const data = await fetchJSON(el.dataset.borderUrl);
    // The base map: each side's country polygon (as on the situation map), under the line.
    const countries = (data.features || []).filter((f) => (f.properties || {}).kind === "country");
    L.geoJSON({ type: "FeatureCollection", features: countries }, {
      interactive: false,
      style: (f) => ({
        color: "#8c959f",
        weight: 1,
        fillColor: SIDE_FILL[f.properties.side] || "#eceff1",
        fillOpacity: 1,
      }),
    }).addTo(layers.countries);
    const line = (data.features || []).filter((f) => (f.properties || {}).kind === "line");
    L.geoJSON({ type: "FeatureCollection", features: line }, {
      interactive: false,
      style: { color: "#8c959f", weight: 2, dashArray: "6 4" },
    }).addTo(layers.line);
  }

  async function loadRisk() {
    if (!el.dataset.riskUrl) return;
    try {
      const data = await fetchJSON(el.dataset.riskUrl);
      for (const f of data.features || []) riskNow.set(f.properties.sector_id, f.properties.level);
    } catch (err) {
      // The plan still draws; only the popups lack today's level.
      console.warn("sarhad: risk now could not be read", err);
    }
  }

  async function draw() {
    try {
      const [plan] = await Promise.all([fetchJSON(el.dataset.planUrl), loadBorder(), loadRisk()]);
      const features = plan.features || [];
      drawSectors(features.filter((f) => f.properties.feature === "sector"));
      patrolFeatures = features.filter((f) => f.properties.feature === "patrol");
      const select = document.getElementById("patrol-shift");
      drawPatrols(select ? select.value : "");
      if (select) select.addEventListener("change", () => drawPatrols(select.value));
      // Zoom to where the teams are (the whole line when the plan has no patrols).
      const focus = layers.patrols.getLayers().length ? layers.patrols : layers.sectors;
      if (focus.getLayers().length) {
        map.fitBounds(focus.getBounds(), { padding: [30, 30], animate: false });
      }
      el.dataset.ready = "true";
    } catch (err) {
      console.error("sarhad: patrol plan", err);
      if (summary) summary.textContent = t("load_error", "Could not load the plan.");
      el.dataset.error = "true";
    }
  }

  draw();
})();
