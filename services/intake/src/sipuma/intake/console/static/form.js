/* The complaint form (SOP steps 3–4): Simpan → the register number, large and copyable; after a
   202 the page asks the status URL until the number arrives. */
"use strict";
(() => {
  const S = SIPUMA;
  const who = S.requireSignIn();
  if (!who) return;

  const form = document.getElementById("complaint-form");
  const addEmployee = document.getElementById("add-employee");
  const employees = Employees.create(
    document.getElementById("employees"),
    document.getElementById("employee-template"),
    addEmployee
  );
  addEmployee.addEventListener("click", () => employees.add());

  const officeSelect = form.office_code;
  if (who.roles.includes("supervisor")) document.getElementById("office-row").hidden = false;
  if (S.office(who.office)) officeSelect.value = who.office;
  const officeCode = () => (who.roles.includes("supervisor") ? officeSelect.value : who.office);
  const office = () => S.office(officeCode()) || { offset: "+07:00", tz: "Asia/Jakarta" };

  // The office's local date and time now ("2026-12-07", "14.05").
  function localNow() {
    const parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: office().tz, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date());
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}.${p.minute}` };
  }
  // The days the API accepts (it refuses a receipt older than received_max_age_days: a wrong
  // year, mostly), newest first: the choice cannot be out of range.
  function fillDays() {
    const today = new Date(`${localNow().date}T00:00:00Z`);
    const named = new Intl.DateTimeFormat(S.config.lang === "id" ? "id-ID" : "en-GB", {
      weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC",
    });
    const options = [];
    for (let back = 0; back <= S.config.received_max_age_days; back += 1) {
      const day = new Date(today.getTime() - back * 86400000);
      const prefix = back === 0 ? `${S.t("today")}, ` : back === 1 ? `${S.t("yesterday")}, ` : "";
      options.push(S.el("option", { value: day.toISOString().slice(0, 10), text: prefix + named.format(day) }));
    }
    form.received_date.replaceChildren(...options);
  }
  fillDays();
  form.received_time.value = localNow().time;
  officeSelect.addEventListener("change", fillDays);
  /** "9.30", "09:30", "0930" → "09:30"; null when it is no time of day. */
  function timeOfDay(text) {
    const found = /^(\d{1,2})[.:]?(\d{2})$/.exec((text || "").trim());
    if (!found || Number(found[1]) > 23 || Number(found[2]) > 59) return null;
    return `${found[1].padStart(2, "0")}:${found[2]}`;
  }

  const otherBox = document.getElementById("channel-other");
  const syncChannel = () => (otherBox.hidden = form.channel.value !== "other");
  form.channel.addEventListener("change", syncChannel);
  syncChannel();

  const whenKind = () => form.querySelector("input[name=when_kind]:checked").value;
  const syncWhen = () =>
    form.querySelectorAll("[data-when]").forEach((box) => (box.hidden = box.dataset.when !== whenKind()));
  form.querySelectorAll("input[name=when_kind]").forEach((r) => r.addEventListener("change", syncWhen));
  syncWhen();

  const value = (name) => S.clean(form.elements[name].value);

  function body() {
    const kind = whenKind();
    const when = { kind };
    if (kind === "date") when.date = value("elements.when.date");
    if (kind === "period") {
      when.start = value("elements.when.start");
      when.end = value("elements.when.end");
    }
    if (kind === "approximate") when.description = value("elements.when.description");
    const time = timeOfDay(form.received_time.value);
    const data = {
      office_code: who.roles.includes("supervisor") ? officeCode() : null,
      channel: form.channel.value,
      channel_description: form.channel.value === "other" ? value("channel_description") : null,
      received_at: `${form.received_date.value}T${time}:00${office().offset}`,
      tracking_contact: S.prune({
        email: value("tracking_contact.email"),
        mobile: value("tracking_contact.mobile"),
      }),
      paper_archive_ref: value("paper_archive_ref"),
    };
    const out = S.prune(data);
    out.complainant = S.prune({
      name: value("complainant.name"),
      address: value("complainant.address"),
      phone: value("complainant.phone"),
      email: value("complainant.email"),
      nik: value("complainant.nik"),
    });
    out.elements = S.prune({
      what: value("elements.what"),
      where: value("elements.where"),
      how: value("elements.how"),
    });
    // A half-filled "when" would stop the API at the first (structural) error; left out, the
    // API names it together with every other missing element.
    const whenComplete = Object.values(when).every((v) => v !== null);
    if (whenComplete) out.elements.when = when;
    out.elements.who = employees.collect();
    return out;
  }

  // One key per complaint: a retry after a lost answer returns the same complaint, never a second.
  let key = S.newKey();
  const saveButton = document.getElementById("save");
  const saveStatus = document.getElementById("save-status");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (saveButton.disabled) return;
    if (!timeOfDay(form.received_time.value)) {
      // Said before asking the API: an unreadable time would give no received time at all.
      const text = S.t("time_format");
      return S.showProblem(form, { "invalid-params": [{ name: "received_at", reason: text }] });
    }
    saveButton.disabled = true;
    saveStatus.textContent = S.t("saving");
    S.alert("");
    const answer = await S.api("intake", "/v1/complaints", {
      method: "POST",
      body: body(),
      headers: { "Idempotency-Key": key },
    });
    saveButton.disabled = false;
    saveStatus.textContent = "";
    if (answer.status === 201 || answer.status === 202) {
      key = S.newKey();
      return saved(answer.body);
    }
    S.showProblem(form, answer.body);
  });

  const result = document.getElementById("result");
  const numberOut = document.getElementById("register-number");
  const resultMessage = document.getElementById("result-message");

  function showNumber(number) {
    numberOut.textContent = number;
    numberOut.classList.remove("pending");
    S.copyButton(document.getElementById("copy-number"), numberOut);
    document.getElementById("result-tell").hidden = false;
    document.title = `${S.t("saved_title")}: ${number} · ${S.t("app")}`;
    S.announce(`${S.t("saved_title")}. ${S.t("register_number")} ${number}`);
  }

  function saved(answer) {
    form.hidden = true;
    result.hidden = false;
    const page = `${S.config.prefix}/pengaduan/${answer.complaint_id}`;
    document.getElementById("continue-link").href = page;
    document.getElementById("result-contact-fix").href = `${page}#contact-title`;
    resultMessage.textContent = answer.message ? answer.message[S.config.lang] : S.t("saved");
    showContact(answer.tracking_contact);
    if (answer.register_number) showNumber(answer.register_number);
    else {
      numberOut.textContent = `… (${S.t("number_pending")})`;
      numberOut.classList.add("pending");
      resultMessage.textContent = S.t(answer.status === "queued" ? "queued_number" : "waiting_number");
      document.title = `${S.t("saved_title")} · ${S.t("app")}`;
      poll(answer.status_url, 1000);
    }
    document.getElementById("result-heading").focus();
    window.scrollTo(0, 0);
  }

  /** Where the ticket number goes; a refused channel (e.g. a landline as mobile) is named with
      its reason, and the complaint page is where the contact is corrected. */
  function showContact(contact) {
    const box = document.getElementById("result-contact");
    if (!contact) {
      box.hidden = true;
      return;
    }
    document.getElementById("result-contact-message").textContent = contact.message[S.config.lang];
    const refused = contact.refused || [];
    box.classList.toggle("warn", refused.length > 0);
    document.getElementById("result-contact-fix").hidden = refused.length === 0;
    box.hidden = false;
  }

  async function poll(statusUrl, delay) {
    await new Promise((r) => setTimeout(r, delay));
    const answer = await S.api("intake", statusUrl);
    if (answer.status === 200 && answer.body.register_number) {
      showNumber(answer.body.register_number);
      resultMessage.textContent = answer.body.message[S.config.lang];
      return;
    }
    poll(statusUrl, Math.min(delay * 1.5, 10000));
  }
})();
