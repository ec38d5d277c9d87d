/* Staff work (issue 20): search the registry, export what was found (CSV/XLSX, downloaded with
   the token), and act on one complaint by its register number: status (with the forwarding
   destination and reference), reopen/undo (supervisor), complainant corrections. */
"use strict";
(() => {
  const S = SIPUMA;
  const who = S.requireSignIn();
  if (!who) return;
  const supervisor = who.roles.includes("supervisor");
  const form = document.getElementById("search-form");
  let page = 1;
  const pageSize = 25;

  // The filters go in a POST body: a name, a ticket or an employee never in a URL (proxy logs).
  function filters(extra) {
    const body = Object.assign({}, extra);
    for (const name of ["number", "ticket", "name", "employee", "from", "to", "status", "sort"]) {
      const value = S.clean(form.elements[name].value);
      if (value) body[name] = value; // dates are office-local dates: the registry reads them so
    }
    if (form.elements.not_told.checked) body.not_told = true;
    if (form.elements.overdue.checked) body.overdue = true;
    return body;
  }

  async function search() {
    const status = document.getElementById("search-status");
    status.textContent = S.t("loading");
    const answer = await S.api("reports", "/v1/complaints/search", {
      method: "POST", body: filters({ page, page_size: pageSize }),
    });
    status.textContent = "";
    if (answer.status !== 200) {
      S.showProblem(form, answer.body, S.t("error_summary"));
      return;
    }
    S.clearErrors(form);
    const data = answer.body;
    document.querySelector("#results tbody").replaceChildren(
      ...data.items.map((item) =>
        S.el("tr", {},
          S.el("th", { scope: "row" }, S.el("button", {
            type: "button", class: "link-button", text: item.register_number || "…",
            onclick: () => openNumber(item.register_number),
          })),
          S.el("td", { text: S.t(`ch_${item.channel}`) }),
          S.el("td", { text: S.when(item.received_at, item.office_code) }),
          S.el("td", {}, S.el("span", { class: `badge st-${item.status}`, text: S.statusLabel(item.status) }))))
    );
    status.textContent = `${S.t("total")}: ${data.total_exact ? data.total : S.t("more_than").replace("{n}", data.total)}`;
    const pages = Math.max(1, Math.ceil(data.total / data.page_size)) + (data.total_exact ? 0 : 1);
    document.getElementById("s-page-info").textContent = `${S.t("page")} ${data.page}`;
    document.getElementById("s-prev").disabled = data.page <= 1;
    document.getElementById("s-next").disabled = data.page >= pages;
  }

  async function download(format) {
    // A link cannot carry the bearer token (nor a body): fetch the file, hand it to the browser.
    const response = await fetch(S.url("reports", "/v1/complaints/search"), {
      method: "POST",
      headers: { Authorization: `Bearer ${S.token()}`, "Content-Type": "application/json" },
      body: JSON.stringify(filters({ format })),
    });
    if (!response.ok) {
      S.alert(S.t("error_network"));
      return;
    }
    const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "");
    const link = S.el("a", { href: URL.createObjectURL(await response.blob()), download: name ? name[1] : `pengaduan.${format}` });
    document.body.append(link);
    link.click();
    link.remove();
  }

  // -- one complaint by register number -----------------------------------------------------------
  let current = null;
  const panel = document.getElementById("complaint-panel");
  const path = (number, tail = "") => `/v1/complaints/${number.split("/").map(encodeURIComponent).join("/")}${tail}`;

  async function openNumber(number) {
    const typed = S.clean(number);
    if (!typed) return;
    const answer = await S.api("registry", path(typed));
    if (answer.status !== 200) {
      S.showProblem(document.getElementById("open-form"), answer.body, S.message(answer.body));
      panel.hidden = true;
      return;
    }
    current = answer.body;
    render(current);
    panel.hidden = false;
    document.getElementById("panel-number").focus?.();
  }

  function render(d) {
    // The category (kategori pengaduan) is chosen on the complaint's page; shown here with the rest.
    const categoryOf = (l) => (l ? l[S.config.lang] || l.id : S.t("category_none"));
    document.getElementById("panel-number").textContent =
      `${d.register_number} · ${S.statusLabel(d.status)} · ${categoryOf(d.category_label)}`;
    // Additions, contact, "number told" and evidence are recorded on the complaint's page.
    const page = `${S.config.prefix}/pengaduan/${d.complaint_id}?nomor=${encodeURIComponent(d.register_number)}`;
    document.getElementById("amend-link").setAttribute("href", page);
    const details = d.complainant_current || {};
    document.getElementById("current-details").replaceChildren(
      ...["name", "phone", "address", "email"].flatMap((k) => [
        S.el("dt", { text: S.t(k === "name" ? "complainant_name" : k) }),
        S.el("dd", { text: details[k] || "—" }),
      ])
    );
    const entries = [];
    for (const h of d.status_history || []) {
      if (h.kind === "communication") {
        entries.push([h.at, S.t("k_communication"), [h.outcome, h.note].filter(Boolean).join(" · ")]);
        continue;
      }
      const where = h.destination ? ` · ${h.destination.name} (${h.reference})` : "";
      const why = h.reason ? ` · ${S.t("staff_reason")}: ${h.reason}` : h.note ? ` · ${h.note}` : "";
      entries.push([h.at, S.t(`k_${h.kind}`), `${S.statusLabel(h.from)} → ${S.statusLabel(h.to)}${where}${why} (${h.by})`]);
    }
    for (const c of d.category_history || []) {
      const from = c.previous ? `${categoryOf(c.previous_label)} → ` : "";
      const why = c.reason ? ` · ${S.t("staff_reason")}: ${c.reason}` : "";
      entries.push([c.at, S.t("ev_category"), `${from}${categoryOf(c.label)}${why} (${c.by})`]);
    }
    for (const c of d.complainant_corrections || []) {
      const what = c.changes.map((x) => `${S.t(x.field)}: ${x.previous || "—"} → ${x.value}`).join("; ");
      entries.push([c.at, S.t("k_correction"), `${what} · ${S.t("staff_reason")}: ${c.reason} (${c.by})`]);
    }
    entries.sort((a, b) => new Date(a[0]) - new Date(b[0]));
    document.getElementById("history").replaceChildren(
      ...entries.map(([at, title, detail]) =>
        S.el("li", {}, S.el("time", { datetime: at, text: S.when(at, d.office_code) }), S.el("strong", { text: title }),
          S.el("span", { class: "detail", text: detail })))
    );
    document.getElementById("correction-form").hidden = !supervisor;
  }

  async function send(formNode, tail, body) {
    S.setStatus(formNode, S.t("loading"));
    const answer = await S.api("registry", path(current.register_number, tail), { method: "POST", body });
    if (answer.status >= 300) {
      S.setStatus(formNode, "");
      S.showProblem(formNode, answer.body, S.message(answer.body));
      return;
    }
    S.clearErrors(formNode);
    S.setStatus(formNode, S.t("saved"));
    await openNumber(current.register_number);
  }

  const statusForm = document.getElementById("status-form");
  const destination = statusForm.elements.destination;
  const syncForwarding = () => {
    const forwarded = statusForm.elements.status.value === "forwarded";
    for (const name of ["destination", "reference"]) {
      statusForm.querySelector(`[data-field="${name}"]`).hidden = !forwarded;
    }
  };
  statusForm.elements.status.addEventListener("change", syncForwarding);
  S.api("registry", "/v1/forward-destinations").then((answer) => {
    if (answer.status !== 200) return;
    for (const d of answer.body) destination.append(S.el("option", { value: d.code, text: d.name }));
  });
  syncForwarding();
  statusForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const forwarded = statusForm.elements.status.value === "forwarded";
    send(statusForm, "/status", S.prune({
      status: statusForm.elements.status.value,
      note: S.clean(statusForm.elements.note.value),
      destination: forwarded ? destination.value || null : null,
      reference: forwarded ? S.clean(statusForm.elements.reference.value) : null,
    }));
  });
  const correction = document.getElementById("correction-form");
  for (const action of ["reopen", "undo"]) {
    document.getElementById(action).addEventListener("click", () =>
      send(correction, `/${action}`, { reason: S.clean(correction.elements.reason.value) || "" }));
  }
  const complainant = document.getElementById("complainant-form");
  complainant.addEventListener("submit", (e) => {
    e.preventDefault();
    send(complainant, "/complainant-corrections", S.prune({
      phone: S.clean(complainant.elements.phone.value),
      address: S.clean(complainant.elements.address.value),
      email: S.clean(complainant.elements.email.value),
      reason: S.clean(complainant.elements.reason.value) || "",
    }));
  });

  document.getElementById("open-form").addEventListener("submit", (e) => {
    e.preventDefault();
    openNumber(e.target.elements.number.value);
  });
  form.addEventListener("submit", (e) => { e.preventDefault(); page = 1; search(); });
  document.getElementById("s-prev").addEventListener("click", () => { page -= 1; search(); });
  document.getElementById("s-next").addEventListener("click", () => { page += 1; search(); });
  document.getElementById("export-csv").addEventListener("click", () => download("csv"));
  document.getElementById("export-xlsx").addEventListener("click", () => download("xlsx"));
  const wanted = new URLSearchParams(location.search).get("nomor");
  if (wanted) openNumber(wanted);
  search();
})();
