/* Reported employees (pegawai yang diadukan): rows that can be added and removed. Field ids
   follow the API's names (<prefix>.<index>.<field>) so 422 messages land under the right input. */
"use strict";
const Employees = (() => {
  const S = SIPUMA;
  const SUBS = { name: "e_name", nip: "e_nip", position: "e_position", unit: "e_unit" };

  /** addButton: where the focus goes when the last employee is removed. */
  function create(container, template, addButton) {
    const prefix = container.dataset.prefix;

    function renumber() {
      Array.from(container.children).forEach((row, i) => {
        row.querySelector("[data-role=title]").textContent = `${S.t("employee")} ${i + 1}`;
        const remove = row.querySelector("[data-role=remove]");
        remove.textContent = `${S.t("remove")} ${S.t("employee").toLowerCase()} ${i + 1}`;
        for (const box of row.querySelectorAll("[data-sub]")) {
          const name = `${prefix}.${i}.${box.dataset.sub}`;
          const id = S.fid(name);
          box.dataset.field = name;
          const input = box.querySelector("input");
          const label = box.querySelector("label");
          const error = box.querySelector(".field-error");
          input.id = id;
          input.name = name;
          label.htmlFor = id;
          const required = box.hasAttribute("data-required");
          label.replaceChildren(
            `${S.t(SUBS[box.dataset.sub])} `,
            S.el("span", {
              class: required ? "req" : "opt",
              text: `(${S.t(required ? "required" : "optional")})`,
            })
          );
          error.id = `${id}-error`;
          input.setAttribute("aria-describedby", error.id);
        }
      });
    }

    function add(focus = true) {
      const row = template.content.firstElementChild.cloneNode(true);
      row.querySelector("[data-role=remove]").addEventListener("click", () => {
        // The focus was on this row's button: it moves to the previous employee (the next one
        // when this was the first), or to "Tambah pegawai" when none is left.
        const rows = Array.from(container.children);
        const index = rows.indexOf(row);
        row.remove();
        renumber();
        const stay = container.children[Math.max(0, index - 1)];
        const target = stay ? stay.querySelector("input") : addButton;
        if (target) target.focus();
      });
      container.append(row);
      renumber();
      if (focus) row.querySelector("input").focus();
      return row;
    }

    function collect() {
      for (const row of Array.from(container.children)) {
        const empty = Array.from(row.querySelectorAll("input")).every((i) => !i.value.trim());
        if (empty) row.remove();
      }
      renumber();
      return Array.from(container.children, (row) => {
        const item = {};
        for (const box of row.querySelectorAll("[data-sub]")) {
          item[box.dataset.sub] = S.clean(box.querySelector("input").value);
        }
        return S.prune(item);
      });
    }

    function reset() {
      container.replaceChildren();
    }

    return { add, collect, reset };
  }
  return { create };
})();
