// Sarhad web console: the alerts page follows the live feed; acknowledges, answers, withdraws.
// - Subscribes to the node's server-sent events (#alerts-live[data-feed-url], only alerts,
//   starting at the change number the page was rendered at); the browser sends the session
//   cookie and resumes by itself with Last-Event-ID after a drop.
// - On each event it reads the alert from GET /api/v1/alerts/{id} and draws its row like the
//   server does (same cells, same classes), inserting it at the top of its box or replacing it;
//   a closure alert a node wrote is worded in the page's language by GET /alerts/{id}/words
//   (the server's own wording, alert_pages.alert_text), once per alert.
// - A new inbound flash alert shows a banner (role="alert"), flashes its row and beeps.
// - Acknowledge, Answer and Withdraw call the JSON API through sarhad.fetchJSON (CSRF header);
//   Answer and Withdraw first ask in a <dialog>. The row is redrawn from the API's answer.
// The API decides every rule again; the buttons only mirror what the server offers.
"use strict";

(() => {
  const sarhad = window.sarhad;
  const root = document.getElementById("alerts-live");
  if (!sarhad || !root) return;
  const t = sarhad.t;
  const canRespond = root.dataset.canRespond === "true";
  const canRaise = root.dataset.canRaise === "true";
  const status = document.getElementById("live-status");
  const banner = document.getElementById("alert-banner");
  const bannerText = document.getElementById("alert-banner-text");
  const dialog = document.getElementById("answer-dialog");

  // ---- Drawing a row -------------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  /** "2026-03-01 14:05 UTC": the text a <time> shows before app.js formats it. */
  function utcText(iso) {
    return `${new Date(iso).toISOString().slice(0, 16).replace("T", " ")} UTC`;
  }

  /** A deadline counting down while `pending`, else the moment (app.js formats both). */
  function deadline(iso, pending) {
    if (!iso) return "—";
    if (pending) {
      return el("time", { class: "deadline", datetime: iso, "data-deadline": iso }, utcText(iso));
    }
    return el("time", { class: "local-times", datetime: iso, "data-zones": "UTC" }, utcText(iso));
  }

  function cell(col, ...children) {
    return el("td", { "data-col": col }, ...children);
  }

  /** Which buttons the row offers: the same rule as alert_pages.actions on the server. */
  function actionsOf(a) {
    const open = canRespond && a.direction === "inbound" && !a.withdrawn_at;
    return {
      acknowledge: open && !a.acknowledged_at,
      answer: open && !a.answered_at,
      withdraw: canRaise && a.direction === "outbound" && !a.withdrawn_at,
    };
  }

  /** The text cell: a closure alert a node wrote in the page's language (as the server
   *  draws it, from /alerts/{id}/words), its note and any typed text as written. */
  function textCell(a) {
    const td = el("td", { "data-col": "text", id: `alert-${a.id}-text` });
    const w = wordings.get(a.id);
    if (w && w.text) {
      td.append(w.text);
      if (w.note) td.append(" ", el("bdi", {}, w.note));
    } else {
      td.append(el("bdi", {}, a.text));
    }
    return td;
  }

  // Closure alerts' wording by alert id (a closure alert's text never changes).
  const wordings = new Map();

  /** ``a`` once its wording is known (one request per closure alert, then kept). */
  async function worded(a) {
    if (a.kind === "crossing_closure" && !wordings.has(a.id)) {
      try {
        wordings.set(a.id, await sarhad.fetchJSON(`/alerts/${encodeURIComponent(a.id)}/words`));
      } catch (err) {
        console.error("sarhad: could not word alert", a.id, err);
      }
    }
    return a;
  }

  function buildRow(a, withActions) {
    const crossing = a.place.nearest_crossing;
    const placeName = crossing && sarhad.strings[`place_${crossing}`];
    const place = [a.place.sector || "", placeName].filter(Boolean).join(" · ");
    const statusCell = cell(
      "status",
      el("span", { class: "status" }, t(`status_${a.status}`, a.status)),
    );
    if (a.overdue) {
      statusCell.append(" · ", el("strong", { class: "overdue-flag" }, t("overdue", "Overdue")));
    }
    if (a.answer) {
      // The answer's words are the partner's own: isolated in <bdi>, as the page does.
      const answer = el("span", { class: "answer" }, t(`answer_${a.answer}`, a.answer));
      if (a.answer_text) answer.append(": ", el("bdi", {}, a.answer_text));
      statusCell.append(answer);
    }
    if (a.withdraw_reason) {
      statusCell.append(el("bdi", { class: "withdraw-reason" }, a.withdraw_reason));
    }
    const escalation = el("td", { "data-col": "escalation", "data-level": a.escalation_level });
    if (a.escalation_level) {
      escalation.append(
        el(
          "span",
          { class: "escalated" },
          t("level", "Level {level}", { level: a.escalation_level }),
        ),
      );
      if (a.next_escalation_at) {
        const next = ` · ${t("next_escalation", "next")} `;
        escalation.append(next, deadline(a.next_escalation_at, true));
      }
    } else {
      escalation.append(t("not_escalated", "Not escalated"));
    }
    const row = el(
      "tr",
      {
        id: `alert-${a.id}`,
        class: `priority-${a.priority}${a.overdue ? " overdue" : ""}`,
        "data-id": a.id,
        "data-priority": a.priority,
        "data-status": a.status,
        "data-direction": a.direction,
      },
      cell("priority", t(`priority_${a.priority}`, a.priority)),
      cell("kind", t(`kind_${a.kind}`, a.kind)),
      cell("partner", a.partner),
      textCell(a),
      cell("place", place),
      statusCell,
      cell("ack_by", deadline(a.ack_by, !a.acknowledged_at && !a.withdrawn_at)),
      cell("answer_by", deadline(a.answer_by, !a.answered_at && !a.withdrawn_at)),
      escalation,
    );
    if (withActions) {
      const can = actionsOf(a);
      const button = (action, className, label) =>
        el(
          "button",
          {
            type: "button",
            class: className,
            "data-action": action,
            "aria-describedby": `alert-${a.id}-text`,
          },
          label,
        );
      const buttons = cell("actions");
      if (can.acknowledge) {
        buttons.append(
          button("acknowledge", "button button-primary", t("acknowledge", "Acknowledge")),
        );
      }
      if (can.answer) buttons.append(" ", button("answer", "button", t("answer", "Answer")));
      if (can.withdraw) buttons.append(button("withdraw", "button", t("withdraw", "Withdraw")));
      row.append(buttons);
    }
    return row;
  }

  /** Insert or replace the alert's row; returns {row, added}. */
  function upsert(a) {
    const box = document.querySelector(
      `table.alerts[data-box="${a.direction === "inbound" ? "inbox" : "outbox"}"]`,
    );
    if (!box) return { row: null, added: false };
    const old = document.getElementById(`alert-${a.id}`);
    // An older page of the box shows no newcomers (they belong on the newest page); the
    // flash cue still shows.
    if (!old && box.dataset.paged === "true") return { row: null, added: true };
    const row = buildRow(a, box.dataset.actions === "true");
    if (old) {
      // A redraw keeps the arrival cue; a changed status gets a short highlight.
      if (old.classList.contains("arrived")) row.classList.add("arrived");
      else if (old.dataset.status !== a.status) row.classList.add("updated");
      // Keep keyboard focus on the same button when the row is redrawn under it.
      const focused = old.contains(document.activeElement) && document.activeElement.dataset.action;
      old.replaceWith(row);
      if (focused) {
        const same = row.querySelector(`[data-action="${focused}"]`);
        (same || row.querySelector("[data-action]"))?.focus();
      }
    } else {
      box.tBodies[0].prepend(row);
      const section = box.closest("section");
      section.querySelector(".table-wrap").hidden = false;
      section.querySelector("p.empty").hidden = true;
    }
    sarhad.formatTimes(row);
    sarhad.tickCountdowns();
    return { row, added: !old };
  }

  // ---- Cues: a banner, a flashing row and a beep for a new inbound flash alert ---------

  function beepWhenAllowed() {
    // Browsers keep audio muted until the person has interacted with the page; then beep
    // at the first click or key instead of silently losing the cue.
    if (navigator.userActivation?.hasBeenActive ?? true) {
      sarhad.beep();
      banner.dataset.sound = "played";
      return;
    }
    banner.dataset.sound = "waiting";
    const later = () => {
      sarhad.beep();
      banner.dataset.sound = "played";
    };
    document.addEventListener("pointerdown", later, { once: true });
    document.addEventListener("keydown", later, { once: true });
  }

  function cue(a, row) {
    row?.classList.add("arrived");
    if (a.priority !== "flash") return;
    bannerText.textContent = t("flash_from", "Flash alert from {partner}: {text}", {
      partner: a.partner,
      text: a.text,
    });
    banner.dataset.alertId = a.id;
    banner.hidden = false;
    beepWhenAllowed();
  }

  banner?.querySelector("#alert-banner-close")?.addEventListener("click", () => {
    banner.hidden = true;
  });

  // ---- Reading alerts (one request at a time per alert, the last event wins) -----------

  const pending = new Map();

  async function load(id) {
    const a = await worded(await sarhad.fetchJSON(`/api/v1/alerts/${encodeURIComponent(id)}`));
    const { row, added } = upsert(a);
    if (added && a.direction === "inbound") cue(a, row);
  }

  function refresh(id) {
    const before = pending.get(id) || Promise.resolve();
    const next = before
      .catch(() => {})
      .then(() => load(id))
      .catch((err) => console.error("sarhad: could not read alert", id, err))
      .finally(() => {
        if (pending.get(id) === next) pending.delete(id);
      });
    pending.set(id, next);
    return next;
  }

  // ---- The live feed -------------------------------------------------------------------

  function setStatus(state, text) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = text;
  }

  function follow() {
    if (!window.EventSource) return;
    const source = new EventSource(root.dataset.feedUrl);
    source.addEventListener("open", () =>
      setStatus("open", t("live_open", "Live: new alerts and answers appear here.")),
    );
    source.addEventListener("error", () =>
      setStatus("lost", t("live_lost", "Live feed interrupted; reconnecting…")),
    );
    source.addEventListener("alert", (event) => {
      let change;
      try {
        change = JSON.parse(event.data);
      } catch {
        return;
      }
      refresh(change.id);
    });
    window.addEventListener("pagehide", () => source.close());
  }

  // ---- Acknowledge and answer ----------------------------------------------------------

  function errorText(err) {
    const detail = err?.body?.error?.message || (typeof err?.detail === "string" ? err.detail : "");
    return t("failed", "Could not save: {error}", { error: detail || err?.message || String(err) });
  }

  function showRowError(row, err) {
    const actions = row.querySelector('[data-col="actions"]');
    if (!actions) return;
    actions.querySelector(".field-error")?.remove();
    actions.append(el("span", { class: "field-error", role: "alert" }, errorText(err)));
  }

  async function acknowledge(button, row) {
    button.disabled = true;
    try {
      const url = `/api/v1/alerts/${encodeURIComponent(row.dataset.id)}/acknowledge`;
      const a = await sarhad.fetchJSON(url, { method: "POST" });
      upsert(await worded(a));
    } catch (err) {
      button.disabled = false;
      showRowError(row, err);
    }
  }

  const form = document.getElementById("answer-form");
  const answerText = document.getElementById("answer-text");
  const answerError = document.getElementById("answer-error");

  function openAnswer(row) {
    if (!dialog || !form) return;
    form.reset();
    answerText.required = false;
    answerError.hidden = true;
    dialog.dataset.id = row.dataset.id;
    document.getElementById("answer-alert").textContent =
      row.querySelector('[data-col="text"]')?.textContent || "";
    dialog.showModal();
  }

  form?.addEventListener("change", (event) => {
    // Declining needs the reason and information the information (the server's rule).
    if (event.target.name === "answer") {
      answerText.required = event.target.dataset.needsText === "true";
    }
  });

  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = dialog.dataset.id;
    const chosen = form.querySelector('input[name="answer"]:checked');
    if (!id || !chosen) return;
    const text = answerText.value.trim();
    const submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    try {
      const a = await sarhad.fetchJSON(`/api/v1/alerts/${encodeURIComponent(id)}/answer`, {
        method: "POST",
        body: text ? { answer: chosen.value, text } : { answer: chosen.value },
      });
      upsert(await worded(a));
      dialog.close();
      document.getElementById(`alert-${id}`)?.querySelector("[data-action]")?.focus();
    } catch (err) {
      answerError.textContent = errorText(err);
      answerError.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  document.getElementById("answer-cancel")?.addEventListener("click", () => dialog.close());

  // ---- Withdraw (our own alerts): the reason is asked in a dialog -----------------------

  const withdrawDialog = document.getElementById("withdraw-dialog");
  const withdrawForm = document.getElementById("withdraw-form");
  const withdrawReason = document.getElementById("withdraw-reason");
  const withdrawError = document.getElementById("withdraw-error");

  function openWithdraw(row) {
    if (!withdrawDialog || !withdrawForm) return;
    withdrawForm.reset();
    withdrawError.hidden = true;
    withdrawDialog.dataset.id = row.dataset.id;
    document.getElementById("withdraw-alert").textContent =
      row.querySelector('[data-col="text"]')?.textContent || "";
    withdrawDialog.showModal();
  }

  withdrawForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = withdrawDialog.dataset.id;
    const reason = withdrawReason.value.trim();
    if (!id) return;
    if (!reason) {
      // Only spaces pass the browser's own check; the API needs a reason too.
      withdrawReason.value = "";
      withdrawReason.reportValidity();
      return;
    }
    const submit = withdrawForm.querySelector('button[type="submit"]');
    submit.disabled = true;
    try {
      const a = await sarhad.fetchJSON(`/api/v1/alerts/${encodeURIComponent(id)}/withdraw`, {
        method: "POST",
        body: { reason },
      });
      upsert(await worded(a));
      withdrawDialog.close();
      // The button is gone with the withdrawal: keep the keyboard in the outbox.
      document.getElementById("outbox-title")?.focus();
    } catch (err) {
      withdrawError.textContent = errorText(err);
      withdrawError.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  document
    .getElementById("withdraw-cancel")
    ?.addEventListener("click", () => withdrawDialog.close());

  root.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    const row = button?.closest("tr[data-id]");
    if (!button || !row) return;
    if (button.dataset.action === "acknowledge") acknowledge(button, row);
    else if (button.dataset.action === "answer") openAnswer(row);
    else if (button.dataset.action === "withdraw") openWithdraw(row);
  });

  follow();
})();
