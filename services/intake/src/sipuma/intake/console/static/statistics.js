/* Office statistics from the registry (`/v1/statistics`), drawn with Chart.js (vendored, MIT)
   in the browser; downloads fetch the same range as CSV / XLSX with the officer's token. */
"use strict";
(() => {
  const S = SIPUMA;
  const who = S.requireSignIn();
  if (!who) return;
  const supervisor = who.roles.includes("supervisor");
  const office = S.office(who.office) || { tz: "Asia/Jakarta", name: who.office };
  const form = document.getElementById("stats-form");
  document.getElementById("s-office-field").hidden = !supervisor;
  const localDate = (d) =>
    new Intl.DateTimeFormat("en-CA", { timeZone: office.tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
  form.to.value = localDate(new Date());
  form.from.value = localDate(new Date(Date.now() - 29 * 86400000));
  const charts = {};
  const COLORS = ["#1d4e89", "#f2a541", "#3c9d5d", "#c8553d", "#7d5ba6", "#2a9d8f", "#8d99ae", "#e76f51"];

  function query(extra) {
    const q = new URLSearchParams({ from: form.from.value, to: form.to.value, ...extra });
    if (supervisor && form.office.value) q.set("office", form.office.value);
    return q;
  }

  function draw(id, labels, datasets, options) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new Chart(document.getElementById(id), {
      type: "bar",
      data: { labels, datasets },
      options: Object.assign({ responsive: true, animation: false, plugins: { legend: { position: "bottom" } } }, options),
    });
  }

  function stacked(offices, key, labelOf) {
    let names = [...new Set(offices.flatMap((o) => Object.keys(o[key])))];
    if (!labelOf) names.sort(); // categories keep the reviewed list's order
    // Categories come with zeros (the table shows them); the chart's legend only what occurs.
    else names = names.filter((name) => offices.some((o) => o[key][name]));
    return names.map((name, i) => ({
      label: labelOf ? labelOf(name) : S.t(`${key === "by_channel" ? "ch_" : "st_"}${name}`) || name,
      data: offices.map((o) => o[key][name] || 0),
      backgroundColor: COLORS[i % COLORS.length],
    }));
  }

  function render(found) {
    const offices = found.offices.filter((o) => o.complaints > 0 || !supervisor || form.office.value);
    const tbody = document.querySelector("#stats-table tbody");
    // data-label: the column's name beside each value when a phone shows rows as cards.
    const heads = [...document.querySelectorAll("#stats-table thead th")].map((th) => th.textContent);
    const cell = (i, text, attrs = {}) => S.el("td", { "data-label": heads[i], ...attrs }, text);
    tbody.replaceChildren(
      ...offices.map((o) =>
        S.el("tr", {},
          S.el("th", { scope: "row" }, `${o.office_name} (${o.timezone || "-"})`),
          cell(1, String(o.complaints)),
          cell(2, o.median_minutes_to_number === null ? "–" : String(o.median_minutes_to_number)),
          cell(3, o.p90_minutes_to_number === null ? "–" : String(o.p90_minutes_to_number)),
          cell(4, o.share_within_30_minutes === null ? "–" : `${Math.round(o.share_within_30_minutes * 100)} %`),
          cell(5, String(o.notifications_sent)),
          cell(6, String(o.notifications_failed)),
          cell(7, String(o.overdue), { class: o.overdue ? "missed" : "" }),
        ),
      ),
    );
    const labels = offices.map((o) => o.office_code);
    const stackedAxes = { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } };
    draw("chart-channel", labels, stacked(offices, "by_channel"), stackedAxes);
    draw("chart-status", labels, stacked(offices, "by_status"), stackedAxes);
    // Categories (kategori pengaduan) with "belum dikategorikan"; labels from the registry.
    const categoryLabel = (code) => {
      const l = (found.category_labels || {})[code];
      return l ? l[S.config.lang] || l.id : code;
    };
    draw("chart-category", labels, stacked(offices, "by_category", categoryLabel), stackedAxes);
    const codes = [...new Set(offices.flatMap((o) => Object.keys(o.by_category || {})))];
    const names = codes.map(categoryLabel);
    document.querySelector("#category-table thead tr").replaceChildren(
      S.el("th", { scope: "col", text: S.t("stats_office") }),
      ...names.map((name) => S.el("th", { scope: "col", text: name })));
    document.querySelector("#category-table tbody").replaceChildren(
      ...offices.map((o) =>
        S.el("tr", {},
          S.el("th", { scope: "row", text: o.office_code }),
          ...codes.map((c, i) => S.el("td", { "data-label": names[i], text: String((o.by_category || {})[c] || 0) })))));
    draw("chart-minutes", labels, [
      { label: "median", data: offices.map((o) => o.median_minutes_to_number), backgroundColor: COLORS[0] },
      { label: "p90", data: offices.map((o) => o.p90_minutes_to_number), backgroundColor: COLORS[1] },
    ], { scales: { y: { beginAtZero: true } } });
  }

  async function load() {
    const status = document.getElementById("stats-status");
    status.textContent = S.t("loading");
    const answer = await S.api("reports", `/v1/statistics?${query({})}`);
    status.textContent = "";
    if (answer.status !== 200) {
      S.alert(S.message(answer.body));
      return;
    }
    S.alert("");
    render(answer.body);
    document.body.dataset.statsLoaded = "true"; // for tests and screenshots: charts are drawn
  }

  async function download(path, extra, extension) {
    const response = await fetch(S.url("reports", `${path}?${query(extra)}`), {
      headers: { Authorization: `Bearer ${S.token()}` },
    });
    if (!response.ok) {
      S.alert(S.t("error_network"));
      return;
    }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = `statistik-${form.from.value}-${form.to.value}.${extension}`;
    link.click();
    URL.revokeObjectURL(link.href);
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  document.getElementById("dl-csv").addEventListener("click", () => download("/v1/statistics", { format: "csv" }, "csv"));
  document.getElementById("dl-xlsx").addEventListener("click", () => download("/v1/statistics", { format: "xlsx" }, "xlsx"));
  document.getElementById("dl-rows").addEventListener("click", () => download("/v1/statistics/complaints", {}, "csv"));
  document.getElementById("dl-rows-xlsx").addEventListener("click", () => download("/v1/statistics/complaints", { format: "xlsx" }, "xlsx"));
  load();
})();
