// Sarhad situation map (the home page): Leaflet on #map, offline by default.
// Layers, bottom to top: the site's tile server (only when data-tiles-url is set), the
// countries and the border line (data-border-url), sectors coloured by impact level
// (data-risk-url), incidents of the chosen period clustered (data-incidents-url), and crossing
// points and markets with their status (data-crossings-url). The incidents are fetched and
// clustered by a Web Worker (static/js/cluster-worker.js, supercluster); this script draws
// only the clusters and points of the current view, again after each move. The filter form
// #map-filters reloads the incidents; #map-summary says how many are shown. Strings come from
// the page's #i18n JSON block via window.sarhad.t.
// Needs leaflet.js and app.js loaded before it (all `defer`).
"use strict";

(() => {
  const el = document.getElementById("map");
  if (!el) return;
  const sarhad = window.sarhad;
  const L = window.L;
  const summary = document.getElementById("map-summary");
  if (!L || !sarhad || typeof window.Worker !== "function") {
    const msg = "The map libraries did not load (run scripts/build-frontend.sh on the node).";
    console.error(`sarhad: ${msg}`);
    if (summary) summary.textContent = msg;
    return;
  }
  const { t, fetchJSON, formatNumber } = sarhad;
  const rtl = sarhad.rtl;
  const lang = el.dataset.lang || sarhad.lang;

  // ---- Small helpers -------------------------------------------------------------------

  /** Build an element: h("a", {href, className}, child, ...). Text goes in as text only. */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  /** A <dl class="facts"> from [label, value] pairs, skipping empty values. */
  function facts(rows) {
    const dl = h("dl", { className: "facts" });
    for (const [label, value] of rows) {
      if (value === undefined || value === null || value === "") continue;
      dl.append(h("dt", null, label), h("dd", null, value));
    }
    return dl;
  }

  /** A moment as <time class="local-times"> filled by app.js (UTC • PKT • IRST). */
  function moment(iso) {
    if (!iso) return null;
    const node = h("time", { className: "local-times", datetime: iso }, iso);
    sarhad.formatTimes(h("div", null, node));
    return node;
  }

  /**
   * A count line in the right plural form: the page gives `plural_<key>` as forms by CLDR
   * category ({one, other}, from the catalogue's ngettext); the page's language picks one.
   */
  const pluralRules = new Intl.PluralRules(sarhad.locale || lang);
  function tn(key, n, values, one, other) {
    const forms = sarhad.strings?.[`plural_${key}`];
    const chosen = forms && (forms[pluralRules.select(n)] ?? forms.other);
    const text = typeof chosen === "string" ? chosen : n === 1 ? one : other;
    let out = text;
    for (const [name, value] of Object.entries(values)) out = out.split(`{${name}}`).join(String(value));
    return out;
  }

  const km = (v) => formatNumber(Math.round(v * 10) / 10);
  const statusLabel = (s) => t(`status_${s}`, s);
  const levelLabel = (s) => t(`level_${s}`, s);
  const categoryLabel = (s) => t(`category_${s}`, s.replaceAll("_", " "));
  const sideLabel = (s) => t(`side_${s}`, s);

  // ---- The map -------------------------------------------------------------------------

  const tilesUrl = (el.dataset.tilesUrl || "").trim();
  const map = L.map(el, {
    zoomControl: false,
    attributionControl: Boolean(tilesUrl),
    keyboard: true,
    // Incidents are markers; the line, sectors and countries draw faster on one canvas.
    preferCanvas: true,
    minZoom: 4,
    maxZoom: 16,
  });
  // Controls sit at the reading start: top-left in English, top-right in Urdu and Persian.
  L.control.zoom({
    position: rtl ? "topright" : "topleft",
    zoomInTitle: t("zoom_in", "Zoom in"),
    zoomOutTitle: t("zoom_out", "Zoom out"),
  }).addTo(map);
  L.control.scale({ imperial: false, position: rtl ? "bottomright" : "bottomleft" }).addTo(map);
  // The container takes keyboard focus (arrows pan, +/- zoom); Leaflet does this too, but the
  // page must not depend on that detail.
  el.tabIndex = 0;
  if (!el.getAttribute("aria-label")) el.setAttribute("aria-label", t("map_label", "Map"));
  // Until the border arrives: the Pakistan–Iran border region.
  map.setView([28.5, 62.0], 6);

  if (tilesUrl) {
    L.tileLayer(tilesUrl, {
      maxZoom: 18,
      attribution: el.dataset.tilesAttribution || "",
    }).addTo(map);
  }

  map.createPane("countries").style.zIndex = 250;
  map.createPane("sectors").style.zIndex = 420;

  const LEVEL_COLOURS = {
    low: "#2e7d32",
    medium: "#f2c200",
    high: "#e06c00",
    critical: "#b3261e",
  };
  const SIDE_FILL = { PK: "#e3eedb", IR: "#f1e8d8" };

  const layers = {
    countries: L.featureGroup().addTo(map),
    line: L.featureGroup().addTo(map),
    sectors: L.featureGroup().addTo(map),
    posts: L.featureGroup().addTo(map),
    crossings: L.featureGroup().addTo(map),
    // Ours and the partner's clustered apart (two indexes in the worker): the partner's
    // clusters and markers look different at every zoom, and either can be switched off in
    // the layer control. Each holds only what the view shows.
    incidents: L.layerGroup().addTo(map),
    partnerIncidents: L.layerGroup().addTo(map),
    // The twin towns of the crossings, named on the land (from the page's #map-towns block).
    places: L.featureGroup().addTo(map),
  };

  L.control
    .layers(null, {
      [t("layer_sectors", "Sectors (impact level)")]: layers.sectors,
      [t("layer_crossings", "Crossings and markets")]: layers.crossings,
      [t("layer_incidents", "Our incidents")]: layers.incidents,
      [t("layer_partner_incidents", "Partner's incidents")]: layers.partnerIncidents,
      [t("layer_posts", "Posts")]: layers.posts,
      [t("layer_places", "Place names")]: layers.places,
    }, { position: rtl ? "topleft" : "topright", collapsed: true })
    .addTo(map);

  // ---- Place names ---------------------------------------------------------------------

  function readTowns() {
    const block = document.getElementById("map-towns");
    try {
      return block ? JSON.parse(block.textContent || "[]") : [];
    } catch (err) {
      console.error("sarhad: the #map-towns block is not valid JSON", err);
      return [];
    }
  }

  for (const town of readTowns()) {
    L.circleMarker([town.lat, town.lon], {
      radius: 3,
      color: "#1b1f23",
      weight: 1,
      fillColor: "#1b1f23",
      fillOpacity: 1,
      interactive: false,
    })
      // A permanent label, on the town's own side of the line (PK east, IR west).
      .bindTooltip(town.name, {
        permanent: true,
        direction: town.side === "IR" ? "left" : "right",
        className: "place-label",
        offset: town.side === "IR" ? [-4, 0] : [4, 0],
      })
      .addTo(layers.places);
  }

  // ---- Legend --------------------------------------------------------------------------

  /** One legend row: a swatch (CSS classes) and its meaning. */
  function legendRow(swatchClass, text) {
    return h("li", null, h("span", { className: `swatch ${swatchClass}`, "aria-hidden": "true" }), " ", text);
  }

  const Legend = L.Control.extend({
    onAdd() {
      const box = h(
        "details",
        { className: "map-key", open: window.innerWidth > 700 },
        h("summary", null, t("legend", "Legend")),
        h(
          "ul",
          null,
          legendRow("incident-marker", t("legend_ours", "Our incident")),
          legendRow("incident-marker partner", t("legend_partner", "Incident from the partner")),
          legendRow("cluster", t("legend_cluster", "Group of our incidents (number inside)")),
          legendRow("cluster partner", t("legend_partner_cluster", "Group of the partner's incidents")),
          ...["open", "restricted", "closed"].map((status) =>
            legendRow(`crossing-marker status-${status}`, `${t("legend_crossing", "Crossing (colour: status)")}: ${statusLabel(status)}`),
          ),
          legendRow("crossing-marker market", t("legend_market", "Border market")),
          legendRow("crossing-marker mismatch", t("legend_mismatch", "The two sides disagree")),
        ),
        h("p", { className: "map-key-heading" }, t("legend_impact", "Sector impact level")),
        h(
          "ul",
          null,
          ...Object.keys(LEVEL_COLOURS).map((level) => legendRow(`impact level-${level}`, levelLabel(level))),
        ),
        h(
          "ul",
          null,
          legendRow("border-line", t("legend_line", "Border line")),
          legendRow("town", t("legend_town", "Town")),
          ...Object.keys(SIDE_FILL).map((side) => legendRow(`land side-${side}`, sideLabel(side))),
          legendRow("outside", t("legend_outside", "Other countries and the sea (not drawn)")),
        ),
      );
      // Clicks and wheel turns in the legend must not pan or zoom the map beneath.
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    },
  });
  new Legend({ position: rtl ? "bottomleft" : "bottomright" }).addTo(map);

  // ---- Border profile: countries, line, sectors, places --------------------------------

  const borderPlaces = [];
  const sectorsFromProfile = [];

  async function loadBorder() {
    const url = el.dataset.borderUrl;
    if (!url) return;
    const data = await fetchJSON(url);
    const features = data.features || [];
    for (const f of features) {
      const p = f.properties || {};
      const type = f.geometry?.type;
      if (type === "Polygon" || type === "MultiPolygon") {
        // Country polygons (kind "country"/"side", with the side's code) under everything.
        const side = p.side || p.code || p.id;
        L.geoJSON(f, {
          pane: "countries",
          interactive: false,
          style: {
            color: "#8c959f",
            weight: 1,
            fillColor: SIDE_FILL[side] || "#eceff1",
            fillOpacity: 1,
          },
        }).addTo(layers.countries);
      } else if (p.kind === "line") {
        L.geoJSON(f, {
          pane: "sectors",
          style: { color: "#1b1f23", weight: 3, dashArray: "8 5" },
          onEachFeature: (_f, layer) =>
            layer.bindTooltip(`${p.name} · ${km(p.length_km)} km`, { sticky: true }),
        }).addTo(layers.line);
      } else if (p.kind === "sector") {
        sectorsFromProfile.push(f);
      } else if (type === "Point" && (p.kind === "post" || p.kind === "place")) {
        L.circleMarker([f.geometry.coordinates[1], f.geometry.coordinates[0]], {
          radius: 4,
          color: "#57606a",
          weight: 1,
          fillColor: "#ffffff",
          fillOpacity: 1,
        })
          .bindTooltip(p.name || p.id)
          .addTo(layers.posts);
      } else if (type === "Point") {
        borderPlaces.push(f);
      }
    }
    if (Array.isArray(data.bbox) && data.bbox.length === 4) {
      const [w, s, e, n] = data.bbox;
      // Not animated: the first view is simply there, and data-ready means it has settled.
      map.fitBounds([[s, w], [n, e]], { padding: [20, 20], animate: false });
    } else if (layers.line.getLayers().length) {
      map.fitBounds(layers.line.getBounds(), { padding: [20, 20], animate: false });
    }
  }

  // ---- Sectors by impact level ---------------------------------------------------------

  function sectorPopup(p) {
    const level = p.level;
    return h(
      "div",
      null,
      h("h3", null, t("sector_n", "Sector {n}", { n: formatNumber(p.number) })),
      facts([
        [t("km_range", "km"), `${km(p.start_km)}–${km(p.end_km)}`],
        [
          t("impact_level", "Impact level"),
          level ? h("span", { className: `badge level-${level}` }, levelLabel(level)) : null,
        ],
        [t("risk_score", "Score"), p.score !== undefined ? formatNumber(p.score) : null],
        [t("incidents_counted", "Incidents counted"), p.incidents !== undefined ? formatNumber(p.incidents) : null],
      ]),
    );
  }

  function drawSectors(features, withLevels) {
    layers.sectors.clearLayers();
    L.geoJSON(
      { type: "FeatureCollection", features },
      {
        pane: "sectors",
        style: (f) => ({
          color: withLevels ? LEVEL_COLOURS[f.properties.level] || "#57606a" : "#57606a",
          weight: withLevels ? 7 : 4,
          opacity: 0.85,
          lineCap: "butt",
        }),
        onEachFeature: (f, layer) => layer.bindPopup(() => sectorPopup(f.properties)),
      },
    ).addTo(layers.sectors);
  }

  async function loadRisk() {
    const url = el.dataset.riskUrl;
    if (!url) return false;
    const data = await fetchJSON(url);
    // risk_geojson: properties sector_id, number, start_km, end_km, score, level, incidents.
    drawSectors(data.features || [], true);
    return true;
  }

  // ---- Crossings and markets -----------------------------------------------------------

  function sideLine(view) {
    if (!view) return null;
    if (view.known === false) return t("not_known", "nothing received yet");
    const parts = [statusLabel(view.status)];
    if (view.reason) parts.push(`(${t(`reason_${view.reason}`, view.reason.replaceAll("_", " "))})`);
    return parts.join(" ");
  }

  function crossingPopup(p) {
    const link = h("a", { href: `/crossings/${encodeURIComponent(p.id)}` }, t("open_page", "Open page"));
    return h(
      "div",
      null,
      h("h3", null, p.name),
      h("p", null, h("span", { className: `badge status-${p.combined}` }, statusLabel(p.combined))),
      facts([
        [p.ours ? sideLabel(p.ours.side) : null, sideLine(p.ours)],
        [p.theirs ? sideLabel(p.theirs.side) : null, sideLine(p.theirs)],
        [t("until", "Until"), moment(p.ours?.until)],
        [t("next_opening", "Next opening"), moment(p.ours?.next_opening)],
      ].filter(([label]) => label)),
      p.mismatch ? h("p", { className: "badge mismatch" }, p.mismatch) : null,
      h("p", null, link),
    );
  }

  function placeIcon(p) {
    const classes = ["crossing-marker", `status-${p.combined || "unknown"}`];
    if (p.kind === "market") classes.push("market");
    if (p.mismatch) classes.push("mismatch");
    return L.divIcon({ className: classes.join(" "), iconSize: [20, 20] });
  }

  function drawPlaces(features) {
    layers.crossings.clearLayers();
    for (const f of features) {
      const p = f.properties || {};
      const [lon, lat] = f.geometry.coordinates;
      const label = p.combined ? `${p.name}: ${statusLabel(p.combined)}` : p.name;
      L.marker([lat, lon], {
        icon: placeIcon(p),
        title: label,
        alt: label,
        keyboard: true,
        zIndexOffset: 1000,
      })
        .bindPopup(() => (p.combined ? crossingPopup(p) : h("div", null, h("h3", null, p.name))))
        .bindTooltip(p.name, { direction: "top", offset: [0, -10] })
        .addTo(layers.crossings);
    }
  }

  async function loadCrossings() {
    const url = el.dataset.crossingsUrl;
    if (!url) return false;
    const data = await fetchJSON(url);
    drawPlaces(data.features || []);
    return true;
  }

  // ---- Incidents -----------------------------------------------------------------------

  const localIcon = L.divIcon({ className: "incident-marker", iconSize: [14, 14] });
  const partnerIcon = L.divIcon({ className: "incident-marker partner", iconSize: [14, 14] });

  /** Received from a partner node (imports from files are ours: they have no origin node). */
  const isPartner = (p) => Boolean(p.origin_node_id) || String(p.origin || "").startsWith("partner:");

  function incidentPopup(p) {
    const e = p.enrichment || {};
    const partner = isPartner(p);
    return h(
      "div",
      null,
      h("h3", null, p.title || p.id),
      h(
        "p",
        null,
        h("span", { className: `badge lifecycle-${p.status}` }, t(`lifecycle_${p.status}`, p.status)),
        " ",
        partner
          ? h("span", { className: "badge origin-partner" }, t("from_partner", "from the partner"))
          : null,
      ),
      facts([
        [t("category", "Category"), p.category ? categoryLabel(p.category) : null],
        [t("occurred_at", "Occurred"), moment(p.occurred_at)],
        [t("side", "Side"), e.side ? sideLabel(e.side) : null],
        [
          t("sector", "Sector"),
          e.sector ? `${e.sector}${e.km !== undefined ? ` · km ${km(e.km)}` : ""}` : null,
        ],
        [t("origin", "Origin"), partner ? p.origin : null],
        [t("tlp", "TLP"), p.tlp ? `TLP:${String(p.tlp).toUpperCase()}` : null],
      ]),
      h("p", null, h("a", { href: `/incidents/${encodeURIComponent(p.id)}` }, t("open_record", "Open record"))),
    );
  }

  // The worker: fetches, keeps and clusters the incidents (cluster-worker.js).
  const worker = new Worker(el.dataset.workerUrl || "/static/js/cluster-worker.js");
  const calls = new Map();
  let nextCall = 0;
  let onProgress = null;

  /** Ask the worker; resolves to its result, rejects with its error. */
  function ask(type, args) {
    const id = ++nextCall;
    return new Promise((resolve, reject) => {
      calls.set(id, { resolve, reject });
      worker.postMessage({ id, type, ...args });
    });
  }

  worker.onmessage = (event) => {
    const { id, type, result, error } = event.data;
    if (type === "progress") {
      if (onProgress) onProgress(event.data.fetched);
      return;
    }
    const call = calls.get(id);
    if (!call) return;
    calls.delete(id);
    if (error) {
      const err = new Error(error.message);
      err.status = error.status;
      call.reject(err);
    } else call.resolve(result);
  };
  worker.onerror = (event) => {
    // The worker did not start (its script or supercluster is missing): fail every call.
    console.error("sarhad: incidents worker", event.message);
    for (const call of calls.values()) call.reject(new Error(event.message || "worker failed"));
    calls.clear();
  };

  const KINDS = { ours: layers.incidents, partner: layers.partnerIncidents };

  function clusterIcon(count, partner) {
    const size = count < 10 ? "small" : count < 100 ? "medium" : "large";
    return L.divIcon({
      // Only a number goes into the HTML string.
      html: `<div><span>${formatNumber(count)}</span></div>`,
      className: `marker-cluster marker-cluster-${size}${partner ? " partner" : ""}`,
      iconSize: L.point(40, 40),
    });
  }

  function incidentMarker(kind, item) {
    const partner = kind === "partner";
    const marker = L.marker([item.lat, item.lon], {
      icon: partner ? partnerIcon : localIcon,
      title: partner ? t("from_partner", "from the partner") : "",
      keyboard: true,
    });
    // The map holds only ids: the popup reads the record when it is opened.
    marker.on("click", async () => {
      const popup = L.popup({ offset: [0, -4] })
        .setLatLng(marker.getLatLng())
        .setContent(h("p", { className: "loading" }, t("loading_record", "Loading…")))
        .openOn(map);
      try {
        const p = await fetchJSON(`/api/v1/incidents/${encodeURIComponent(item.id)}`);
        popup.setContent(incidentPopup(p));
      } catch (err) {
        popup.setContent(h("p", { className: "error" }, err.message));
      }
    });
    return marker;
  }

  function clusterMarker(kind, item) {
    const marker = L.marker([item.lat, item.lon], {
      icon: clusterIcon(item.count, kind === "partner"),
      title: formatNumber(item.count),
      keyboard: true,
    });
    marker.on("click", async () => {
      const zoom = await ask("expansion", { kind, cluster: item.cluster });
      const go = () => map.setView(marker.getLatLng(), Math.min(zoom, map.getMaxZoom()));
      // Leaflet drops a setView asked for while a zoom animation runs: go when it ends.
      if (map._animatingZoom) map.once("zoomend", go);
      else go();
    });
    return marker;
  }

  /** What a drawn marker stands for: a cluster (its id, size and place) or one incident. */
  function markerKey(item) {
    return item.cluster !== undefined
      ? `c${item.cluster}|${item.count}|${item.lon}|${item.lat}`
      : `p${item.id}|${item.lon}|${item.lat}`;
  }

  /** The markers drawn now, per kind, by markerKey. */
  const onMap = { ours: new Map(), partner: new Map() };

  /** Redraw the clusters and points of the current view (a little beyond its edges). */
  let drawn = 0;
  async function drawView() {
    const mine = ++drawn;
    const bounds = map.getBounds().pad(0.25);
    const bbox = [
      Math.max(-180, bounds.getWest()),
      Math.max(-85, bounds.getSouth()),
      Math.min(180, bounds.getEast()),
      Math.min(85, bounds.getNorth()),
    ];
    const kinds = Object.keys(KINDS).filter((kind) => map.hasLayer(KINDS[kind]));
    const result = await ask("clusters", { bbox, zoom: Math.round(map.getZoom()), kinds });
    // A later move asked again meanwhile: its answer draws.
    if (mine !== drawn) return;
    for (const [kind, layer] of Object.entries(KINDS)) {
      // Markers still in the view stay as they are: replacing one under the pointer between
      // its mousedown and mouseup would swallow the click (redraws follow every move).
      const before = onMap[kind];
      const after = new Map();
      for (const item of result[kind] || []) {
        const key = markerKey(item);
        let marker = before.get(key);
        if (marker) {
          before.delete(key);
        } else {
          marker = item.cluster !== undefined ? clusterMarker(kind, item) : incidentMarker(kind, item);
          layer.addLayer(marker);
        }
        after.set(key, marker);
      }
      for (const gone of before.values()) layer.removeLayer(gone);
      onMap[kind] = after;
    }
  }

  function redraw() {
    drawView().catch((err) => console.error("sarhad: incidents view", err));
  }
  map.on("moveend", redraw);
  map.on("overlayadd", (event) => {
    if (Object.values(KINDS).includes(event.layer)) {
      redraw();
      if (el.dataset.incidentsLoaded !== undefined) sayCounts(true);
    }
  });
  // The count line says what the map shows: switching a kind off takes it out of the count.
  map.on("overlayremove", (event) => {
    if (Object.values(KINDS).includes(event.layer) && el.dataset.incidentsLoaded !== undefined) {
      sayCounts(true);
    }
  });

  const form = document.getElementById("map-filters");
  const FILTERS = ["since", "until", "category", "side", "status"];
  let counts = { shown: 0, partner: 0 };

  function say(text, state) {
    if (!summary) return;
    summary.textContent = text;
    summary.classList.toggle("loading", state === "loading");
    summary.classList.toggle("error", state === "error");
  }

  /** What the layer switches let through of the loaded incidents: ours, the partner's. */
  function visibleCounts() {
    const ours = map.hasLayer(layers.incidents) ? counts.shown - counts.partner : 0;
    const partner = map.hasLayer(layers.partnerIncidents) ? counts.partner : 0;
    return { shown: ours + partner, partner };
  }

  function sayCounts(done) {
    const seen = visibleCounts();
    const values = { shown: formatNumber(seen.shown), partner: formatNumber(seen.partner) };
    const text = seen.partner
      ? tn("summary_partner", seen.shown, values,
          "{shown} incident shown, {partner} of them from the partner",
          "{shown} incidents shown, {partner} of them from the partner")
      : tn("summary", seen.shown, values, "{shown} incident shown", "{shown} incidents shown");
    say(text, done ? null : "loading");
    // For the browser tests: what the line says, in numbers.
    Object.assign(el.dataset, { shownCount: String(seen.shown), partnerCount: String(seen.partner) });
  }

  /**
   * A filter value as the API wants it: an aware ISO datetime. A date alone means the start
   * of that day ("since") or the start of the next day ("until" is exclusive), in the
   * browser's own time zone, as the officer reads the calendar.
   */
  function momentParam(name, value) {
    let at;
    if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
      const [y, m, d] = value.split("-").map(Number);
      at = new Date(y, m - 1, name === "until" ? d + 1 : d);
    } else {
      // An ISO value with its offset, or datetime-local (read in the browser's time zone).
      at = new Date(value);
    }
    return Number.isNaN(at.getTime()) ? null : at.toISOString();
  }

  /** The query for the API from the filter form (multiple values repeat the name). */
  function filterParams() {
    const params = new URLSearchParams();
    if (!form) return params;
    const data = new FormData(form);
    for (const name of FILTERS) {
      for (const raw of data.getAll(name)) {
        const value = String(raw).trim();
        if (!value) continue;
        if (name === "since" || name === "until") {
          const iso = momentParam(name, value);
          if (iso) params.append(name, iso);
        } else {
          params.append(name, value);
        }
      }
    }
    return params;
  }

  /** Fill the form from the page address, so a shared or reloaded link keeps its filters. */
  function formFromAddress() {
    if (!form) return;
    const query = new URLSearchParams(window.location.search);
    for (const name of FILTERS) {
      const values = query.getAll(name);
      if (!values.length) continue;
      for (const control of form.querySelectorAll(`[name="${name}"]`)) {
        if (control instanceof HTMLSelectElement) {
          for (const option of control.options) option.selected = values.includes(option.value);
        } else if (control.type === "checkbox" || control.type === "radio") {
          control.checked = values.includes(control.value);
        } else {
          control.value = values[0];
        }
      }
    }
  }

  function addressFromForm() {
    if (!form) return;
    const query = new URLSearchParams();
    const data = new FormData(form);
    for (const name of FILTERS) {
      for (const raw of data.getAll(name)) if (String(raw).trim()) query.append(name, String(raw));
    }
    const search = query.toString();
    const url = `${window.location.pathname}${search ? `?${search}` : ""}${window.location.hash}`;
    window.history.replaceState(null, "", url);
  }

  /**
   * Load every incident matching the filters: the worker fetches every page (next_cursor)
   * and clusters them; then the view is drawn. A new call supersedes the one in progress.
   */
  let loads = 0;
  async function loadIncidents() {
    // The bare points (ids and coordinates in columns, 50,000 a page) when the page offers
    // them; the compact GeoJSON map format otherwise. The worker reads both.
    const base = el.dataset.pointsUrl || el.dataset.incidentsUrl;
    if (!base) return;
    const mine = ++loads;
    counts = { shown: 0, partner: 0 };
    delete el.dataset.incidentsLoaded;
    say(t("loading", "Loading incidents…"), "loading");
    const url = new URL(base, window.location.href);
    for (const [name, value] of filterParams()) url.searchParams.append(name, value);
    if (!url.searchParams.has("limit")) url.searchParams.set("limit", "5000");
    const started = performance.now();
    onProgress = (fetched) => {
      if (mine === loads) say(t("loading_n", "Loading incidents… {n}", { n: formatNumber(fetched) }), "loading");
    };
    try {
      const loaded = await ask("load", { url: url.href });
      // null: a newer load started in the worker; its own call reports.
      if (!loaded || mine !== loads) return;
      counts = { shown: loaded.shown, partner: loaded.partner };
      await drawView();
      if (mine !== loads) return;
      sayCounts(true);
      Object.assign(el.dataset, {
        loadMs: String(Math.round(performance.now() - started)),
        startMs: String(Math.round(started)),
        fetchMs: String(loaded.fetchMs),
        indexMs: String(loaded.indexMs),
        serverMs: String(loaded.serverMs),
        downloadMs: String(loaded.downloadMs),
        // Since navigation began: what "ready" means in bench/web.py.
        readyMs: String(Math.round(performance.now())),
      });
      el.dataset.incidentsLoaded = String(counts.shown);
      el.dispatchEvent(new CustomEvent("sarhad:incidents-loaded", { detail: { ...counts } }));
    } catch (err) {
      if (mine !== loads) return;
      console.error("sarhad: incidents", err);
      say(t("load_error", "Could not load the incidents: {error}", { error: err.message }), "error");
    }
  }

  if (form) {
    formFromAddress();
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      addressFromForm();
      loadIncidents();
    });
    // After the reset has cleared the controls.
    form.addEventListener("reset", () =>
      setTimeout(() => {
        addressFromForm();
        loadIncidents();
      }, 0),
    );
  }

  // ---- Start ---------------------------------------------------------------------------

  function failed(what) {
    return (err) => {
      console.error(`sarhad: ${what}`, err);
      return false;
    };
  }

  (async () => {
    await loadBorder().catch(failed("border"));
    // Without risk (no permission, or an error) the sectors are still drawn, uncoloured.
    const [risk, crossings] = await Promise.all([
      loadRisk().catch(failed("risk")),
      loadCrossings().catch(failed("crossings")),
    ]);
    if (!risk && sectorsFromProfile.length) drawSectors(sectorsFromProfile, false);
    if (!crossings && borderPlaces.length) drawPlaces(borderPlaces);
    el.dataset.ready = "true";
  })();
  loadIncidents();

  // For other scripts on the page and for the browser tests.
  sarhad.map = { map, layers, reload: loadIncidents, lang };
})();
