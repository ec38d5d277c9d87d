/* Supervisors: who was shown a complainant's identity (registry's identity-read audit) and who
   took a download link of evidence (evidence's audit: a scan may be the KTP), per complaint or
   per officer, and whether both hash chains are intact. */
"use strict";
(() => {
  const S = SIPUMA;
  const who = S.requireSignIn();
  if (!who) return;
  const body = document.querySelector("#audit-table tbody");
  const chain = document.getElementById("audit-chain");
  const downloads = document.querySelector("#download-table tbody");

  async function loadDownloads(params, complaintId) {
    const query = new URLSearchParams();
    if (params.officer_id) query.set("officer_id", params.officer_id);
    if (complaintId) query.set("complaint_id", complaintId);
    if (params.register_number && !complaintId) return downloads.replaceChildren(); // no such reads
    const answer = await S.api("evidence", `/v1/audit/evidence-downloads?${query}`);
    if (answer.status !== 200) return S.alert(S.message(answer.body));
    downloads.replaceChildren(
      ...answer.body.items.map((e) =>
        S.el(
          "tr",
          {},
          S.el("td", { text: S.when(e.at, e.office_code) }),
          S.el("td", { text: e.officer_id }),
          S.el("td", { text: e.officer_office }),
          S.el("td", { text: e.kind }),
          S.el("td", {}, S.el("code", { text: e.evidence_id })),
          S.el("td", {}, S.el("code", { text: e.request_id }))
        )
      )
    );
  }

  async function load(params) {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
    const answer = await S.api("registry", `/v1/audit/identity-reads?${query}`);
    if (answer.status !== 200) return S.alert(S.message(answer.body));
    body.replaceChildren(
      ...answer.body.items.map((e) =>
        S.el(
          "tr",
          {},
          S.el("td", { text: S.when(e.at, e.office_code) }),
          S.el("td", { text: e.officer_id }),
          S.el("td", { text: e.officer_office }),
          S.el("td", { text: e.fields.join(", ") }),
          S.el("td", { text: e.purpose }),
          S.el("td", {}, S.el("code", { text: e.request_id }))
        )
      )
    );
    // The registry knows which complaint a register number is; evidence is keyed by its id.
    const first = answer.body.items.find((e) => e.complaint_id);
    await loadDownloads(params, params.register_number && first ? first.complaint_id : null);
  }

  document.getElementById("audit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    load({ register_number: form.register_number.value.trim(), officer_id: form.officer_id.value.trim() });
  });
  document.getElementById("audit-verify").addEventListener("click", async () => {
    const [reads, taken] = await Promise.all([
      S.api("registry", "/v1/audit/identity-reads/verify"),
      S.api("evidence", "/v1/audit/evidence-downloads/verify"),
    ]);
    if (reads.status !== 200) return S.alert(S.message(reads.body));
    const told = (b) => (b.intact ? `${S.t("audit_intact")} (${b.entries})` : `${S.t("audit_broken")} ${b.broken_at}`);
    chain.textContent = taken.status === 200
      ? `${told(reads.body)} · ${S.t("audit_downloads")}: ${told(taken.body)}`
      : told(reads.body);
  });
  load({});
})();
