/* Reported employees (pegawai yang diadukan): rows that can be added and removed. Field ids
   follow the API's names (<prefix>.<index>.<field>) so 422 messages land under the right input. */
"use strict";
const Employees = (() => {
  const S = SIPUMA;
  const SUBS = { name: "e_name", nip: "e_nip", position: "e_position", unit: "e_unit" };

  function create(container, template) {
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
          label.textContent = S.t(SUBS[box.dataset.sub]);
          error.id = `${id}-error`;
          input.setAttribute("aria-describedby", error.id);
        }
      });
    }

    function add(focus = true) {
      const row = template.content.firstElementChild.cloneNode(true);
      row.querySelector("[data-role=remove]").addEventListener("click", () => {
        row.remove();
        renumber();
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
