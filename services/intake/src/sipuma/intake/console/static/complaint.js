/* One complaint after Simpan (SOP steps 5–8): evidence uploads with progress, reported employees,
   additions/corrections, tracking contact, telling the register number, and the timeline. */
"use strict";
(() => {
  const S = SIPUMA;
  const who = S.requireSignIn();
  if (!who) return;
  const cid = S.config.complaint_id;
  const params = new URLSearchParams(location.search);
  let number = params.get("nomor");
  let officeCode = who.office;

  // Staff address complaints by register number (issue 20): once it is known, amendments and
  // evidence go to /v1/complaints/by-number/{number}; before that (queued), to the id.
  const complaintPath = () =>
    number
      ? `/v1/complaints/by-number/${number.split("/").map(encodeURIComponent).join("/")}`
      : `/v1/complaints/${cid}`;

  const numberOut = document.getElementById("register-number");
  const statusOut = document.getElementById("complaint-status");

  // -- register number and detail ---------------------------------------------------------------
  async function loadNumber(delay) {
    const answer = await S.api("intake", `/v1/complaints/${cid}/status`);
    if (answer.status === 200) {
      officeCode = answer.body.office_code;
      statusOut.textContent = S.statusLabel(answer.body.status);
      if (answer.body.register_number) number = answer.body.register_number;
    }
    // Refused for good (another office's complaint, a malformed id): said once, no more asking.
    // 404 (not arrived yet), 429 and 5xx are worth asking again.
    if (answer.status >= 400 && answer.status < 500 && ![401, 404, 429].includes(answer.status)) {
      numberOut.textContent = S.t("number_unavailable");
      statusOut.textContent = "—";
      S.alert(S.message(answer.body));
      return;
    }
    if (number) {
      numberOut.textContent = number;
      document.title = `${S.t("complaint_title")} ${number} · ${S.t("app")}`;
      S.copyButton(document.getElementById("copy-number"), numberOut);
      return refreshDetail();
    }
    if (answer.status !== 200 && answer.status !== 404) S.alert(S.message(answer.body));
    numberOut.textContent = "…";
    setTimeout(() => loadNumber(Math.min(delay * 1.5, 10000)), delay);
  }

  async function refreshDetail() {
    if (!number) return;
    const answer = await S.api("registry", `/v1/complaints/${encodeURI(number)}`);
    if (answer.status === 200) {
      statusOut.textContent = S.statusLabel(answer.body.status);
      renderCategory(answer.body);
      renderTimeline(answer.body);
      renderDuplicates(answer.body.possible_duplicates || []);
    } else {
      document.getElementById("timeline-empty").hidden = false;
    }
  }
  // Possible duplicate (issue 16): the same NIK/phone filed within the window, at any office. A
  // hint for the receiver, never a block; other offices' numbers are not shown.
  function renderDuplicates(found) {
    let box = document.getElementById("duplicate-hint");
    if (!found.length) {
      if (box) box.remove();
      return;
    }
    if (!box) {
      box = S.el("p", { id: "duplicate-hint", class: "notice", role: "status" });
      numberOut.closest("section, div").after(box);
    }
    const numbers = found.filter((d) => d.register_number).map((d) => d.register_number);
    const hidden = found.length - numbers.length;
    box.replaceChildren(
      S.t("dup_hint"),
      " ",
      numbers.join(", "),
      hidden ? ` (+${hidden} ${S.t("dup_other_offices")})` : ""
    );
  }

  // Amendments travel as events; the registry shows them a moment later.
  function refreshSoon() {
    [800, 2500, 6000].forEach((ms) => setTimeout(refreshDetail, ms));
  }

  // -- evidence ---------------------------------------------------------------------------------
  const evidenceBody = document.querySelector("#evidence-table tbody");
  async function loadEvidence() {
    const answer = await S.api("evidence", `${complaintPath()}/evidence`);
    if (answer.status !== 200) return;
    const items = answer.body.items;
    document.getElementById("evidence-empty").hidden = items.length > 0;
    document.getElementById("evidence-table").hidden = items.length === 0;
    evidenceBody.replaceChildren(
      ...items.map((item) =>
        S.el(
          "tr",
          {},
          S.el("td", { class: "upload-name" }, item.file_name || item.evidence_id.slice(0, 8)),
          S.el("td", { "data-label": S.t("kind") }, S.t(`k_${item.kind}`), S.el("br"), S.el("small", { text: item.content_type })),
          S.el("td", { "data-label": S.t("size"), text: S.size(item.size_bytes) }),
          S.el("td", { "data-label": S.t("uploaded_at"), text: S.when(item.uploaded_at, officeCode) }),
          S.el(
            "td",
            {},
            S.el("button", {
              type: "button",
              class: "link-button",
              text: S.t("download"),
              "aria-label": `${S.t("download")} ${item.file_name || ""}`,
              onclick: () => download(item.evidence_id),
            })
          )
        )
      )
    );
  }
  async function download(evidenceId) {
    const answer = await S.api("evidence", `${complaintPath()}/evidence/${evidenceId}/download`);
    if (answer.status === 200) location.assign(answer.body.url);
    else S.alert(S.message(answer.body));
  }

  const evidenceForm = document.getElementById("evidence-form");
  const uploads = document.getElementById("uploads");
  evidenceForm.elements.files.addEventListener("change", () => S.clearErrors(evidenceForm));
  evidenceForm.addEventListener("submit", (event) => {
    event.preventDefault();
    S.clearErrors(evidenceForm);
    const files = Array.from(evidenceForm.elements.files.files);
    if (!files.length) {
      S.placeMessage(evidenceForm, { name: "files", reason: S.t("choose_files") });
      evidenceForm.elements.files.focus();
      return;
    }
    const kind = evidenceForm.elements.evidence_kind.value;
    Promise.all(files.map((file) => upload(file, kind))).then(() => {
      evidenceForm.reset();
      loadEvidence();
      refreshSoon();
    });
  });

  const RETRIES = 3;

  function upload(file, kind) {
    const bar = S.el("progress", { max: "100", value: "0", "aria-label": `${S.t("uploading")} ${file.name}` });
    const state = S.el("span", { class: "upload-state", text: `${S.t("uploading")} 0%` });
    const row = S.el("li", { class: "upload" }, S.el("span", { class: "upload-name", text: file.name }), bar, state);
    uploads.append(row);
    // One Idempotency-Key per chosen file: a retry after a lost answer or a dropped connection
    // gets the first answer, and the file is stored once (the evidence service keeps answers).
    const key = S.newKey();
    let attempt = 0;
    return new Promise((resolve) => {
      const query = new URLSearchParams({ filename: file.name });
      if (kind) query.set("kind", kind);
      // The bytes were sent but nothing was kept: the bar goes back to empty.
      const refuse = (text) => {
        row.classList.add("refused");
        bar.value = 0;
        bar.setAttribute("aria-label", `${file.name}: ${S.t("refused")}`);
        state.textContent = text;
      };
      // A network failure, a key still in progress elsewhere, a service briefly unavailable:
      // sent again with the same key, a few times, a little later each time.
      const again = () => {
        if (attempt >= RETRIES) return false;
        setTimeout(send, 1000 * attempt);
        return true;
      };
      function send() {
        attempt += 1;
        const xhr = new XMLHttpRequest();
        xhr.open("POST", S.url("evidence", `${complaintPath()}/evidence?${query}`));
        xhr.setRequestHeader("Authorization", `Bearer ${S.token()}`);
        xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
        xhr.setRequestHeader("Accept", "application/json");
        xhr.setRequestHeader("Idempotency-Key", key);
        xhr.upload.addEventListener("progress", (e) => {
          if (!e.lengthComputable) return;
          const pct = Math.floor((e.loaded / e.total) * 100);
          bar.value = pct;
          state.textContent = `${S.t("uploading")} ${pct}%`;
        });
        xhr.addEventListener("load", () => {
          let body = null;
          try {
            body = JSON.parse(xhr.responseText);
          } catch (_) {}
          if (xhr.status === 201) {
            bar.value = 100;
            row.classList.add("ok");
            bar.setAttribute("aria-label", `${file.name}: ${S.t("uploaded")}`);
            state.textContent = `${S.t("uploaded")} · ${S.size(body.size_bytes)}`;
          } else {
            const running = xhr.status === 409 && body && body.code === "idempotency_key_in_progress";
            if ((running || xhr.status === 503) && again()) return;
            refuse(`${S.t("refused")}: ${S.message(body)}`);
            if (xhr.status === 401) S.signOut("expired");
          }
          resolve();
        });
        xhr.addEventListener("error", () => {
          if (again()) return;
          refuse(`${S.t("refused")}: ${S.t("error_network")}`);
          resolve();
        });
        xhr.send(file);
      }
      send();
    });
  }

  // -- amendments through intake ---------------------------------------------------------------
  function amend(form, path, method, build, onAnswer) {
    let key = S.newKey();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      if (button.disabled) return;
      button.disabled = true;
      S.clearErrors(form);
      S.setStatus(form, S.t("saving"));
      const answer = await S.api("intake", `${complaintPath()}${path}`, {
        method, body: build(), headers: { "Idempotency-Key": key },
      });
      button.disabled = false;
      if (answer.status === 201 || answer.status === 202) {
        key = S.newKey();
        S.setStatus(form, answer.body.message ? answer.body.message[S.config.lang] : S.t("saved"));
        if (onAnswer) onAnswer(answer.body);
        form.dispatchEvent(new CustomEvent("saved"));
        refreshSoon();
        return;
      }
      S.setStatus(form, "");
      S.showProblem(form, answer.body);
    });
  }

  const addEmployee = document.getElementById("add-employee");
  const employees = Employees.create(
    document.getElementById("employees"), document.getElementById("employee-template"), addEmployee
  );
  employees.add(false);
  addEmployee.addEventListener("click", () => employees.add());
  const employeesForm = document.getElementById("employees-form");
  amend(employeesForm, "/reported-employees", "POST", () => ({ employees: employees.collect() }));
  employeesForm.addEventListener("saved", () => {
    employees.reset();
    employees.add(false);
  });

  const supplementForm = document.getElementById("supplement-form");
  const supKind = () => supplementForm.querySelector("input[name=kind]:checked").value;
  const syncSup = () =>
    supplementForm.querySelectorAll("[data-correction]").forEach((b) => (b.hidden = supKind() !== "correction"));
  supplementForm.querySelectorAll("input[name=kind]").forEach((r) => r.addEventListener("change", syncSup));
  syncSup();
  amend(supplementForm, "/supplements", "POST", () => {
    const correction = supKind() === "correction";
    return S.prune({
      kind: supKind(),
      text: S.clean(supplementForm.elements.text.value),
      corrects: correction ? S.clean(supplementForm.elements.corrects.value) : null,
      reason: correction ? S.clean(supplementForm.elements.reason.value) : null,
    });
  });
  supplementForm.addEventListener("saved", () => {
    supplementForm.elements.text.value = "";
    supplementForm.elements.reason.value = "";
  });

  const contactForm = document.getElementById("contact-form");
  amend(
    contactForm,
    "/tracking-contact",
    "PUT",
    () => S.prune({ email: S.clean(contactForm.elements.email.value), mobile: S.clean(contactForm.elements.mobile.value) }),
    (body) => {
      // Saved with what passed; a refused channel (landline, 0800…) stays in its field with
      // the reason, so it can be corrected and saved again.
      const contact = body.tracking_contact;
      if (!contact) return;
      for (const refused of contact.refused) S.placeMessage(contactForm, refused);
      S.setStatus(contactForm, `${body.message[S.config.lang]} ${contact.message[S.config.lang]}`);
    }
  );
  // The API names the pair "tracking_contact"/none when both are empty: show it on the e-mail.
  const commForm = document.getElementById("communication-form");
  const outcome = () => commForm.querySelector("input[name=outcome]:checked").value;
  const syncOutcome = () =>
    commForm.querySelectorAll("[data-outcome]").forEach((b) => (b.hidden = b.dataset.outcome !== outcome()));
  commForm.querySelectorAll("input[name=outcome]").forEach((r) => r.addEventListener("change", syncOutcome));
  syncOutcome();
  amend(commForm, "/register-number-communication", "POST", () =>
    S.prune({
      outcome: outcome(),
      method: outcome() === "told" ? commForm.elements.method.value : null,
      reason: outcome() === "unreachable" ? commForm.elements.reason.value : null,
      note: S.clean(commForm.elements.note.value),
    })
  );

  // -- category (kategori pengaduan): compliance staff and supervisors, after registration -------
  const categorySection = document.getElementById("category-section");
  const categoryForm = document.getElementById("category-form");
  const mayCategorise = who.roles.includes("compliance") || who.roles.includes("supervisor");
  const label = (l) => (l ? l[S.config.lang] || l.id : "");
  function renderCategory(d) {
    if (!("category" in d)) return;
    document.getElementById("category-current").textContent =
      d.category ? label(d.category_label) : S.t("category_none");
    if (d.category && !categoryForm.dataset.touched) categoryForm.elements.category.value = d.category;
  }
  async function loadCategories() {
    if (!mayCategorise) return;
    const answer = await S.api("registry", "/v1/complaint-categories");
    if (answer.status !== 200) return;
    const select = categoryForm.elements.category;
    select.append(...answer.body.map((c) => S.el("option", { value: c.code, text: label(c.label) })));
    categorySection.hidden = false;
    refreshDetail();
  }
  categoryForm.elements.category.addEventListener("change", () => (categoryForm.dataset.touched = "1"));
  categoryForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = categoryForm.querySelector("button[type=submit]");
    if (button.disabled || !number) return;
    button.disabled = true;
    S.clearErrors(categoryForm);
    S.setStatus(categoryForm, S.t("saving"));
    const path = `/v1/complaints/${number.split("/").map(encodeURIComponent).join("/")}/category`;
    const answer = await S.api("registry", path, {
      method: "POST",
      body: S.prune({
        category: categoryForm.elements.category.value,
        reason: S.clean(categoryForm.elements.reason.value),
      }),
    });
    button.disabled = false;
    if (answer.status === 200) {
      S.setStatus(categoryForm, answer.body.changed ? S.t("saved") : S.t("category_unchanged"));
      categoryForm.elements.reason.value = "";
      delete categoryForm.dataset.touched;
      refreshDetail();
      return;
    }
    S.setStatus(categoryForm, "");
    S.showProblem(categoryForm, answer.body);
  });

  // -- timeline ---------------------------------------------------------------------------------
  function renderTimeline(d) {
    const events = [];
    const add = (at, title, detail, cls) => at && events.push({ at, title, detail, cls });
    add(d.received_at, S.t("ev_received"), S.t(`ch_${d.channel}`) + (d.channel_other ? ` (${d.channel_other})` : ""));
    add(d.saved_at, S.t("ev_saved"), "");
    add(d.registered_at, S.t("ev_registered"), d.register_number);
    for (const e of d.evidence || []) {
      add(e.at, S.t("ev_evidence"), `${S.t(`k_${e.kind}`)} · ${e.content_type} · ${S.size(e.size_bytes)}`);
    }
    for (const c of d.communications || []) {
      const told = c.outcome === "told";
      add(c.at, S.t(told ? "ev_told" : "ev_unreachable"), [told ? S.t(`m_${c.method}`) : "", c.note || ""].filter(Boolean).join(" · "));
    }
    for (const tk of d.tickets || []) add(tk.issued_at, S.t("ev_ticket"), (tk.channels || []).join(", "));
    // Every delivery (a corrected contact's second e-mail too), not only the latest per channel.
    for (const n of d.deliveries || []) {
      const failed = n.status === "failed";
      add(n.at, S.t(failed ? "ev_failed" : "ev_sent"), `${n.channel}${n.reason ? " · " + n.reason : ""}`, failed ? "failed" : "");
    }
    for (const c of d.category_history || []) {
      const from = c.previous ? `${label(c.previous_label)} → ` : "";
      add(c.at, S.t("ev_category"), `${from}${label(c.label)}${c.reason ? " · " + c.reason : ""}`);
    }
    for (const h of (d.status_history || []).filter((x) => x.kind !== "communication")) {
      add(h.at, S.t("ev_status"), `${S.statusLabel(h.from)} → ${S.statusLabel(h.to)}${h.note ? " · " + h.note : ""}`);
    }
    events.sort((a, b) => new Date(a.at) - new Date(b.at));
    const list = document.getElementById("timeline");
    list.replaceChildren(
      ...events.map((e) =>
        S.el("li", { class: e.cls || "" },
          S.el("time", { datetime: e.at, text: S.when(e.at, d.office_code) }),
          S.el("strong", { text: e.title }),
          e.detail ? S.el("span", { class: "detail", text: e.detail }) : null)
      )
    );
    document.getElementById("timeline-empty").hidden = events.length > 0;

    const recorded = document.getElementById("recorded");
    const blocks = [];
    if ((d.reported_employees || []).length) {
      blocks.push(S.el("h3", { text: S.t("employees_recorded") }));
      blocks.push(S.el("ul", {}, d.reported_employees.map((e) =>
        S.el("li", { text: [e.name, e.nip, e.position, e.unit].filter(Boolean).join(" · ") }))));
    }
    if ((d.supplements || []).filter((s) => s.kind !== "reported_employee_added").length) {
      blocks.push(S.el("h3", { text: S.t("supplements_recorded") }));
      blocks.push(S.el("ul", {}, d.supplements.filter((s) => s.kind !== "reported_employee_added").map((s) =>
        S.el("li", {},
          S.el("strong", { text: S.t(s.kind) + (s.corrects ? ` (${S.t("part_" + s.corrects)})` : "") }),
          ` ${S.when(s.recorded_at, d.office_code)}: ${s.text || ""}`,
          s.reason ? ` — ${S.t("reason")}: ${s.reason}` : ""))));
    }
    recorded.replaceChildren(...blocks);
  }

  loadNumber(1000);
  loadEvidence();
  loadCategories();
})();
