/* Public tracking: ticket → status timeline (statuses and dates only). The ticket goes in the
   body of a POST to the registry: never into a URL (this page's, its history, or a server's
   access log). */
"use strict";
(() => {
  const S = SIPUMA;
  const form = document.getElementById("track-form");
  const result = document.getElementById("track-result");
  const fmt = (iso) =>
    new Intl.DateTimeFormat(S.config.lang === "id" ? "id-ID" : "en-GB", {
      year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit",
      timeZoneName: "short",
    }).format(new Date(iso));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    S.clearErrors(form);
    S.alert("");
    result.hidden = true;
    const ticket = form.ticket.value.replace(/\s+/g, "").toUpperCase();
    // The focus stays in the field (Enter there submits): the message is a live region.
    if (!ticket) {
      S.sayError(form.ticket, S.t("ticket_required"));
      form.ticket.focus();
      return;
    }
    const answer = await S.api("registry", "/v1/track", {
      method: "POST", body: { ticket }, public: true,
    });
    if (answer.status !== 200) {
      S.sayError(form.ticket, S.message(answer.body));
      form.ticket.focus();
      return;
    }
    const label = (l) => (l ? l[S.config.lang] || l.id : "");
    document.getElementById("track-status").textContent = label(answer.body.label);
    document.getElementById("track-timeline").replaceChildren(
      ...answer.body.timeline.map((step) =>
        S.el("li", {}, S.el("time", { datetime: step.at, text: fmt(step.at) }), S.el("strong", { text: label(step.label) }))
      )
    );
    result.hidden = false;
    document.getElementById("track-status-title").setAttribute("tabindex", "-1");
    document.getElementById("track-status-title").focus();
  });
})();
