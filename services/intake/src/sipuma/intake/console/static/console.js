/* SIPUMA console: shared helpers (config, texts, session, API calls, problem display). */
"use strict";

const SIPUMA = (() => {
  const config = JSON.parse(document.getElementById("sipuma-config").textContent);
  const texts = config.texts;
  const TOKEN_KEY = "sipuma_token";

  const t = (key) => (key in texts ? texts[key] : key);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // -- session ----------------------------------------------------------------------------------
  function decode(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const json = decodeURIComponent(
        Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join("")
      );
      const claims = JSON.parse(json);
      if (!claims.sub || !claims.office || !Array.isArray(claims.roles)) return null;
      if (claims.exp && claims.exp * 1000 < Date.now()) return null;
      return claims;
    } catch (_) {
      return null;
    }
  }
  const token = () => sessionStorage.getItem(TOKEN_KEY);
  const claims = () => (token() ? decode(token()) : null);
  function signIn(value) {
    const found = decode(value.trim());
    if (!found) return null;
    sessionStorage.setItem(TOKEN_KEY, value.trim());
    return found;
  }
  function signOut(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    if (config.oidc && !reason) return location.assign(`${config.prefix}/oidc/keluar`);
    const next = encodeURIComponent(location.pathname + location.search);
    location.assign(`${config.prefix}/masuk?next=${next}${reason ? "&why=" + reason : ""}`);
  }
  function requireSignIn() {
    const who = claims();
    if (!who) {
      signOut(token() ? "expired" : "");
      return null;
    }
    const office = office_(who.office);
    const box = document.getElementById("who");
    if (box) {
      document.getElementById("who-text").textContent =
        `${t("signed_in_as")} ${who.name || who.nip || who.sub} · ${office ? office.name : who.office}`;
      box.hidden = false;
      document.getElementById("sign-out").addEventListener("click", () => signOut(""));
    }
    // Menu entries for one role (the audit page: supervisors); the API refuses others anyway.
    for (const item of document.querySelectorAll("[data-role]")) {
      item.hidden = !who.roles.includes(item.dataset.role);
    }
    if (config.oidc) scheduleRefresh(who);
    return who;
  }
  // Provider tokens are short-lived: trade the session's refresh token for a new one 30 s before
  // this one expires (the server keeps the refresh token in its HttpOnly session cookie).
  function scheduleRefresh(who) {
    if (!who.exp) return;
    const wait = Math.max(5000, who.exp * 1000 - Date.now() - 30000);
    setTimeout(async () => {
      const answer = await fetch(`${config.prefix}/oidc/segarkan`, { method: "POST" }).catch(
        () => null
      );
      const body = answer && answer.ok ? await answer.json().catch(() => null) : null;
      const fresh = body && body.token ? signIn(body.token) : null;
      if (fresh) scheduleRefresh(fresh);
    }, wait);
  }
  const office_ = (code) => config.offices.find((o) => o.code === code) || null;

  // -- API ----------------------------------------------------------------------------------------
  function url(service, path) {
    return config.api[service] + path;
  }
  async function api(service, path, options = {}) {
    const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    if (token()) headers.Authorization = `Bearer ${token()}`;
    let body = options.body;
    if (body !== undefined && !(body instanceof Blob) && typeof body !== "string") {
      body = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(url(service, path), { method: options.method || "GET", headers, body });
    } catch (_) {
      return { status: 0, body: problemOf(t("error_network")) };
    }
    const type = response.headers.get("content-type") || "";
    const data = type.includes("json") ? await response.json().catch(() => null) : null;
    if (response.status === 401 && !options.public) {
      signOut("expired");
    }
    return { status: response.status, body: data, headers: response.headers };
  }
  const problemOf = (text) => ({ messages: { id: text, en: text } });
  const message = (problem) => {
    if (problem && problem.messages) return problem.messages[config.lang] || problem.messages.id;
    return t("error_network");
  };

  // -- forms and problems -------------------------------------------------------------------------
  const fid = (name) => name.replace(/\./g, "-");
  // A field's message that is also a live region (data-live) stays rendered, empty when there is
  // nothing to say: a region that appears already filled is skipped by most screen readers.
  const isLive = (p) => p.hasAttribute("data-live");
  function clearErrors(root) {
    root.querySelectorAll(".field-error").forEach((p) => {
      p.hidden = !isLive(p);
      p.textContent = "";
    });
    root.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
    root.querySelectorAll(".field.has-error").forEach((n) => n.classList.remove("has-error"));
    const summary = root.querySelector(".error-summary");
    if (summary) {
      summary.hidden = true;
      summary.querySelector("ul").replaceChildren();
    }
  }
  const controlOf = (box) =>
    box.querySelector(":scope > input, :scope > select, :scope > textarea") ||
    box.querySelector("input:checked") || box.querySelector("input, select, textarea");
  const titleOf = (box) => {
    const label = box.querySelector(":scope > label, :scope > legend");
    if (!label) return "";
    const bare = label.cloneNode(true); // without "(wajib)" / "(opsional)"
    bare.querySelectorAll(".req, .opt").forEach((n) => n.remove());
    return bare.textContent.trim();
  };
  /** Mark one field: its message (added to any already there), aria-invalid on its control. */
  function markField(box, text) {
    const target = box.querySelector(":scope > .field-error");
    if (target && text) {
      target.textContent = target.textContent ? `${target.textContent} ${text}` : text;
      target.hidden = false;
    }
    box.classList.add("has-error");
    const input = controlOf(box);
    if (input) input.setAttribute("aria-invalid", "true");
    return input;
  }
  /** Put one message (an invalid-params entry, or a refused tracking channel: both have `name`
      and `messages`) under its field: the longest known prefix of its name, by `data-field`.
      A group of fields (the "when" choices, the pair of contacts) passes the message on to its
      visible fields: every one of them with data-group="all" (with the group's own short text,
      data-group-text), else the first one still empty. */
  function placeMessage(root, param) {
    const text = param.messages ? param.messages[config.lang] || param.reason : param.reason;
    let name = param.name;
    let box = null;
    while (name) {
      box = root.querySelector(`[data-field="${CSS.escape(name)}"]`);
      if (box) break;
      name = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "";
    }
    if (!box) return { text, focusId: null, node: null };
    const inner = Array.from(box.querySelectorAll(".field[data-field]")).filter(
      (f) => f.checkVisibility() && controlOf(f)
    );
    let title = titleOf(box);
    let input = null;
    const chosen = box.dataset.groupFocus && document.getElementById(box.dataset.groupFocus);
    if (chosen) {
      input = markField(chosen.closest(".field"), text);
    } else if (inner.length && box.dataset.group === "all") {
      const own = box.dataset.groupText ? t(box.dataset.groupText) : text;
      const inputs = inner.map((f) => markField(f, own));
      input = inputs[0];
    } else if (inner.length) {
      const empty = inner.find((f) => !(controlOf(f).value || "").trim()) || inner[0];
      input = markField(empty, text);
      title = title || titleOf(empty);
    } else {
      input = markField(box, text);
    }
    return { text: title ? `${title}: ${text}` : text, focusId: (input && input.id) || null, node: input || box };
  }
  /** Put each invalid-params entry under its field and list them all, in the form's order, in
      the error summary: a focusable region named by its heading, with links that move the
      focus to the fields. The focus goes to the summary. */
  function showProblem(root, problem, fallback) {
    clearErrors(root);
    const params = (problem && problem["invalid-params"]) || [];
    const summary = root.querySelector(".error-summary");
    const items = params.map((param) => placeMessage(root, param));
    // Form order; a message for no field first.
    items.sort((a, b) => {
      if (!a.node || !b.node) return (a.node ? 1 : 0) - (b.node ? 1 : 0);
      if (a.node === b.node) return 0;
      return a.node.compareDocumentPosition(b.node) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
    });
    if (summary) {
      const list = summary.querySelector("ul");
      if (!items.length) items.push({ text: message(problem) || fallback, focusId: null });
      for (const item of items) {
        const li = el("li");
        if (item.focusId && document.getElementById(item.focusId)) {
          li.append(
            el("a", {
              href: `#${item.focusId}`,
              text: item.text,
              onclick: (e) => {
                e.preventDefault();
                document.getElementById(item.focusId).focus();
              },
            })
          );
        } else li.textContent = item.text;
        list.append(li);
      }
      summary.hidden = false;
      summary.focus();
    } else {
      alert_(items.length ? items.map((i) => i.text).join(" ") : message(problem));
    }
  }
  /** A message for a field whose error is a live region: emptied first and written a moment
      later, so the same message twice is read twice. */
  function sayError(input, text) {
    const error = document.getElementById(`${input.id}-error`);
    input.setAttribute("aria-invalid", "true");
    error.hidden = false;
    error.textContent = "";
    setTimeout(() => (error.textContent = text), 100);
  }
  /** Said by screen readers without moving the focus (a polite region that is always there). */
  function announce(text) {
    const box = document.getElementById("announce");
    if (!box) return;
    box.textContent = "";
    setTimeout(() => (box.textContent = text), 100);
  }
  /** A table wider than its box scrolls inside it; it is then a tab stop, so the arrow keys
      scroll it (a table that fits adds no tab stop). */
  function scrollRegions() {
    const sync = (wrap) => {
      if (wrap.scrollWidth > wrap.clientWidth + 1) wrap.setAttribute("tabindex", "0");
      else wrap.removeAttribute("tabindex");
    };
    const name = (wrap) => {
      // A tab stop needs a name: the page's own (aria-labelledby), else the table's caption.
      if (wrap.hasAttribute("aria-labelledby") || wrap.hasAttribute("aria-label")) return;
      const caption = wrap.querySelector("caption");
      wrap.setAttribute("role", "region");
      if (caption) wrap.setAttribute("aria-label", caption.textContent.trim());
    };
    const watch = new ResizeObserver((entries) => entries.forEach((e) => sync(e.target)));
    document.querySelectorAll(".table-wrap").forEach((wrap) => {
      name(wrap);
      watch.observe(wrap);
      const table = wrap.querySelector("table");
      if (table) new ResizeObserver(() => sync(wrap)).observe(table);
    });
  }
  function alert_(text) {
    const box = document.getElementById("page-alert");
    box.textContent = text;
    box.hidden = !text;
  }
  const clean = (value) => {
    const v = (value || "").trim();
    return v === "" ? null : v;
  };
  function prune(obj) {
    // Drop empty optional values so the API's "required" messages stay the meaningful ones.
    if (Array.isArray(obj)) return obj.map(prune);
    if (obj && typeof obj === "object") {
      const out = {};
      for (const [k, v] of Object.entries(obj)) {
        const p = prune(v);
        if (p === null || p === undefined) continue;
        if (typeof p === "object" && !Array.isArray(p) && Object.keys(p).length === 0) continue;
        out[k] = p;
      }
      return out;
    }
    return obj;
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // -- display ----------------------------------------------------------------------------------
  function when(iso, officeCode) {
    if (!iso) return "—";
    const office = office_(officeCode || (claims() || {}).office) || config.offices[0];
    const date = new Date(iso);
    const text = new Intl.DateTimeFormat(config.lang === "id" ? "id-ID" : "en-GB", {
      dateStyle: "medium",
      timeStyle: "short",
      timeZone: office ? office.tz : undefined,
    }).format(date);
    return office ? `${text} ${office.zone}` : text;
  }
  const statusLabel = (status) => t(`st_${status}`);
  function size(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  }
  function copyButton(button, source) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const text = source.textContent.trim();
      try {
        await navigator.clipboard.writeText(text);
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(source);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
        document.execCommand("copy");
      }
      button.textContent = t("copied");
      setTimeout(() => (button.textContent = t("copy")), 2000);
    });
  }
  function setStatus(form, text) {
    const node = form.querySelector("[data-status]");
    if (node) node.textContent = text;
  }

  scrollRegions();

  // Keep the chosen language across the page's state (the switch link is plain HTML).
  document.querySelectorAll("a[data-keep-hash]").forEach((a) => {
    a.addEventListener("click", () => {
      const u = new URL(a.href);
      new URLSearchParams(location.search).forEach((v, k) => k !== "lang" && u.searchParams.set(k, v));
      a.href = u.toString();
    });
  });

  return {
    config, t, el, api, url, token, claims, signIn, signOut, requireSignIn, office: office_,
    showProblem, placeMessage, clearErrors, alert: alert_, message, clean, prune, newKey, when, statusLabel,
    size, copyButton, setStatus, fid, sayError, announce,
  };
})();
