// Sarhad patrols page: the "Plan this day" form (#plan-form) while the node plans.
// Planning takes seconds (a coordinated plan solves a joint LP), so on submit the button is
// disabled (no second plan by a second click), the form gets aria-busy="true" and the live
// region #plan-status reads its data-busy text (translated by the server, so this script
// needs no #i18n block). The form posts as plain HTML: without this script it works the same,
// only without the waiting notice.
"use strict";

(() => {
  const form = document.getElementById("plan-form");
  if (!form) return;
  const button = form.querySelector('button[type="submit"]');
  const status = document.getElementById("plan-status");

  function busy(on) {
    if (on) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
    form.classList.toggle("busy", on);
    if (button) button.disabled = on;
    if (status) status.textContent = on ? status.dataset.busy || "" : "";
  }

  form.addEventListener("submit", (event) => {
    // Enter pressed again while the first request runs: keep the one plan being made.
    if (form.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      return;
    }
    // Disabling the button here does not stop this submission; the form is already sent.
    busy(true);
  });

  // Back from the plan's page, the browser may restore this page as it was left: busy.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) busy(false);
  });
})();
