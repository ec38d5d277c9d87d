/* The office's complaints from the registry's read API, with the 30-minute service standard
   from its report; failed notifications stand out. */
"use strict";
(() => {
  const S = SIPUMA;
  const who = S.requireSignIn();
  if (!who) return;
  const office = S.office(who.office) || { tz: "Asia/Jakarta", offset: "+07:00", name: who.office };
  document.getElementById("list-office").textContent =
    who.roles.includes("supervisor") ? "" : `· ${office.name}`;

  const form = document.getElementById("filter-form");
  const localDate = (d) =>
    new Intl.DateTimeFormat("en-CA", { timeZone: office.tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
  form.to.value = localDate(new Date());
  form.from.value = localDate(new Date(Date.now() - 6 * 86400000));
  let page = 1;
  const pageSize = 25;

  function nextDay(day) {
    const d = new Date(`${day}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }

  let latest = 0;
  async function load() {
    const mine = ++latest; // a slower earlier answer must not overwrite a newer one
    const status = document.getElementById("list-status");
    status.textContent = S.t("loading");
    const q = new URLSearchParams({ page: String(page), page_size: String(pageSize) });
    if (form.from.value) q.set("from", `${form.from.value}T00:00:00${office.offset}`);
    if (form.to.value) q.set("to", `${nextDay(form.to.value)}T00:00:00${office.offset}`);
    if (form.status.value) q.set("status", form.status.value);
    if (form.channel.value) q.set("channel", form.channel.value);
    if (form.failed.checked) q.set("notification_failed", "true");
    if (form.category.value) q.set("category", form.category.value);
    // The registry's order: overdue first, then by due date (only those with a deadline).
    if (form.sort.value === "due") q.set("sort", "due");
    const r = new URLSearchParams({ from: form.from.value, to: form.to.value, level: "complaint", format: "json" });
    const [list, report] = await Promise.all([
      S.api("reports", `/v1/complaints?${q}`),
      form.from.value && form.to.value ? S.api("reports", `/v1/reports/service-standard?${r}`) : null,
    ]);
    if (mine !== latest) return;
    if (list.status !== 200) {
      status.textContent = "";
      S.alert(S.message(list.body));
      return;
    }
    S.alert("");
    const sla = new Map();
    if (report && report.status === 200) {
      for (const row of report.body.complaints) if (row.register_number) sla.set(row.register_number, row);
    }
    render(list.body, sla, report && report.status === 200 ? report.body.standard_minutes : 30);
    status.textContent = `${S.t("total")}: ${list.body.total_exact ? list.body.total : S.t("more_than").replace("{n}", list.body.total)}`;
  }

  function standardCell(item, row, limit) {
    if (row && row.within_standard) return [S.t("s_met"), `${Math.round(row.minutes)} ${S.t("minutes")}`, "met"];
    if (row && row.minutes !== null && row.minutes !== undefined) {
      return [S.t("s_missed"), `${Math.round(row.minutes)} ${S.t("minutes")}`, "missed"];
    }
    const elapsed = (Date.now() - new Date(item.received_at)) / 60000;
    if (elapsed > limit) return [S.t("s_missed"), `> ${limit} ${S.t("minutes")}`, "missed"];
    const left = String(Math.max(0, Math.round(limit - elapsed)));
    return [S.t("s_running"), S.t("minutes_left").replace("{n}", left), "running"];
  }

  // Working-day deadline of the stage the complaint is in; overdue ones are also listed first.
  function dueCell(item) {
    if (!item.due_at) return S.el("td", { "data-label": S.t("due"), text: "–" });
    return S.el("td", { "data-label": S.t("due") },
      S.el("small", { class: "nowrap", text: `${S.t(`stage_${item.stage}`)}: ${S.when(item.due_at, item.office_code)}` }),
      item.overdue ? [" ", S.el("span", { class: "badge sla-missed", text: S.t("overdue_badge") })] : null);
  }

  async function loadOverdue() {
    const found = await S.api("reports", "/v1/overdue?limit=50");
    const section = document.getElementById("overdue");
    if (found.status !== 200 || found.body.total === 0) {
      section.hidden = true;
      return;
    }
    section.hidden = false;
    document.getElementById("overdue-count").textContent = `· ${S.t("total")}: ${found.body.total}`;
    document.querySelector("#overdue-table tbody").replaceChildren(
      ...found.body.items.map((item) => {
        const link = `${S.config.prefix}/pengaduan/${item.complaint_id}?nomor=${encodeURIComponent(item.register_number || "")}`;
        return S.el("tr", { class: "row-failed" },
          S.el("th", { scope: "row" }, S.el("a", { href: link, text: item.register_number || "…" })),
          S.el("td", { "data-label": S.t("stage"), text: S.t(`stage_${item.stage}`) }),
          S.el("td", { "data-label": S.t("due"), text: S.when(item.due_at, item.office_code) }),
          S.el("td", { "data-label": S.t("status") }, S.el("span", { class: `badge st-${item.status}`, text: S.statusLabel(item.status) })));
      }));
  }

  // Category labels from the registry's reviewed list (kategori pengaduan); none: "uncategorised".
  const categories = new Map();
  const categoryLabel = (code) => {
    if (!code) return S.t("category_none");
    const l = categories.get(code);
    return l ? l[S.config.lang] || l.id : code;
  };
  async function loadCategories() {
    const answer = await S.api("registry", "/v1/complaint-categories");
    if (answer.status !== 200) return;
    const none = form.category.querySelector("option[value=uncategorised]");
    for (const c of answer.body) {
      categories.set(c.code, c.label);
      none.before(S.el("option", { value: c.code, text: c.label[S.config.lang] || c.label.id }));
    }
  }

  function render(data, sla, limit) {
    const body = document.querySelector("#complaints tbody");
    body.replaceChildren(
      ...data.items.map((item) => {
        const failed = item.notification_failed;
        const [sText, sDetail, sClass] = standardCell(item, sla.get(item.register_number), limit);
        const link = `${S.config.prefix}/pengaduan/${item.complaint_id}?nomor=${encodeURIComponent(item.register_number || "")}`;
        return S.el("tr", { class: failed ? "row-failed" : "" },
          S.el("th", { scope: "row" }, S.el("a", { href: link, text: item.register_number || "…" })),
          // data-label: the column's name beside each value when a phone shows rows as cards.
          // Masked by the registry ("B*** S***"): a list never shows who complained.
          S.el("td", { "data-label": S.t("complainant_masked"), text: item.complainant || "–" }),
          S.el("td", { "data-label": S.t("received"), text: S.when(item.received_at, item.office_code) }),
          S.el("td", { "data-label": S.t("channel"), text: S.t(`ch_${item.channel}`) }),
          S.el("td", { "data-label": S.t("status") }, S.el("span", { class: `badge st-${item.status}`, text: S.statusLabel(item.status) })),
          S.el("td", { "data-label": S.t("notification") }, failed
            ? S.el("span", { class: "badge failed", text: `⚠ ${S.t("n_failed")}` })
            : S.el("span", { class: "badge", text: S.t(item.ticket_issued ? "n_ticket" : "n_none") })),
          S.el("td", { "data-label": S.t("standard") }, S.el("span", { class: `badge sla-${sClass}`, text: sText }), " ", S.el("small", { class: "nowrap", text: sDetail })),
          S.el("td", { "data-label": S.t("category"), text: categoryLabel(item.category) }),
          dueCell(item));
      })
    );
    document.getElementById("list-empty").hidden = data.items.length > 0;
    // An inexact total (the registry stops counting at 1,000) still allows the next page.
    const pages = Math.max(1, Math.ceil(data.total / data.page_size)) + (data.total_exact ? 0 : 1);
    document.getElementById("page-info").textContent =
      `${S.t("page")} ${data.page} / ${data.total_exact ? pages : `${pages - 1}+`}`;
    document.getElementById("prev").disabled = data.page <= 1;
    document.getElementById("next").disabled = data.page >= pages;
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    page = 1;
    load();
  });
  document.getElementById("prev").addEventListener("click", () => { page -= 1; load(); });
  document.getElementById("next").addEventListener("click", () => { page += 1; load(); });
  loadOverdue();
  // Labels first, so the list's category column shows them (a failed lookup shows codes).
  loadCategories().then(() => load());
})();
