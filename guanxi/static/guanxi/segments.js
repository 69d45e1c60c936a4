/* The segment rule editor: nested groups of conditions, kept in step with the JSON the API
 * takes ({"all": [...]}, {"any": [...]}, {"not": {...}}), and the live count while editing.
 * The field list, with each field's operators, window and choices, comes from the page. */
(function () {
  "use strict";
  const root = document.getElementById("rule-builder");
  if (!root) return;
  const fields = JSON.parse(document.getElementById("segment-fields").textContent);
  const words = JSON.parse(document.getElementById("segment-words").textContent);
  const serverErrors = JSON.parse(document.getElementById("segment-rule-errors").textContent);
  const textarea = document.getElementById("definition");
  const countBox = document.getElementById("live-count");
  const sampleBox = document.getElementById("live-sample");
  const errorBox = document.getElementById("rule-errors");
  const byKey = Object.fromEntries(fields.map((f) => [f.key, f]));
  const REFS = new Set(["owner", "team", "segment"]);

  // -- the tree ---------------------------------------------------------------------------
  function fromJSON(j) {
    if (!j || typeof j !== "object" || Array.isArray(j)) return group("all", []);
    if (Array.isArray(j.all)) return group("all", j.all.map(fromJSON));
    if (Array.isArray(j.any)) return group("any", j.any.map(fromJSON));
    if (j.not) {
      if (j.not && Array.isArray(j.not.any)) return group("none", j.not.any.map(fromJSON));
      return group("none", [fromJSON(j.not)]);
    }
    const extras = {};
    Object.keys(j).forEach((k) => {
      if (!["field", "op", "value", "days"].includes(k)) extras[k] = j[k];
    });
    return { type: "cond", field: j.field || "", op: j.op || "", value: j.value, days: j.days, extras };
  }
  function group(mode, items) {
    return { type: "group", mode, items };
  }
  function toJSON(n) {
    if (n.type === "group") {
      const items = n.items.map(toJSON);
      if (n.mode === "none") return { not: { any: items } };
      return { [n.mode]: items };
    }
    const out = { field: n.field, op: n.op };
    if (n.value !== undefined) out.value = n.value;
    if (n.days) out.days = n.days;
    Object.entries(n.extras || {}).forEach(([k, v]) => {
      if (v !== "" && v !== null && v !== undefined) out[k] = v;
    });
    return out;
  }
  let tree;
  try {
    tree = fromJSON(JSON.parse(textarea.value || "{}"));
  } catch (e) {
    tree = group("all", []);
  }
  if (tree.type !== "group") tree = group("all", [tree]);

  // -- drawing ----------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
    });
    children.flat().forEach((c) => c !== null && c !== undefined && e.append(c));
    return e;
  }
  function select(options, value, onchange, attrs) {
    const s = el("select", { class: "gx-input", ...(attrs || {}), onchange: (ev) => onchange(ev.target) });
    options.forEach(([v, label, grp]) => {
      const o = el("option", { value: v }, label);
      if (String(v) === String(value)) o.selected = true;
      (grp || s).append(o);
    });
    return s;
  }
  function opLabel(field, op) {
    if (field && field.type === "set" && words.set_ops[op]) return words.set_ops[op];
    return words.ops[op] || op;
  }
  function childPath(path, mode, i) {
    return mode === "none" ? `${path}.not.any[${i}]` : `${path}.${mode}[${i}]`;
  }

  function drawGroup(n, path, parent, index) {
    const box = el("div", { class: "gx-rule-group", "data-path": path });
    const head = el("div", { class: "gx-actions-row" },
      select([["all", words.all], ["any", words.any], ["none", words.none]], n.mode, (t) => {
        n.mode = t.value; changed(true);
      }, { "aria-label": words.all }),
      el("button", { type: "button", class: "gx-btn", onclick: () => {
        n.items.push({ type: "cond", field: "", op: "", value: undefined, extras: {} }); changed(true);
      } }, "+ " + words.add_condition),
      el("button", { type: "button", class: "gx-btn", onclick: () => {
        n.items.push(group("all", [])); changed(true);
      } }, "+ " + words.add_group),
      parent ? el("button", { type: "button", class: "gx-btn gx-btn-danger", onclick: () => {
        parent.items.splice(index, 1); changed(true);
      } }, words.remove) : null,
    );
    box.append(head);
    if (!n.items.length) box.append(el("p", { class: "gx-muted gx-small" }, words.empty_group));
    n.items.forEach((item, i) => {
      const p = childPath(path, n.mode, i);
      box.append(item.type === "group" ? drawGroup(item, p, n, i) : drawCondition(item, p, n, i));
    });
    return box;
  }

  function fieldSelect(n) {
    const s = el("select", { class: "gx-input", "aria-label": words.choose_field, onchange: (ev) => {
      n.field = ev.target.value;
      const f = byKey[n.field];
      n.op = f ? f.ops[0] : "";
      n.value = n.op === "is_set" ? true : undefined;
      n.days = undefined;
      n.extras = {};
      changed(true);
    } });
    s.append(el("option", { value: "" }, "— " + words.choose_field + " —"));
    const groups = {};
    fields.forEach((f) => {
      if (!groups[f.group]) {
        groups[f.group] = el("optgroup", { label: words.groups[f.group] || f.group });
        s.append(groups[f.group]);
      }
      const o = el("option", { value: f.key }, f.label);
      if (f.key === n.field) o.selected = true;
      groups[f.group].append(o);
    });
    if (n.field && !byKey[n.field]) s.append(el("option", { value: n.field, selected: true }, n.field));
    return s;
  }

  function typed(f, raw) {
    if (raw === "" || raw === undefined) return undefined;
    if (REFS.has(f.key)) return /^\d+$/.test(raw) ? parseInt(raw, 10) : raw;
    if (f.type === "number") return isNaN(Number(raw)) ? raw : Number(raw);
    return raw;
  }

  function valueEditor(n, f) {
    const set = (v) => { n.value = v; changed(false); };
    const choices = f.choices;
    if (n.op === "is_set") {
      return select([["true", words.yes], ["false", words.no]], String(n.value !== false), (t) => set(t.value === "true"));
    }
    const inputType = f.type === "number" ? "number" : "text";
    const placeholder = f.type === "date" ? "YYYY-MM-DD · today · -30d" : words.value;
    if (n.op === "between") {
      const v = Array.isArray(n.value) ? n.value : ["", ""];
      const a = el("input", { class: "gx-input", type: inputType, step: "any", value: v[0] ?? "", placeholder });
      const b = el("input", { class: "gx-input", type: inputType, step: "any", value: v[1] ?? "", placeholder });
      const upd = () => set([typed(f, a.value), typed(f, b.value)]);
      a.addEventListener("input", upd); b.addEventListener("input", upd);
      return el("span", { class: "gx-nowrap" }, a, " – ", b);
    }
    const many = ["in", "not_in"].includes(n.op) || f.type === "set";
    if (choices && choices.length) {
      if (many) {
        const chosen = new Set((Array.isArray(n.value) ? n.value : []).map(String));
        const s = el("select", { class: "gx-input", multiple: true, size: Math.min(6, choices.length),
          onchange: (ev) => set(Array.from(ev.target.selectedOptions).map((o) => typed(f, o.value))) });
        choices.forEach(([v, label]) => {
          const o = el("option", { value: v }, label);
          if (chosen.has(String(v))) o.selected = true;
          s.append(o);
        });
        return s;
      }
      return select([["", "—"], ...choices], n.value ?? "", (t) => set(typed(f, t.value)));
    }
    if (many) {
      const text = Array.isArray(n.value) ? n.value.join(", ") : (n.value ?? "");
      const i = el("input", { class: "gx-input", value: text, placeholder: words.values_hint });
      i.addEventListener("input", () => set(i.value.split(/[,，、]/).map((x) => x.trim()).filter(Boolean).map((x) => typed(f, x))));
      return i;
    }
    const i = el("input", { class: "gx-input", type: inputType, step: "any", value: n.value ?? "", placeholder });
    i.addEventListener("input", () => set(typed(f, i.value)));
    return i;
  }

  function drawCondition(n, path, parent, index) {
    const f = byKey[n.field];
    const row = el("div", { class: "gx-rule-condition gx-actions-row", "data-path": path }, fieldSelect(n));
    if (f) {
      row.append(select(f.ops.map((op) => [op, opLabel(f, op)]), n.op, (t) => {
        n.op = t.value;
        n.value = n.op === "is_set" ? true : undefined;
        changed(true);
      }, { "aria-label": "op" }));
      row.append(valueEditor(n, f));
      if (f.window) {
        const d = el("input", { class: "gx-input gx-days", type: "number", min: 1, max: 3650, value: n.days ?? "",
          placeholder: words.days_hint, title: words.days });
        d.addEventListener("input", () => { n.days = d.value ? parseInt(d.value, 10) : undefined; changed(false); });
        row.append(el("label", { class: "gx-muted gx-small" }, words.days, " ", d));
      }
      Object.entries(f.extras || {}).forEach(([key, choices]) => {
        const label = words.extras[key] || key;
        const current = (n.extras || {})[key] ?? "";
        let input;
        if (Array.isArray(choices)) {
          input = select([["", words.any_option], ...choices], current, (t) => { n.extras[key] = t.value; changed(false); });
        } else {
          input = el("input", { class: "gx-input gx-days", type: key.endsWith("_days") ? "number" : "text", value: current });
          input.addEventListener("input", () => {
            n.extras[key] = key.endsWith("_days") && input.value ? parseInt(input.value, 10) : input.value;
            changed(false);
          });
        }
        row.append(el("label", { class: "gx-muted gx-small" }, label, " ", input));
      });
    }
    row.append(el("button", { type: "button", class: "gx-btn gx-btn-danger", title: words.remove, onclick: () => {
      parent.items.splice(index, 1); changed(true);
    } }, "×"));
    return row;
  }

  function draw() {
    root.replaceChildren(drawGroup(tree, "definition", null, 0));
  }

  // -- errors and the live count -----------------------------------------------------------
  function showErrors(errors) {
    errorBox.replaceChildren();
    root.querySelectorAll(".gx-has-issues").forEach((e) => e.classList.remove("gx-has-issues"));
    Object.entries(errors || {}).forEach(([path, messages]) => {
      messages.forEach((m) => errorBox.append(el("p", { class: "gx-error", "data-field": path }, `${path}: ${m}`)));
      const node = path.replace(/\.(field|op|value|days|kind|channel|direction|launch_days)$/, "");
      const target = root.querySelector(`[data-path="${CSS.escape(node)}"]`);
      if (target) target.classList.add("gx-has-issues");
    });
  }

  let timer = null;
  let asked = 0;
  function csrf() {
    const i = document.querySelector("#segment-form [name=csrfmiddlewaretoken]");
    return i ? i.value : "";
  }
  function count() {
    const mine = ++asked;
    countBox.textContent = words.counting;
    fetch(window.GX_PREVIEW_URL, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ definition: toJSON(tree) }),
    }).then((r) => r.json().then((body) => ({ ok: r.ok, body }))).then(({ ok, body }) => {
      if (mine !== asked) return;
      if (!ok) {
        countBox.textContent = "";
        sampleBox.textContent = "";
        showErrors(body.errors || { definition: [body.detail] });
        return;
      }
      showErrors({});
      countBox.textContent = `${body.count.toLocaleString()} ${words.count}`;
      sampleBox.textContent = body.description + (body.sample.length ? " · " + body.sample.map((c) => c.name).join("、") : "");
    }).catch(() => { if (mine === asked) countBox.textContent = ""; });
  }
  function changed(redraw) {
    textarea.value = JSON.stringify(toJSON(tree));
    if (redraw) draw();
    clearTimeout(timer);
    timer = setTimeout(count, 350);
  }
  textarea.addEventListener("change", () => {
    try {
      tree = fromJSON(JSON.parse(textarea.value));
      if (tree.type !== "group") tree = group("all", [tree]);
      draw();
      count();
    } catch (e) {
      showErrors({ definition: [String(e.message)] });
    }
  });
  const kind = document.getElementById("kind");
  if (kind) kind.addEventListener("change", () => {
    document.getElementById("rules-card").hidden = kind.value === "static";
  });
  draw();
  textarea.value = JSON.stringify(toJSON(tree));
  if (Object.keys(serverErrors).length) showErrors(serverErrors);
  else count();
})();
