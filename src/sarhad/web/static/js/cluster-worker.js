// Sarhad situation map: the incidents' worker (started by map.js as a same-origin Worker; the
// CSP allows workers from 'self' only). It fetches every page of the incidents the map asks
// for (format=points: columns of ids and coordinates, following next_cursor, with the session
// cookie; format=map GeoJSON pages work too) and clusters them with supercluster in two
// indexes, ours and the partner's, so the page thread never parses, holds or clusters 50,000
// points: it asks for the clusters of the view it shows, a few hundred at most, each single
// incident with its id (the page reads the record when its popup opens).
//
// Messages in: {id, type: "load", url} | {id, type: "clusters", bbox, zoom, kinds}
//   | {id, type: "expansion", kind, cluster}.
// Messages out: {id, result} or {id, error: {message, status}} for each message in, and
//   {type: "progress", fetched} while loading.
"use strict";

importScripts("/static/vendor/supercluster/supercluster.min.js");

/** Received from a partner node (imports from files are ours: they have no origin node). */
const isPartner = (p) => Boolean(p.origin_node_id) || String(p.origin || "").startsWith("partner:");

const OPTIONS = {
  radius: 60, // pixels, as the map's clusters were drawn before
  maxZoom: 15, // at the map's highest zoom (16) every incident is its own marker
  minZoom: 0,
};

/** The loaded incidents: per kind ("ours", "partner") their ids and the index. */
let data = { ours: { ids: [], index: null }, partner: { ids: [], index: null } };
/** The latest load: an older one still fetching stops at its next page. */
let generation = 0;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function page(url) {
  const response = await fetch(url, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json();
      detail = body?.error?.message || body?.detail || detail;
    } catch {
      // Not JSON: keep the status text.
    }
    throw new HttpError(response.status, `${response.status} ${detail}`);
  }
  return response.json();
}

/** Fetch every page of `url`, then build both indexes; resolves to the counts. */
async function load(url) {
  const mine = ++generation;
  const next = new URL(url, self.location.origin);
  const points = { ours: [], partner: [] };
  const ids = { ours: [], partner: [] };
  const add = (kind, id, lon, lat) => {
    // supercluster needs only the coordinates; `i` finds the id again.
    points[kind].push({
      type: "Feature",
      geometry: { type: "Point", coordinates: [lon, lat] },
      properties: { i: ids[kind].length },
    });
    ids[kind].push(id);
  };
  let cursor = null;
  let fetched = 0;
  const started = performance.now();
  do {
    if (cursor) next.searchParams.set("cursor", cursor);
    const body = await page(next.pathname + next.search);
    if (mine !== generation) return null;
    if (body.type === "points") {
      const { id, lon, lat, partner } = body;
      for (let k = 0; k < id.length; k++) add(partner[k] ? "partner" : "ours", id[k], lon[k], lat[k]);
      fetched += id.length;
    } else {
      for (const f of body.features || []) {
        if (f.geometry?.type !== "Point") continue;
        const [lon, lat] = f.geometry.coordinates;
        add(isPartner(f.properties || {}) ? "partner" : "ours", f.id, lon, lat);
      }
      fetched += (body.features || []).length;
    }
    cursor = body.next_cursor || null;
    if (cursor) self.postMessage({ type: "progress", fetched });
  } while (cursor);
  const indexing = performance.now();
  // The request's own timings (waiting for the server, download), for the benchmark.
  const entries = performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/"));
  const wait = entries.reduce((ms, e) => ms + (e.responseStart - e.requestStart), 0);
  const download = entries.reduce((ms, e) => ms + (e.responseEnd - e.responseStart), 0);
  const built = {};
  for (const kind of ["ours", "partner"]) {
    built[kind] = {
      ids: ids[kind],
      index: points[kind].length ? new self.Supercluster(OPTIONS).load(points[kind]) : null,
    };
  }
  data = built;
  return {
    shown: ids.ours.length + ids.partner.length,
    partner: ids.partner.length,
    // Where the time went, for the benchmark (bench/web.py reads them from the map's dataset).
    fetchMs: Math.round(indexing - started),
    indexMs: Math.round(performance.now() - indexing),
    serverMs: Math.round(wait),
    downloadMs: Math.round(download),
  };
}

/** Clusters and single incidents in the view, per kind asked for, in a compact form. */
function clusters(bbox, zoom, kinds) {
  const out = {};
  for (const kind of kinds) {
    const index = data[kind]?.index;
    out[kind] = index
      ? index.getClusters(bbox, zoom).map((f) => {
          const [lon, lat] = f.geometry.coordinates;
          const p = f.properties;
          return p.cluster
            ? { lon, lat, cluster: p.cluster_id, count: p.point_count }
            : { lon, lat, id: data[kind].ids[p.i] };
        })
      : [];
  }
  return out;
}

self.onmessage = async (event) => {
  const { id, type } = event.data;
  try {
    let result;
    if (type === "load") result = await load(event.data.url);
    else if (type === "clusters") {
      const { bbox, zoom, kinds } = event.data;
      result = clusters(bbox, zoom, kinds);
    } else if (type === "expansion") {
      const { kind, cluster } = event.data;
      result = data[kind].index.getClusterExpansionZoom(cluster);
    } else throw new Error(`unknown message ${type}`);
    self.postMessage({ id, result });
  } catch (err) {
    self.postMessage({ id, error: { message: err.message, status: err.status } });
  }
};
