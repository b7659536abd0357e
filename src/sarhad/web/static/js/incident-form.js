// Sarhad incident form: a small Leaflet map (#pick-map) whose click fills the longitude and
// latitude inputs, and a live preview of what the node's `locate` says about that point
// (side, sector, km marker, distance to the line, nearest crossing) before anything is saved.
// Typing in the inputs moves the marker and updates the preview too (keyboard use).
// The server places the record itself when it is saved; this preview only shows it early.
// Needs leaflet.js and app.js loaded before it (all `defer`); no inline script (CSP).
"use strict";

(() => {
  const el = document.getElementById("pick-map");
  const lonInput = document.getElementById("lon");
  const latInput = document.getElementById("lat");
  const preview = document.getElementById("locate-preview");
  if (!el || !lonInput || !latInput || !preview) return;
  const sarhad = window.sarhad;
  const L = window.L;
  const status = document.getElementById("locate-status");
  const factsEl = document.getElementById("locate-facts");
  if (!sarhad) return;
  const { t, fetchJSON, formatNumber } = sarhad;
  const lang = el.dataset.lang || sarhad.lang;

  const km = (metres) => `${formatNumber(Math.round(metres / 100) / 10)} ${t("unit_km", "km")}`;

  function showStatus(text, isError) {
    status.textContent = text;
    status.hidden = false;
    status.classList.toggle("error", Boolean(isError));
  }

  // ---- The locate preview --------------------------------------------------------------

  let asked = 0; // only the answer to the latest question is shown
  let controller = null;

  function readPoint() {
    const lon = Number.parseFloat(lonInput.value.replace(",", "."));
    const lat = Number.parseFloat(latInput.value.replace(",", "."));
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) return null;
    if (lon < -180 || lon > 180 || lat < -90 || lat > 90) return null;
    return { lon, lat };
  }

  async function locate() {
    const point = readPoint();
    const question = ++asked;
    if (controller) controller.abort();
    if (!point) {
      factsEl.hidden = true;
      delete preview.dataset.side;
      delete preview.dataset.sector;
      showStatus(t("pick", "Click the map or enter longitude and latitude."));
      return;
    }
    controller = new AbortController();
    preview.setAttribute("aria-busy", "true");
    showStatus(t("locating", "Locating…"));
    const url = `${el.dataset.locateUrl}?${new URLSearchParams({ lon: point.lon, lat: point.lat, lang })}`;
    try {
      const loc = await fetchJSON(url, { signal: controller.signal });
      if (question !== asked) return;
      document.getElementById("locate-side").textContent = t(`side_${loc.side}`, loc.side);
      document.getElementById("locate-sector").textContent = loc.sector;
      document.getElementById("locate-km").textContent = formatNumber(Math.round(loc.km * 10) / 10);
      document.getElementById("locate-distance").textContent = km(loc.distance_m);
      const crossing = loc.nearest_crossing || {};
      document.getElementById("locate-crossing").textContent =
        `${crossing.name || crossing.id || "—"} (${km(crossing.distance_m || 0)})`;
      factsEl.hidden = false;
      status.hidden = true;
      preview.dataset.side = loc.side;
      preview.dataset.sector = loc.sector;
    } catch (err) {
      if (err.name === "AbortError" || question !== asked) return;
      factsEl.hidden = true;
      delete preview.dataset.side;
      showStatus(t("locate_error", "Could not locate this point."), true);
    } finally {
      if (question === asked) preview.removeAttribute("aria-busy");
    }
  }

  // ---- The map -------------------------------------------------------------------------

  let map = null;
  let marker = null;

  function placeMarker(point, pan) {
    if (!map || !point) return;
    const at = [point.lat, point.lon];
    if (marker) marker.setLatLng(at);
    else {
      marker = L.circleMarker(at, {
        radius: 7,
        color: "#0b57d0",
        weight: 2,
        fillOpacity: 0.6,
        interactive: false, // a second click near the first must still move it
      }).addTo(map);
    }
    if (pan && !map.getBounds().contains(at)) map.panTo(at);
  }

  if (L) {
    map = L.map(el, {
      minZoom: 4,
      maxZoom: 16,
      zoomSnap: 0.25, // fit the whole border into the small map
      keyboard: true,
      attributionControl: false,
    });
    el.tabIndex = 0;
    map.setView([28.5, 62.0], 6);
    fetchJSON(el.dataset.borderUrl)
      .then((data) => {
        const features = (data.features || []).filter((f) => {
          const p = f.properties || {};
          return p.kind === "line" || (f.geometry?.type === "Point" && p.kind === "crossing");
        });
        // Not interactive: a click on a crossing's dot must give the clicked point, not the
        // crossing's own coordinates.
        L.geoJSON({ type: "FeatureCollection", features }, {
          interactive: false,
          style: { color: "#1b1f23", weight: 3, dashArray: "8 5" },
          pointToLayer: (_f, at) =>
            L.circleMarker(at, {
              radius: 5,
              color: "#57606a",
              weight: 1,
              fillColor: "#fff",
              fillOpacity: 1,
              interactive: false,
            }),
        }).addTo(map);
        if (Array.isArray(data.bbox) && data.bbox.length === 4) {
          const [w, s, e, n] = data.bbox;
          map.fitBounds([[s, w], [n, e]], { padding: [10, 10], animate: false });
        }
        placeMarker(readPoint(), true);
        el.dataset.ready = "true";
      })
      .catch(() => showStatus(t("locate_error", "Could not locate this point."), true));
    map.on("click", (event) => {
      // Five decimals are about a metre: as exact as a click on this map can be.
      lonInput.value = event.latlng.lng.toFixed(5);
      latInput.value = event.latlng.lat.toFixed(5);
      placeMarker({ lon: event.latlng.lng, lat: event.latlng.lat }, false);
      locate();
    });
    // Browser tests turn a place into a pixel with this (no eval: the CSP forbids it).
    sarhad.pickMap = map;
  }

  let typing = null;
  for (const input of [lonInput, latInput]) {
    input.addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(() => {
        placeMarker(readPoint(), true);
        locate();
      }, 300);
    });
  }

  if (readPoint()) locate();
})();
