// Sarhad crossings page: the month's figures as two charts (Chart.js, served by the node).
// - #chart-closed: days closed by reason, one stacked bar per crossing or market and side.
// - #chart-throughput: the daily count (vehicles, trucks or pedestrians, #chart-measure) per
//   crossing and side over the month's local days; days without data are gaps.
// Data: GET data-report-url on #crossing-charts (/api/v1/crossings/report?month=YYYY-MM, the
// same report as the table under the charts). The month picker is the page's GET form: a
// change of month submits it. Strings come from the #i18n block (window.sarhad.t).
// When drawn, #crossing-charts gets data-ready="true" (data-error on failure).
"use strict";

(() => {
  const box = document.getElementById("crossing-charts");
  const picker = document.getElementById("month");
  if (picker && picker.form) {
    picker.addEventListener("change", () => {
      if (/^\d{4}-\d{2}$/.test(picker.value)) picker.form.requestSubmit();
    });
  }
  if (!box) return;
  const sarhad = window.sarhad;
  const Chart = window.Chart;
  const status = document.getElementById("chart-status");
  if (!Chart || !sarhad) {
    const msg = "The chart library did not load (run scripts/build-frontend.sh on the node).";
    console.error(`sarhad: ${msg}`);
    if (status) status.textContent = msg;
    box.dataset.error = "true";
    return;
  }
  const { t, formatNumber } = sarhad;
  const rtl = Boolean(sarhad.rtl);

  // One colour per reason (closed days) and per crossing-side line (throughput).
  const REASON_COLOURS = {
    security_incident: "#b3261e",
    protest: "#e06c00",
    policy_decision: "#6f42c1",
    holiday: "#2e7d32",
    weather: "#0969da",
    maintenance: "#8c959f",
    outside_hours: "#57606a",
    other: "#1b1f23",
  };
  const LINE_COLOURS = ["#0969da", "#b3261e", "#2e7d32", "#e06c00", "#6f42c1", "#1b7c83"];

  const bodyFont = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.family = bodyFont;
  Chart.defaults.locale = sarhad.locale || "en-GB";

  const placeName = (item) => t(`place_${item.crossing}`, item.name);
  const sideName = (side) => t(`side_${side}`, side);
  const seriesName = (item) => `${placeName(item)} · ${sideName(item.side)}`;
  const reasonName = (r) => t(`reason_${r}`, r.replaceAll("_", " "));

  function legendOptions() {
    return {
      legend: { position: "bottom", rtl, textDirection: rtl ? "rtl" : "ltr" },
      tooltip: { rtl, textDirection: rtl ? "rtl" : "ltr" },
    };
  }

  function closedChart(items) {
    const reasons = [...new Set(items.flatMap((i) => Object.keys(i.days_closed)))].sort();
    return new Chart(document.getElementById("chart-closed"), {
      type: "bar",
      data: {
        labels: items.map(seriesName),
        datasets: reasons.map((r) => ({
          label: reasonName(r),
          data: items.map((i) => i.days_closed[r] || 0),
          backgroundColor: REASON_COLOURS[r] || "#8c959f",
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: "y",
        scales: {
          x: {
            stacked: true,
            beginAtZero: true,
            reverse: rtl,
            ticks: { precision: 0, callback: (v) => formatNumber(v) },
            title: { display: true, text: t("days", "Days") },
          },
          y: { stacked: true, position: rtl ? "right" : "left" },
        },
        plugins: legendOptions(),
      },
    });
  }

  function throughputChart(items, measure) {
    const days = items.length ? items[0].days.map((d) => d.day) : [];
    const labels = days.map((d) => formatNumber(Number(d.slice(8, 10))));
    return new Chart(document.getElementById("chart-throughput"), {
      type: "line",
      data: {
        labels,
        datasets: items.map((item, k) => ({
          label: seriesName(item),
          data: item.days.map((d) => d[measure]),
          borderColor: LINE_COLOURS[k % LINE_COLOURS.length],
          backgroundColor: LINE_COLOURS[k % LINE_COLOURS.length],
          borderDash: item.ours ? [] : [6, 4],
          spanGaps: false,
          pointRadius: 2,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: { reverse: rtl, title: { display: true, text: box.dataset.month || "" } },
          y: {
            beginAtZero: true,
            position: rtl ? "right" : "left",
            ticks: { callback: (v) => formatNumber(v) },
            title: { display: true, text: t(measure, measure) },
          },
        },
        plugins: legendOptions(),
      },
    });
  }

  let throughput = null;

  async function draw() {
    box.setAttribute("aria-busy", "true");
    try {
      const report = await sarhad.fetchJSON(box.dataset.reportUrl);
      const items = (report.items || []).filter((i) => i.known);
      closedChart(items);
      const measure = document.getElementById("chart-measure");
      throughput = throughputChart(items, measure ? measure.value : "vehicles");
      if (measure) {
        measure.addEventListener("change", () => {
          throughput.destroy();
          throughput = throughputChart(items, measure.value);
        });
      }
      const any = items.some(
        (i) => i.days_closed_total > 0 || i.days.some((d) => d.vehicles !== null),
      );
      if (status) status.textContent = any ? "" : t("no_data", "No figures for this month.");
      box.dataset.series = String(items.length);
      box.dataset.ready = "true";
    } catch (err) {
      console.error("sarhad: crossing report", err);
      if (status) status.textContent = t("load_error", "Could not load the month's figures.");
      box.dataset.error = "true";
    } finally {
      box.removeAttribute("aria-busy");
    }
  }

  draw();
})();
