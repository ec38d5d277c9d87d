/* Supervisors: who was shown a complainant's identity (registry's identity-read audit), per
   complaint or per officer, and whether the hash chain is intact. */
"use strict";
(() => {
  const S = SIPUMA;
  const who = S.requireSignIn();
  if (!who) return;
  const body = document.querySelector("#audit-table tbody");
  const chain = document.getElementById("audit-chain");

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
  }

  document.getElementById("audit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    load({ register_number: form.register_number.value.trim(), officer_id: form.officer_id.value.trim() });
  });
  document.getElementById("audit-verify").addEventListener("click", async () => {
    const answer = await S.api("registry", "/v1/audit/identity-reads/verify");
    if (answer.status !== 200) return S.alert(S.message(answer.body));
    chain.textContent = answer.body.intact
      ? `${S.t("audit_intact")} (${answer.body.entries})`
      : `${S.t("audit_broken")} ${answer.body.broken_at}`;
  });
  load({});
})();
