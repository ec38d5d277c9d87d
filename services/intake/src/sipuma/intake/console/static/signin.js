/* Sign-in: paste an officer token, or (development only) have the server mint one. */
"use strict";
(() => {
  const S = SIPUMA;
  const params = new URLSearchParams(location.search);
  if (params.get("why") === "expired") S.alert(S.t("error_session"));

  // Back from the OpenID Connect provider: the access token is in the fragment; keep it in the
  // session like any token and take it out of the address bar (and history) at once.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("oidc")) {
    history.replaceState(null, "", location.pathname + location.search);
    const claims = S.signIn(fragment.get("oidc"));
    if (claims) {
      go(claims);
      return;
    }
  }

  function go(claims) {
    const next = params.get("next") || "";
    const safe = next.startsWith(S.config.prefix + "/") && !next.startsWith(S.config.prefix + "/masuk");
    const home = claims.roles.includes("receiver") ? "/baru" : "/daftar";
    location.assign(safe ? next : S.config.prefix + home);
  }

  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    S.clearErrors(form);
    const claims = S.signIn(form.token.value);
    if (!claims) {
      S.sayError(form.token, S.t("token_bad"));
      form.token.focus();
      return;
    }
    go(claims);
  });

  const local = document.getElementById("local-form");
  if (local) {
    local.addEventListener("submit", async (event) => {
      event.preventDefault();
      S.clearErrors(local);
      const roles = Array.from(local.querySelectorAll("input[name=roles]:checked"), (i) => i.value);
      const answer = await fetch(`${S.config.prefix}/masuk-lokal`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({
          officer_id: local.officer_id.value.trim(),
          office_code: local.office_code.value,
          roles,
        }),
      }).catch(() => null);
      if (!answer) return S.alert(S.t("error_network"));
      const body = await answer.json().catch(() => null);
      if (answer.status !== 200) {
        S.showProblem(local, body);
        if (!body || !body["invalid-params"]) S.alert(S.message(body));
        return;
      }
      go(S.signIn(body.token));
    });
  }
})();
