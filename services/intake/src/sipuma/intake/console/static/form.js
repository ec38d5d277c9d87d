/* The complaint form (SOP steps 3–4): Simpan → the register number, large and copyable; after a
   202 the page asks the status URL until the number arrives. */
"use strict";
(() => {
  const S = SIPUMA;
  const who = S.requireSignIn();
  if (!who) return;

  const form = document.getElementById("complaint-form");
  const employees = Employees.create(
    document.getElementById("employees"),
    document.getElementById("employee-template")
  );
  document.getElementById("add-employee").addEventListener("click", () => employees.add());

  const officeSelect = form.office_code;
  if (who.roles.includes("supervisor")) document.getElementById("office-row").hidden = false;
  if (S.office(who.office)) officeSelect.value = who.office;
  const officeCode = () => (who.roles.includes("supervisor") ? officeSelect.value : who.office);
  const office = () => S.office(officeCode()) || { offset: "+07:00", tz: "Asia/Jakarta" };

  function localNow() {
    const parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: office().tz, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(new Date());
    const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
  }
  form.received_at.value = localNow();
  form.received_at.max = localNow().slice(0, 10) + "T23:59";
  // The API refuses a receipt older than this (a wrong year, mostly); the picker says so first.
  const oldest = new Date(Date.now() - S.config.received_max_age_days * 86400000);
  form.received_at.min = new Intl.DateTimeFormat("en-CA", {
    timeZone: office().tz, year: "numeric", month: "2-digit", day: "2-digit",
  }).format(oldest) + "T00:00";

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
    const received = value("received_at");
    const data = {
      office_code: who.roles.includes("supervisor") ? officeCode() : null,
      channel: form.channel.value,
      channel_description: form.channel.value === "other" ? value("channel_description") : null,
      received_at: received ? `${received.length === 16 ? received + ":00" : received}${office().offset}` : null,
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
      numberOut.textContent = "…";
      numberOut.classList.add("pending");
      resultMessage.textContent = S.t(answer.status === "queued" ? "queued_number" : "waiting_number");
      poll(answer.status_url, 1000);
    }
    result.querySelector("h2").setAttribute("tabindex", "-1");
    result.querySelector("h2").focus();
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
