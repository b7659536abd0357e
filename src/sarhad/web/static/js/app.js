// Sarhad web console: behaviour common to every page (loaded with `defer`, no framework).
// - window.sarhad.fetchJSON: calls the node's JSON API with the session cookie and the CSRF
//   header the server requires on state-changing requests.
// - Live countdowns on every element with data-deadline.
// - <time class="local-times" datetime="..."> shown as UTC • PKT • IRST (Solar Hijri for fa).
// - Small helpers pages share: translated strings from the #i18n JSON block, confirmation of
//   forms with data-confirm, the language switch, an audible cue.
// No inline script or style is needed (the CSP forbids them); DOM is built with textContent.
"use strict";

(() => {
  const sarhad = (window.sarhad = window.sarhad || {});
  const html = document.documentElement;
  const lang = html.lang || "en";

  // ---- Translated strings --------------------------------------------------------------

  /** The page's translated strings: <script type="application/json" id="i18n">{...}</script>. */
  function readI18n() {
    const el = document.getElementById("i18n");
    if (!el) return {};
    try {
      return JSON.parse(el.textContent || "{}");
    } catch (err) {
      console.error("sarhad: the #i18n block is not valid JSON", err);
      return {};
    }
  }

  const strings = readI18n();

  /**
   * The translation of `key` (or `fallback`, the English text), with {name} placeholders
   * replaced from `values`.
   */
  function t(key, fallback, values) {
    let text = typeof strings[key] === "string" ? strings[key] : fallback ?? key;
    if (values) {
      for (const [name, value] of Object.entries(values)) {
        text = text.split(`{${name}}`).join(String(value));
      }
    }
    return text;
  }

  // ---- Locale --------------------------------------------------------------------------

  // en-GB: day before month and a 24-hour clock, as the desks write times.
  const LOCALES = { en: "en-GB", ur: "ur-PK", fa: "fa-IR" };
  const locale = LOCALES[lang] || lang;
  const numberFormat = new Intl.NumberFormat(locale);

  /** A number in the page's digits (Persian digits on fa pages). */
  function formatNumber(n) {
    return numberFormat.format(n);
  }

  // ---- fetch with the CSRF header ------------------------------------------------------

  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = csrfMeta ? csrfMeta.getAttribute("content") || "" : "";

  /** An API error: HTTP status, the server's `detail` and per-field errors when given. */
  class ApiError extends Error {
    constructor(status, detail, body) {
      super(typeof detail === "string" ? detail : `HTTP ${status}`);
      this.name = "ApiError";
      this.status = status;
      this.detail = detail;
      this.body = body;
    }

    /** {field: message} from a 422 body shaped {detail: [{loc: [...], msg}]} or {errors}. */
    get fieldErrors() {
      const out = {};
      const items = Array.isArray(this.detail)
        ? this.detail
        : Array.isArray(this.body?.errors)
          ? this.body.errors
          : [];
      for (const item of items) {
        const loc = item.loc || item.field;
        const name = Array.isArray(loc) ? loc.filter((p) => p !== "body").join(".") : loc;
        if (name) out[name] = item.msg || item.message || String(item);
      }
      return out;
    }
  }

  /**
   * Call the node's API as the signed-in user: the session cookie goes along (same origin),
   * and every request carries X-CSRF-Token (the server checks it on anything but GET/HEAD/
   * OPTIONS). `body` is sent as JSON unless it is already a string, Blob or FormData.
   * Resolves to the parsed JSON (null for an empty body); rejects with ApiError.
   */
  async function fetchJSON(url, { method = "GET", body, headers = {}, signal } = {}) {
    const init = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken, ...headers },
      signal,
    };
    if (body !== undefined) {
      const raw = typeof body === "string" || body instanceof Blob || body instanceof FormData;
      init.body = raw ? body : JSON.stringify(body);
      if (!raw) init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(url, init);
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!response.ok) {
      const detail = data && typeof data === "object" ? data.detail ?? data : data;
      throw new ApiError(response.status, detail, data);
    }
    return data;
  }

  // ---- Live countdowns -----------------------------------------------------------------

  const SOON_MS = 5 * 60 * 1000;

  /** "1 d 02 h", "2 h 05 min", "4 min 09 s" in the page's digits and translated units. */
  function formatDuration(ms) {
    let s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400);
    s -= d * 86400;
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    const two = (n) => formatNumber(n).padStart(2, formatNumber(0));
    const u = (key, en) => t(`unit_${key}`, en);
    if (d > 0) return `${formatNumber(d)} ${u("d", "d")} ${two(h)} ${u("h", "h")}`;
    if (h > 0) return `${formatNumber(h)} ${u("h", "h")} ${two(m)} ${u("min", "min")}`;
    return `${formatNumber(m)} ${u("min", "min")} ${two(s)} ${u("s", "s")}`;
  }

  /** Update every [data-deadline] element (queried each tick, so rows added live count too). */
  function tickCountdowns(now = Date.now()) {
    for (const el of document.querySelectorAll("[data-deadline]")) {
      const deadline = Date.parse(el.dataset.deadline);
      if (Number.isNaN(deadline)) continue;
      // A met deadline (acknowledged, answered) stops the clock; the server marks it.
      if (el.dataset.stopped !== undefined) continue;
      const left = deadline - now;
      const overdue = left < 0;
      const text = overdue
        ? t("overdue_by", "overdue by {time}", { time: formatDuration(left) })
        : t("time_left", "{time}", { time: formatDuration(left) });
      if (el.textContent !== text) el.textContent = text;
      el.classList.add("countdown");
      el.classList.toggle("overdue", overdue);
      el.classList.toggle("soon", !overdue && left < SOON_MS);
      if (!el.title) el.title = el.dataset.deadline;
    }
  }

  // ---- Times in UTC, PKT and IRST ------------------------------------------------------

  const ZONES = [
    ["UTC", "UTC"],
    ["Asia/Karachi", "PKT"],
    ["Asia/Tehran", "IRST"],
  ];
  const formatters = new Map();

  function zoneFormatter(timeZone, withDate) {
    const key = `${timeZone}|${withDate}`;
    if (!formatters.has(key)) {
      const options = { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
      if (withDate) Object.assign(options, { year: "numeric", month: "short", day: "numeric" });
      // Persian pages show Solar Hijri dates; the browser converts calendar and zone itself.
      if (lang === "fa") options.calendar = "persian";
      formatters.set(key, new Intl.DateTimeFormat(locale, options));
    }
    return formatters.get(key);
  }

  /**
   * Fill every <time class="local-times" datetime="ISO"> under `root` with the moment in UTC,
   * PKT and IRST. data-zones="UTC,Asia/Karachi" limits the zones; data-date="no" shows only
   * the clock time. The ISO value stays in the title for the exact instant.
   */
  function formatTimes(root = document) {
    for (const el of root.querySelectorAll("time.local-times[datetime]")) {
      const at = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(at.getTime())) continue;
      const wanted = el.dataset.zones ? el.dataset.zones.split(",").map((z) => z.trim()) : null;
      const withDate = el.dataset.date !== "no";
      const parts = [];
      for (const [zone, label] of ZONES) {
        if (wanted && !wanted.includes(zone) && !wanted.includes(label)) continue;
        const span = document.createElement("span");
        span.className = "zone-time";
        span.append(zoneFormatter(zone, withDate).format(at), " ");
        const name = document.createElement("span");
        name.className = "zone";
        name.textContent = t(`zone_${label}`, label);
        span.append(name);
        parts.push(span);
      }
      el.replaceChildren();
      parts.forEach((span, i) => {
        if (i > 0) el.append(" • ");
        el.append(span);
      });
      if (!el.title) el.title = el.getAttribute("datetime");
    }
  }

  // ---- Forms and controls --------------------------------------------------------------

  // CSP forbids onclick="confirm(...)": forms and buttons carry data-confirm instead.
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      const submitter = event.submitter;
      const message = submitter?.dataset.confirm || form.dataset?.confirm;
      if (message && !window.confirm(message)) event.preventDefault();
    },
    true,
  );

  // A language <select data-lang-switch> inside a form submits on change (the server
  // remembers the choice); the form's own button stays for keyboard and no-script use.
  document.addEventListener("change", (event) => {
    const el = event.target;
    if (el.matches?.("select[data-lang-switch]") && el.form) el.form.requestSubmit();
  });

  // ---- Audible cue (flash alerts) ------------------------------------------------------

  let audio = null;
  /** A short two-tone beep made in the browser (no sound file to fetch). */
  function beep() {
    try {
      audio = audio || new AudioContext();
      // A context made before the user's first click or key starts suspended; resuming it is
      // allowed once the page has had a gesture (until then the beep stays silent).
      if (audio.state === "suspended") audio.resume();
      const start = audio.currentTime;
      [880, 660].forEach((freq, i) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.2, start + i * 0.25);
        gain.gain.exponentialRampToValueAtTime(0.001, start + i * 0.25 + 0.22);
        osc.connect(gain).connect(audio.destination);
        osc.start(start + i * 0.25);
        osc.stop(start + i * 0.25 + 0.23);
      });
    } catch (err) {
      console.warn("sarhad: no audio", err);
    }
  }

  // ---- Public API and start-up ---------------------------------------------------------

  Object.assign(sarhad, {
    lang,
    locale,
    rtl: html.dir === "rtl",
    csrfToken,
    strings,
    t,
    formatNumber,
    formatDuration,
    formatTimes,
    tickCountdowns,
    fetchJSON,
    ApiError,
    beep,
  });

  formatTimes();
  tickCountdowns();
  // Tick on the second boundary so all countdowns change together.
  setTimeout(
    () => {
      tickCountdowns();
      setInterval(tickCountdowns, 1000);
    },
    1000 - (Date.now() % 1000),
  );
})();
